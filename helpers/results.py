"""Notebook 04's analyses: Ground Truth's labeled output, its workers, the training job, and the
model's predictions on the held-out test images (the batch transform job).

The parsers read Ground Truth's output as real jobs write it:

- output manifest lines: the label under the job's label attribute and its metadata under
  `<attribute>-metadata` (`class-name`, `confidence` as int or float, `human-annotated`,
  `creation-date` with or without fractions and `Z`, `job-name` with or without the
  `labeling-job/` prefix), other keys passed through (input keys, other jobs' labels), and lines
  of objects that failed, whose metadata has a `failure-reason` and no label;
- worker responses under `annotations/worker-response/iteration-<N>/<object>/<time>.json` and
  consolidation responses under `annotations/consolidated-annotation/consolidation-response/`;
- the training job's CloudWatch log lines `Epoch[N] Train-accuracy=…` / `Validation-accuracy=…`;
- the batch transform's output as the built-in algorithm writes it: for each input object
  `<input prefix>/<key>`, an object `<S3OutputPath>/<key>.out` holding
  `{"prediction": [p_0, ..., p_k]}` in class index order (class_labels.json), and, when the job
  failed, its CloudWatch data log (`/aws/sagemaker/TransformJobs`, streams `<job>/…/data-log`).
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError

from helpers import costs, openimages, records
from helpers.awserrors import error_code, error_message, is_missing, unless_missing
from helpers.errors import InputError, WalkthroughError
from helpers.names import run_names
from helpers.paths import run_path
from helpers.s3 import read_objects, read_text, split_uri
from helpers.settings import Settings
from helpers.tags import RUN_TAG

JOB_PREFIX = "labeling-job/"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
TABLE_COLUMNS = (
    "image",
    "image_id",
    "split",
    "label",
    "class_name",
    "confidence",
    "human_annotated",
    "creation_date",
    "job",
    "failure_reason",
)
ANSWER_COLUMNS = (
    "job",
    "iteration",
    "object",
    "worker",
    "answer",
    "seconds",
    "accepted",
    "submitted",
)
#: Ground Truth's documented output layout under `<S3OutputPath>/<job name>/`, read here in one
#: place (the walkthrough reads exactly what real Ground Truth writes, in both modes).
OUTPUT_MANIFEST = "manifests/output/output.manifest"
WORKER_RESPONSE = re.compile(
    r"(?:^|/)(?P<job>[^/]+)/annotations/worker-response/iteration-(?P<iteration>\d+)/"
    r"(?P<object>\d+)/[^/]+\.json$"
)
CONSOLIDATION_RESPONSE = re.compile(
    r"(?:^|/)(?P<job>[^/]+)/annotations/consolidated-annotation/consolidation-response/"
    r"iteration-(?P<iteration>\d+)/[^/]+\.json$"
)
EPOCH_LINE = (
    r"Epoch\[(?P<epoch>\d+)\] (?P<split>Train|Validation)-accuracy=(?P<accuracy>[0-9.eE+-]+)"
)
READY = ("Completed", "Stopped")
TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"
PREDICTION_COLUMNS = (
    "image",
    "image_id",
    "true_class",
    "predicted_class",
    "probability",
    "truth_probability",
    "correct",
)


class NothingToReview(WalkthroughError):
    """There are no finished labeling jobs to review; the message says what to run first."""


# --- which jobs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The jobs to review: labeling jobs by split, the training job (if known), the run id."""

    jobs: Mapping[str, str]
    training_job: str | None
    run_id: str | None
    source: str
    transform_job: str | None = None
    #: the recorded run's labeling backend (records that say it), else None: the settings'
    labeling: str | None = None


def find_target(settings: Settings, s3: Any) -> Target:
    """The jobs named in the settings (one or both), else the latest recorded run's jobs."""
    named = {
        split: name
        for split, name in (
            ("train", settings.ground_truth_train_job_name),
            ("validation", settings.ground_truth_validation_job_name),
        )
        if name
    }
    if named:
        return Target(named, None, None, "the settings")
    record = records.latest_record(s3, settings)
    if record is None:
        raise NothingToReview(
            f"Nothing to review: no pipeline run is recorded under {settings.s3_prefix_uri}. "
            "Run notebook 03_run_pipeline first (it labels the images and trains the model), "
            "or name labeling jobs of your own with ground_truth_train_job_name and "
            "ground_truth_validation_job_name."
        )
    names = record.run_names
    return Target(
        {"train": names.train_job, "validation": names.validation_job},
        names.training_job,
        record.run_id,
        f"run {record.run_id} (submitted {record.submitted_at})",
        names.transform_job or None,  # "" in records of runs without predictions
        getattr(record, "labeling", None),
    )


@dataclass
class Review:
    """What SageMaker says about the jobs under review, and the labels workers chose from."""

    target: Target
    labeling: dict[str, dict[str, Any]]
    training: dict[str, Any] | None
    labels: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def labeled_in(self) -> str:
        """Who labeled: "Label Studio" (the jobs are its step's job.json), else "Ground Truth"."""
        studio = any("LabelStudio" in job for job in self.labeling.values())
        return "Label Studio" if studio else "Ground Truth"

    @property
    def run_id(self) -> str:
        """The run id, or the train job's name when the jobs were not made by a recorded run."""
        return self.target.run_id or next(iter(self.target.jobs.values()))


def job_description_uri(output_location: str, job_name: str) -> str:
    """Where Label Studio's labeling step writes its DescribeLabelingJob-shaped job.json."""
    try:
        from helpers.labelstudio.output import job_description_uri as uri  # the step's own rule
    except ImportError:
        return f"{output_location.rstrip('/')}/{job_name}/label-studio/job.json"
    return str(uri(output_location, job_name))


def label_studio_job(s3: Any, settings: Settings, job_name: str) -> dict[str, Any] | None:
    """A Label Studio labeling job as DescribeLabelingJob shows one (its job.json), or None."""
    text = read_text(s3, job_description_uri(settings.layout.labeling_output, job_name))
    return None if text is None else dict(json.loads(text))


def describe_labeling_jobs(
    settings: Settings, aws: Any, jobs: Mapping[str, str], labeling: str | None = None
) -> dict[str, dict[str, Any] | None]:
    """Each split's labeling job description: SageMaker's, or Label Studio's step's job.json.

    `labeling` is the run's recorded backend when its record says; else the settings' is used.
    """
    if (labeling or settings.labeling_backend) == "label_studio":
        s3 = aws.client("s3")
        return {split: label_studio_job(s3, settings, name) for split, name in jobs.items()}
    sagemaker = aws.client("sagemaker")
    return {
        split: unless_missing(sagemaker.describe_labeling_job, LabelingJobName=name)
        for split, name in jobs.items()
    }


