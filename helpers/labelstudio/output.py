"""A Label Studio project's annotations as a Ground Truth labeling job's output.

The export's answers become (object, worker, class index) answers, consolidated with the same
Dawid-Skene code the local Ground Truth uses (one answer: confidence 0.00, as Ground Truth
reports it), and written in Ground Truth's own layout under `<output_location>/<job name>/`:
the output manifest (and the intermediate one), one worker-response file per labeled object and
the consolidation response. Beside them `label-studio/job.json` describes the job the way
DescribeLabelingJob does, for the review to read. Objects whose task did not get its annotations
before the availability time carry a `failure-reason` and no label, as Ground Truth's expired
tasks do. Cancelled (skipped) annotations are not answers. Standard library, numpy and the
caller's boto3 client only: the labeling step's pod ships this package.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from helpers.local.sagemaker.output_layout import OutputLayout
from helpers.local.standins.dawid_skene import consolidate

#: The metadata `type` of an image classification label, as Ground Truth writes it.
TASK_TYPE = "groundtruth/image-classification"
#: The worker id prefix of a Label Studio annotator (the user's id follows).
WORKER_PREFIX = "labelstudio."
#: Where the job description is written, under `<output_location>/<job name>/`.
DESCRIPTION_KEY = "label-studio/job.json"


@dataclass(frozen=True)
class Answer:
    """One annotator's answer to one object: the class index and when it was given."""

    worker: str
    label: int
    submitted: datetime
    seconds: float


@dataclass
class JobOutput:
    """What the job writes: manifest lines, worker responses, consolidation, counters."""

    lines: list[str] = field(default_factory=list)
    worker_responses: list[tuple[int, str, str]] = field(default_factory=list)  # index, stamp
    consolidation: list[dict[str, Any]] = field(default_factory=list)
    labeled: int = 0
    failed: int = 0
    last_answer: datetime | None = None

    @property
    def manifest(self) -> str:
        """The output manifest's text (JSON lines)."""
        return "".join(f"{line}\n" for line in self.lines)


def job_prefix(output_location: str, job_name: str) -> str:
    """`<output_location>/<job name>`: where the job's output goes, as Ground Truth's does."""
    return f"{output_location.rstrip('/')}/{job_name}"


def job_description_uri(output_location: str, job_name: str) -> str:
    """The S3 URI of the job's DescribeLabelingJob-shaped description (`job.json`)."""
    return f"{job_prefix(output_location, job_name)}/{DESCRIPTION_KEY}"


def parse_time(value: str) -> datetime:
    """A Label Studio timestamp (ISO 8601, `Z` or an offset) as an aware UTC datetime."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def task_answers(task: dict[str, Any], classes: Sequence[str], attribute: str) -> list[Answer]:
    """A task's answers: each annotator's latest submitted (not cancelled) choice of a class."""
    latest: dict[str, Answer] = {}
    for annotation in task.get("annotations", []):
        if annotation.get("was_cancelled"):
            continue
        choice = next(
            (
                item["value"]["choices"][0]
                for item in annotation.get("result", [])
                if item.get("from_name") == attribute
                and item.get("type") == "choices"
                and item.get("value", {}).get("choices")
            ),
            None,
        )
        if choice not in classes:
            continue
        answer = Answer(
            worker=f"{WORKER_PREFIX}{annotation.get('completed_by')}",
            label=list(classes).index(choice),
            submitted=parse_time(annotation["created_at"]),
            seconds=float(annotation.get("lead_time") or 0.0),
        )
        known = latest.get(answer.worker)
        if known is None or answer.submitted >= known.submitted:
            latest[answer.worker] = answer
    return sorted(latest.values(), key=lambda a: a.submitted)


def iso(moment: datetime, zulu: bool = False) -> str:
    """A time as Ground Truth writes it: `2026-01-01T00:00:00.000000` (or `...00.000Z`)."""
    moment = moment.astimezone(UTC)
    if zulu:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds")


def stamp(moment: datetime) -> str:
    """A time as Ground Truth's output file names carry it: `2026-01-01_00:00:00`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d_%H:%M:%S")


def expired_reason(got: int, workers: int, availability: int) -> str:
    """The `failure-reason` of an object whose task did not get its annotations in time."""
    return (
        f"ClientError: The task expired before enough annotators answered it ({got} of "
        f"{workers} annotations within task_availibility={availability}s); too few annotators "
        "in the Label Studio project for ground_truth_num_workers_per_object, or they did not "
        "finish in time"
    )


