"""Settings: precedence, parsing, and a clear error for every rule."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.errors import InputError
from helpers.settings import Settings, load


def test_defaults_run_in_local_mode(tmp_path: Path) -> None:
    settings = load(env={}, settings_file=None)
    assert settings.mode == "local"
    assert settings.classes == ("Musical Instrument", "Fruit")
    assert settings.create_bucket is True
    assert settings.role_arn.startswith("arn:aws:iam::123456789012:role/")
    assert settings.training_instance_type == "ml.p3.2xlarge"  # P3: AWS's documented example
    assert settings.ground_truth_num_workers_per_object == 3


def test_precedence_parameter_over_env_over_file(tmp_path: Path) -> None:
    file = tmp_path / "settings.json"
    file.write_text(json.dumps({"bucket": "from-file", "prefix": "file/prefix", "seed": 1}))
    env = {"WALKTHROUGH_BUCKET": "from-env", "WALKTHROUGH_SEED": "7"}
    settings = load({"bucket": "from-param", "seed": None}, env=env, settings_file=file)
    assert settings.bucket == "from-param"
    assert settings.seed == 7
    assert settings.prefix == "file/prefix"
    assert settings.sources["bucket"] == "parameter"
    assert settings.sources["seed"] == "environment"
    assert settings.sources["prefix"] == "file settings.json"


def test_notebook_globals_pass_only_settings_that_were_given() -> None:
    fake_globals = {"__name__": "__main__", "bucket": None, "images_per_class": 10, "np": object()}
    settings = load(fake_globals, env={})
    assert settings.images_per_class == 10
    assert settings.bucket == Settings().bucket


def test_env_lists_and_numbers_are_json() -> None:
    env = {
        "WALKTHROUGH_CLASSES": '["Cheetah", "Tiger"]',
        "WALKTHROUGH_VALIDATION_FRACTION": "0.25",
        "WALKTHROUGH_CONFIRM_SUBMIT": "true",
    }
    settings = load(env=env)
    assert settings.classes == ("Cheetah", "Tiger")
    assert settings.validation_fraction == 0.25
    assert settings.confirm_submit is True


def test_env_value_that_is_not_json_names_the_variable() -> None:
    with pytest.raises(InputError) as err:
        load(env={"WALKTHROUGH_IMAGES_PER_CLASS": "ten"})
    assert "WALKTHROUGH_IMAGES_PER_CLASS" in str(err.value)


def test_settings_file_with_unknown_name_is_rejected(tmp_path: Path) -> None:
    file = tmp_path / "settings.json"
    file.write_text(json.dumps({"buckt": "x"}))
    with pytest.raises(InputError, match="buckt"):
        load(env={}, settings_file=file)


def test_aws_mode_needs_own_bucket() -> None:
    with pytest.raises(InputError) as err:
        load({"mode": "aws"}, env={})
    assert err.value.setting == "bucket"
    settings = load({"mode": "aws", "bucket": "my-team-gt-bucket"}, env={})
    assert settings.annotations_url.startswith("https://storage.googleapis.com/openimages/")
    assert settings.create_bucket is False
    assert settings.role_arn is None


BAD = [
    ("bucket", "My_Bucket", "lower-case"),
    ("bucket", "ab", "3 to 63"),
    ("bucket", "192.168.5.4", "IP address"),
    ("bucket", "bucket-end-", "begin and end"),
    ("bucket", "a..b", "adjacent dots"),
    ("bucket", "xn--bucket", "must not start"),
    ("bucket", "b" * 64, "3 to 63 characters long (it has 64)"),
    ("bucket", "b" * 255, "3 to 63 characters long (it has 255)"),
    ("bucket", "sthree-bucket", "must not start with 'sthree-'"),
    ("bucket", "amzn-s3-demo-bucket", "must not start with 'amzn-s3-demo-'"),
    ("bucket", "my-bucket-s3alias", "must not end with '-s3alias'"),
    ("bucket", "my-bucket--ol-s3", "must not end with '--ol-s3'"),
    ("bucket", "my-bucket.mrap", "must not end with '.mrap'"),
    ("bucket", "my-bucket--x-s3", "must not end with '--x-s3'"),
    ("bucket", "my-bucket--table-s3", "must not end with '--table-s3'"),
    ("region", "us-west-9", "not an AWS region"),
    ("mode", "cloud", "'local' or 'aws'"),
    ("training_instance_type", "ml.c4.2xlarge", "GPU instances only"),
    ("training_instance_type", "ml.m5.large", "GPU instances only"),
    ("training_instance_type", "g4dn.xlarge", "ml.<family>.<size>"),
    ("test_images_per_class", -1, "between 0 and 100"),
    ("test_images_per_class", 101, "between 0 and 100"),
    ("transform_instance_type", "c5.xlarge", "ml.<family>.<size>"),
    ("transform_instance_type", "ml.r5.large", "runs inference on CPU families"),
    ("transform_instance_type", "ml.c5.large", "not a batch transform instance type"),
    ("team_name", "team_with_underscore", "SageMaker names"),
    ("team_name", "x" * 64, "1 to 63 characters"),
    ("ground_truth_train_job_name", "-starts-with-hyphen", "SageMaker names"),
    ("ground_truth_validation_job_name", "a" * 70, "1 to 63"),
    ("role_arn", "arn:aws:iam::12345:role/x", "IAM role ARN"),
    ("role_arn", "arn:aws:iam::123456789012:user/someone", "IAM role ARN"),
    ("kfp_pod_role_arn", "kfp-example-pod-role", "IAM role ARN"),
    ("classes", ["Fruit"], "at least 2 classes"),
    ("classes", ["Fruit", "fruit"], "distinct"),
    ("images_per_class", 1, "between 2 and 1000"),
    ("validation_fraction", 1.5, "between 0 and 1"),
    ("ground_truth_num_workers_per_object", 10, "between 1 and 9"),
    ("ground_truth_time_limit", 10, "between 30 and 28800"),
    ("ground_truth_task_availability", 30, "between 60"),
    ("ground_truth_label_attribute_name", "category-metadata", "-metadata"),
    ("user_pool", "not-a-pool", "Cognito user pool id"),
    ("prefix", "/leading/slash", "without leading"),
    ("prefix", "", "non-empty"),
    ("source", "http://example.com/images", "'openimages' or an S3 prefix"),
    ("kfp_namespace", "Kubeflow_NS", "Kubernetes name"),
]


@pytest.mark.parametrize(("name", "value", "rule"), BAD, ids=[f"{n}={v!s:.20}" for n, v, _ in BAD])
def test_bad_value_names_setting_value_rule_and_fix(name: str, value: object, rule: str) -> None:
    with pytest.raises(InputError) as err:
        load({name: value}, env={})
    message = str(err.value)
    assert err.value.setting == name
    assert repr(value if not isinstance(value, list) else value) in message or str(value) in message
    assert rule in message
    assert "Fix:" in message and err.value.fix


def test_wrong_type_is_reported() -> None:
    with pytest.raises(InputError, match="whole number"):
        load({"images_per_class": 2.5}, env={})


def test_cli_prints_settings_and_fails_on_bad_value(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "WALKTHROUGH_SETTINGS_FILE": str(tmp_path / "s.json")}
    (tmp_path / "s.json").write_text("{}")
    ok = subprocess.run(
        [sys.executable, "-m", "helpers.settings"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["settings"]["mode"] == "local"
    env["WALKTHROUGH_TRAINING_INSTANCE_TYPE"] = "ml.c5.xlarge"
    bad = subprocess.run(
        [sys.executable, "-m", "helpers.settings"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert bad.returncode == 1
    assert "training_instance_type" in bad.stderr and "GPU" in bad.stderr


def test_settings_are_immutable() -> None:
    settings = load(env={})
    with pytest.raises(AttributeError):
        settings.bucket = "other"  # type: ignore[misc]


def test_component_set_defaults_by_mode() -> None:
    assert load(env={}).component_set == "python"
    assert load({"mode": "aws", "bucket": "my-team-gt-bucket"}, env={}).component_set == "official"
    with pytest.raises(InputError, match="local runner"):
        load({"component_set": "official"}, env={})
    with pytest.raises(InputError, match="'official'"):
        load({"mode": "aws", "bucket": "my-team-gt-bucket", "component_set": "docker"}, env={})


def test_the_official_set_refuses_an_nvme_training_instance() -> None:
    """Defect 10: the official program sends VolumeKmsKeyId="" and AWS refuses it on NVMe types."""
    aws = {"mode": "aws", "bucket": "my-bucket"}
    assert load(aws, env={}).training_instance_type == "ml.p3.2xlarge"
    with pytest.raises(InputError) as err:
        load({**aws, "training_instance_type": "ml.g4dn.xlarge"}, env={})
    assert err.value.setting == "training_instance_type"
    assert "VolumeKmsKeyId" in str(err.value) and "ml.p3.2xlarge" in str(err.value)
    python = load(
        {**aws, "training_instance_type": "ml.g5.xlarge", "component_set": "python"}, env={}
    )
    assert python.training_instance_type == "ml.g5.xlarge"  # the Python set sends no empty key


def test_setup_defaults_by_mode() -> None:
    local = load(env={})
    assert local.eks_cluster_name == "walkthrough-local"
    assert local.user_groups == "walkthrough-labelers"
    assert local.labelers == "labeler-1,labeler-2,labeler-3"  # one per worker per object
    assert local.create_missing is True and local.create_eks_cluster is True
    assert load({"ground_truth_num_workers_per_object": 5}, env={}).labelers.endswith("labeler-5")
    aws = load({"mode": "aws", "bucket": "my-team-gt-bucket"}, env={})
    assert aws.create_missing is False and aws.create_eks_cluster is False
    assert (aws.eks_cluster_name, aws.user_groups, aws.labelers) == (None, None, None)


@pytest.mark.parametrize(
    ("values", "rule"),
    [
        ({"labelers": "ana,has space"}, "Cognito user names"),
        (
            {"mode": "aws", "bucket": "my-team-gt-bucket", "create_eks_cluster": True},
            "only local mode creates an EKS cluster",
        ),
    ],
    ids=["labelers", "create_eks_cluster-in-aws-mode"],
)
def test_bad_setup_values_name_the_rule(values: dict[str, object], rule: str) -> None:
    with pytest.raises(InputError) as err:
        load(values, env={})
    assert rule in str(err.value) and "Fix:" in str(err.value)


def test_predictions_run_on_cpu_or_gpu_types_and_turn_off_with_zero_test_images() -> None:
    """Inference is not training: the algorithm predicts on CPU types, so the default is one."""
    settings = load({}, env={})
    assert (settings.test_images_per_class, settings.predictions) == (10, True)
    assert settings.transform_instance_type == "ml.c5.xlarge"
    for cpu_or_gpu in ("ml.c4.xlarge", "ml.m5.large", "ml.p3.2xlarge", "ml.g4dn.xlarge"):
        assert load({"transform_instance_type": cpu_or_gpu}, env={}).predictions
    off = load(env={"WALKTHROUGH_TEST_IMAGES_PER_CLASS": "0"})
    assert (off.test_images_per_class, off.predictions) == (0, False)
