"""The Ground Truth -> training -> predictions pipeline (KFP v2).

Private workteam -> two labeling jobs (train, validation) -> a step that builds the training
channels and hyperparameters from what was labeled -> SageMaker training (built-in
image-classification, Pipe mode, augmented manifests) -> a SageMaker model from the training
job's artifact -> a batch transform job over the held-out test images -> an evaluate step that
scores the predictions and emits KFP artifacts (Model, Metrics, ClassificationMetrics).
`build(..., predictions=False)` gives the pipeline without the last three steps. Each labeling
task watches the other's job
and stops its own when that one failed or was stopped; an exit handler stops whatever job of the
run still runs when the run ends. Compile it as the upstream sample does:

    dsl-compile --py helpers/pipeline.py --output mini-image-classification-pipeline.yaml

That compiles the official-components pipeline; `build(components.python(...))` gives the same
pipeline on the lightweight Python components. `build(..., labeling="label_studio")` labels in
Label Studio instead of Ground Truth: no workteam, and `label-train` / `label-validation` are
the Label Studio step (one project per split at the `label_studio_url` parameter), whose output
is Ground Truth's, so everything after labeling is the same.
"""

# No `from __future__ import annotations` here: KFP reads the pipeline's parameter types.
import inspect
from pathlib import Path
from typing import Any

from kfp import compiler, dsl

from helpers import components
from helpers.settings import split_secret

PIPELINE_NAME = "mini-image-classification-ground-truth"
DESCRIPTION = (
    "Label images with SageMaker Ground Truth (private workteam, train and validation "
    "jobs) and train the built-in image-classification algorithm on the labels"
)
LABEL_STUDIO_DESCRIPTION = (
    "Label images in Label Studio (train and validation projects, Ground Truth's output "
    "format) and train the built-in image-classification algorithm on the labels"
)
PREDICTIONS_DESCRIPTION = (
    "; then label held-out test images with the model (batch transform) and score them"
)
#: Hyperparameters that learn from about a hundred images; num_classes and
#: num_training_samples are added from the labeled data at run time.
DEFAULT_HYPERPARAMETERS = {
    "epochs": "10",
    "learning_rate": "0.1",
    "mini_batch_size": "8",
    "use_pretrained_model": "1",
    "num_layers": "18",
    "image_shape": "3,224,224",
    "resize": "256",
    "augmentation_type": "crop_color",
    "optimizer": "sgd",
    "early_stopping": "False",
}
#: The exit handler's step: it runs when the run ends, after the others.
EXIT_TASK = "stop-run-jobs"
#: The pipeline parameters of the predictions (absent from the pipeline built without them).
PREDICTION_PARAMETERS = (
    "model_name",
    "transform_job_name",
    "transform_input_location",
    "transform_output_location",
    "transform_instance_type",
    "test_labels_location",
)
#: The labeling backends: Ground Truth (the default) or Label Studio.
LABELING_BACKENDS = ("ground_truth", "label_studio")
#: The pipeline parameter of Label Studio's URL (absent from the Ground Truth pipeline).
LABEL_STUDIO_PARAMETERS = ("label_studio_url",)
#: The parameters only Ground Truth's steps take (absent from the Label Studio pipeline).
GROUND_TRUTH_PARAMETERS = (
    "team_name",
    "team_description",
    "user_pool",
    "user_groups",
    "client_id",
    "ground_truth_task_type",
    "ground_truth_worker_type",
    "ground_truth_ui_template",
    "ground_truth_time_limit",
    "ground_truth_max_concurrent_tasks",
    "ground_truth_enable_auto_labeling",
)
#: The environment variable that carries the Label Studio API token into its steps.
LABEL_STUDIO_TOKEN_ENV = "LABEL_STUDIO_API_KEY"
#: What the transform job sends and asks for. The built-in image-classification algorithm takes
#: image/png, image/jpeg and application/x-image for inference (SageMaker Developer Guide,
#: "Image Classification - MXNet", "Input/Output Interface for the Image Classification
#: Algorithm") and answers each image with JSON, {"prediction": [p_0, ..., p_k]} in class index
#: order. The official transform program sends both as given, even empty: so they are set here.
TRANSFORM_CONTENT_TYPE = "application/x-image"
TRANSFORM_ACCEPT = "application/json"
#: One image per request; 6 MB is the official component's default and SageMaker's.
TRANSFORM_MAX_PAYLOAD_MB = 6