def build(
    manifest: Sequence[dict[str, Any]],
    export: Sequence[dict[str, Any]],
    classes: Sequence[str],
    attribute: str,
    job_name: str,
    workers: int,
    availability: int,
) -> JobOutput:
    """Consolidate the export's answers and lay out one output line per manifest object."""
    by_source: dict[str, list[Answer]] = {}
    for task in export:
        source = task.get("data", {}).get("image")
        if source is not None:
            by_source.setdefault(str(source), []).extend(task_answers(task, classes, attribute))
    answered = {
        index: by_source.get(line["source-ref"], [])
        for index, line in enumerate(manifest)
        if len({a.worker for a in by_source.get(line["source-ref"], [])}) >= workers
    }
    consolidated = consolidate(
        [(index, a.worker, a.label) for index, answers in answered.items() for a in answers],
        len(classes),
    )
    out = JobOutput()
    for index, line in enumerate(manifest):
        labeled = dict(line)
        metadata: dict[str, Any] = {
            "job-name": f"labeling-job/{job_name.lower()}",
            "type": TASK_TYPE,
        }
        if index not in answered:
            got = len({a.worker for a in by_source.get(line["source-ref"], [])})
            metadata["failure-reason"] = expired_reason(got, workers, availability)
            out.failed += 1
        else:
            answers = answered[index]
            result = consolidated[index]
            done = max(a.submitted for a in answers)
            out.last_answer = max(done, out.last_answer or done)
            labeled[attribute] = result.label
            metadata.update(
                {
                    "confidence": result.confidence,
                    "class-name": classes[result.label],
                    "human-annotated": "yes",
                    "creation-date": iso(done),
                }
            )
            out.consolidation.append(
                {
                    "datasetObjectId": str(index),
                    "consolidatedAnnotation": {
                        "content": {attribute: result.label, f"{attribute}-metadata": metadata}
                    },
                }
            )
            out.worker_responses.append((index, stamp(done), worker_response(answers, classes)))
            out.labeled += 1
        labeled[f"{attribute}-metadata"] = metadata
        out.lines.append(json.dumps(labeled))
    return out


def worker_response(answers: Sequence[Answer], classes: Sequence[str]) -> str:
    """One object's worker-response file (Ground Truth's shape), from its annotators' answers."""
    return json.dumps(
        {
            "answers": [
                {
                    "answerContent": {"crowd-image-classifier": {"label": classes[a.label]}},
                    "acceptanceTime": iso(a.submitted - timedelta(seconds=a.seconds), zulu=True),
                    "submissionTime": iso(a.submitted, zulu=True),
                    "timeSpentInSeconds": round(a.seconds, 3),
                    "workerId": a.worker,
                    "workerMetadata": {
                        "identityData": {
                            "identityProviderType": "LabelStudio",
                            "sub": a.worker.removeprefix(WORKER_PREFIX),
                        }
                    },
                }
                for a in answers
            ]
        }
    )


def description(
    job_name: str,
    output_location: str,
    manifest_location: str,
    label_category_config: str,
    attribute: str,
    workers: int,
    out: JobOutput,
    created: datetime,
    now: datetime,
    project: dict[str, Any],
) -> dict[str, Any]:
    """The job's DescribeLabelingJob-shaped description (times as ISO 8601 strings)."""
    layout = OutputLayout(job_prefix(output_location, job_name))
    status = "Completed" if out.labeled else "Failed"
    answer: dict[str, Any] = {
        "LabelingJobName": job_name,
        "LabelingJobStatus": status,
        "LabelCounters": {
            "TotalLabeled": out.labeled,
            "HumanLabeled": out.labeled,
            "MachineLabeled": 0,
            "FailedNonRetryableError": out.failed,
            "Unlabeled": 0,
        },
        "CreationTime": created.astimezone(UTC).isoformat(),
        "LastModifiedTime": now.astimezone(UTC).isoformat(),
        "LabelAttributeName": attribute,
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": manifest_location}}},
        "OutputConfig": {"S3OutputPath": output_location},
        "LabelCategoryConfigS3Uri": label_category_config,
        "HumanTaskConfig": {"NumberOfHumanWorkersPerDataObject": workers},
        "LabelingJobOutput": {"OutputDatasetS3Uri": layout.output_manifest},
        "LabelStudio": {
            "url": project["url"],
            "project_id": project["id"],
            "title": project["title"],
        },
    }
    if status == "Failed":
        answer["FailureReason"] = (
            f"no object of {job_name} got its {workers} annotations before the availability "
            "time passed"
        )
    return answer


def write(
    put: Callable[[str, str], None],
    output_location: str,
    job_name: str,
    out: JobOutput,
    job: dict[str, Any],
    now: datetime,
) -> str:
    """Write the output layout and the job description with `put(uri, body)`; return the manifest.

    The manifest comes after the answers it is made of, and the description last: a reader that
    finds the description finds everything it names.
    """
    layout = OutputLayout(job_prefix(output_location, job_name))
    for index, when, body in out.worker_responses:
        put(layout.worker_response(index, when), body)
    put(layout.consolidation_response(stamp(out.last_answer or now)), json.dumps(out.consolidation))
    put(layout.intermediate_manifest, out.manifest)
    put(layout.output_manifest, out.manifest)
    put(job_description_uri(output_location, job_name), json.dumps(job, indent=2))
    return layout.output_manifest