def open_review(settings: Settings, aws: Any) -> Review:
    """Find and describe the jobs to review; stop with a clear message when none is ready."""
    target = find_target(settings, aws.client("s3"))
    sagemaker = aws.client("sagemaker")
    found = describe_labeling_jobs(settings, aws, target.jobs, target.labeling)
    missing = [target.jobs[split] for split, job in found.items() if job is None]
    if missing:
        where = (
            f"have no job.json under {settings.layout.labeling_output} (Label Studio's "
            "labeling step writes it when it ends)"
            if (target.labeling or settings.labeling_backend) == "label_studio"
            else f"do not exist in {settings.region}"
        )
        raise NothingToReview(
            f"Nothing to review: labeling job(s) {', '.join(missing)} (from {target.source}) "
            f"{where}. Run notebook 03_run_pipeline first, or fix "
            "ground_truth_train_job_name / ground_truth_validation_job_name."
        )
    labeling = {split: job for split, job in found.items() if job is not None}
    _require_ready(labeling)
    target = _with_training_job(target, settings, sagemaker, labeling)
    training = (
        unless_missing(sagemaker.describe_training_job, TrainingJobName=target.training_job)
        if target.training_job
        else None
    )
    notes = [
        f"labeling job {job['LabelingJobName']} ({split}) is {job['LabelingJobStatus']}"
        + (f": {job['FailureReason']}" if job.get("FailureReason") else "")
        for split, job in labeling.items()
        if job["LabelingJobStatus"] != "Completed"
    ]
    labels = label_categories(aws.client("s3"), next(iter(labeling.values())))
    return Review(target, labeling, training, labels, notes)


def _require_ready(labeling: Mapping[str, dict[str, Any]]) -> None:
    """Raise NothingToReview unless at least one job finished (completed or stopped)."""
    if any(j["LabelingJobStatus"] in READY for j in labeling.values()):
        return
    states = ", ".join(
        f"{j['LabelingJobName']} is {j['LabelingJobStatus']}"
        + (f" ({j['FailureReason']})" if j.get("FailureReason") else "")
        for j in labeling.values()
    )
    if all(j["LabelingJobStatus"] == "Failed" for j in labeling.values()):
        advice = "Fix the reason, then run notebook 03_run_pipeline again with new_run=True."
    else:
        advice = (
            "Let notebook 03_run_pipeline follow the run to its end (run it again to resume "
            "following), then run this notebook again."
        )
    raise NothingToReview(f"Nothing to review yet: {states}. {advice}")


def _with_training_job(
    target: Target, settings: Settings, sagemaker: Any, labeling: Mapping[str, dict[str, Any]]
) -> Target:
    """Fill in the training job of jobs named in the settings, from their walkthrough run tag."""
    if target.training_job:
        return target
    first = next(iter(labeling.values()))
    if "LabelingJobArn" not in first:  # Label Studio's job.json: no SageMaker resource to ask
        return target
    try:
        tags = sagemaker.list_tags(ResourceArn=first["LabelingJobArn"]).get("Tags", [])
    except ClientError:  # e.g. no sagemaker:ListTags permission: review without training
        return target
    run_id = next((t["Value"] for t in tags if t["Key"] == RUN_TAG), None)
    if run_id is None:
        return target
    names = run_names(settings, run_id)
    return Target(
        target.jobs,
        names.training_job,
        run_id,
        target.source,
        names.transform_job or None,
        target.labeling,
    )


def label_categories(s3: Any, job: Mapping[str, Any]) -> list[str]:
    """The labels workers chose from (the job's label category config, in class-index order)."""
    uri = job.get("LabelCategoryConfigS3Uri")
    text = read_text(s3, uri) if uri else None
    if text is None:
        return []
    return [str(entry["label"]) for entry in json.loads(text)["labels"]]


def jobs_table(review: Review) -> pd.DataFrame:
    """One row per labeling job: status, counters, workers per object, output manifest."""
    rows = []
    for split, job in review.labeling.items():
        counters = job["LabelCounters"]
        rows.append(
            {
                "split": split,
                "labeling job": job["LabelingJobName"],
                "status": job["LabelingJobStatus"],
                "labeled": counters["TotalLabeled"],
                "failed": counters["FailedNonRetryableError"],
                "unlabeled": counters["Unlabeled"],
                "workers per object": workers_per_object(job),
                "label attribute": job["LabelAttributeName"],
                "output manifest": output_manifest_uri(job),
            }
        )
    return pd.DataFrame(rows)


def workers_per_object(job: Mapping[str, Any]) -> int:
    """How many workers answer each object in this labeling job."""
    return int(job["HumanTaskConfig"]["NumberOfHumanWorkersPerDataObject"])


def output_prefix(job: Mapping[str, Any]) -> str:
    """Where the job writes its output: `<S3OutputPath>/<job name>`."""
    return f"{job['OutputConfig']['S3OutputPath'].rstrip('/')}/{job['LabelingJobName']}"


def output_manifest_uri(job: Mapping[str, Any]) -> str:
    """The job's output manifest (as described, else where Ground Truth writes it)."""
    described = job.get("LabelingJobOutput", {}).get("OutputDatasetS3Uri")
    return described or f"{output_prefix(job)}/{OUTPUT_MANIFEST}"


# --- the output manifest --------------------------------------------------------------------------


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in TABLE_COLUMNS})


def parse_output_manifest(text: str, label_attribute: str, split: str, job: str) -> pd.DataFrame:
    """Read an output manifest into the review table (one row per object, failed ones too)."""
    if not text.strip():
        return _typed(_empty_table())
    lines = pd.read_json(io.StringIO(text), lines=True, dtype=False, precise_float=True)
    metadata_key = f"{label_attribute}-metadata"
    present = lines[metadata_key].dropna() if metadata_key in lines else pd.Series(dtype=object)
    metadata = pd.json_normalize(present.tolist()).set_axis(present.index)
    metadata = metadata.reindex(lines.index)

    def meta(name: str) -> pd.Series:
        return metadata[name] if name in metadata else pd.Series(pd.NA, index=lines.index)

    labels = lines[label_attribute] if label_attribute in lines else meta("__none__")
    table = pd.DataFrame(
        {
            "image": lines["source-ref"],
            "image_id": image_ids(lines["source-ref"]),
            "split": split,
            "label": labels,
            "class_name": meta("class-name"),
            "confidence": meta("confidence"),
            "human_annotated": meta("human-annotated"),
            "creation_date": meta("creation-date"),
            "job": meta("job-name").fillna(job).astype(str).str.removeprefix(JOB_PREFIX),
            "failure_reason": meta("failure-reason"),
        }
    )
    return _typed(table)


