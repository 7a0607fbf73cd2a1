"""Tests for request validation and response checking against botocore's models (offline)."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.model import Shape
from botocore.parsers import create_parser

from helpers.local.core import ServiceError
from helpers.local.sagemaker import shapes

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerRole"
NAME_PATTERN = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
CREATED = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
MODIFIED = datetime(2024, 5, 1, 12, 30, 15, 500000, tzinfo=UTC)


def labeling_request() -> dict[str, Any]:
    """Return a complete, valid CreateLabelingJob request like the walkthrough sends."""
    lambdas = f"arn:aws:lambda:{REGION}:432418664414:function"
    return {
        "LabelingJobName": "walkthrough-labels-1",
        "LabelAttributeName": "category",
        "InputConfig": {
            "DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://bucket/input/manifest.json"}}
        },
        "OutputConfig": {"S3OutputPath": "s3://bucket/output/"},
        "RoleArn": ROLE,
        "LabelCategoryConfigS3Uri": "s3://bucket/input/categories.json",
        "HumanTaskConfig": {
            "WorkteamArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/team",
            "UiConfig": {"UiTemplateS3Uri": "s3://bucket/input/template.liquid"},
            "PreHumanTaskLambdaArn": f"{lambdas}:PRE-ImageMultiClass",
            "TaskTitle": "Classify the animal",
            "TaskDescription": "Choose the animal shown in the picture",
            "NumberOfHumanWorkersPerDataObject": 3,
            "TaskTimeLimitInSeconds": 300,
            "TaskAvailabilityLifetimeInSeconds": 86400,
            "MaxConcurrentTaskCount": 100,
            "AnnotationConsolidationConfig": {
                "AnnotationConsolidationLambdaArn": f"{lambdas}:ACS-ImageMultiClass"
            },
        },
        "Tags": [{"Key": "project", "Value": "walkthrough"}],
    }


def training_request() -> dict[str, Any]:
    """Return a valid CreateTrainingJob request."""
    return {
        "TrainingJobName": "walkthrough-train-1",
        "AlgorithmSpecification": {
            "TrainingImage": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/image:latest",
            "TrainingInputMode": "File",
        },
        "RoleArn": ROLE,
        "HyperParameters": {"epochs": "3"},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/models/"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


def rejection(operation: str, body: dict[str, Any]) -> shapes.RequestInvalid:
    """Validate a request that must fail and return the error."""
    with pytest.raises(shapes.RequestInvalid) as caught:
        shapes.validate_request("sagemaker", operation, body)
    return caught.value


# --- validate_request -------------------------------------------------------


def test_valid_labeling_job_request_passes() -> None:
    shapes.validate_request("sagemaker", "CreateLabelingJob", labeling_request())
    shapes.validate_request("sagemaker", "CreateTrainingJob", training_request())


def test_unknown_members_and_nulls_of_optional_members_are_ignored() -> None:
    body = labeling_request() | {"NotInTheModel": {"x": 1}, "StoppingConditions": None}
    shapes.validate_request("sagemaker", "CreateLabelingJob", body)


def test_request_invalid_is_a_service_error() -> None:
    body = labeling_request() | {"LabelingJobName": "bad_name"}
    error = rejection("CreateLabelingJob", body)
    assert isinstance(error, ServiceError)
    assert (error.code, error.status) == ("ValidationException", 400)


def test_name_with_underscore_breaks_the_pattern() -> None:
    body = labeling_request() | {"LabelingJobName": "bad_name"}
    assert rejection("CreateLabelingJob", body).message == (
        "1 validation error detected: Value 'bad_name' at 'labelingJobName' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {NAME_PATTERN}"
    )


def test_name_of_64_characters_is_too_long() -> None:
    body = labeling_request() | {"LabelingJobName": "a" * 64}
    message = rejection("CreateLabelingJob", body).message
    assert message.startswith("2 validation errors detected: ")
    assert (
        f"Value '{'a' * 64}' at 'labelingJobName' failed to satisfy constraint: "
        "Member must have length less than or equal to 63"
    ) in message


def test_too_many_workers_per_object() -> None:
    body = labeling_request()
    body["HumanTaskConfig"]["NumberOfHumanWorkersPerDataObject"] = 10
    assert rejection("CreateLabelingJob", body).message == (
        "1 validation error detected: Value '10' at "
        "'humanTaskConfig.numberOfHumanWorkersPerDataObject' failed to satisfy constraint: "
        "Member must have value less than or equal to 9"
    )


def test_missing_required_member() -> None:
    body = labeling_request()
    del body["RoleArn"]
    assert rejection("CreateLabelingJob", body).message == (
        "1 validation error detected: "
        "Value null at 'roleArn' failed to satisfy constraint: Member must not be null"
    )


def test_missing_nested_required_member() -> None:
    body = labeling_request()
    del body["HumanTaskConfig"]["UiConfig"]
    assert (
        "Value null at 'humanTaskConfig.uiConfig'" in rejection("CreateLabelingJob", body).message
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("300", "STRING_VALUE can not be converted to an Integer"),
        (True, "BOOLEAN_VALUE can not be converted to an Integer"),
        (30.5, "NUMBER_VALUE can not be converted to an Integer"),
        ({"seconds": 300}, "Start of structure or map found where not expected."),
        ([300], "Start of list found where not expected."),
    ],
)
def test_wrong_type_is_a_serialization_error(value: object, message: str) -> None:
    body = labeling_request()
    body["HumanTaskConfig"]["TaskTimeLimitInSeconds"] = value
    error = rejection("CreateLabelingJob", body)
    assert (error.code, error.message) == ("SerializationException", message)


def test_number_where_a_string_is_expected() -> None:
    body = labeling_request() | {"LabelAttributeName": 7}
    assert rejection("CreateLabelingJob", body).message == (
        "NUMBER_VALUE can not be converted to a String"
    )


def test_enum_violation() -> None:
    body = training_request()
    enum = (
        shapes.operation_model("sagemaker", "CreateTrainingJob")
        .input_shape.members["AlgorithmSpecification"]
        .members["TrainingInputMode"]
        .enum
    )
    assert "Stream" not in enum
    body["AlgorithmSpecification"]["TrainingInputMode"] = "Stream"
    assert rejection("CreateTrainingJob", body).message == (
        "1 validation error detected: Value 'Stream' at 'algorithmSpecification.trainingInputMode' "
        f"failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(enum)}]"
    )


def test_two_problems_at_once() -> None:
    body = labeling_request() | {"LabelingJobName": "bad_name"}
    del body["RoleArn"]
    assert rejection("CreateLabelingJob", body).message == (
        "2 validation errors detected: Value 'bad_name' at 'labelingJobName' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {NAME_PATTERN}; "
        "Value null at 'roleArn' failed to satisfy constraint: Member must not be null"
    )


def test_list_of_structures_paths_are_numbered_members() -> None:
    body = labeling_request() | {
        "Tags": [{"Key": "ok", "Value": "v"}, {"Key": "a<b", "Value": "v"}]
    }
    message = rejection("CreateLabelingJob", body).message
    assert "Value 'a<b' at 'tags.2.member.key' failed to satisfy constraint: " in message


def test_list_length_and_scalar_members() -> None:
    body = labeling_request()
    body["HumanTaskConfig"]["TaskKeywords"] = ["animals", ""]
    assert rejection("CreateLabelingJob", body).message == (
        "1 validation error detected: Value '[animals, ]' at 'humanTaskConfig.taskKeywords' "
        "failed to satisfy constraint: Member must satisfy constraint: [Member must have length "
        "greater than or equal to 1, Member must satisfy regular expression pattern: "
        "[A-Za-z0-9]+( [A-Za-z0-9]+)*]"
    )
    body["HumanTaskConfig"]["TaskKeywords"] = ["a", "b", "c", "d", "e", "f"]
    assert "Member must have length less than or equal to 5" in (
        rejection("CreateLabelingJob", body).message
    )


def test_map_values_are_checked() -> None:
    body = training_request()
    body["HyperParameters"] = {"epochs": "x" * 2501}
    assert rejection("CreateTrainingJob", body).message.endswith(
        "at 'hyperParameters' failed to satisfy constraint: Map value must satisfy constraint: "
        "[Member must have length less than or equal to 2500]"
    )


def test_unicode_tag_values_follow_the_java_pattern() -> None:
    body = labeling_request() | {"Tags": [{"Key": "Écurie", "Value": "Zürich 2024 ünïcode"}]}
    shapes.validate_request("sagemaker", "CreateLabelingJob", body)


def test_timestamps_accept_epoch_and_iso_strings() -> None:
    for value in (1714564800, 1714564800.5, "2024-05-01T12:00:00Z"):
        shapes.validate_request(
            "sagemaker", "ListLabelingJobs", {"CreationTimeAfter": value, "MaxResults": 10}
        )
    error = rejection("ListLabelingJobs", {"CreationTimeAfter": "yesterday"})
    assert error.code == "SerializationException"


# --- Java patterns ----------------------------------------------------------


def test_translated_patterns_keep_java_meaning() -> None:
    tag = shapes.compile_pattern(r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)")
    assert tag is not None and tag.fullmatch("héllo wörld ١٢") and not tag.fullmatch("a<b")
    catalog = shapes.compile_pattern(r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*")
    assert catalog is not None and catalog.fullmatch("x\U0001f600y\t")
    assert not catalog.fullmatch("\x01")
    repeated_end = shapes.compile_pattern(r"([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)${1,128}")
    assert repeated_end is not None and repeated_end.fullmatch("key")
    posix = shapes.compile_pattern(r"arn:[\p{Alnum}\-]+:lambda:[\p{Alnum}\-]+:[0-9]{12}:.*")
    assert posix is not None and not posix.fullmatch(f"arn:aws:lambda:us-é:{ACCOUNT}:x")
    digits = shapes.compile_pattern(r"\d+")
    assert digits is not None and not digits.fullmatch("١٢")  # Java's \d is ASCII only
    dot = shapes.compile_pattern(".+")
    assert dot is not None and dot.fullmatch("a b") and not dot.fullmatch("a\rb")
    assert not dot.fullmatch("a\u2028b")  # Java's "." stops at every line terminator


@pytest.mark.parametrize("java", [r"[a-z&&[^aeiou]]", r"\Qa.b\E", r"[\P{L}x]", r"\p{InGreek}"])
def test_untranslatable_patterns_are_skipped(java: str) -> None:
    with pytest.raises(shapes.UnsupportedPattern):
        shapes.translate_pattern(java)
    assert shapes.compile_pattern(java) is None


def test_every_sagemaker_input_pattern_compiles() -> None:
    assert len(shapes.input_patterns("sagemaker")) > 150
    assert shapes.skipped_patterns("sagemaker") == []
    model = shapes.service_model("sagemaker")
    for name in model.shape_names:  # outputs' patterns too (check_response(constraints=True))
        pattern = model.shape_for(name).metadata.get("pattern")
        assert pattern is None or shapes.compile_pattern(pattern) is not None, pattern


def sample(shape: Shape, full: bool, stack: tuple[str, ...] = ()) -> Any:
    """Build a well-typed value for `shape`: required members only, or every member (`full`)."""
    meta = shape.metadata
    if shape.type_name == "structure":
        names = shape.members if full else shape.required_members
        return {
            name: sample(shape.members[name], full, (*stack, shape.name))
            for name in names
            if shape.members[name].name not in stack
        }
    if shape.type_name == "list":
        return [] if shape.member.name in stack else [sample(shape.member, full, stack)]
    if shape.type_name == "map":
        return {"key": sample(shape.value, full, stack)}
    values = {
        "string": (meta.get("enum") or ["a" * max(1, meta.get("min", 1))])[0],
        "integer": meta.get("min", 1),
        "long": meta.get("min", 1),
        "float": float(meta.get("min", 1)),
        "double": float(meta.get("min", 1)),
        "boolean": True,
        "timestamp": 1714564800,
        "blob": "YWJj",
    }
    return values[shape.type_name]


@pytest.mark.parametrize("full", [False, True], ids=["required", "every-member"])
def test_validating_every_operation_does_not_crash(full: bool) -> None:
    model = shapes.service_model("sagemaker")
    summary = re.compile(r"\d+ validation errors? detected: Value .+")
    for name in model.operation_names:
        shape = model.operation_model(name).input_shape
        body = sample(shape, full) if shape is not None else {}
        try:
            shapes.validate_request("sagemaker", name, body)
        except shapes.RequestInvalid as error:
            assert error.code == "ValidationException", (name, error.message)
            assert summary.fullmatch(error.message), (name, error.message)


# --- to_wire ----------------------------------------------------------------


def training_output() -> dict[str, Any]:
    """Return a DescribeTrainingJob output with datetimes nested in lists and structures."""
    return {
        "TrainingJobName": "walkthrough-train-1",
        "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/walkthrough-train-1",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://bucket/models/model.tar.gz"},
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "FailureReason": None,
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "image"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "CreationTime": CREATED,
        "TrainingStartTime": datetime(2024, 5, 1, 12, 0, 5),  # naive: taken as UTC
        "SecondaryStatusTransitions": [
            {"Status": "Starting", "StartTime": CREATED, "EndTime": MODIFIED},
            {"Status": "Training", "StartTime": MODIFIED, "EndTime": None},
        ],
        "FinalMetricDataList": [{"MetricName": "loss", "Value": 0.25, "Timestamp": MODIFIED}],
    }


def test_to_wire_turns_datetimes_into_epoch_seconds() -> None:
    wire = shapes.to_wire("sagemaker", "DescribeTrainingJob", training_output())
    assert "FailureReason" not in wire
    assert wire["CreationTime"] == 1714564800.0
    assert wire["TrainingStartTime"] == 1714564805.0
    assert wire["SecondaryStatusTransitions"] == [
        {"Status": "Starting", "StartTime": 1714564800.0, "EndTime": 1714566615.5},
        {"Status": "Training", "StartTime": 1714566615.5},
    ]
    assert wire["FinalMetricDataList"][0]["Timestamp"] == 1714566615.5
    assert wire["ResourceConfig"] == training_output()["ResourceConfig"]
    json.dumps(wire)


def test_to_wire_output_is_what_boto3_parses_back() -> None:
    output = training_output()
    wire = shapes.to_wire("sagemaker", "DescribeTrainingJob", output)
    shape = shapes.operation_model("sagemaker", "DescribeTrainingJob").output_shape
    response = {"body": json.dumps(wire).encode(), "headers": {}, "status_code": 200}
    parsed = create_parser("json").parse(response, shape)
    assert parsed["SecondaryStatusTransitions"][0]["EndTime"] == MODIFIED
    assert shapes.check_response("sagemaker", "DescribeTrainingJob", parsed) == []
    assert shapes.check_response("sagemaker", "DescribeTrainingJob", wire, wire=True) == []


# --- check_response ---------------------------------------------------------


def labeling_output() -> dict[str, Any]:
    """Return a correct DescribeLabelingJob response as boto3 parses it."""
    request = labeling_request()
    name = request["LabelingJobName"]
    return {
        **request,
        "LabelingJobStatus": "InProgress",
        "LabelCounters": {
            "TotalLabeled": 2,
            "HumanLabeled": 2,
            "MachineLabeled": 0,
            "FailedNonRetryableError": 0,
            "Unlabeled": 8,
        },
        "CreationTime": CREATED,
        "LastModifiedTime": MODIFIED,
        "JobReferenceCode": "abc123",
        "LabelingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{name}",
        "ResponseMetadata": {"RequestId": "x", "HTTPStatusCode": 200},
    }


def test_correct_response_has_no_problems() -> None:
    parsed = labeling_output()
    assert shapes.check_response("sagemaker", "DescribeLabelingJob", parsed) == []
    assert shapes.check_response("sagemaker", "DescribeLabelingJob", parsed, constraints=True) == []


def broken(path: str, value: object) -> dict[str, Any]:
    """Return the correct response with one field (a dotted path) replaced, or removed if `...`."""
    response = copy.deepcopy(labeling_output())
    *parents, last = path.split(".")
    target: Any = response
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return response


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("LabelingJobStatus", ..., "LabelingJobStatus: missing required member"),
        ("OutputConfig.S3OutputPath", ..., "OutputConfig.S3OutputPath: missing required member"),
        ("LabelingJobArn", None, "LabelingJobArn: missing required member"),
        (
            "LabelCounters.TotalLabeled",
            "2",
            "LabelCounters.TotalLabeled: expected integer, got str",
        ),
        ("LabelCounters.Unlabeled", True, "LabelCounters.Unlabeled: expected integer, got bool"),
        ("CreationTime", 1714564800.0, "CreationTime: expected timestamp, got float"),
        ("HumanTaskConfig", [], "HumanTaskConfig: expected structure, got list"),
        ("Tags", {"project": "walkthrough"}, "Tags: expected list, got dict"),
        ("Tags.0.Value", 5, "Tags[0].Value: expected string, got int"),
        (
            "LabelingJobStatus",
            "Running",
            "LabelingJobStatus: 'Running' is not in the enum "
            "[Initializing, InProgress, Completed, Failed, Stopping, Stopped]",
        ),
        ("Extra", 1, "Extra: unknown member"),
        ("LabelCounters.Skipped", 1, "LabelCounters.Skipped: unknown member"),
    ],
)
def test_one_broken_field_is_found(path: str, value: object, problem: str) -> None:
    response = broken(path, value)
    assert shapes.check_response("sagemaker", "DescribeLabelingJob", response) == [problem]


def test_constraints_are_checked_on_request() -> None:
    response = labeling_output() | {"LabelingJobName": "bad_name"}
    assert shapes.check_response("sagemaker", "DescribeLabelingJob", response) == []
    assert shapes.check_response(
        "sagemaker", "DescribeLabelingJob", response, constraints=True
    ) == [f"LabelingJobName: Member must satisfy regular expression pattern: {NAME_PATTERN}"]
