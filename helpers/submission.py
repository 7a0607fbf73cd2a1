"""Submitting a planned run: compile the pipeline, start it on a runner, and tell when it ended.

One runner interface for both modes: `LocalRunner` runs the pipeline on KFP's local runner in a
child process (local mode), `KfpRunner` uploads and runs it through `kfp.Client` (aws mode). A run
is followed the same way in both (see `following`); its end comes from its runner's own state:
the child's `state.json` (or exit code), or the KFP run's state.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from helpers import local_runner, pipeline, planning, records
from helpers.aws import without_endpoint_overrides
from helpers.errors import WalkthroughError
from helpers.following import observe
from helpers.paths import runs_dir
from helpers.planning import Plan
from helpers.records import RunRecord
from helpers.settings import Settings

#: `finished()`: None while the pipeline runs, then True (succeeded) or False (failed).
Finished = Callable[[], bool | None]
PACKAGE_NAME = "mini-image-classification-pipeline.yaml"


def compile_package(
    settings: Settings,
    component_set: str | None = None,
    folder: Path | None = None,
    predictions: bool | None = None,
    labeling: str | None = None,
) -> Path:
    """Compile the pipeline (a component set, the settings' by default) into a folder.

    The folder is runs/pipeline/ by default (to look at); a run's package goes to its run folder.
    `predictions` (the settings' by default) adds the create-model, predict and evaluate steps;
    `labeling` (the settings' backend by default) chooses Ground Truth or Label Studio.
    """
    from helpers import components

    chosen = component_set or settings.component_set
    parts = components.official() if chosen == "official" else components.python()
    folder = folder or runs_dir() / "pipeline"
    folder.mkdir(parents=True, exist_ok=True)
    return pipeline.compile_pipeline(
        parts,
        folder / PACKAGE_NAME,
        aws_secret=settings.kfp_aws_secret,
        predictions=settings.predictions if predictions is None else predictions,
        labeling=labeling or planning.labeling_backend(settings),
        label_studio_secret=settings.label_studio_token_secret,
    )


class Runner(Protocol):
    """Where a pipeline run happens: starts a run and says when it ended."""

    def start(self, record: RunRecord) -> Finished:
        """Start the run (filling in the record's runner fields); return its `finished` check."""
        ...

    def resume(self, record: RunRecord) -> Finished:
        """The `finished` check of a run started earlier (possibly from another kernel)."""
        ...


def runner_for(settings: Settings, aws: Any) -> Runner:
    """The runner of the settings' mode: KFP's local runner, or a KFP cluster via kfp.Client."""
    if settings.mode != "local":
        return KfpRunner(settings)
    studio = planning.labeling_backend(settings) == "label_studio"
    return LocalRunner(aws, label_studio_token(settings) if studio else None)


def label_studio_token(settings: Settings) -> str:
    """The Label Studio API token (file, LABEL_STUDIO_API_KEY, Kubernetes secret, local server)."""
    from helpers.labelstudio import token

    return token.api_token(settings)


def label_studio_client(settings: Settings, record: RunRecord) -> Any:
    """A Label Studio client for a run that labels there (its record's URL); None otherwise."""
    studio = record.label_studio
    if studio is None:
        return None
    from helpers.labelstudio import api

    return api.Client(studio["url"], label_studio_token(settings))


# --- local mode: KFP's local runner in a child process --------------------------------------------


def start_local(record: RunRecord, token: str | None = None) -> subprocess.Popen[bytes]:
    """Start the pipeline on KFP's local runner in a child process (log in the run folder).

    A Label Studio `token` reaches the labeling steps through the child's environment only
    (never its arguments, log or the run record).
    """
    folder = local_runner.folder(record.run_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "arguments.json").write_text(json.dumps(record.arguments, indent=2))
    log = open(local_runner.log_path(record.run_id), "wb")  # noqa: SIM115 - the child owns it
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "helpers.local_runner",
            str(folder / "arguments.json"),
            str(folder / "root"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={
            **without_endpoint_overrides(os.environ),
            **({pipeline.LABEL_STUDIO_TOKEN_ENV: token} if token else {}),
        },
    )


@dataclass(frozen=True)
class LocalRunner:
    """Runs the pipeline on KFP's local runner in a child process (local mode)."""

    aws: Any
    #: the Label Studio API token of a run that labels there (never shown)
    label_studio_token: str | None = field(default=None, repr=False)

    def start(self, record: RunRecord) -> Finished:
        """Start the child process; the run has ended when it has (its exit code says how)."""
        process = start_local(record, self.label_studio_token)
        record.extra["pid"] = process.pid
        return lambda: None if process.poll() is None else process.returncode == 0

    def resume(self, record: RunRecord) -> Finished:
        """The end of a run started by another kernel: its state file, else what SageMaker says."""

        def finished() -> bool | None:
            ended = local_runner.ended(record.run_id)
            if ended is not None:
                return ended
            state = observe(self.aws, record.run_names)
            if state.failure():
                return False
            if state.over:
                return True
            if not _alive(record.extra.get("pid")):
                raise WalkthroughError(
                    f"the local run {record.run_id} ended before it finished (its process is "
                    "gone). Submit a new run with new_run=True."
                )
            return None

        return finished


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


# --- aws mode: a KFP cluster through kfp.Client ---------------------------------------------------


def kfp_client(settings: Settings) -> Any:
    """A kfp Client: in-cluster defaults, or the host, namespace and token file from settings."""
    import kfp

    options: dict[str, Any] = {}
    if settings.kfp_host:
        options["host"] = settings.kfp_host
    if settings.kfp_token_file:
        options["existing_token"] = Path(settings.kfp_token_file).read_text().strip()
    namespace = kfp_namespace(settings)
    if namespace:
        options["namespace"] = namespace
    return kfp.Client(**options)


def kfp_namespace(settings: Settings) -> str | None:
    """The profile namespace in multi-user Kubeflow; None for standalone KFP (pipeline-runner)."""
    return None if settings.kfp_service_account == "pipeline-runner" else settings.kfp_namespace


@dataclass(frozen=True)
class KfpRunner:
    """Runs the pipeline on a KFP cluster through kfp.Client (aws mode)."""

    settings: Settings

    def start(self, record: RunRecord) -> Finished:
        """Upload the pipeline (or a new version), create the run in the experiment, link to it."""
        settings = self.settings
        client = kfp_client(settings)
        namespace = kfp_namespace(settings)
        package = str(
            compile_package(
                settings,
                record.component_set,
                local_runner.folder(record.run_id),
                predictions=predicts(record),
                labeling=record.labeling,
            )
        )
        version_name = f"{pipeline.PIPELINE_NAME}-{record.run_id}"
        pipeline_id = find_pipeline(client, namespace)
        if pipeline_id is None:
            pipeline_id = client.upload_pipeline(
                package,
                pipeline_name=pipeline.PIPELINE_NAME,
                description=pipeline.DESCRIPTION,
                namespace=namespace,
            ).pipeline_id
        version = client.upload_pipeline_version(
            package, pipeline_version_name=version_name, pipeline_id=pipeline_id
        )
        experiment = client.create_experiment(settings.kfp_experiment, namespace=namespace)
        run = client.run_pipeline(
            experiment_id=experiment.experiment_id,
            job_name=version_name,
            params=record.arguments,
            pipeline_id=pipeline_id,
            version_id=version.pipeline_version_id,
            enable_caching=False,
        )
        record.kfp_run_id = run.run_id
        record.kfp_host = settings.kfp_host
        record.kfp_namespace = namespace
        ui = client._get_url_prefix()  # noqa: SLF001 - the client's own idea of the UI's address
        record.ui_link = f"{ui.rstrip('/')}/#/runs/details/{run.run_id}"
        print(f"Created KFP run {run.run_id} in experiment {settings.kfp_experiment}")
        return kfp_finished(client, run.run_id)

    def resume(self, record: RunRecord) -> Finished:
        """The `finished` check of a KFP run submitted earlier: the KFP run's state."""
        return kfp_finished(kfp_client(self.settings), str(record.kfp_run_id))


def predicts(record: RunRecord) -> bool:
    """Whether a run predicts the test images: its record names a model (older ones do not)."""
    return bool(record.names.get("model"))


def find_pipeline(client: Any, namespace: str | None) -> str | None:
    """The id of the walkthrough's pipeline in the namespace (shared ones without), or None.

    `kfp.Client.get_pipeline_id` looks among shared pipelines only, so in multi-user Kubeflow
    it misses the one uploaded into the profile's namespace and the upload then fails on
    "already exists".
    """
    name_filter = json.dumps(
        {
            "predicates": [
                {"operation": 1, "key": "display_name", "stringValue": pipeline.PIPELINE_NAME}
            ]
        }
    )  # operation 1: EQUALS
    found = client.list_pipelines(namespace=namespace, filter=name_filter, page_size=2).pipelines
    return found[0].pipeline_id if found else None


def kfp_finished(client: Any, kfp_run_id: str) -> Callable[[], bool | None]:
    """A `finished` check for a run on a KFP cluster."""

    def finished() -> bool | None:
        state = str(client.get_run(kfp_run_id).state or "").upper()
        if state == "SUCCEEDED":
            return True
        if state in ("FAILED", "CANCELED", "CANCELING", "SKIPPED"):
            return False
        return None

    return finished


# --- submitting -----------------------------------------------------------------------------------


@dataclass
class Submission:
    """A run being followed: its record, how to tell it ended, and whether it was resumed."""

    record: RunRecord
    finished: Finished
    resumed: bool


def resume(settings: Settings, aws: Any, record: RunRecord) -> Finished:
    """A `finished` check for a run submitted earlier (possibly from another kernel)."""
    runner: Runner = KfpRunner(settings) if record.kfp_run_id else LocalRunner(aws)
    return runner.resume(record)


def submit(settings: Settings, aws: Any, plan: Plan, claim_wait: float = 300.0) -> Submission:
    """Start the planned run, or follow the run the plan resumes (nothing is recorded yet).

    Exactly one execution submits: the submission is claimed atomically in the bucket before
    anything is created (see `records.claim`); an execution that loses the claim follows the
    winner's run.
    """
    if plan.resumed:
        return Submission(plan.record, resume(settings, aws, plan.record), resumed=True)
    s3 = aws.client("s3")
    record = plan.record
    winner = records.claim(s3, settings, record, plan.latest)
    if winner is not None:
        print(f"Another execution of notebook 03 is submitting run {winner.run_id}: following it")
        followed = records.await_record(s3, settings, winner, plan.latest, claim_wait)
        return Submission(followed, resume(settings, aws, followed), resumed=True)
    try:
        finished = runner_for(settings, aws).start(record)
    except BaseException:
        records.release(s3, settings, plan.latest)  # nothing was submitted: the next may try
        raise
    return Submission(record, finished, resumed=False)


def record(settings: Settings, aws: Any, submission: Submission) -> str:
    """Save a new run's record (in the bucket and under runs/records/); return where it is."""
    if submission.resumed:
        return records.record_uri(settings, submission.record.run_id)
    return records.save_record(aws.client("s3"), settings, submission.record)


def submit_or_resume(settings: Settings, aws: Any, claim_wait: float = 300.0) -> Submission:
    """Notebook 03's steps in one call: plan, confirm the cost, submit, record."""
    planned = planning.plan(settings, aws)
    if not planned.resumed:
        planning.confirm_cost(settings)
    submission = submit(settings, aws, planned, claim_wait)
    record(settings, aws, submission)
    return submission