def image_ids(uris: pd.Series) -> pd.Series:
    """The image id of each image URI: its file name without the extension (Open Images' id)."""
    return uris.str.rsplit("/", n=1).str[-1].str.rsplit(".", n=1).str[0]


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    """Give the review table's columns their types (nullable where a failed object has none)."""
    answered = table["human_annotated"].astype("string").str.lower()
    return table.assign(
        label=pd.to_numeric(table["label"], errors="coerce").astype("Int64"),
        class_name=table["class_name"].astype("string"),
        confidence=pd.to_numeric(table["confidence"], errors="coerce").astype("Float64"),
        human_annotated=answered.map({"yes": True, "no": False}).astype("boolean"),
        creation_date=pd.to_datetime(table["creation_date"], format="ISO8601", utc=True),
        job=table["job"].astype("string"),
        failure_reason=table["failure_reason"].astype("string"),
        split=table["split"].astype("string"),
        image=table["image"].astype("string"),
        image_id=table["image_id"].astype("string"),
    )[list(TABLE_COLUMNS)]


def load_labels(s3: Any, review: Review) -> pd.DataFrame:
    """Both jobs' output manifests in one review table (jobs without output add a note)."""
    tables = []
    for split, job in review.labeling.items():
        uri = output_manifest_uri(job)
        text = read_text(s3, uri) if job["LabelingJobStatus"] in READY else None
        if text is None:
            review.notes.append(f"no output manifest for {job['LabelingJobName']} ({split})")
            continue
        tables.append(
            parse_output_manifest(text, job["LabelAttributeName"], split, job["LabelingJobName"])
        )
    if not tables:
        raise NothingToReview(
            "Nothing to review: the labeling jobs wrote no output manifest ("
            + "; ".join(review.notes)
            + "). Run notebook 03_run_pipeline again with new_run=True."
        )
    table = pd.concat(tables, ignore_index=True)
    _require_labels(table)
    if not review.labels:  # the label config is gone: take the classes the workers chose
        review.labels.extend(sorted(labeled(table)["class_name"].unique()))
    return table


def _require_labels(table: pd.DataFrame) -> None:
    """Raise NothingToReview when every object failed, with the most common reason."""
    if table["label"].notna().any():
        return
    reasons = table["failure_reason"].value_counts()
    reason = reasons.index[0] if len(reasons) else "no reason given"
    raise NothingToReview(
        f"Nothing to review: all {len(table)} objects failed labeling ({reason}). With a "
        "private workforce this usually means the Cognito group has fewer users than workers "
        "per object, or nobody labeled before the tasks expired: check the workforce with "
        "notebook 02_check_aws_setup, then run notebook 03_run_pipeline with new_run=True."
    )


def labeled(table: pd.DataFrame) -> pd.DataFrame:
    """The objects that got a label (not failed)."""
    return table[table["label"].notna()]


# --- summaries of the labels ----------------------------------------------------------------------


def label_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Objects per class (failed ones as '(failed)') and split, with totals."""
    names = table["class_name"].fillna("(failed)")
    counts = pd.crosstab(names.rename("class"), table["split"], margins=True, margins_name="total")
    return counts


def confidence_by_class(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and lowest confidence per class and split (confidences don't compare across jobs)."""
    done = labeled(table)
    grouped = done.groupby(["class_name", "split"])["confidence"]
    summary = grouped.agg(images="size", mean_confidence="mean", lowest="min").round(2)
    return summary.reset_index().rename(columns={"class_name": "class"})


def one_per_class(table: pd.DataFrame, classes: Sequence[str], seed: int = 42) -> pd.DataFrame:
    """One labeled object per split and class (settings' order), with the columns that vary.

    What a reviewer learns from: each class's label index and name as the manifests carry them,
    in both jobs, and how confident Ground Truth is (failed objects are listed on their own).
    """
    done = labeled(table).sample(frac=1.0, random_state=seed)
    picked = done.groupby(["split", "class_name"], sort=False).head(1)
    rank = {name: i for i, name in enumerate(classes)}
    picked = picked.assign(
        order=picked["class_name"].map(rank).fillna(len(rank)),
        split_order=picked["split"].map({"train": 0, "validation": 1}).fillna(2),
    ).sort_values(["split_order", "order", "class_name"])
    columns = ["split", "image_id", "label", "class_name", "confidence"]
    return picked[columns].reset_index(drop=True)


def lowest_confidence(table: pd.DataFrame, count: int = 10) -> pd.DataFrame:
    """The labeled objects with the lowest confidence: the ones to review first."""
    return labeled(table).sort_values(["confidence", "image_id"]).head(count)


def sample_per_class(table: pd.DataFrame, per_class: int, seed: int = 42) -> pd.DataFrame:
    """A few labeled objects of each class (reproducibly chosen)."""
    done = labeled(table)
    return (
        done.sample(frac=1.0, random_state=seed)
        .groupby("class_name", sort=True)
        .head(per_class)
        .sort_values(["class_name", "confidence"], ascending=[True, False])
    )


def _read_images(s3: Any, rows: pd.DataFrame) -> dict[str, bytes]:
    return read_objects(s3, rows["image"].unique())


def class_examples(
    s3: Any, table: pd.DataFrame, per_class: int, seed: int = 42
) -> dict[str, list[tuple[str, bytes]]]:
    """A few labeled images per class, captioned with label and confidence, for a grid."""
    rows = sample_per_class(table, per_class, seed)
    data = _read_images(s3, rows)
    groups: dict[str, list[tuple[str, bytes]]] = {}
    for row in rows.itertuples(index=False):
        caption = f"{row.class_name} ({row.confidence:.2f})\n{row.split} · {row.image_id}"
        groups.setdefault(str(row.class_name), []).append((caption, data[row.image]))
    return groups


def review_first_title(rows: pd.DataFrame) -> str:
    """A title for the review-first grid that says the range of confidences it shows."""
    low, high = rows["confidence"].min(), rows["confidence"].max()
    spread = f"{low:.2f}" if low == high else f"{low:.2f} to {high:.2f}"
    return f"Review first: the {len(rows)} lowest confidences ({spread})"


def review_first_images(s3: Any, rows: pd.DataFrame) -> list[tuple[str, bytes]]:
    """The lowest-confidence images, captioned with label, confidence and split."""
    data = _read_images(s3, rows)
    return [
        (f"{r.class_name} ({r.confidence:.2f})\n{r.split} · {r.image_id}", data[r.image])
        for r in rows.itertuples(index=False)
    ]


#: Disagreeing images shown per Open Images label (a sample: at 5,000 objects there are hundreds).
DISAGREEMENTS_PER_LABEL = 5


