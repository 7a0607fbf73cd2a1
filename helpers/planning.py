"""Planning a run: check notebook 01's inputs, name the run, work out the pipeline's arguments.

Nothing is created here: a plan is a run record not yet submitted (see `submission`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from helpers import costs, dataset, gt_inputs, pipeline, regions
from helpers.awserrors import unless_missing
from helpers.errors import InputError, WalkthroughError
from helpers.names import RunNames, new_run_id, run_names
from helpers.records import RunRecord, latest_record
from helpers.settings import Settings, job_objects
from helpers.tags import RUN_TAG


@dataclass(frozen=True)
class Plan:
    """What notebook 03 is about to do: follow the latest run, or submit a new one."""

    record: RunRecord
    latest: RunRecord | None
    resumed: bool


def plan(settings: Settings, aws: Any) -> Plan:
    """Follow the latest recorded run, or (when there is none, or new_run is set) plan one.

    A new run's inputs are checked first (read only): a bad input stops before anything exists.
    """
    s3 = aws.client("s3")
    latest = latest_record(s3, settings)
    if latest is not None and not settings.new_run:
        return Plan(latest, latest, resumed=True)
    require_inputs(settings, s3)
    record = plan_run(settings, aws, settings.component_set or "python")
    return Plan(record, latest, resumed=False)


def labeling_backend(settings: Settings) -> str:
    """The settings' labeling backend: `ground_truth` (the default) or `label_studio`."""
    return str(getattr(settings, "labeling_backend", None) or "ground_truth")


def label_studio_url(settings: Settings) -> str:
    """The Label Studio URL the labeling steps use (an InputError when none is set).

    The setting's, else (once `helpers.labelstudio.token` exists) the local server's.
    """
    url = str(getattr(settings, "label_studio_url", None) or "").rstrip("/")
    if not url:
        try:
            from helpers.labelstudio import token  # type: ignore[attr-defined]
        except ImportError:  # before the token settings exist: the setting only
            token = None
        if token is not None:
            url = str(token.server_url(settings)).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise InputError(
            "label_studio_url",
            url or None,
            "the Label Studio labeling steps need the server's http(s) URL",
            "set label_studio_url (in local mode the local Label Studio's, which notebook 02 "
            "starts)",
        )
    return url


def require_project_titles(names: RunNames) -> None:
    """Raise when a labeling job name is longer than a Label Studio project title may be."""
    from helpers.labelstudio.step import MAX_TITLE

    for setting, name in (
        ("ground_truth_train_job_name", names.train_job),
        ("ground_truth_validation_job_name", names.validation_job),
    ):
        if len(name) > MAX_TITLE:
            raise InputError(
                setting,
                name,
                f"with labeling_backend=label_studio it titles a Label Studio project, which "
                f"takes at most {MAX_TITLE} characters ({len(name)} here)",
                "choose a shorter name, or leave it unset for a unique one",
            )


def workforce_cognito(aws: Any, settings: Settings) -> tuple[str, str]:
    """The Cognito pool and app client: from the settings, else the region's private workforce."""
    if settings.user_pool and settings.client_id:
        return settings.user_pool, settings.client_id
    workforces = aws.client("sagemaker").list_workforces()["Workforces"]
    cognito = workforces[0].get("CognitoConfig") if workforces else None
    if not cognito:
        raise InputError(
            "user_pool",
            settings.user_pool,
            f"no private workforce exists in {settings.region} to take it from",
            "run notebook 02 (it creates or checks the workforce), or set user_pool and client_id",
        )
    return settings.user_pool or cognito["UserPool"], settings.client_id or cognito["ClientId"]


def labeling_arguments(settings: Settings, aws: Any, names: RunNames) -> dict[str, Any]:
    """The arguments only one labeling backend takes: the workteam's, or Label Studio's URL."""
    if labeling_backend(settings) == "label_studio":
        return {"label_studio_url": label_studio_url(settings)}
    groups = settings.require("user_groups", "to make the workteam")
    pool, client_id = workforce_cognito(aws, settings)
    staged = dataset.input_uris(settings)
    return {
        "team_name": names.team,
        "team_description": settings.team_description,
        "user_pool": pool,
        "user_groups": groups,
        "client_id": client_id,
        "ground_truth_ui_template": staged.ui_template,
        "ground_truth_time_limit": settings.ground_truth_time_limit,
        "ground_truth_max_concurrent_tasks": settings.ground_truth_max_concurrent_tasks,
        **({"ground_truth_enable_auto_labeling": True} if settings.enable_auto_labeling else {}),
    }


