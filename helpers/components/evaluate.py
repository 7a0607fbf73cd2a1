"""The evaluate step: the model's accuracy on the held-out test images, as KFP artifacts.

It reads the test labels (Open Images' truth, one JSON line per test image), the batch transform's
`.out` objects (`{"prediction": [p_0, ..., p_k]}` in class index order), the class order
(`class_labels.json`) and the training job's final validation accuracy, and writes three KFP
artifacts so that the KFP UI shows them with the run's lineage: a Model (the SageMaker model, its
`model.tar.gz` in the metadata), Metrics (test and validation accuracy) and ClassificationMetrics
(the test confusion matrix in the settings' class order).

Like `prepare_training`, it is one self-contained function with two uses. The Python set runs it
as a lightweight component: KFP's executor hands it `Output[Model]` and the others. The official
set runs this file as a Python 3.7 program on the official image, which has no kfp: there the
annotations below are stand-ins, and `program_main` hands the function artifacts of its own built
from KFP's executor input (`{executorInput}`) and writes the executor output file KFP's launcher
reads (the artifacts' metadata), as KFP's executor does.

The Model artifact keeps the URI KFP gives it, and the SageMaker model data URI goes in its
metadata: KFP's launcher uploads each output artifact to the URI the executor output names and
fails the task when that URI is not under the pipeline root (`uploadOutputArtifacts` ->
`KeyFromURI` in backend/src/v2/component/launcher_v2.go), so it cannot point at model.tar.gz.
"""

from typing import NamedTuple  # no `from __future__ import annotations`: KFP reads the types

try:  # the Python set: KFP's own artifact types
    from kfp.dsl import ClassificationMetrics, Metrics, Model, Output
except ImportError:  # the official image (Python 3.7, no kfp): stand-ins program_main reads

    class Output:  # noqa: D101 - Output[X] marks an output artifact of schema X.schema_title
        def __class_getitem__(cls, kind):
            return (cls, kind)

    class Model:  # noqa: D101
        schema_title = "system.Model"

    class Metrics:  # noqa: D101
        schema_title = "system.Metrics"

    class ClassificationMetrics:  # noqa: D101
        schema_title = "system.ClassificationMetrics"


def evaluate(
    region: str,
    training_job_name: str,
    model_name: str,
    model_artifact_url: str,
    test_labels_location: str,
    transform_input_location: str,
    predictions_location: str,
    label_category_config: str,
    model: Output[Model],
    metrics: Output[Metrics],
    confusion_matrix: Output[ClassificationMetrics],
    endpoint_url: str = "",
) -> NamedTuple("Outputs", [("test_accuracy", float), ("test_images", int)]):
    """Score the batch transform's predictions against the test labels; log KFP artifacts.

    Each test image's prediction is its `.out` object under `predictions_location` (its key
    relative to `transform_input_location`, plus `.out`), read by key; the predicted class is
    the index of the highest probability, in the order of `label_category_config`.
    """
    import json
    import os
    from collections import namedtuple
    from concurrent.futures import ThreadPoolExecutor

    import boto3

    session = boto3.session.Session(region_name=region)
    s3 = session.client("s3", endpoint_url=endpoint_url or None)
    sagemaker = session.client("sagemaker", endpoint_url=endpoint_url or None)

    def split(uri):
        bucket, _, key = uri[len("s3://") :].partition("/")
        return bucket, key

    def read(uri):
        bucket, key = split(uri)
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")

    classes = [entry["label"] for entry in json.loads(read(label_category_config))["labels"]]
    truth = [json.loads(line) for line in read(test_labels_location).splitlines() if line.strip()]
    if not truth:
        raise RuntimeError(f"No test image in {test_labels_location}: nothing to evaluate")

    # each test image's .out object: its key relative to the transform's input prefix + ".out",
    # read by key (no listing: the pod role may read under the prefix, not list it)
    in_bucket, in_prefix = split(transform_input_location.rstrip("/") + "/")
    out_bucket, out_prefix = split(predictions_location.rstrip("/") + "/")

    def prediction_of(source_ref):
        bucket, key = split(source_ref)
        if bucket != in_bucket or not key.startswith(in_prefix):
            raise ValueError(
                f"Test image {source_ref} is not under the transform's input "
                f"{transform_input_location}: the transform did not predict it"
            )
        out_key = out_prefix + key[len(in_prefix) :] + ".out"
        try:
            body = s3.get_object(Bucket=out_bucket, Key=out_key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None
        return json.loads(body.decode("utf-8"))["prediction"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        found_predictions = list(pool.map(prediction_of, [line["source-ref"] for line in truth]))

    matrix = [[0] * len(classes) for _ in classes]
    scored, missing = 0, []
    for number, line in enumerate(truth):
        name = line["class-name"]
        if name not in classes:
            raise ValueError(
                f"Test image {line['source-ref']} has class {name!r}, which is not in "
                f"{label_category_config} ({', '.join(classes)})"
            )
        probabilities = found_predictions[number]
        if probabilities is None:
            missing.append(line["source-ref"])
            continue
        if len(probabilities) != len(classes):
            raise ValueError(
                f"The prediction for {line['source-ref']} has {len(probabilities)} "
                f"probabilities; the model should know {len(classes)} classes"
            )
        predicted = max(range(len(probabilities)), key=lambda i: probabilities[i])
        matrix[classes.index(name)][predicted] += 1
        scored += 1
    if missing:
        print(f"{len(missing)} test images have no prediction, e.g. {missing[0]}", flush=True)
    if not scored:
        raise RuntimeError(
            f"No prediction under {predictions_location} matches a test image of "
            f"{test_labels_location}"
        )
    correct = sum(matrix[i][i] for i in range(len(classes)))
    test_accuracy = correct / scored
    print(f"test accuracy: {correct}/{scored} = {test_accuracy:.3f}", flush=True)

    # the metric the built-in image-classification algorithm reports for the validation channel
    wanted = "validation:accuracy"
    job = sagemaker.describe_training_job(TrainingJobName=training_job_name)
    found = job.get("FinalMetricDataList") or []  # None for a job that reported none
    validation = [m["Value"] for m in found if m["MetricName"] == wanted]

    metrics.log_metric("test_accuracy", round(test_accuracy, 4))
    metrics.log_metric("test_images", scored)
    if validation:
        metrics.log_metric("validation_accuracy", round(float(validation[-1]), 4))
        print(f"validation accuracy (training job): {validation[-1]:.3f}", flush=True)
    else:
        print(f"The training job reported no {wanted}", flush=True)
    confusion_matrix.log_confusion_matrix(classes, matrix)

    description = {
        "framework": "sagemaker-image-classification",
        "sagemaker_model_name": model_name,
        "model_data_url": model_artifact_url,
        "training_job_name": training_job_name,
        "training_image": job.get("AlgorithmSpecification", {}).get("TrainingImage", ""),
        "classes": classes,
    }
    model.metadata.update(description)
    folder = os.path.dirname(model.path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(model.path, "w") as out:  # what the artifact stands for, where KFP keeps it
        json.dump(description, out, indent=2)
    return namedtuple("Outputs", ["test_accuracy", "test_images"])(test_accuracy, scored)