def disagreement_sample(
    rows: pd.DataFrame, per_label: int = DISAGREEMENTS_PER_LABEL
) -> pd.DataFrame:
    """The disagreements to show: per Open Images label, the `per_label` least confident."""
    ordered = rows.sort_values(["open_images_label", "confidence", "image_id"], kind="stable")
    return ordered.groupby("open_images_label", sort=False, dropna=False).head(per_label)


def disagreement_title(rows: pd.DataFrame, per_label: int = DISAGREEMENTS_PER_LABEL) -> str:
    """The disagreement grid's title: one row per Open Images label, and how many are shown."""
    shown = len(disagreement_sample(rows, per_label))
    title = "Labels that disagree with Open Images (one row per Open Images label"
    if shown < len(rows):
        return f"{title}; the {shown} least confident of {len(rows)})"
    return f"{title})"


def disagreement_groups(
    s3: Any, rows: pd.DataFrame, per_label: int = DISAGREEMENTS_PER_LABEL
) -> dict[str, list[tuple[str, bytes]]]:
    """Images whose label differs from Open Images', one group per Open Images label (a sample)."""
    rows = disagreement_sample(rows, per_label)
    data = _read_images(s3, rows)
    groups: dict[str, list[tuple[str, bytes]]] = {}
    for r in rows.itertuples(index=False):
        caption = f"labeled {r.class_name} ({r.confidence:.2f})\n{r.split} · {r.image_id}"
        groups.setdefault(f"Open Images:\n{r.open_images_label}", []).append(
            (caption, data[r.image])
        )
    return groups


# --- agreement with Open Images -------------------------------------------------------------------


def open_images_truth(
    table: pd.DataFrame, open_images: tuple[pd.DataFrame, pd.DataFrame] | None, labels: list[str]
) -> pd.Series:
    """The Open Images class of each object (by image id), or NA where it is not known."""
    missing = pd.Series(pd.NA, index=table.index, dtype="string", name="open_images_label")
    if open_images is None or len(labels) < 2:
        return missing
    annotations, descriptions = open_images
    try:
        classes = openimages.resolve_classes(labels, descriptions)
    except InputError:
        return missing  # the labels are not Open Images classes
    eligible = openimages.eligible_images(annotations, classes)
    names = {mid: name for name, mid in classes.items()}
    truth = eligible.set_index("image_id")["mid"].map(names)
    return table["image_id"].map(truth).astype("string").rename("open_images_label")


def with_truth(table: pd.DataFrame, truth: pd.Series) -> pd.DataFrame:
    """The review table with the Open Images label and whether the workers agree with it."""
    agrees = (table["class_name"] == truth).where(truth.notna() & table["label"].notna())
    return table.assign(open_images_label=truth, agrees=agrees.astype("boolean"))


def agreement(
    reviewed: pd.DataFrame, classes: Sequence[str] = ()
) -> tuple[float | None, pd.DataFrame]:
    """Accuracy of the labels against Open Images, and the confusion matrix (counts).

    The matrix's rows and columns follow `classes` (the settings' order, the class index);
    any other class seen comes after them.
    """
    known = reviewed[reviewed["agrees"].notna()]
    if known.empty:
        return None, pd.DataFrame()
    matrix = confusion(
        known["open_images_label"].rename("Open Images label"),
        known["class_name"].rename("Ground Truth label"),
        classes,
    )
    return float(known["agrees"].astype(bool).mean()), matrix


def confusion(truth: pd.Series, given: pd.Series, classes: Sequence[str] = ()) -> pd.DataFrame:
    """Counts of (truth, given) pairs: rows and columns in `classes`' order, others after them.

    Every class in `classes` has its row and column (zeros included), so matrices of the same
    classes line up; the series' names label the axes.
    """
    matrix = pd.crosstab(truth, given)
    seen = set(matrix.index) | set(matrix.columns)
    order = list(dict.fromkeys(classes)) + sorted(seen - set(classes))
    return matrix.reindex(index=order, columns=order, fill_value=0)


def disagreements(reviewed: pd.DataFrame) -> pd.DataFrame:
    """Labeled objects whose label differs from Open Images'."""
    return reviewed[reviewed["agrees"].eq(False).fillna(False).astype(bool)]


# --- the workforce --------------------------------------------------------------------------------


def parse_worker_responses(files: Mapping[str, str]) -> pd.DataFrame:
    """Read worker-response files (path -> JSON text) into one row per answer."""
    documents = []
    for path, text in files.items():
        where = WORKER_RESPONSE.search(path)
        if where is None:
            continue
        documents.append({**json.loads(text), **where.groupdict()})
    if not documents:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in ANSWER_COLUMNS})
    answers = pd.json_normalize(
        documents, record_path="answers", meta=["job", "iteration", "object"]
    )
    accepted = _timestamps(answers, "acceptanceTime")
    submitted = _timestamps(answers, "submissionTime")
    seconds = answers.get("timeSpentInSeconds", pd.Series(pd.NA, index=answers.index))
    return pd.DataFrame(
        {
            "job": answers["job"],
            "iteration": answers["iteration"].astype(int),
            "object": answers["object"].astype(int),
            "worker": answers["workerId"],
            "answer": _labels(answers),
            "seconds": pd.to_numeric(seconds, errors="coerce").fillna(
                (submitted - accepted).dt.total_seconds()
            ),
            "accepted": accepted,
            "submitted": submitted,
        }
    )


def _labels(answers: pd.DataFrame) -> pd.Series:
    """Each answer's label, whatever the element's name (an answer is keyed by its `name`)."""
    keys = [c for c in answers if c.startswith("answerContent.") and c.endswith(".label")]
    return answers[keys].bfill(axis=1).iloc[:, 0] if keys else pd.Series(None, index=answers.index)


def _timestamps(frame: pd.DataFrame, column: str) -> pd.Series:
    """ISO 8601 times with or without milliseconds and `Z`, as UTC (NaT when absent)."""
    if column not in frame:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    return pd.to_datetime(frame[column], format="ISO8601", utc=True)


def parse_consolidation_responses(files: Mapping[str, str], label_attribute: str) -> pd.DataFrame:
    """Read consolidation-response files into one row per object: its consolidated class."""
    rows = []
    for path, text in files.items():
        where = CONSOLIDATION_RESPONSE.search(path)
        if where is None:
            continue
        for item in json.loads(text):
            content = item["consolidatedAnnotation"]["content"]
            rows.append(
                {
                    "job": where["job"],
                    "iteration": int(where["iteration"]),
                    "object": int(item["datasetObjectId"]),
                    "consolidated": content.get(f"{label_attribute}-metadata", {}).get(
                        "class-name"
                    ),
                }
            )
    columns = ["job", "iteration", "object", "consolidated"]
    return pd.DataFrame(rows, columns=columns)


def _list_keys(s3: Any, uri: str) -> list[str]:
    bucket, prefix = split_uri(uri)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [f"s3://{bucket}/{o['Key']}" for page in pages for o in page.get("Contents", [])]