def build(
    parts: components.ComponentSet,
    aws_secret: str | None = None,
    predictions: bool = True,
    labeling: str = "ground_truth",
    label_studio_secret: str | None = None,
) -> Any:
    """Return the pipeline function built from a component set.

    Credentials reach the pods through IRSA (the run's service account) unless `aws_secret`
    names a Kubernetes secret holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. With
    `predictions=False` the pipeline stops after training, without the prediction parameters.
    `labeling="label_studio"` labels in Label Studio; its steps get the API token from the
    Kubernetes secret `label_studio_secret` (`<secret>` or `<secret>/<key>`) as
    LABEL_STUDIO_API_KEY (else from their environment, as on kfp.local).
    """
    if labeling not in LABELING_BACKENDS:
        raise ValueError(f"labeling must be one of {LABELING_BACKENDS}, not {labeling!r}")
    studio = labeling == "label_studio"

    def mini_image_classification(
        region: str = "us-west-2",
        endpoint_url: str = "",
        tags: dict = {},  # noqa: B006 - KFP reads defaults from the signature
        role_arn: str = "",
        team_name: str = "ground-truth-demo-team",
        team_description: str = "Team for mini image classification labeling job",
        user_pool: str = "",
        user_groups: str = "",
        client_id: str = "",
        ground_truth_train_job_name: str = "mini-image-classification-demo-train",
        ground_truth_validation_job_name: str = "mini-image-classification-demo-validation",
        ground_truth_label_attribute_name: str = "category",
        ground_truth_train_manifest_location: str = "",
        ground_truth_validation_manifest_location: str = "",
        ground_truth_output_location: str = "",
        ground_truth_task_type: str = "image classification",
        ground_truth_worker_type: str = "private",
        ground_truth_label_category_config: str = "",
        ground_truth_ui_template: str = "",
        ground_truth_title: str = "Mini image classification",
        ground_truth_description: str = "Choose the category that best describes the image",
        ground_truth_num_workers_per_object: int = 3,
        ground_truth_time_limit: int = 300,
        ground_truth_task_availibility: int = 86400,
        ground_truth_max_concurrent_tasks: int = 100,
        ground_truth_enable_auto_labeling: bool = False,
        training_job_name: str = "mini-image-classification-training",
        training_image: str = "",
        training_input_mode: str = "Pipe",
        training_hyperparameters: dict = DEFAULT_HYPERPARAMETERS,  # noqa: B006
        training_input_location: str = "",
        training_output_location: str = "",
        training_instance_type: str = "ml.p3.2xlarge",  # settings.DEFAULT_TRAINING_INSTANCE
        training_instance_count: int = 1,
        training_volume_size: int = 50,
        training_max_run_time: int = 3600,
        ground_truth_output_encryption_key: str = "",
        training_resource_encryption_key: str = "",
        training_output_encryption_key: str = "",
        training_vpc_subnets: str = "",
        training_vpc_security_group_ids: str = "",
        model_name: str = "",
        transform_job_name: str = "",
        transform_input_location: str = "",
        transform_output_location: str = "",
        transform_instance_type: str = "ml.c5.xlarge",  # settings.DEFAULT_TRANSFORM_INSTANCE
        test_labels_location: str = "",
        label_studio_url: str = "",
    ) -> None:
        # The exit handler: when the run ends (succeeded, failed or terminated), stop whatever
        # job of the run still runs, so that nothing goes on billing.
        extra = {"transform_job_name": transform_job_name} if predictions else {}
        stop = parts.stop_run_jobs(
            region=region,
            endpoint_url=endpoint_url,
            # Label Studio's projects are no SageMaker jobs: nothing to stop of theirs
            train_job_name="" if studio else ground_truth_train_job_name,
            validation_job_name="" if studio else ground_truth_validation_job_name,
            training_job_name=training_job_name,
            **extra,
        ).set_display_name("stop-run-jobs")
        with dsl.ExitHandler(stop, name="run-jobs"):
            if studio:
                workteam = None
                labeling_tasks = {
                    split: parts.label_studio(
                        region=region,
                        endpoint_url=endpoint_url,
                        job_name=job_name,
                        label_attribute_name=ground_truth_label_attribute_name,
                        manifest_location=manifest,
                        output_location=ground_truth_output_location,
                        label_category_config=ground_truth_label_category_config,
                        title=ground_truth_title,
                        description=ground_truth_description,
                        num_workers_per_object=ground_truth_num_workers_per_object,
                        task_availibility=ground_truth_task_availibility,
                        label_studio_url=label_studio_url,
                    ).set_display_name(f"label-{split}")
                    for split, job_name, manifest in (
                        (
                            "train",
                            ground_truth_train_job_name,
                            ground_truth_train_manifest_location,
                        ),
                        (
                            "validation",
                            ground_truth_validation_job_name,
                            ground_truth_validation_manifest_location,
                        ),
                    )
                }
            else:
                workteam = parts.workteam(
                    region=region,
                    endpoint_url=endpoint_url,
                    tags=tags,
                    team_name=team_name,
                    description=team_description,
                    user_pool=user_pool,
                    user_groups=user_groups,
                    client_id=client_id,
                ).set_display_name("create-workteam")
                labeling = {}
                # each labeling task watches the other's job: when one fails, the other stops
                for split, job_name, other_job, manifest in (
                    (
                        "train",
                        ground_truth_train_job_name,
                        ground_truth_validation_job_name,
                        ground_truth_train_manifest_location,
                    ),
                    (
                        "validation",
                        ground_truth_validation_job_name,
                        ground_truth_train_job_name,
                        ground_truth_validation_manifest_location,
                    ),
                ):
                    labeling[split] = parts.ground_truth(
                        region=region,
                        endpoint_url=endpoint_url,
                        tags=tags,
                        role=role_arn,
                        job_name=job_name,
                        label_attribute_name=ground_truth_label_attribute_name,
                        manifest_location=manifest,
                        output_location=ground_truth_output_location,
                        task_type=ground_truth_task_type,
                        worker_type=ground_truth_worker_type,
                        workteam_arn=workteam.outputs["workteam_arn"],
                        label_category_config=ground_truth_label_category_config,
                        ui_template=ground_truth_ui_template,
                        title=ground_truth_title,
                        description=ground_truth_description,
                        num_workers_per_object=ground_truth_num_workers_per_object,
                        time_limit=ground_truth_time_limit,
                        task_availibility=ground_truth_task_availibility,
                        max_concurrent_tasks=ground_truth_max_concurrent_tasks,
                        watch_job_names=other_job,
                        output_encryption_key=ground_truth_output_encryption_key,
                        enable_auto_labeling=ground_truth_enable_auto_labeling,
                    ).set_display_name(f"label-{split}")
                labeling_tasks = labeling
            prepared = parts.prepare_training(
                region=region,
                endpoint_url=endpoint_url,
                train_manifest=labeling_tasks["train"].outputs["output_manifest_location"],
                validation_manifest=labeling_tasks["validation"].outputs[
                    "output_manifest_location"
                ],
                label_category_config=ground_truth_label_category_config,
                label_attribute_name=ground_truth_label_attribute_name,
                training_input_location=training_input_location,
                hyperparameters=training_hyperparameters,
            ).set_display_name("prepare-training")
            training = parts.train(
                region=region,
                endpoint_url=endpoint_url,
                tags=tags,
                job_name=training_job_name,
                role=role_arn,
                image=training_image,
                training_input_mode=training_input_mode,
                hyperparameters=prepared.outputs["hyperparameters"],
                channels=prepared.outputs["channels"],
                instance_type=training_instance_type,
                instance_count=training_instance_count,
                volume_size=training_volume_size,
                max_run_time=training_max_run_time,
                model_artifact_path=training_output_location,
                resource_encryption_key=training_resource_encryption_key,
                output_encryption_key=training_output_encryption_key,
                vpc_subnets=training_vpc_subnets,
                vpc_security_group_ids=training_vpc_security_group_ids,
            ).set_display_name("train")
            added = []
            if predictions:
                model = parts.create_model(
                    region=region,
                    endpoint_url=endpoint_url,
                    tags=tags,
                    model_name=model_name,
                    role=role_arn,
                    image=training.outputs["training_image"],
                    model_artifact_url=training.outputs["model_artifact_url"],
                    vpc_subnets=training_vpc_subnets,
                    vpc_security_group_ids=training_vpc_security_group_ids,
                ).set_display_name("create-model")
                predict = parts.batch_transform(
                    region=region,
                    endpoint_url=endpoint_url,
                    tags=tags,
                    job_name=transform_job_name,
                    model_name=model.outputs["model_name"],
                    max_payload=TRANSFORM_MAX_PAYLOAD_MB,
                    batch_strategy="SingleRecord",
                    input_location=transform_input_location,
                    data_type="S3Prefix",
                    content_type=TRANSFORM_CONTENT_TYPE,
                    split_type="None",
                    compression_type="None",
                    output_location=transform_output_location,
                    accept=TRANSFORM_ACCEPT,
                    join_source="None",
                    instance_type=transform_instance_type,
                    instance_count=1,
                    output_encryption_key=training_output_encryption_key,
                    resource_encryption_key=training_resource_encryption_key,
                ).set_display_name("predict")
                scored = parts.evaluate(
                    region=region,
                    endpoint_url=endpoint_url,
                    training_job_name=training.outputs["job_name"],
                    model_name=model.outputs["model_name"],
                    model_artifact_url=training.outputs["model_artifact_url"],
                    test_labels_location=test_labels_location,
                    transform_input_location=transform_input_location,
                    predictions_location=predict.outputs["output_location"],
                    label_category_config=ground_truth_label_category_config,
                ).set_display_name("evaluate")
                added = [model, predict, scored]
        made = (workteam, *labeling_tasks.values(), prepared, training, *added, stop)
        for task in (t for t in made if t is not None):
            task.set_caching_options(False)
            if aws_secret:
                from kfp import kubernetes

                kubernetes.use_secret_as_env(
                    task,
                    secret_name=aws_secret,
                    secret_key_to_env={
                        "AWS_ACCESS_KEY_ID": "AWS_ACCESS_KEY_ID",
                        "AWS_SECRET_ACCESS_KEY": "AWS_SECRET_ACCESS_KEY",
                    },
                )
        if studio and label_studio_secret:
            from kfp import kubernetes

            secret, key = split_secret(label_studio_secret)
            for task in labeling_tasks.values():  # the token goes to the labeling steps only
                kubernetes.use_secret_as_env(
                    task, secret_name=secret, secret_key_to_env={key: LABEL_STUDIO_TOKEN_ENV}
                )

    # KFP reads the parameters from the signature: leave out those of the steps not built
    left_out = (() if predictions else PREDICTION_PARAMETERS) + (
        GROUND_TRUTH_PARAMETERS if studio else LABEL_STUDIO_PARAMETERS
    )
    signature = inspect.signature(mini_image_classification)
    kept = [p for p in signature.parameters.values() if p.name not in left_out]
    trimmed = signature.replace(parameters=kept)
    function: Any = mini_image_classification
    if studio:  # KFP passes the parameters by position: map them to their names
        function = _by_name(mini_image_classification, [p.name for p in kept])
    function.__signature__ = trimmed
    description = (LABEL_STUDIO_DESCRIPTION if studio else DESCRIPTION) + (
        PREDICTIONS_DESCRIPTION if predictions else ""
    )
    return dsl.pipeline(name=PIPELINE_NAME, description=description)(function)