def arguments(settings: Settings, aws: Any, names: RunNames) -> dict[str, Any]:
    """The pipeline's arguments for a run, from the settings and notebook 01's inputs."""
    role = settings.require("role_arn", "to run labeling and training jobs")
    staged = dataset.input_uris(settings)
    given = {
        "region": settings.region,
        "tags": {RUN_TAG: names.run_id},
        "role_arn": role,
        "ground_truth_train_job_name": names.train_job,
        "ground_truth_validation_job_name": names.validation_job,
        "ground_truth_label_attribute_name": settings.ground_truth_label_attribute_name,
        "ground_truth_train_manifest_location": staged.train_manifest,
        "ground_truth_validation_manifest_location": staged.validation_manifest,
        "ground_truth_output_location": settings.layout.labeling_output,
        "ground_truth_label_category_config": staged.label_config,
        "ground_truth_title": settings.ground_truth_title,
        "ground_truth_description": settings.ground_truth_description,
        "ground_truth_num_workers_per_object": settings.ground_truth_num_workers_per_object,
        "ground_truth_task_availibility": settings.ground_truth_task_availability,
        "training_job_name": names.training_job,
        "training_image": regions.image_classification_image(settings.region),
        "training_hyperparameters": dict(pipeline.DEFAULT_HYPERPARAMETERS),
        "training_input_location": settings.layout.training_input(names.run_id),
        "training_output_location": settings.layout.training_output,
        "training_instance_type": settings.training_instance_type,
        "training_instance_count": settings.training_instance_count,
        "training_volume_size": settings.training_volume_size,
        "training_max_run_time": settings.training_max_run_time,
        **encryption_and_network(settings),
        **prediction_arguments(settings, names),
    }
    return {**given, **labeling_arguments(settings, aws, names)}


def prediction_arguments(settings: Settings, names: RunNames) -> dict[str, str]:
    """The pipeline arguments of the prediction steps (none when predictions are off)."""
    if not settings.predictions:
        return {}
    layout = settings.layout
    return {
        "model_name": names.model,
        "transform_job_name": names.transform_job,
        "transform_input_location": layout.test_images,
        "transform_output_location": layout.predictions(names.run_id),
        "transform_instance_type": settings.transform_instance_type,
        "test_labels_location": layout.test_labels,
    }


def encryption_and_network(settings: Settings) -> dict[str, str]:
    """The pipeline arguments of the KMS key and VPC settings that are set (none when unset)."""
    given = {
        "ground_truth_output_encryption_key": settings.labeling_output_kms_key or "",
        "training_resource_encryption_key": settings.training_volume_kms_key or "",
        "training_output_encryption_key": settings.training_output_kms_key or "",
        "training_vpc_subnets": ",".join(settings.vpc_subnets),
        "training_vpc_security_group_ids": ",".join(settings.vpc_security_group_ids),
    }
    return {name: value for name, value in given.items() if value}


def names_taken(aws: Any, names: RunNames, labeling: str = "ground_truth") -> list[str]:
    """Return which of the run's names already exist (labeling job names case-insensitively).

    With Label Studio there is no workteam or labeling job to collide with (its labeling step
    refuses a project of the same title made for something else).
    """
    sagemaker = aws.client("sagemaker")
    taken = []
    ground_truth = labeling == "ground_truth"
    if ground_truth and unless_missing(sagemaker.describe_workteam, WorkteamName=names.team):
        taken.append(f"workteam {names.team}")
    for job in (names.train_job, names.validation_job) if ground_truth else ():
        found = sagemaker.list_labeling_jobs(NameContains=job, MaxResults=100)
        if any(
            j["LabelingJobName"].lower() == job.lower() for j in found["LabelingJobSummaryList"]
        ):
            taken.append(f"labeling job {job}")
    found = sagemaker.list_training_jobs(NameContains=names.training_job, MaxResults=100)
    if any(j["TrainingJobName"] == names.training_job for j in found["TrainingJobSummaries"]):
        taken.append(f"training job {names.training_job}")
    if names.model:
        found = sagemaker.list_models(NameContains=names.model, MaxResults=100)
        if any(m["ModelName"] == names.model for m in found["Models"]):
            taken.append(f"model {names.model}")
    if names.transform_job:
        found = sagemaker.list_transform_jobs(NameContains=names.transform_job, MaxResults=100)
        if any(
            j["TransformJobName"] == names.transform_job for j in found["TransformJobSummaries"]
        ):
            taken.append(f"transform job {names.transform_job}")
    return taken


def plan_run(settings: Settings, aws: Any, component_set: str) -> RunRecord:
    """Name a new run and work out its arguments (nothing is created yet)."""
    names = run_names(settings, new_run_id())
    labeling = labeling_backend(settings)
    if labeling == "label_studio":
        require_project_titles(names)
    taken = names_taken(aws, names, labeling)
    if taken:
        raise InputError(
            "team_name / ground_truth_*_job_name",
            ", ".join(taken),
            "these names are taken (labeling job names are unique per account and "
            "region, case-insensitively)",
            "choose other names, or leave them unset to get unique ones",
        )
    return RunRecord(
        run_id=names.run_id,
        mode=settings.mode,
        component_set=component_set,
        names={
            "team": names.team,
            "train_job": names.train_job,
            "validation_job": names.validation_job,
            "training_job": names.training_job,
            "model": names.model,
            "transform_job": names.transform_job,
        },
        arguments=arguments(settings, aws, names),
        submitted_at=datetime.now(UTC).isoformat(timespec="seconds"),
        **labeling_record(settings, names, labeling),
    )