def _read_texts(s3: Any, uri: str) -> dict[str, str]:
    """Every object under an S3 prefix, as text."""
    return {k: v.decode("utf-8") for k, v in read_objects(s3, _list_keys(s3, uri)).items()}


def load_answers(s3: Any, review: Review) -> pd.DataFrame:
    """Every worker's answers, each with the label Ground Truth consolidated for its object."""
    tables = []
    for split, job in review.labeling.items():
        base = f"{output_prefix(job)}/annotations"
        answers = parse_worker_responses(_read_texts(s3, f"{base}/worker-response/"))
        consolidated = parse_consolidation_responses(
            _read_texts(s3, f"{base}/consolidated-annotation/consolidation-response/"),
            job["LabelAttributeName"],
        )
        merged = answers.merge(consolidated, on=["job", "iteration", "object"], how="left")
        tables.append(merged.assign(split=split))
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def worker_summary(answers: pd.DataFrame) -> pd.DataFrame:
    """Per worker: tasks answered, median seconds per task, agreement with the consolidation."""
    if answers.empty:
        return pd.DataFrame(columns=["worker", "tasks", "median seconds", "agreement"])
    agrees = (answers["answer"] == answers["consolidated"]).where(answers["consolidated"].notna())
    summary = (
        answers.assign(agrees=agrees.astype("Float64"))
        .groupby("worker")
        .agg(
            tasks=("object", "size"),
            median_seconds=("seconds", "median"),
            agreement=("agrees", "mean"),
        )
        .round({"median_seconds": 1, "agreement": 2})
        .sort_values(["agreement", "tasks"], ascending=[False, False])
        .reset_index()
    )
    return summary.rename(columns={"median_seconds": "median seconds"})


# --- the training job -----------------------------------------------------------------------------


def parse_training_log(lines: Iterable[str]) -> pd.DataFrame:
    """Accuracy per epoch from the algorithm's log: columns epoch, train, validation."""
    text = pd.Series(list(lines), dtype="string")
    found = text.str.extract(EPOCH_LINE).dropna()
    if found.empty:
        return pd.DataFrame(columns=["epoch", "train", "validation"])
    found = found.assign(
        epoch=found["epoch"].astype(int),
        split=found["split"].str.lower(),
        accuracy=found["accuracy"].astype(float),
    )
    curves = found.pivot_table(index="epoch", columns="split", values="accuracy", aggfunc="last")
    curves = curves.reindex(columns=["train", "validation"])
    return curves.reset_index().rename_axis(columns=None)


def training_log(logs: Any, job_name: str) -> list[str]:
    """Every line the training job logged to CloudWatch (streams `<job name>/…`)."""
    streams = _log_streams(logs, LOG_GROUP, job_name)
    return [line for stream in streams for line in _stream_lines(logs, stream)]


def _log_streams(logs: Any, group: str, job_name: str) -> list[str]:
    """The names of a job's log streams (`<job name>/…`) in a group; none when it has none."""
    try:
        pages = logs.get_paginator("describe_log_streams").paginate(
            logGroupName=group, logStreamNamePrefix=f"{job_name}/"
        )
        return [s["logStreamName"] for page in pages for s in page["logStreams"]]
    except logs.exceptions.ResourceNotFoundException:
        return []


def _stream_lines(logs: Any, stream: str, group: str = LOG_GROUP) -> list[str]:
    """One log stream's messages, from the start, following its forward tokens."""
    lines: list[str] = []
    request: dict[str, Any] = {
        "logGroupName": group,
        "logStreamName": stream,
        "startFromHead": True,
    }
    while True:
        page = logs.get_log_events(**request)
        lines.extend(event["message"] for event in page["events"])
        token = page.get("nextForwardToken")
        if not page["events"] or token in (None, request.get("nextToken")):
            return lines
        request["nextToken"] = token


def curves(logs: Any, training: Mapping[str, Any] | None) -> pd.DataFrame:
    """The training job's learning curves from its log (empty without a training job)."""
    if training is None:
        return parse_training_log([])
    return parse_training_log(training_log(logs, training["TrainingJobName"]))


def final_metrics(training: Mapping[str, Any]) -> dict[str, float]:
    """The training job's final metrics by name (e.g. `validation:accuracy`)."""
    return {m["MetricName"]: float(m["Value"]) for m in training.get("FinalMetricDataList", [])}


def training_summary(training: Mapping[str, Any], artifact_bytes: int | None) -> pd.DataFrame:
    """The training job at a glance: status, times, final accuracies and the model artifact."""
    metrics = final_metrics(training)
    started, ended = training.get("TrainingStartTime"), training.get("TrainingEndTime")
    duration = (ended - started).total_seconds() if started and ended else None
    rows = {
        "training job": training["TrainingJobName"],
        "status": training["TrainingJobStatus"],
        "failure reason": training.get("FailureReason", ""),
        "instance type": training["ResourceConfig"]["InstanceType"],
        "duration (s)": None if duration is None else round(duration),
        "billable seconds": training.get("BillableTimeInSeconds"),
        "final train:accuracy": _rounded(metrics.get("train:accuracy")),
        "final validation:accuracy": _rounded(metrics.get("validation:accuracy")),
        "model artifact": training.get("ModelArtifacts", {}).get("S3ModelArtifacts", ""),
        "model size (bytes)": artifact_bytes,
    }
    shown = {k: v for k, v in rows.items() if v not in (None, "")}
    return pd.DataFrame({"value": pd.Series(shown, dtype=object)})


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def artifact_size(s3: Any, training: Mapping[str, Any]) -> int | None:
    """The model artifact's size in bytes; None when the job has none (yet)."""
    uri = training.get("ModelArtifacts", {}).get("S3ModelArtifacts")
    if not uri:
        return None
    bucket, key = split_uri(uri)
    try:
        return int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
    except ClientError as exc:
        if is_missing(exc):
            return None
        raise


# --- predictions on the held-out test images ------------------------------------------------------


@dataclass
class Predictions:
    """The run's batch transform job and its predictions, or why there are none (yet).

    `state` is one of: "off" (the run makes no predictions), "not started" (no such job yet),
    "running", "failed", "done" (Completed, or Stopped with what it wrote).
    """

    state: str
    job_name: str | None
    job: dict[str, Any] | None
    table: pd.DataFrame
    classes: list[str]
    log_streams: list[str] = field(default_factory=list)
    log_lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _empty_predictions() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in PREDICTION_COLUMNS})


