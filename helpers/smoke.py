"""`make aws-smoke`: the smallest real run in aws mode, for maintainers with an account.

Two classes, 5 images each (10 objects), one worker per object (the maintainer, the only user in
`user_groups`, labels them in the labeling portal), under a prefix of its own inside the
settings' prefix (`<prefix>/aws-smoke-<time>`, which the set-up's roles cover). The cost estimate
is shown and confirmation asked before anything is created; then notebooks 01, 02 and 03 run in
aws mode (papermill, into runs/aws-smoke-<time>/), and notebook 05 with `confirm_delete=True`
removes what the run created at the end, also when a step failed. The run's KFP run and
pipeline version are deleted too. Settings come from settings.json / WALKTHROUGH_* as for the
notebooks (mode=aws, bucket, roles, kfp_host, ...), with the smoke run's sizes on top.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from helpers import costs
from helpers.errors import InputError, WalkthroughError
from helpers.paths import project_root, runs_dir
from helpers.settings import Settings, load

IMAGES_PER_CLASS = 5
WORKERS_PER_OBJECT = 1
MAX_RUN_SECONDS = 1800
#: Held-out images per class the smoke run's batch transform predicts.
TEST_IMAGES_PER_CLASS = 2
#: What the estimate bills the transform instance for: a small job's start-up dominates.
TRANSFORM_BILLED_SECONDS = 900
NOTEBOOKS = ("01_prepare_dataset", "02_check_aws_setup", "03_run_pipeline")
CLEAN_UP = "05_clean_up"


@dataclass(frozen=True)
class Smoke:
    """What a smoke run will do: its prefix, the notebooks' parameters, and its cost."""

    prefix: str
    parameters: dict[str, Any]
    objects: int
    labeling_usd: float
    training_usd: float | None
    instance_type: str
    transform_usd: float | None
    transform_type: str

    def estimate(self) -> str:
        """The cost estimate, as shown before anything is created."""
        training = (
            f"at most {self.training_usd:.2f} USD ({self.instance_type} for up to "
            f"{MAX_RUN_SECONDS // 60} minutes; {costs.TRAINING_PRICES_SOURCE}, "
            f"{costs.TRAINING_PRICES_NOTE})"
            if self.training_usd is not None
            else f"{self.instance_type}: no price on file, check {costs.TRAINING_PRICES_SOURCE}"
        )
        return "\n".join(
            [
                f"aws-smoke: {self.objects} images of {', '.join(self.parameters['classes'])} "
                f"under prefix {self.prefix}, {WORKERS_PER_OBJECT} labeler per image.",
                f"  Ground Truth: {self.labeling_usd:.2f} USD ({self.objects} objects x "
                f"{costs.GROUND_TRUTH_PRICE_PER_OBJECT} USD; {costs.PRICES_SOURCE})",
                f"  training: {training}",
                f"  predictions: {self._predictions()}",
                "  S3 and the KFP cluster: a few cents or less.",
                "Everything the run creates is removed at the end (notebook 05), also on failure.",
            ]
        )

    def _predictions(self) -> str:
        """The batch transform's line of the estimate."""
        objects = len(self.parameters["classes"]) * TEST_IMAGES_PER_CLASS
        if self.transform_usd is None:
            return f"{self.transform_type}: no price on file, check {costs.TRANSFORM_PRICES_SOURCE}"
        return (
            f"at most {self.transform_usd:.2f} USD ({objects} test images on {self.transform_type} "
            f"for up to {TRANSFORM_BILLED_SECONDS // 60} minutes; "
            f"{costs.TRANSFORM_PRICES_SOURCE}, {costs.TRANSFORM_PRICES_NOTE})"
        )


def plan(settings: Settings, stamp: str) -> Smoke:
    """Plan the smoke run for the settings; refuse what cannot be a real smoke run."""
    if settings.mode != "aws":
        raise InputError(
            "mode",
            settings.mode,
            "the smoke run is for a real account",
            "set mode=aws (and your account's settings); `make demo` runs everything locally",
        )
    if len(settings.classes) < 2:
        raise InputError("classes", settings.classes, "needs 2 classes", "name at least 2")
    settings.require("user_groups", "for the maintainer who labels the smoke run's images")
    classes = list(settings.classes[:2])
    # under the settings' prefix: the roles the setup scoped to it cover the smoke run too
    prefix = f"{settings.prefix}/aws-smoke-{stamp}"
    objects = len(classes) * IMAGES_PER_CLASS
    hourly = costs.TRAINING_PRICE_PER_HOUR.get(settings.training_instance_type)
    training = (
        None
        if hourly is None
        else round(hourly * settings.training_instance_count * MAX_RUN_SECONDS / 3600, 2)
    )
    transform_hourly = costs.TRANSFORM_PRICE_PER_HOUR.get(settings.transform_instance_type)
    transform = (
        None
        if transform_hourly is None
        else round(transform_hourly * TRANSFORM_BILLED_SECONDS / 3600, 2)
    )
    parameters = {
        "mode": "aws",
        "prefix": prefix,
        "classes": classes,
        "images_per_class": IMAGES_PER_CLASS,
        "test_images_per_class": TEST_IMAGES_PER_CLASS,
        "ground_truth_num_workers_per_object": WORKERS_PER_OBJECT,
        "training_max_run_time": MAX_RUN_SECONDS,
        "new_run": True,
    }
    load(parameters)  # the smoke run's settings are valid with the user's
    return Smoke(
        prefix=prefix,
        parameters=parameters,
        objects=objects,
        labeling_usd=costs.ground_truth_fee(objects, costs.prices()),
        training_usd=training,
        instance_type=settings.training_instance_type,
        transform_usd=transform,
        transform_type=settings.transform_instance_type,
    )


