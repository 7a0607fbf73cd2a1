"""The local AWS's settings: one LocalConfig, read from the environment in one place."""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import fields
from pathlib import Path

import pytest

from helpers import regions
from helpers.errors import InputError
from helpers.local.config import LocalConfig, variable
from helpers.local.core import Backend, ServiceError
from helpers.local.faults import FaultConfig
from helpers.local.sagemaker.routes import SageMaker

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ROOT / "helpers" / "local"


def _readme_rows() -> list[tuple[str, ...]]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Local mode") : text.index("## What local mode proves")]
    start = section.index("| field | variable | default | what it does |")
    rows = []
    for line in section[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append(tuple(cell.strip() for cell in line.strip("|").split("|")))
    return rows


def test_the_readme_table_lists_every_local_setting_with_its_variable_and_default() -> None:
    expected = [
        (f"`{f.name}`", f"`{variable(f.name)}`", f.metadata["default"], f.metadata["effect"])
        for f in fields(LocalConfig)
    ]
    assert _readme_rows() == expected


def test_unset_variables_give_the_defaults_and_set_ones_are_read() -> None:
    assert LocalConfig.from_environment({}) == LocalConfig()
    config = LocalConfig.from_environment(
        {
            "WALKTHROUGH_LOCAL_SPEED": "250",
            "WALKTHROUGH_LOCAL_WORKER_ACCURACY": "0.6,0.7",
            "WALKTHROUGH_LOCAL_WORKER_SECONDS": "1,2",
            "WALKTHROUGH_LOCAL_GPU_QUOTA": "0",
            "WALKTHROUGH_LOCAL_PORT": "8123",
            "WALKTHROUGH_LOCAL_FAULTS": '{"s3_error_rate": 0.1, "seed": 3}',
            "WALKTHROUGH_LOCAL_UNKNOWN": "ignored",
        }
    )
    assert config == LocalConfig(
        speed=250.0,
        worker_accuracy=(0.6, 0.7),
        worker_seconds=(1.0, 2.0),
        gpu_quota=0,
        port=8123,
        faults=FaultConfig(s3_error_rate=0.1, seed=3),
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WALKTHROUGH_LOCAL_SPEED", "fast"),
        ("WALKTHROUGH_LOCAL_SPEED", "0"),
        ("WALKTHROUGH_LOCAL_WORKER_ACCURACY", "0.9"),
        ("WALKTHROUGH_LOCAL_WORKER_ACCURACY", "0.9,1.5"),
        ("WALKTHROUGH_LOCAL_WORKER_SECONDS", "12,4"),
        ("WALKTHROUGH_LOCAL_GPU_QUOTA", "-1"),
        ("WALKTHROUGH_LOCAL_PORT", "70000"),
        ("WALKTHROUGH_LOCAL_FAULTS", '{"s3_error_rate": 2}'),
        ("WALKTHROUGH_LOCAL_FAULTS", "not json"),
        ("WALKTHROUGH_LOCAL_SPEED", "nan"),
        ("WALKTHROUGH_LOCAL_FAULTS", '{"latency_ms": NaN}'),
        ("WALKTHROUGH_LOCAL_FAULTS", '{"latency_ms": 1e12}'),
        ("WALKTHROUGH_LOCAL_FAULTS", '{"ground_truth_closed": "false"}'),
        ("WALKTHROUGH_LOCAL_FAULTS", '{"fail_jobs": "demo-*"}'),
        ("WALKTHROUGH_LOCAL_FAULTS", "[1, 2]"),
    ],
)
def test_a_bad_value_names_the_variable_and_the_fix(name: str, value: str) -> None:
    with pytest.raises(InputError) as err:
        LocalConfig.from_environment({name: value})
    assert err.value.setting == name and f"set {name}=" in err.value.fix


def test_the_settings_reach_the_local_sagemaker() -> None:
    sagemaker = SageMaker(Backend("http://127.0.0.1:9"), LocalConfig(speed=7.0, gpu_quota=1))
    assert sagemaker.clock.speed == 7.0
    request = {
        "TrainingJobName": "over-quota",
        "AlgorithmSpecification": {
            "TrainingImage": regions.image_classification_image("us-west-2"),
            "TrainingInputMode": "Pipe",
        },
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "OutputDataConfig": {"S3OutputPath": "s3://b/out"},
        "ResourceConfig": {"InstanceType": "ml.g4dn.xlarge", "InstanceCount": 2},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    with pytest.raises(ServiceError) as err:
        sagemaker.call("CreateTrainingJob", request, "us-west-2")
    assert err.value.code == "ResourceLimitExceeded" and " 1 Instances" in err.value.message


def _reads_environment(source: str) -> list[int]:
    """Lines that read a variable: os.environ.get / os.getenv / os.environ[...] (in code).

    Read from the tokens, not an AST: Python 3.11.7's parser can fail with "AST constructor
    recursion depth mismatch" deep inside a long test session (fixed in 3.11.8).
    """
    code = [
        token
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type not in (tokenize.COMMENT, tokenize.STRING, tokenize.NL, tokenize.NEWLINE)
    ]
    lines = []
    for i, token in enumerate(code):
        words = "".join(t.string for t in code[i : i + 5])
        if token.string == "os" and re.match(r"os\.(environ\.get|getenv\(|environ\[)", words):
            lines.append(token.start[0])
    return lines


def test_only_the_config_module_reads_environment_variables() -> None:
    readers = {
        str(path.relative_to(LOCAL)): found
        for path in sorted(LOCAL.rglob("*.py"))
        if (found := _reads_environment(path.read_text()))
    }
    assert set(readers) <= {"config.py"}, readers
