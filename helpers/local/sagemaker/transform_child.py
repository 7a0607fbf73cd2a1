"""The child process of a local transform job: load the model, predict each input, write `.out`s.

Run as `python -m helpers.local.sagemaker.transform_child` with the job's spec as JSON on stdin.
It talks to the local AWS as the algorithm's serving container and SageMaker's transform agent
do: S3 for the model, the inputs and the outputs, and two CloudWatch Logs streams, the
container's (`<job>/<instance>-<epoch>`) and the agent's data log (`.../data-log`), where every
input the algorithm refused is named by its S3 URI with the error. The final `RESULT <json>`
goes to stdout.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from helpers.local.core import split_s3_uri
from helpers.local.sagemaker.training_child import CloudWatchLog, client
from helpers.local.standins import classifier

#: The content types the built-in image-classification algorithm's inference accepts.
CONTENT_TYPES = ("application/x-image", "image/jpeg", "image/png", "application/x-recordio")
#: The response types it can answer with (both hold `{"prediction": [...]}`).
ACCEPTS = ("application/json", "application/jsonlines", "*/*")
#: What SageMaker puts in FailureReason when the algorithm refused an input.
CLIENT_ERROR = "ClientError: See job logs for more information"


class InputRefused(Exception):
    """An input the algorithm (or the transform agent) refused: the lines to log about it."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(lines[0])
        self.lines = lines


def _refused(status: int, message: str) -> InputRefused:
    """The algorithm's HTTP error for one input, as the data log shows it."""
    return InputRefused([f"ClientError: {status}", "", "Message:", message])


def _body(s3: Any, item: dict[str, Any], spec: dict[str, Any]) -> bytes:
    """Read one input (refusing it when it is over MaxPayloadInMB or cannot be unzipped)."""
    limit = int(spec["max_payload_mb"]) * 1024 * 1024
    if limit and item["size"] > limit:
        raise InputRefused(["Too much data for max payload size"])
    bucket, key = split_s3_uri(item["input"])
    try:
        data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        raise InputRefused([f"Unable to read the input: no object {item['input']}"]) from None
    if limit and len(data) > limit:
        raise InputRefused(["Too much data for max payload size"])
    if spec["compression"] == "Gzip":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InputRefused(
                [f"Unable to decompress the input (CompressionType Gzip): {exc}"]
            ) from None
    return data


def predict(model: classifier.Model, data: bytes, spec: dict[str, Any]) -> bytes:
    """Answer one request as the algorithm's serving container does: `{"prediction": [...]}`."""
    content_type = spec["content_type"]
    if content_type not in CONTENT_TYPES:
        raise _refused(
            415,
            f"Content type {content_type or '(none)'} is not supported by this algorithm; "
            f"send one of {', '.join(CONTENT_TYPES)}",
        )
    accept = spec["accept"] or "application/json"
    if accept not in ACCEPTS:
        raise _refused(406, f"Accept type {accept} is not supported by this algorithm")
    try:
        probabilities = classifier.image_probabilities(model, data)
    except classifier.TrainingError as exc:
        raise _refused(400, str(exc)) from None
    return json.dumps({"prediction": probabilities}).encode()


def _write(s3: Any, item: dict[str, Any], body: bytes, spec: dict[str, Any]) -> None:
    bucket, key = split_s3_uri(item["output"])
    kms_key = spec.get("output_kms_key")
    encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else {}
    accept = spec["accept"] if spec["accept"] in ACCEPTS[:2] else "application/json"
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=accept, **encryption)


def _worker(
    s3: Any, model: classifier.Model, spec: dict[str, Any], data_log: Callable[[str], None]
) -> Callable[[dict[str, Any]], bool]:
    """A function that transforms one input and says whether it succeeded."""
    parent = os.getppid()
    lock = threading.Lock()

    def transform(item: dict[str, Any]) -> bool:
        if os.getppid() != parent:  # the local AWS is gone: nobody will read the result
            os._exit(1)
        try:
            _write(s3, item, predict(model, _body(s3, item, spec), spec), spec)
        except InputRefused as exc:
            where = item["input"]
            with lock:
                for line in exc.lines:
                    data_log(f"[sagemaker logs]: {where}: {line}")
            return False
        return True

    return transform


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Transform every input of the spec; return the result to report."""
    s3 = client(spec, "s3")
    log = CloudWatchLog(spec, spec["log_group"], spec["log_stream"])
    data_log = CloudWatchLog(spec, spec["log_group"], spec["data_log_stream"])
    log(f"[INFO] Loading the image-classification model from {spec['model_uri']}")
    bucket, key = split_s3_uri(spec["model_uri"])
    model = classifier.load_model(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    log(f"[INFO] Model loaded: {model.num_classes} classes; serving /invocations")
    strategy = "SINGLE_RECORD" if spec["batch_strategy"] == "SingleRecord" else "MULTI_RECORD"
    concurrent = int(spec["max_concurrent"]) or 1
    data_log(
        f"[sagemaker logs]: MaxConcurrentTransforms={concurrent}, "
        f"MaxPayloadInMB={spec['max_payload_mb']}, BatchStrategy={strategy}"
    )
    transform = _worker(s3, model, spec, data_log)
    with ThreadPoolExecutor(max_workers=min(concurrent, 2)) as pool:
        done = list(pool.map(transform, spec["items"]))
    failed = done.count(False)
    log(f"[INFO] Answered {len(done) - failed} of {len(done)} requests")
    if failed:
        return {"ok": False, "reason": CLIENT_ERROR, "failed": failed}
    return {"ok": True, "transformed": len(done)}


def main() -> int:
    """Read the spec from stdin, run, print the result; failures become a FailureReason."""
    spec = json.loads(sys.stdin.read())
    try:
        outcome = run(spec)
    except classifier.TrainingError as exc:  # the model cannot be loaded: the container fails
        outcome = {"ok": False, "reason": f"AlgorithmError: {exc}"}
    except Exception as exc:  # noqa: BLE001 - report any crash as the job's failure
        outcome = {"ok": False, "reason": f"InternalServerError: {type(exc).__name__}: {exc}"}
    print("RESULT " + json.dumps(outcome), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
