"""The child process of a local training job: read the channels, train, log, upload the model.

Run as `python -m helpers.local.sagemaker.training_child` with the job's spec as JSON on stdin.
It talks to the local AWS like a training container talks to AWS: S3 for data and model,
CloudWatch Logs for its log. Progress lines (`STATUS <name>`) and the final `RESULT <json>` go
to stdout.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config

from helpers.local.core import split_s3_uri
from helpers.local.faults import INTERNAL_AGENT
from helpers.local.sagemaker import algorithm_log
from helpers.local.standins import classifier

LOG_GROUP = "/aws/sagemaker/TrainingJobs"


def client(spec: dict[str, Any], service: str) -> Any:
    """A client to the local AWS for a job's child process (its requests are the service's own)."""
    return boto3.client(
        service,
        region_name=spec["region"],
        endpoint_url=spec["endpoint_url"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(
            retries={"mode": "standard", "max_attempts": 5},
            max_pool_connections=16,
            s3={"addressing_style": "path"},
            user_agent_extra=INTERNAL_AGENT,
        ),
    )


class CloudWatchLog:
    """Sends log lines to one CloudWatch Logs stream of a job (and echoes them to stderr).

    With `algorithm=True` each line starts as the image-classification algorithm's do
    (`[MM/DD/YYYY HH:MM:SS INFO <thread>] `, see `algorithm_log`).
    """

    def __init__(
        self,
        spec: dict[str, Any],
        group: str = LOG_GROUP,
        stream: str | None = None,
        algorithm: bool = False,
    ) -> None:
        self.algorithm = algorithm
        self.logs = client(spec, "logs")
        self.group = group
        self.stream = stream or spec["log_stream"]
        with contextlib.suppress(self.logs.exceptions.ResourceAlreadyExistsException):
            self.logs.create_log_group(logGroupName=group)
        self.logs.create_log_stream(logGroupName=group, logStreamName=self.stream)

    def __call__(self, line: str) -> None:
        """Log one line."""
        if self.algorithm:
            line = algorithm_log.prefix() + line
        print(line, file=sys.stderr, flush=True)
        self.logs.put_log_events(
            logGroupName=self.group,
            logStreamName=self.stream,
            logEvents=[{"timestamp": int(time.time() * 1000), "message": line}],
        )


def read_channel(s3: Any, channel: dict[str, Any]) -> list[tuple[str, int]]:
    """Read an augmented-manifest channel into (image URI, label) records."""
    source = channel["DataSource"]["S3DataSource"]
    image_attr, label_attr = source["AttributeNames"]
    bucket, key = split_s3_uri(source["S3Uri"])
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    records = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        line = json.loads(raw)
        missing = [a for a in (image_attr, label_attr) if a not in line]
        if missing:
            raise classifier.TrainingError(
                f"Line {number} of the {channel['ChannelName']} augmented manifest has no "
                f"attribute {missing[0]!r} (an object that failed labeling?). Leave such lines "
                "out of the channel."
            )
        records.append((str(line[image_attr]), int(line[label_attr])))
    return records


def _read_images(s3: Any, uris: list[str]) -> list[bytes]:
    def read(uri: str) -> bytes:
        bucket, key = split_s3_uri(uri)
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(read, uris))


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Train as the job spec says and return the result to report."""
    s3 = client(spec, "s3")
    log = CloudWatchLog(spec, algorithm=True)
    print("STATUS Downloading", flush=True)
    for line in algorithm_log.configuration_lines(spec["hyperparameters"]):
        log(line)
    hp = classifier.parse_hyperparameters(spec["hyperparameters"])
    for line in algorithm_log.parameter_lines(dataclasses.asdict(hp)):
        log(line)
    channels = {c["ChannelName"]: read_channel(s3, c) for c in spec["channels"]}
    train_records, validation_records = channels["train"], channels["validation"]
    classifier.check_data(hp, [r[1] for r in train_records], [r[1] for r in validation_records])
    train_images = _read_images(s3, [r[0] for r in train_records])
    validation_images = _read_images(s3, [r[0] for r in validation_records])
    print("STATUS Training", flush=True)
    result = classifier.train(
        hp,
        list(zip(train_images, [r[1] for r in train_records], strict=True)),
        list(zip(validation_images, [r[1] for r in validation_records], strict=True)),
        log,
    )
    print("STATUS Uploading", flush=True)
    bucket, key = split_s3_uri(spec["model_uri"])
    kms_key = spec.get("output_kms_key")
    encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else {}
    s3.put_object(Bucket=bucket, Key=key, Body=classifier.model_archive(result, hp), **encryption)
    return {
        "train_accuracy": result.train_accuracy,
        "validation_accuracy": result.validation_accuracy,
    }


def main() -> int:
    """Read the spec from stdin, run, print the result; failures become a FailureReason."""
    spec = json.loads(sys.stdin.read())
    try:
        outcome = {"ok": True, **run(spec)}
    except classifier.TrainingError as exc:
        outcome = {"ok": False, "reason": exc.failure_reason}
    except Exception as exc:  # noqa: BLE001 - report any crash as the job's failure
        outcome = {"ok": False, "reason": f"AlgorithmError: {type(exc).__name__}: {exc}"}
    print("RESULT " + json.dumps(outcome), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