def ask(question: str) -> bool:
    """Ask on the terminal; anything but yes is no (and no terminal is no)."""
    if not sys.stdin.isatty():
        print(f"{question} no terminal to ask: pass --yes to confirm.", file=sys.stderr)
        return False
    return input(f"{question} [yes/no] ").strip().lower() in ("y", "yes")


def run(smoke: Smoke, out: Path, confirm: Callable[[str], bool]) -> int:
    """Show the estimate, ask, run the notebooks, and always clean up; exit code 0 when all ran."""
    from helpers import demo

    print(smoke.estimate(), flush=True)
    if not confirm("Start the smoke run (it costs money)?"):
        print("Nothing was created.")
        return 1
    out.mkdir(parents=True, exist_ok=True)
    folder = project_root() / "notebooks"
    results = []
    kfp_run: dict[str, Any] | None = None
    try:
        for name in NOTEBOOKS:
            print(f"Running {name} ...", flush=True)
            parameters = {**smoke.parameters, "confirm_submit": True}
            results.append(demo.run_notebook(folder / f"{name}.ipynb", out, parameters))
            if not results[-1].ok:
                break
    finally:
        kfp_run = _kfp_run(smoke)
        print(f"Cleaning up {smoke.prefix} ...", flush=True)
        cleanup = {**smoke.parameters, "confirm_delete": True}
        results.append(demo.run_notebook(folder / f"{CLEAN_UP}.ipynb", out, cleanup))
        if kfp_run:
            print(_delete_kfp_run(kfp_run))
    demo.print_summary(out, results)
    return 0 if all(r.ok for r in results) else 1


def _kfp_run(smoke: Smoke) -> dict[str, Any] | None:
    """The KFP run and pipeline version of the smoke run (from its record), if it got that far."""
    from helpers import records
    from helpers.aws import connect

    settings = load(smoke.parameters)
    try:
        record = records.latest_record(connect(settings).client("s3"), settings)
    except Exception as exc:  # noqa: BLE001 - clean-up goes on; say why the KFP run stays
        print(f"Could not read the smoke run's record ({exc}): its KFP run, if any, is kept.")
        return None
    if record is None or not record.kfp_run_id:
        return None
    return {"settings": settings, "run_id": record.kfp_run_id, "record": record}


def _delete_kfp_run(found: dict[str, Any]) -> str:
    """Delete the smoke run's KFP run and the pipeline version it uploaded."""
    from helpers import pipeline, submission

    settings, record = found["settings"], found["record"]
    try:
        client = submission.kfp_client(settings)
        client.delete_run(found["run_id"])
        pipeline_id = submission.find_pipeline(client, submission.kfp_namespace(settings))
        name = f"{pipeline.PIPELINE_NAME}-{record.run_id}"
        versions = client.list_pipeline_versions(pipeline_id, page_size=200).pipeline_versions
        for version in versions or []:
            if version.display_name == name:
                client.delete_pipeline_version(pipeline_id, version.pipeline_version_id)
    except Exception as exc:  # noqa: BLE001 - report, do not hide the run's own outcome
        return f"Could not delete KFP run {found['run_id']}: {exc}"
    return f"Deleted KFP run {found['run_id']} and pipeline version {name}."


def main(argv: list[str] | None = None) -> int:
    """Plan, confirm, run and clean up the smoke run."""
    parser = argparse.ArgumentParser(prog="python -m helpers.smoke", description=__doc__)
    parser.add_argument("--yes", action="store_true", help="confirm the cost without asking")
    args = parser.parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    try:
        smoke = plan(load(), stamp)
    except WalkthroughError as exc:
        print(f"Cannot start the smoke run: {exc}", file=sys.stderr)
        return 2
    confirm = (lambda _question: True) if args.yes else ask
    return run(smoke, runs_dir() / f"aws-smoke-{stamp}", confirm)


if __name__ == "__main__":
    raise SystemExit(main())