def describe_transform_job(sagemaker: Any, name: str) -> dict[str, Any] | None:
    """DescribeTransformJob; None when there is no such job (SageMaker says "Could not find")."""
    try:
        answer = sagemaker.describe_transform_job(TransformJobName=name)
    except ClientError as exc:
        missing = error_code(exc) == "ValidationException" and (
            "could not find" in error_message(exc).lower()
        )
        if missing or is_missing(exc):
            return None
        raise
    return {key: value for key, value in answer.items() if key != "ResponseMetadata"}


def prediction_classes(s3: Any, settings: Settings) -> list[str]:
    """The classes in class index order: class_labels.json under the prefix, else the settings'."""
    text = read_text(s3, settings.layout.input("class_labels.json"))
    if text is None:
        return list(settings.classes)
    return [str(entry["label"]) for entry in json.loads(text)["labels"]]


def open_predictions(settings: Settings, aws: Any, review: Review) -> Predictions:
    """Describe the run's transform job and read its predictions (or say why there are none)."""
    s3 = aws.client("s3")
    classes = prediction_classes(s3, settings)
    name = review.target.transform_job
    if not settings.predictions or not name:
        return Predictions("off", name, None, _empty_predictions(), classes)
    job = describe_transform_job(aws.client("sagemaker"), name)
    if job is None:
        return Predictions("not started", name, None, _empty_predictions(), classes)
    status = job["TransformJobStatus"]
    if status == "Failed":
        streams, lines = transform_log_tail(aws.client("logs"), name)
        return Predictions("failed", name, job, _empty_predictions(), classes, streams, lines)
    if status not in READY:
        return Predictions("running", name, job, _empty_predictions(), classes)
    notes: list[str] = []
    table = load_predictions(s3, job, settings.layout.test_labels, classes, notes)
    return Predictions("done", name, job, table, classes, notes=notes)


def parse_test_labels(text: str) -> pd.DataFrame:
    """The test images' Open Images labels (JSON lines `{"source-ref", "class-name"}`)."""
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return pd.DataFrame(
        {
            "image": pd.Series([r["source-ref"] for r in rows], dtype="string"),
            "true_class": pd.Series([r["class-name"] for r in rows], dtype="string"),
        }
    )


def parse_prediction(text: str, classes: Sequence[str]) -> tuple[str, float, list[float]]:
    """One `.out` object: the predicted class, its probability, and every class's probability."""
    probabilities = [float(p) for p in json.loads(text)["prediction"]]
    best = max(range(len(probabilities)), key=probabilities.__getitem__)
    name = classes[best] if best < len(classes) else f"class {best}"
    return name, probabilities[best], probabilities


def output_objects(job: Mapping[str, Any]) -> tuple[str, str]:
    """The transform's input prefix and output path, each ending in '/'."""
    source = job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    output = job["TransformOutput"]["S3OutputPath"]
    return source.rstrip("/") + "/", output.rstrip("/") + "/"