def _by_name(function: Any, names: list[str]) -> Any:
    """`function` called with positional arguments in the order of `names`, as keywords."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return function(**dict(zip(names, args, strict=False)), **kwargs)

    call.__name__ = function.__name__
    call.__doc__ = function.__doc__
    return call


def compile_pipeline(
    parts: components.ComponentSet,
    path: Path,
    aws_secret: str | None = None,
    predictions: bool = True,
    labeling: str = "ground_truth",
    label_studio_secret: str | None = None,
) -> Path:
    """Compile the pipeline built from `parts` to a YAML file."""
    pipeline = build(parts, aws_secret, predictions, labeling, label_studio_secret)
    compiler.Compiler().compile(pipeline, str(path))
    return path


# The one pipeline `dsl-compile --py helpers/pipeline.py` finds here: the official components.
mini_image_classification_pipeline = build(components.official())


def graph(package: Path) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Read a compiled pipeline's DAG: task -> tasks it needs, and task -> display name.

    Groups (the exit handler's) are opened up into their tasks; the exit handler's task is drawn
    after the group's last tasks and labelled as running when the run ends.
    """
    import yaml

    spec = next(yaml.safe_load_all(package.read_text()))  # then the platform's, if any
    needs: dict[str, list[str]] = {}
    labels: dict[str, str] = {}

    def add(tasks: dict[str, Any]) -> dict[str, list[str]]:
        """Add a DAG's tasks; return each top-level task's last inner tasks (itself if plain)."""
        ends: dict[str, list[str]] = {}
        for name, task in tasks.items():
            inner = spec["components"].get(task["componentRef"]["name"], {}).get("dag")
            if inner:
                ends[name] = _sinks(add(inner["tasks"]), inner["tasks"])
            else:
                ends[name] = [name]
        for name, task in tasks.items():
            if name in ends and ends[name] != [name]:
                continue
            needs[name] = [end for d in task.get("dependentTasks", []) for end in ends[d]]
            labels[name] = task["taskInfo"]["name"]
            if task.get("triggerPolicy", {}).get("strategy") == "ALL_UPSTREAM_TASKS_COMPLETED":
                labels[name] += "\n(when the run ends)"
        return ends

    add(spec["root"]["dag"]["tasks"])
    return needs, labels


def _sinks(ends: dict[str, list[str]], tasks: dict[str, Any]) -> list[str]:
    """The tasks of a DAG that no other of its tasks needs (their inner ends for groups)."""
    needed = {d for task in tasks.values() for d in task.get("dependentTasks", [])}
    return [end for name in tasks if name not in needed for end in ends[name]]
