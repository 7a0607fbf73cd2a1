"""Denied is not missing: only an explicit list of error codes means "does not exist"."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from helpers import following, planning, results
from helpers.awserrors import is_missing, unless_missing
from helpers.names import RunNames
from helpers.s3 import read_text

DENIED = {"Code": "AccessDeniedException", "Message": "not allowed: sagemaker:DescribeWorkteam"}
NAMES = RunNames("0123abcd", "team-0123abcd", "train-0123abcd", "val-0123abcd", "fit-0123abcd")


def _error(code: str, message: str = "", operation: str = "Describe") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class _SageMaker:
    """Every Describe is denied; every list finds nothing (as a caller with list rights sees)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("describe_"):

            def denied(**_: Any) -> Any:
                raise ClientError({"Error": DENIED}, name)

            return denied
        raise AttributeError(name)

    def list_labeling_jobs(self, **_: Any) -> dict[str, Any]:
        return {"LabelingJobSummaryList": []}

    def list_training_jobs(self, **_: Any) -> dict[str, Any]:
        return {"TrainingJobSummaries": []}


class _Aws:
    def client(self, service: str) -> Any:
        assert service == "sagemaker"
        return _SageMaker()


@pytest.mark.parametrize(
    ("code", "message", "missing"),
    [
        ("ResourceNotFound", "", True),
        ("NoSuchKey", "", True),
        ("NoSuchEntity", "", True),
        ("404", "", True),
        ("ValidationException", "Requested resource not found.", True),
        ("ValidationException", "1 validation error detected", False),
        ("ValidationException", "Could not find requested job with name x", True),
        ("ValidationException", 'Could not find model "arn:aws:sagemaker:r:1:model/m".', True),
        ("ValidationException", "Resource arn:x does not exist or is not taggable", True),
        ("ValidationException", "Could not find model data at s3://b/p/model.tar.gz.", False),
        ("AccessDenied", "", False),
        ("AccessDeniedException", "", False),
        ("ExpiredToken", "", False),
        ("ThrottlingException", "", False),
    ],
)
def test_only_listed_codes_mean_missing(code: str, message: str, missing: bool) -> None:
    assert is_missing(_error(code, message)) is missing


def test_a_denied_look_up_never_calls_a_taken_name_free() -> None:
    with pytest.raises(ClientError, match="AccessDenied"):
        planning.names_taken(_Aws(), NAMES)


def test_a_denied_look_up_is_not_a_run_without_resources() -> None:
    with pytest.raises(ClientError, match="AccessDenied"):
        following.observe(_Aws(), NAMES)


def test_review_and_clean_up_raise_a_denied_look_up() -> None:
    sm = _SageMaker()
    with pytest.raises(ClientError, match="AccessDenied"):
        unless_missing(sm.describe_labeling_job, LabelingJobName="x")
    with pytest.raises(ClientError, match="AccessDenied"):
        unless_missing(sm.describe_workteam, WorkteamName="x")
    assert not is_missing(_error("AccessDenied"))

    def invalid(**_: Any) -> Any:
        raise _error("ValidationException", "1 validation error detected: TrainingJobName")

    with pytest.raises(ClientError, match="validation error"):
        unless_missing(invalid, TrainingJobName="x")


def test_reading_a_denied_object_is_an_error_not_an_absent_one() -> None:
    class S3:
        def get_object(self, **_: Any) -> Any:
            raise _error("AccessDenied", "no s3:GetObject", "GetObject")

        def head_object(self, **_: Any) -> Any:
            raise _error("403", "Forbidden", "HeadObject")

    with pytest.raises(ClientError, match="AccessDenied"):
        read_text(S3(), "s3://b/k")
    with pytest.raises(ClientError, match="403"):
        results.artifact_size(S3(), {"ModelArtifacts": {"S3ModelArtifacts": "s3://b/m.tar.gz"}})