def load_predictions(
    s3: Any,
    job: Mapping[str, Any],
    labels_uri: str,
    classes: Sequence[str],
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """One row per test image: its true class, the predicted class and both probabilities.

    Every `.out` object under the job's output path is read (concurrently) and matched to its
    input (`<input prefix>/<key>` for `<output path>/<key>.out`) and the test labels; an image
    with no prediction, or a prediction with no label, is kept with NA and noted.
    """
    notes = [] if notes is None else notes
    source, output = output_objects(job)
    outs = [uri for uri in _list_keys(s3, output) if uri.endswith(".out")]
    texts = read_objects(s3, outs)
    predicted = {}
    for uri, body in texts.items():
        image = source + uri[len(output) : -len(".out")]
        predicted[image] = parse_prediction(body.decode("utf-8"), classes)
    labels_text = read_text(s3, labels_uri)
    if labels_text is None:
        notes.append(f"no test labels at {labels_uri}: accuracy cannot be measured")
        labels_text = ""
    truth = parse_test_labels(labels_text)
    images = list(dict.fromkeys([*truth["image"], *sorted(predicted)]))
    true_class = dict(zip(truth["image"], truth["true_class"], strict=True))
    rows = []
    for image in images:
        name, probability, probabilities = predicted.get(image, (None, None, []))
        truth_name = true_class.get(image)
        index = classes.index(truth_name) if truth_name in classes else None
        rows.append(
            {
                "image": image,
                "true_class": truth_name,
                "predicted_class": name,
                "probability": probability,
                "truth_probability": (
                    probabilities[index]
                    if index is not None and index < len(probabilities)
                    else None
                ),
            }
        )
    if not rows:
        return _empty_predictions()
    table = pd.DataFrame(rows)
    table = table.assign(
        image=table["image"].astype("string"),
        image_id=image_ids(table["image"].astype("string")),
        true_class=table["true_class"].astype("string"),
        predicted_class=table["predicted_class"].astype("string"),
        probability=pd.to_numeric(table["probability"]).astype("Float64"),
        truth_probability=pd.to_numeric(table["truth_probability"]).astype("Float64"),
    )
    known = table["true_class"].notna() & table["predicted_class"].notna()
    correct = (table["predicted_class"] == table["true_class"]).where(known)
    table = table.assign(correct=correct.astype("boolean"))[list(PREDICTION_COLUMNS)]
    unpredicted = int(table["predicted_class"].isna().sum())
    if unpredicted:
        notes.append(f"{unpredicted} test image(s) have no prediction under {output}")
    unlabeled = int(table["true_class"].isna().sum())
    if unlabeled:
        notes.append(f"{unlabeled} prediction(s) are of images without a test label")
    return table


def prediction_accuracy(
    table: pd.DataFrame, classes: Sequence[str] = ()
) -> tuple[float | None, pd.DataFrame]:
    """The model's accuracy on the test images against Open Images, and its confusion matrix.

    Rows are Open Images' classes, columns the predicted ones, in `classes`' order (the class
    index, the settings' order).
    """
    known = table[table["correct"].notna()] if len(table) else table
    if known.empty:
        return None, pd.DataFrame()
    matrix = confusion(
        known["true_class"].rename("Open Images label"),
        known["predicted_class"].rename("predicted class"),
        classes,
    )
    return float(known["correct"].astype(bool).mean()), matrix


def review_order(table: pd.DataFrame) -> pd.DataFrame:
    """The predictions to look at first: mistakes, then the least sure, then the rest."""
    done = table[table["predicted_class"].notna()]
    rank = done["correct"].map({False: 0, True: 1}).astype("Float64").fillna(0.5)
    return (
        done.assign(_rank=rank)
        .sort_values(["_rank", "probability", "image_id"])
        .drop(columns="_rank")
        .reset_index(drop=True)
    )


def thumbnail(data: bytes, size: int = 192) -> bytes:
    """A small JPEG of an image (at most `size` pixels on its longer side)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as picture:
        small = picture.convert("RGB")
        small.thumbnail((size, size))
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def prediction_caption(row: Any) -> str:
    """A grid caption: right or wrong, the predicted class and its probability, the truth."""
    if pd.isna(row.correct):
        return f"? {row.predicted_class} ({row.probability:.2f})\n{row.image_id}"
    if row.correct:
        return f"✓ {row.predicted_class} ({row.probability:.2f})\n{row.image_id}"
    return f"✗ {row.predicted_class} ({row.probability:.2f})\nOpen Images: {row.true_class}"


def prediction_images(
    s3: Any, table: pd.DataFrame, count: int = 20
) -> tuple[list[tuple[str, bytes]], str]:
    """The first `count` predictions in review order as captioned thumbnails, and a title."""
    rows = review_order(table).head(count)
    data = read_objects(s3, rows["image"].unique())
    images = [(prediction_caption(r), thumbnail(data[r.image])) for r in rows.itertuples()]
    total = int(table["predicted_class"].notna().sum())
    wrong = int(table["correct"].eq(False).fillna(False).astype(bool).sum())
    shown = f"all {total}" if len(rows) == total else f"{len(rows)} of {total}"
    title = (
        f"Predictions on {shown} test images: the {wrong} mistake(s) first, then the least "
        "sure (predicted class, its probability)"
    )
    return images, title


def transform_summary(job: Mapping[str, Any]) -> pd.DataFrame:
    """The transform job at a glance: status, times, instance, model, input and output."""
    resources = job.get("TransformResources", {})
    seconds = costs.transform_seconds(job)
    source, output = output_objects(job)
    rows = {
        "transform job": job["TransformJobName"],
        "status": job["TransformJobStatus"],
        "failure reason": job.get("FailureReason", ""),
        "model": job.get("ModelName", ""),
        "instance type": resources.get("InstanceType", ""),
        "instances": resources.get("InstanceCount"),
        "started": job.get("TransformStartTime"),
        "ended": job.get("TransformEndTime"),
        "duration (s)": seconds,
        "input": source,
        "output": output,
    }
    shown = {k: v for k, v in rows.items() if v not in (None, "")}
    return pd.DataFrame({"value": pd.Series(shown, dtype=object)})


def transform_log_tail(logs: Any, job_name: str, count: int = 20) -> tuple[list[str], list[str]]:
    """The transform job's data-log streams (`<job>/…/data-log`) and their last lines.

    Each stream's newest `count` events are read in one call (not the whole log), oldest first.
    """
    streams = [
        s for s in _log_streams(logs, TRANSFORM_LOG_GROUP, job_name) if s.endswith("/data-log")
    ]
    lines = []
    for stream in streams:
        page = logs.get_log_events(
            logGroupName=TRANSFORM_LOG_GROUP, logStreamName=stream, startFromHead=False, limit=count
        )
        lines.extend(event["message"] for event in page["events"])
    return streams, lines[-count:]


def predictions_status(predictions: Predictions, settings: Settings) -> str:
    """What the predictions section can show, in markdown: done, or why not and what to do."""
    name = predictions.job_name
    if predictions.state == "off":
        why = (
            "the settings turn them off (`test_images_per_class` is 0)"
            if not settings.predictions
            else "the run's record names no transform job (it was submitted with predictions "
            "off, or before the walkthrough made predictions)"
        )
        return (
            f"**Predictions are off:** {why}. To turn them on, set `test_images_per_class` "
            "(default 10 held-out images per class) and run notebook 01_prepare_dataset "
            "(it stages the test images), then notebook 03_run_pipeline with `new_run=True`."
        )
    if predictions.state == "not started":
        return (
            f"**No predictions yet:** the transform job `{name}` does not exist. The pipeline "
            "creates it after training: let notebook 03_run_pipeline follow the run to its end, "
            "then run this notebook again. (If the run ended before it, for example because "
            "training failed, there are no predictions for this run.)"
        )
    job = predictions.job or {}
    status = job.get("TransformJobStatus", "")
    if predictions.state == "running":
        return (
            f"**Predictions are not ready:** the transform job `{name}` is {status}. Let "
            "notebook 03_run_pipeline follow the run (or wait a few minutes), then run this "
            "notebook again."
        )
    if predictions.state == "failed":
        where = (
            f"the last lines of its data log (CloudWatch Logs group `{TRANSFORM_LOG_GROUP}`, "
            f"stream {', '.join(f'`{stream}`' for stream in predictions.log_streams)})"
            if predictions.log_streams
            else f"no data log in CloudWatch Logs group `{TRANSFORM_LOG_GROUP}` yet"
        )
        shown = "\n".join(predictions.log_lines)
        block = f":\n\n```\n{shown}\n```" if predictions.log_lines else "."
        return (
            f"**The transform job `{name}` failed:** {job.get('FailureReason', 'no reason given')}"
            f". SageMaker's reason is often generic; the log names the object. Here are {where}"
            f"{block}"
        )
    table = predictions.table
    seconds = costs.transform_seconds(job)
    took = "" if seconds is None else f" in {seconds} s"
    resources = job.get("TransformResources", {})
    instance = resources.get("InstanceType", "an instance")
    return (
        f"The transform job `{name}` is {status}{took} on {resources.get('InstanceCount', 1)} "
        f"{instance}: {int(table['predicted_class'].notna().sum())} predictions for "
        f"{int(table['true_class'].notna().sum())} test images."
        + "".join(f"\n\nNote: {note}" for note in predictions.notes)
    )


def what_the_labels_were_worth(
    label_accuracy: float | None,
    label_matrix: pd.DataFrame,
    training: Mapping[str, Any] | None,
    test_accuracy: float | None,
    test_matrix: pd.DataFrame,
    labeled_in: str = "Ground Truth",
) -> pd.DataFrame:
    """The labels' agreement with Open Images beside the model's validation and test accuracy.

    The matrices are `agreement`'s and `prediction_accuracy`'s (their sums count the images).
    """
    labels_compared = int(label_matrix.to_numpy().sum()) if len(label_matrix) else 0
    images_predicted = int(test_matrix.to_numpy().sum()) if len(test_matrix) else 0
    validation = None if training is None else final_metrics(training).get("validation:accuracy")
    rows = [
        (
            f"{labeled_in} labels agree with Open Images",
            label_accuracy,
            labels_compared,
            "Open Images' labels of the labeled images",
        ),
        (
            "model: validation accuracy",
            validation,
            None,
            f"the {labeled_in} labels of the validation images",
        ),
        (
            "model: test accuracy",
            test_accuracy,
            images_predicted,
            "Open Images' labels of held-out images no worker saw",
        ),
    ]
    return pd.DataFrame(
        [
            {
                "accuracy": None if value is None else round(value, 3),
                "images": count,
                "measured against": against,
            }
            for _, value, count, against in rows
        ],
        index=pd.Index([what for what, *_ in rows], name="what"),
    ).astype({"images": "Int64"})


# --- costs and export -----------------------------------------------------------------------------


def cost_inputs(table: pd.DataFrame, review: Review) -> pd.DataFrame:
    """Per job: objects labeled (what Ground Truth charges for) and workers per object."""
    counts = labeled(table).groupby("split").size()
    return pd.DataFrame(
        [
            {
                "job": job["LabelingJobName"],
                "split": split,
                "objects": int(counts.get(split, 0)),
                "workers_per_object": workers_per_object(job),
            }
            for split, job in review.labeling.items()
        ]
    )


def review_folder(run_id: str) -> Path:
    """Where the review is exported: the demo's run folder when set, else runs/review/<run id>."""
    given = os.environ.get("WALKTHROUGH_RUN_DIR")
    return Path(given) if given else run_path("review", run_id)


def export(
    folder: Path,
    reviewed: pd.DataFrame,
    figures: Mapping[str, Any],
    predictions: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """Write the reviewed dataset (and the predictions) as CSV, each figure as PNG; say what."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {"reviewed dataset": folder / "reviewed_dataset.csv"}
    reviewed.to_csv(written["reviewed dataset"], index=False)
    if predictions is not None and not predictions.empty:
        written["predictions"] = folder / "predictions.csv"
        predictions.to_csv(written["predictions"], index=False)
    for name, figure in figures.items():
        if figure is None:
            continue
        path = folder / f"review_{name}.png"
        figure.savefig(path, dpi=100, bbox_inches="tight")
        written[f"figure {name}"] = path
    return written


def objects_by_split(review: Review) -> dict[str, int]:
    """Objects each job finished (labeled or failed): the rows its output manifest must have."""
    return {
        split: sum(job["LabelCounters"][k] for k in ("TotalLabeled", "FailedNonRetryableError"))
        for split, job in review.labeling.items()
        if job["LabelingJobStatus"] in READY
    }


def summary_line(
    review: Review,
    table: pd.DataFrame,
    accuracy: float | None,
    folder: Path,
    test_accuracy: float | None = None,
) -> str:
    """The notebook's one-line outcome, in markdown."""
    done = labeled(table)
    parts = [
        f"**Done:** reviewed {len(table)} objects of {review.target.source}: "
        f"{len(done)} labeled (mean confidence {done['confidence'].mean():.2f})"
    ]
    if accuracy is not None:
        parts.append(f"{accuracy:.0%} agree with Open Images")
    if review.training is not None:
        metric = final_metrics(review.training).get("validation:accuracy")
        parts.append(
            f"training job {review.training['TrainingJobStatus'].lower()}"
            + ("" if metric is None else f" (validation accuracy {metric:.2f})")
        )
    if test_accuracy is not None:
        parts.append(f"test accuracy {test_accuracy:.0%} against Open Images")
    return ", ".join(parts) + f"; exported to {folder}."


# --- automated data labeling: machine and human labels --------------------------------------------


def auto_labeling_on(review: Review) -> bool:
    """Whether any labeling job under review ran with automated data labeling."""
    return any("LabelingJobAlgorithmsConfig" in job for job in review.labeling.values())


def machine_and_human(reviewed: pd.DataFrame) -> pd.DataFrame:
    """Per labeler (machine, human): objects, agreement with Open Images, confidence.

    Machine labels are the ones whose metadata says `human-annotated: no`; their confidence is
    the auto-labeling model's, the humans' is the consolidation's (not comparable across the two).
    """
    rows = []
    done = reviewed[reviewed["label"].notna()]
    for who, by_human in (("machine", False), ("human", True)):
        part = done[done["human_annotated"].fillna(True) == by_human]
        known = part["agrees"].dropna() if "agrees" in part else pd.Series(dtype="boolean")
        rows.append(
            {
                "labeled by": who,
                "objects": len(part),
                "agreement with Open Images": (
                    round(float(known.astype(bool).mean()), 3) if len(known) else None
                ),
                "mean confidence": (
                    round(float(part["confidence"].mean()), 3) if len(part) else None
                ),
                "lowest confidence": (
                    round(float(part["confidence"].min()), 3) if len(part) else None
                ),
            }
        )
    return pd.DataFrame(rows)


def auto_labeling_jobs(review: Review, table: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    """Per labeling job: machine-labeled objects, workers per object and the human answers'
    mean seconds per task (what `costs.auto_labeling_effect` takes)."""
    rows = []
    for split, job in review.labeling.items():
        mine = table[table["split"] == split]
        machine = int((mine["human_annotated"] == False).sum())  # noqa: E712 - nullable boolean
        seconds = (
            answers.loc[answers["split"] == split, "seconds"]
            if not answers.empty and "split" in answers
            else pd.Series(dtype=float)
        )
        rows.append(
            {
                "job": job["LabelingJobName"],
                "machine_labeled": machine,
                "counted_by_ground_truth": int(job["LabelCounters"].get("MachineLabeled", 0)),
                "workers_per_object": workers_per_object(job),
                "seconds_per_task": float(seconds.mean()) if len(seconds) else None,
            }
        )
    return pd.DataFrame(rows)


def final_models(review: Review) -> dict[str, str]:
    """Each job's final auto-labeling model (LabelingJobOutput.FinalActiveLearningModelArn)."""
    return {
        split: job["LabelingJobOutput"]["FinalActiveLearningModelArn"]
        for split, job in review.labeling.items()
        if job.get("LabelingJobOutput", {}).get("FinalActiveLearningModelArn")
    }


def auto_labeling_line(review: Review, mix: pd.DataFrame, effect: pd.DataFrame | None) -> str:
    """One paragraph: whether automated labeling ran, what it labeled and what it changed."""
    if not auto_labeling_on(review):
        return (
            "**Automated data labeling was off**: workers labeled every object. Turn it on with "
            "`enable_auto_labeling=True` for jobs of at least 1,250 objects (AWS recommends "
            "5,000)."
        )
    machine, human = (mix.set_index("labeled by").loc[k] for k in ("machine", "human"))
    text = (
        f"**Automated data labeling** labeled {int(machine['objects']):,} objects by machine and "
        f"workers {int(human['objects']):,}."
    )
    if effect is not None and not effect.empty:
        total = effect.iloc[-1]
        text += (
            f" It saved {total['worker-hours saved']:.1f} worker-hours and "
            f"{total['public workforce task fees saved (USD)']:.2f} USD of public workforce task "
            f"fees, and added about {total['instance cost added (USD, estimate)']:.2f} USD of "
            f"instances: net {total['net, private workforce (USD)']:+.2f} USD with a private "
            f"workforce (paid by you, by the hour, not per task), "
            f"{total['net, public workforce (USD)']:+.2f} USD with a public one."
        )
    return text