def labeling_record(settings: Settings, names: RunNames, labeling: str) -> dict[str, Any]:
    """What a record says of its labeling backend: Label Studio's URL and project titles."""
    if labeling != "label_studio":
        return {}
    projects = {"train": names.train_job, "validation": names.validation_job}
    return {
        "labeling": labeling,
        "extra": {"label_studio": {"url": label_studio_url(settings), "projects": projects}},
    }


def cost_estimate(settings: Settings) -> str:
    """The submission's estimated labeling cost in dollars (both labeling jobs' objects)."""
    if labeling_backend(settings) == "label_studio":
        return "nothing per object for labeling (Label Studio runs on your own cluster)"
    objects = job_objects(settings) if settings.source == "openimages" else None
    if objects is None:
        return "an amount that depends on your images' count (0.08 USD per object labeled)"
    return costs.submission_estimate(
        sum(objects.values()), len(objects), settings.enable_auto_labeling, costs.prices()
    )


def confirm_cost(settings: Settings) -> str:
    """In aws mode, refuse to create labeling work (which costs money) unless confirmed.

    Returns the estimated cost (a sentence in dollars) for the notebook to show.
    """
    estimate = cost_estimate(settings)
    if settings.mode == "aws" and not settings.confirm_submit:
        raise InputError(
            "confirm_submit",
            settings.confirm_submit,
            "a submission in aws mode sends labeling tasks to people and starts a GPU training "
            "job, which cost money ("
            + (
                "labeling: "
                if labeling_backend(settings) == "label_studio"
                else "Ground Truth charges per object: "
            )
            + f"{estimate})"
            + (
                f", then a batch transform job on {settings.transform_instance_type} that "
                "predicts the test images (billed per instance-second)"
                if settings.predictions
                else ""
            ),
            "set confirm_submit=True (a notebook parameter, WALKTHROUGH_CONFIRM_SUBMIT=true or "
            "settings.json) once you have checked the settings",
        )
    return f"Estimated cost of this submission: {estimate}."


def require_inputs(settings: Settings, s3: Any) -> dict[str, Any]:
    """Check the region and notebook 01's inputs (read only); raise naming what to fix first."""
    problem = regions.region_problem(settings.region)
    if problem:
        raise InputError("region", settings.region, problem, regions.region_fix())
    try:
        found = dataset.verify(settings, s3)
    except ClientError as exc:
        raise WalkthroughError(
            f"the Ground Truth inputs are not under {settings.s3_prefix_uri} "
            f"({exc.response['Error']['Code']}): run notebook 01_prepare_dataset first"
        ) from exc
    staged = dataset.input_uris(settings)
    for split, missing in found["missing_by_split"].items():
        manifest = getattr(staged, f"{split}_manifest")
        if not found["objects"][split]:
            raise InputError(
                manifest,
                "no objects",
                'a labeling job needs at least one line {"source-ref": "s3://..."}',
                "run notebook 01_prepare_dataset again to rewrite the manifests",
            )
        if missing:
            raise InputError(
                manifest,
                missing[0] if len(missing) == 1 else f"{missing[0]} and {len(missing) - 1} more",
                f"{len(missing)} of its {found['objects'][split]} source-ref objects do not exist",
                "run notebook 01_prepare_dataset again (it copies what is missing), or remove "
                "their lines",
            )
    gt_inputs.require_labels(found["labels"], settings.classes, staged.label_config)
    if not found["template_has_classifier"]:
        raise gt_inputs.classifier_error(staged.ui_template)
    if settings.predictions:
        require_test_set(settings, found)
    return found


def require_test_set(settings: Settings, found: dict[str, Any]) -> None:
    """Raise when predictions are on and notebook 01's test set is missing or not held out."""
    where = settings.layout.test_labels
    if found["test_images"] is None:
        own = settings.source != "openimages"
        raise InputError(
            where,
            "missing",
            f"predictions are on (test_images_per_class={settings.test_images_per_class}), and "
            "the batch transform predicts the test images this file lists"
            + (
                " (your own images have no known classes, so notebook 01 writes none)"
                if own
                else ""
            ),
            "set test_images_per_class=0 to train without predictions"
            if own
            else "run notebook 01_prepare_dataset again (it stages the test images), or set "
            "test_images_per_class=0 to train without predictions",
        )
    missing = found["missing_test_objects"]
    if missing:
        raise InputError(
            where,
            missing[0] if len(missing) == 1 else f"{missing[0]} and {len(missing) - 1} more",
            f"{len(missing)} of its {found['test_images']} test images do not exist",
            "run notebook 01_prepare_dataset again (it copies what is missing)",
        )
    if found["test_outside_input"]:
        raise InputError(
            where,
            found["test_outside_input"][0],
            f"every test image must be under {settings.layout.test_images}: the batch transform "
            "predicts that prefix only",
            "run notebook 01_prepare_dataset again: it rewrites the test set",
        )
    if found["test_not_held_out"]:
        raise InputError(
            where,
            found["test_not_held_out"][0],
            "a test image is also a labeling object or an instructions example, so the model "
            "would be scored on an image it trained on (or workers saw)",
            "run notebook 01_prepare_dataset again: it rewrites the manifests and the test set",
        )
