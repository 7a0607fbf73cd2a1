"""Lightweight Python components with the official components' interface, done through boto3.

Each function is self-contained (KFP ships its source to the pod): it creates the resource, or
attaches to one of the same name and request (a retried pod must not fail on ResourceInUse),
polls it with progress in the log, writes the outputs, raises with SageMaker's FailureReason
when a job fails, and stops its job when the task is cancelled (SIGTERM).
"""

from typing import NamedTuple  # no `from __future__ import annotations`: KFP reads the types

# Shared with the official set, which runs them as Python 3.7 programs on the official image.
from helpers.components.evaluate import evaluate
from helpers.components.prepare_training import prepare_training
from helpers.components.stop_run_jobs import stop_run_jobs

__all__ = [
    "create_workteam",
    "ground_truth",
    "label_studio",
    "train",
    "prepare_training",
    "stop_run_jobs",
    "create_model",
    "batch_transform",
    "evaluate",
]


def create_workteam(
    region: str,
    team_name: str,
    description: str,
    endpoint_url: str = "",
    assume_role: str = "",
    tags: dict = {},  # noqa: B006 - KFP reads defaults from the signature
    user_pool: str = "",
    user_groups: str = "",
    client_id: str = "",
    sns_topic: str = "",
) -> NamedTuple("Outputs", [("workteam_arn", str)]):
    """Create a private work team from Cognito groups (or attach to ours of the same name)."""
    from collections import namedtuple

    import boto3

    session = boto3.session.Session(region_name=region)
    if assume_role:
        creds = session.client("sts").assume_role(
            RoleArn=assume_role, RoleSessionName="kfp-workteam"
        )["Credentials"]
        session = boto3.session.Session(
            region_name=region,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    sagemaker = session.client("sagemaker", endpoint_url=endpoint_url or None)
    members = [
        {
            "CognitoMemberDefinition": {
                "UserPool": user_pool,
                "UserGroup": group.strip(),
                "ClientId": client_id,
            }
        }
        for group in user_groups.split(",")
        if group.strip()
    ]
    request = {
        "WorkteamName": team_name,
        "MemberDefinitions": members,
        "Description": description,
        "Tags": [{"Key": k, "Value": str(v)} for k, v in tags.items()],
    }
    if sns_topic:
        request["NotificationConfiguration"] = {"NotificationTopicArn": sns_topic}
    try:
        arn = sagemaker.create_workteam(**request)["WorkteamArn"]
        print(f"Created work team {team_name}: {arn}")
    except sagemaker.exceptions.ResourceInUse:
        team = sagemaker.describe_workteam(WorkteamName=team_name)["Workteam"]
        theirs = {
            (t["Key"], t["Value"])
            for t in sagemaker.list_tags(ResourceArn=team["WorkteamArn"])["Tags"]
        }
        ours = {(t["Key"], t["Value"]) for t in request["Tags"]}
        if not ours or not ours <= theirs:
            raise RuntimeError(
                f"A work team named {team_name} already exists and was not created by this run "
                "(its tags differ). Choose another team_name, or leave it unset for a unique one."
            ) from None
        arn = team["WorkteamArn"]
        print(f"Work team {team_name} already exists with this run's tags: attaching to {arn}")
    workforce = sagemaker.describe_workteam(WorkteamName=team_name)["Workteam"]
    # AWS's SubDomain is a host name (https); the local AWS's is its own portal (http): the
    # scheme is the endpoint's, as helpers.cognito.sign_in_url builds it
    scheme = sagemaker.meta.endpoint_url.split("://", 1)[0]
    print(f"Labeling portal: {scheme}://{workforce.get('SubDomain', '')}")
    return namedtuple("Outputs", ["workteam_arn"])(arn)


def ground_truth(
    region: str,
    role: str,
    manifest_location: str,
    output_location: str,
    task_type: str,
    worker_type: str,
    ui_template: str,
    title: str,
    description: str,
    num_workers_per_object: int,
    time_limit: int,
    endpoint_url: str = "",
    assume_role: str = "",
    tags: dict = {},  # noqa: B006 - KFP reads defaults from the signature
    job_name: str = "",
    label_attribute_name: str = "",
    output_encryption_key: str = "",
    workteam_arn: str = "",
    no_adult_content: bool = False,
    no_ppi: bool = False,
    label_category_config: str = "",
    max_human_labeled_objects: int = 0,
    max_percent_objects: int = 0,
    enable_auto_labeling: bool = False,
    initial_model_arn: str = "",
    resource_encryption_key: str = "",
    pre_human_task_function: str = "",
    post_human_task_function: str = "",
    task_keywords: str = "",
    task_availibility: int = 0,
    max_concurrent_tasks: int = 0,
    workforce_task_price: str = "0.000",
    watch_job_names: str = "",
) -> NamedTuple("Outputs", [("output_manifest_location", str), ("active_learning_model_arn", str)]):
    """Run a Ground Truth image classification labeling job and wait for it to finish.

    While it waits it watches the run's other labeling jobs (`watch_job_names`, comma-separated):
    when one of them failed or was stopped, the run cannot train, so it stops its own job and
    fails, naming that job. A watched job that does not exist (yet) is not a failure.
    """
    import signal
    import sys
    import time
    from collections import namedtuple

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    lambda_accounts = {
        "us-east-1": "432418664414",
        "us-east-2": "266458841044",
        "us-west-2": "081040173940",
        "ca-central-1": "918755190332",
        "eu-west-1": "568282634449",
        "eu-west-2": "487402164563",
        "eu-central-1": "203001061592",
        "ap-northeast-1": "477331159723",
        "ap-northeast-2": "845288260483",
        "ap-south-1": "565803892007",
        "ap-southeast-1": "377565633583",
        "ap-southeast-2": "454466003867",
    }
    if task_type.lower().replace("_", " ") != "image classification":
        raise ValueError(
            f"task_type {task_type!r}: this component runs built-in image classification only"
        )
    if worker_type != "private":
        raise ValueError(f"worker_type {worker_type!r}: this component uses a private work team")
    if region not in lambda_accounts:
        raise ValueError(
            f"Ground Truth's built-in task Lambdas do not exist in {region}; use "
            f"one of {', '.join(sorted(lambda_accounts))}"
        )
    lambdas = f"arn:aws:lambda:{region}:{lambda_accounts[region]}:function:"
    session = boto3.session.Session(region_name=region)
    if assume_role:
        creds = session.client("sts").assume_role(
            RoleArn=assume_role, RoleSessionName="kfp-ground-truth"
        )["Credentials"]
        session = boto3.session.Session(
            region_name=region,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    sagemaker = session.client("sagemaker", endpoint_url=endpoint_url or None)
    human = {
        "WorkteamArn": workteam_arn,
        "UiConfig": {"UiTemplateS3Uri": ui_template},
        "PreHumanTaskLambdaArn": pre_human_task_function or f"{lambdas}PRE-ImageMultiClass",
        "TaskTitle": title,
        "TaskDescription": description,
        "NumberOfHumanWorkersPerDataObject": num_workers_per_object,
        "TaskTimeLimitInSeconds": time_limit,
        "AnnotationConsolidationConfig": {
            "AnnotationConsolidationLambdaArn": post_human_task_function
            or f"{lambdas}ACS-ImageMultiClass"
        },
    }
    if task_availibility:
        human["TaskAvailabilityLifetimeInSeconds"] = task_availibility
    if max_concurrent_tasks:
        human["MaxConcurrentTaskCount"] = max_concurrent_tasks
    if task_keywords:
        human["TaskKeywords"] = [k.strip() for k in task_keywords.split(",") if k.strip()]
    request = {
        "LabelingJobName": job_name,
        "LabelAttributeName": label_attribute_name or job_name,
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": manifest_location}}},
        "OutputConfig": {"S3OutputPath": output_location},
        "RoleArn": role,
        "LabelCategoryConfigS3Uri": label_category_config,
        "HumanTaskConfig": human,
        "Tags": [{"Key": k, "Value": str(v)} for k, v in tags.items()],
    }
    content = [
        c
        for c, on in (
            ("FreeOfPersonallyIdentifiableInformation", no_ppi),
            ("FreeOfAdultContent", no_adult_content),
        )
        if on
    ]
    if content:
        request["InputConfig"]["DataAttributes"] = {"ContentClassifiers": content}
    if output_encryption_key:
        request["OutputConfig"]["KmsKeyId"] = output_encryption_key
    stopping = {
        k: v
        for k, v in (
            ("MaxHumanLabeledObjectCount", max_human_labeled_objects),
            ("MaxPercentageOfInputDatasetLabeled", max_percent_objects),
        )
        if v
    }
    if stopping:
        request["StoppingConditions"] = stopping
    if enable_auto_labeling:
        algorithm = {
            "LabelingJobAlgorithmSpecificationArn": (
                f"arn:aws:sagemaker:{region}:027400017018:labeling-job-algorithm-specification/"
                "image-classification"
            )
        }
        if initial_model_arn:
            algorithm["InitialActiveLearningModelArn"] = initial_model_arn
        if resource_encryption_key:
            algorithm["LabelingJobResourceConfig"] = {"VolumeKmsKeyId": resource_encryption_key}
        request["LabelingJobAlgorithmsConfig"] = algorithm
    del workforce_task_price  # public workforces only; this component uses a private team

    try:
        sagemaker.create_labeling_job(**request)
        print(f"Created labeling job {job_name}")
    except sagemaker.exceptions.ResourceInUse:
        found = sagemaker.describe_labeling_job(LabelingJobName=job_name)
        same = (
            found["InputConfig"]["DataSource"] == request["InputConfig"]["DataSource"]
            and found["RoleArn"] == role
            and found["HumanTaskConfig"]["WorkteamArn"] == workteam_arn
            and found["OutputConfig"]["S3OutputPath"] == output_location
        )
        if not same:
            raise RuntimeError(
                f"A labeling job named {job_name} already exists with another "
                "request. Labeling job names are unique per account and region "
                "(case-insensitively): choose another name."
            ) from None
        print(f"Labeling job {job_name} already exists with this request: attaching to it")
    except sagemaker.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        message = str(error.get("Message", ""))
        refused = error.get("Code") in ("AccessDenied", "AccessDeniedException")
        if not refused or "is not authorized to perform" in message:
            raise  # a missing IAM permission names itself; other errors speak for themselves
        raise RuntimeError(
            f"CreateLabelingJob was refused for the account ({message}). Ground Truth is no "
            "longer open to new customers (since 2026-07-30; AWS's Ground Truth pages, checked "
            "2026-11-30); existing customers continue as normal. Ask AWS whether this account "
            "has Ground Truth access; meanwhile local mode (mode='local', `make demo`) runs the "
            "whole walkthrough without it."
        ) from exc

    def stop(signum: int, frame: object) -> None:
        print(f"Task cancelled: stopping labeling job {job_name}", flush=True)
        try:
            sagemaker.stop_labeling_job(LabelingJobName=job_name)
        finally:
            sys.exit(1)

    watched = [
        name.strip()
        for name in watch_job_names.split(",")
        if name.strip() and name.strip().lower() != job_name.lower()
    ]
    unwatchable = set()

    def sibling_failure() -> str:
        """How the first watched job that ended Failed or Stopped ended; '' when none did."""
        for name in watched:
            try:
                other = sagemaker.describe_labeling_job(LabelingJobName=name)
            except BotoCoreError as error:  # no answer (a network error): look again next time
                if (name, type(error).__name__) not in unwatchable:
                    print(f"Cannot watch labeling job {name}: {error}", flush=True)
                    unwatchable.add((name, type(error).__name__))
                continue
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                message = error.response.get("Error", {}).get("Message", "")
                missing = code == "ResourceNotFound" or (
                    code == "ValidationException"
                    and ("does not exist" in message.lower() or "not found" in message.lower())
                )
                if not missing and (name, code) not in unwatchable:
                    # an error of the watch, never taken for "not failed" silently
                    print(f"Cannot watch labeling job {name}: {code}: {message}", flush=True)
                    unwatchable.add((name, code))
                continue
            status = other["LabelingJobStatus"]
            if status in ("Failed", "Stopped"):
                reason = other.get("FailureReason", "no reason given")
                return f"the run's other labeling job {name} {status.lower()}: {reason}"
        return ""

    signal.signal(signal.SIGTERM, stop)
    last = None
    while True:
        job = sagemaker.describe_labeling_job(LabelingJobName=job_name)
        counters = job["LabelCounters"]
        total = sum(counters[k] for k in ("TotalLabeled", "FailedNonRetryableError", "Unlabeled"))
        line = (
            f"{job['LabelingJobStatus']}: {counters['TotalLabeled']}/{total} labeled, "
            f"{counters['FailedNonRetryableError']} failed"
        )
        if line != last:
            print(line, flush=True)
            last = line
        if job["LabelingJobStatus"] == "Completed":
            break
        if job["LabelingJobStatus"] in ("Failed", "Stopped"):
            raise RuntimeError(
                f"Labeling job {job_name} {job['LabelingJobStatus'].lower()}: "
                f"{job.get('FailureReason', 'no reason given')}"
            )
        failure = sibling_failure() if watched else ""
        if failure:
            print(f"Stopping labeling job {job_name}: {failure}", flush=True)
            if job["LabelingJobStatus"] in ("Initializing", "InProgress"):
                try:
                    sagemaker.stop_labeling_job(LabelingJobName=job_name)
                except ClientError as error:  # it ended meanwhile: nothing left to stop
                    print(f"Could not stop labeling job {job_name}: {error}", flush=True)
            raise RuntimeError(f"Labeling job {job_name} stopped because {failure}")
        time.sleep(2)
    output = job["LabelingJobOutput"]
    return namedtuple("Outputs", ["output_manifest_location", "active_learning_model_arn"])(
        output["OutputDatasetS3Uri"], output.get("FinalActiveLearningModelArn", "")
    )


def label_studio(
    region: str,
    manifest_location: str,
    output_location: str,
    label_category_config: str,
    job_name: str,
    label_studio_url: str,
    endpoint_url: str = "",
    assume_role: str = "",
    label_attribute_name: str = "category",
    title: str = "",
    description: str = "",
    num_workers_per_object: int = 3,
    task_availibility: int = 0,
    poll_seconds: float = 10.0,
) -> NamedTuple("Outputs", [("output_manifest_location", str), ("active_learning_model_arn", str)]):
    """Label the manifest's images in a Label Studio project; write Ground Truth's output.

    The project is titled with `job_name` (a retried pod attaches to it). The API token comes
    from the environment (`LABEL_STUDIO_API_KEY`, from a Kubernetes secret on a cluster), never
    from an input. The step's code is the embedded `helpers.labelstudio` package.
    """
    import os
    from collections import namedtuple

    import boto3

    from helpers.labelstudio import api, step

    token = os.environ.get("LABEL_STUDIO_API_KEY", "").strip()
    if not token:
        raise RuntimeError(
            "LABEL_STUDIO_API_KEY is not set in this step's environment: give the pipeline the "
            "Kubernetes secret that holds a Label Studio API token (label_studio_token_secret)"
        )
    session = boto3.session.Session(region_name=region)
    if assume_role:
        creds = session.client("sts").assume_role(
            RoleArn=assume_role, RoleSessionName="kfp-label-studio"
        )["Credentials"]
        session = boto3.session.Session(
            region_name=region,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    s3 = session.client("s3", endpoint_url=endpoint_url or None)
    job = step.Job(
        job_name=job_name,
        manifest_location=manifest_location,
        output_location=output_location,
        label_category_config=label_category_config,
        attribute=label_attribute_name or "category",
        title=title,
        description=description,
        workers=num_workers_per_object,
        task_availability=task_availibility,
        region=region,
        endpoint_url=endpoint_url,
    )
    described = step.run(api.Client(label_studio_url, token), s3, job, poll_seconds)
    if described["LabelingJobStatus"] != "Completed":
        raise RuntimeError(f"Labeling job {job_name} failed: {described.get('FailureReason')}")
    return namedtuple("Outputs", ["output_manifest_location", "active_learning_model_arn"])(
        described["LabelingJobOutput"]["OutputDatasetS3Uri"], ""
    )


def train(
    region: str,
    role: str,
    channels: list,
    model_artifact_path: str,
    spot_instance: bool = False,
    max_wait_time: int = 86400,
    max_run_time: int = 86400,
    checkpoint_config: dict = {},  # noqa: B006 - KFP reads defaults from the signature
    endpoint_url: str = "",
    assume_role: str = "",
    tags: dict = {},  # noqa: B006
    job_name: str = "",
    image: str = "",
    algorithm_name: str = "",
    metric_definitions: dict = {},  # noqa: B006
    training_input_mode: str = "File",
    hyperparameters: dict = {},  # noqa: B006
    instance_type: str = "ml.m4.xlarge",
    instance_count: int = 1,
    volume_size: int = 30,
    resource_encryption_key: str = "",
    output_encryption_key: str = "",
    vpc_security_group_ids: str = "",
    vpc_subnets: str = "",
    network_isolation: bool = True,
    traffic_encryption: bool = False,
    debug_hook_config: dict = {},  # noqa: B006
    debug_rule_config: list = [],  # noqa: B006
) -> NamedTuple(
    "Outputs", [("model_artifact_url", str), ("job_name", str), ("training_image", str)]
):
    """Run a SageMaker training job and wait for it to finish."""
    import signal
    import sys
    import time
    from collections import namedtuple
    from datetime import datetime

    import boto3

    session = boto3.session.Session(region_name=region)
    if assume_role:
        creds = session.client("sts").assume_role(
            RoleArn=assume_role, RoleSessionName="kfp-training"
        )["Credentials"]
        session = boto3.session.Session(
            region_name=region,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    sagemaker = session.client("sagemaker", endpoint_url=endpoint_url or None)
    if not image:
        raise ValueError(
            "image is required (the built-in algorithm's image URI for the region); "
            f"algorithm_name {algorithm_name!r} alone is not resolved here"
        )
    name = job_name or f"TrainingJob-{datetime.now():%Y%m%d%H%M%S}"
    algorithm = {"TrainingImage": image, "TrainingInputMode": training_input_mode}
    if metric_definitions:
        algorithm["MetricDefinitions"] = [
            {"Name": k, "Regex": v} for k, v in metric_definitions.items()
        ]
    request = {
        "TrainingJobName": name,
        "AlgorithmSpecification": algorithm,
        "RoleArn": role,
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": model_artifact_path},
        "ResourceConfig": {
            "InstanceType": instance_type,
            "InstanceCount": instance_count,
            "VolumeSizeInGB": volume_size,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": max_run_time},
        "HyperParameters": {k: str(v) for k, v in hyperparameters.items()},
        "EnableNetworkIsolation": network_isolation,
        "EnableInterContainerTrafficEncryption": traffic_encryption,
        "EnableManagedSpotTraining": spot_instance,
        "Tags": [{"Key": k, "Value": str(v)} for k, v in tags.items()],
    }
    if output_encryption_key:
        request["OutputDataConfig"]["KmsKeyId"] = output_encryption_key
    if resource_encryption_key:
        request["ResourceConfig"]["VolumeKmsKeyId"] = resource_encryption_key
    if spot_instance:
        request["StoppingCondition"]["MaxWaitTimeInSeconds"] = max_wait_time
        if checkpoint_config:
            request["CheckpointConfig"] = checkpoint_config
    if vpc_security_group_ids or vpc_subnets:
        request["VpcConfig"] = {
            "SecurityGroupIds": [g.strip() for g in vpc_security_group_ids.split(",") if g.strip()],
            "Subnets": [s.strip() for s in vpc_subnets.split(",") if s.strip()],
        }
    if debug_hook_config:
        request["DebugHookConfig"] = debug_hook_config
    if debug_rule_config:
        request["DebugRuleConfigurations"] = debug_rule_config
    try:
        sagemaker.create_training_job(**request)
        print(f"Created training job {name}")
    except sagemaker.exceptions.ClientError as exc:
        taken = exc.response["Error"]["Code"] == "ResourceInUse" or "already exists" in str(exc)
        if not taken:
            raise
        found = sagemaker.describe_training_job(TrainingJobName=name)
        if found["InputDataConfig"] != channels or found["RoleArn"] != role:
            raise RuntimeError(
                f"A training job named {name} already exists with another "
                "request. Training job names are unique per account and region: "
                "choose another name."
            ) from None
        print(f"Training job {name} already exists with this request: attaching to it")

    def stop(signum: int, frame: object) -> None:
        print(f"Task cancelled: stopping training job {name}", flush=True)
        try:
            sagemaker.stop_training_job(TrainingJobName=name)
        finally:
            sys.exit(1)

    signal.signal(signal.SIGTERM, stop)
    last = None
    while True:
        job = sagemaker.describe_training_job(TrainingJobName=name)
        line = f"{job['TrainingJobStatus']} ({job['SecondaryStatus']})"
        if line != last:
            print(line, flush=True)
            last = line
        if job["TrainingJobStatus"] == "Completed":
            break
        if job["TrainingJobStatus"] in ("Failed", "Stopped"):
            raise RuntimeError(
                f"Training job {name} {job['TrainingJobStatus'].lower()}: "
                f"{job.get('FailureReason', 'no reason given')}"
            )
        time.sleep(2)
    for metric in job.get("FinalMetricDataList", []):
        print(f"{metric['MetricName']} = {metric['Value']:.4f}")
    return namedtuple("Outputs", ["model_artifact_url", "job_name", "training_image"])(
        job["ModelArtifacts"]["S3ModelArtifacts"], name, image
    )


def create_model(
    region: str,
    model_name: str,
    role: str,
    endpoint_url: str = "",
    assume_role: str = "",
    tags: dict = {},  # noqa: B006 - KFP reads defaults from the signature
    container_host_name: str = "",
    image: str = "",
    model_artifact_url: str = "",
    environment: dict = {},  # noqa: B006
    model_package: str = "",
    secondary_containers: list = [],  # noqa: B006
    vpc_security_group_ids: str = "",
    vpc_subnets: str = "",
    network_isolation: bool = True,
) -> NamedTuple("Outputs", [("model_name", str)]):
    """Create a SageMaker model (or attach to one of the same name and request)."""
    from collections import namedtuple

    import boto3

    session = boto3.session.Session(region_name=region)
    if assume_role:
        creds = session.client("sts").assume_role(RoleArn=assume_role, RoleSessionName="kfp-model")[
            "Credentials"
        ]
        session = boto3.session.Session(
            region_name=region,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    sagemaker = session.client("sagemaker", endpoint_url=endpoint_url or None)
    # the request the official program makes from the same inputs
    request = {
        "ModelName": model_name,
        "ExecutionRoleArn": role,
        "EnableNetworkIsolation": network_isolation,
        "Tags": [{"Key": k, "Value": str(v)} for k, v in tags.items()],
    }
    if secondary_containers:
        request["Containers"] = secondary_containers
    else:
        container = {"Environment": environment}
        if container_host_name:
            container["ContainerHostname"] = container_host_name
        if model_package:
            container["ModelPackageName"] = model_package
        elif image:
            container["Image"] = image
            if model_artifact_url:
                container["ModelDataUrl"] = model_artifact_url
        else:
            raise ValueError("create_model needs an image or a model_package")
        request["PrimaryContainer"] = container
    if vpc_security_group_ids and vpc_subnets:
        request["VpcConfig"] = {
            "SecurityGroupIds": vpc_security_group_ids.split(","),
            "Subnets": vpc_subnets.split(","),
        }
    try:
        arn = sagemaker.create_model(**request)["ModelArn"]
        print(f"Created model {model_name}: {arn}")
    except sagemaker.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        taken = error.get("Code") == "ResourceInUse" or "already exist" in str(
            error.get("Message", "")
        )
        if not taken:
            raise
        found = sagemaker.describe_model(ModelName=model_name)
        mine = request.get("PrimaryContainer", {})
        theirs = found.get("PrimaryContainer", {})
        same = found.get("ExecutionRoleArn") == role and all(
            theirs.get(key) == mine.get(key)
            for key in ("Image", "ModelDataUrl", "ModelPackageName")
        )
        if not same:
            raise RuntimeError(
                f"A model named {model_name} already exists with another image, model data or "
                "role. Model names are unique per account and region: choose another name."
            ) from None
        print(f"Model {model_name} already exists with this request: attaching to it")
    return namedtuple("Outputs", ["model_name"])(model_name)


def batch_transform(
    region: str,
    model_name: str,
    input_location: str,
    output_location: str,
    endpoint_url: str = "",
    assume_role: str = "",
    tags: dict = {},  # noqa: B006 - KFP reads defaults from the signature
    job_name: str = "",
    max_concurrent: int = 0,
    max_payload: int = 6,
    batch_strategy: str = "",
    environment: dict = {},  # noqa: B006
    data_type: str = "S3Prefix",
    content_type: str = "",
    split_type: str = "None",
    compression_type: str = "None",
    accept: str = "",
    assemble_with: str = "",
    output_encryption_key: str = "",
    input_filter: str = "",
    output_filter: str = "",
    join_source: str = "None",
    instance_type: str = "ml.m4.xlarge",
    instance_count: int = 1,
    resource_encryption_key: str = "",
) -> NamedTuple("Outputs", [("output_location", str)]):
    """Run a SageMaker batch transform job and wait for it to finish."""
    import signal
    import sys
    import time
    from collections import namedtuple
    from datetime import datetime

    import boto3

    session = boto3.session.Session(region_name=region)
    if assume_role:
        creds = session.client("sts").assume_role(
            RoleArn=assume_role, RoleSessionName="kfp-transform"
        )["Credentials"]
        session = boto3.session.Session(
            region_name=region,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    sagemaker = session.client("sagemaker", endpoint_url=endpoint_url or None)
    name = job_name or f"BatchTransform-{datetime.now():%Y%m%d%H%M%S}"
    # the request the official program makes from the same inputs (empty MIME types left out)
    transform_input = {
        "DataSource": {"S3DataSource": {"S3DataType": data_type, "S3Uri": input_location}}
    }
    for key, value in (
        ("ContentType", content_type),
        ("CompressionType", compression_type),
        ("SplitType", split_type),
    ):
        if value:
            transform_input[key] = value
    transform_output = {"S3OutputPath": output_location}
    for key, value in (
        ("Accept", accept),
        ("KmsKeyId", output_encryption_key),
        ("AssembleWith", assemble_with),
    ):
        if value:
            transform_output[key] = value
    resources = {"InstanceType": instance_type, "InstanceCount": instance_count}
    if resource_encryption_key:
        resources["VolumeKmsKeyId"] = resource_encryption_key
    processing = {
        k: v
        for k, v in (
            ("InputFilter", input_filter),
            ("OutputFilter", output_filter),
            ("JoinSource", join_source),
        )
        if v
    }
    request = {
        "TransformJobName": name,
        "ModelName": model_name,
        "MaxConcurrentTransforms": max_concurrent,
        "MaxPayloadInMB": max_payload,
        "Environment": environment,
        "TransformInput": transform_input,
        "TransformOutput": transform_output,
        "TransformResources": resources,
        "DataProcessing": processing,
        "Tags": [{"Key": k, "Value": str(v)} for k, v in tags.items()],
    }
    if batch_strategy:
        request["BatchStrategy"] = batch_strategy
    try:
        sagemaker.create_transform_job(**request)
        print(f"Created transform job {name}")
    except sagemaker.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        taken = error.get("Code") == "ResourceInUse" or "already exist" in str(
            error.get("Message", "")
        )
        if not taken:
            raise
        found = sagemaker.describe_transform_job(TransformJobName=name)
        same = (
            found["ModelName"] == model_name
            and found["TransformInput"]["DataSource"] == transform_input["DataSource"]
            and found["TransformOutput"]["S3OutputPath"] == output_location
        )
        if not same:
            raise RuntimeError(
                f"A transform job named {name} already exists with another model, input or "
                "output. Transform job names are unique per account and region: choose "
                "another name."
            ) from None
        print(f"Transform job {name} already exists with this request: attaching to it")

    def stop(signum: int, frame: object) -> None:
        print(f"Task cancelled: stopping transform job {name}", flush=True)
        try:
            sagemaker.stop_transform_job(TransformJobName=name)
        finally:
            sys.exit(1)

    signal.signal(signal.SIGTERM, stop)
    started = time.monotonic()
    last = None
    while True:
        job = sagemaker.describe_transform_job(TransformJobName=name)
        status = job["TransformJobStatus"]
        if status != last:
            print(f"{status} after {time.monotonic() - started:.0f} s", flush=True)
            last = status
        if status == "Completed":
            break
        if status in ("Failed", "Stopped"):
            raise RuntimeError(
                f"Transform job {name} {status.lower()}: "
                f"{job.get('FailureReason', 'no reason given')} (its log: CloudWatch group "
                f"/aws/sagemaker/TransformJobs, streams {name}/...)"
            )
        time.sleep(2)
    print(f"Predictions written under {output_location}", flush=True)
    return namedtuple("Outputs", ["output_location"])(output_location)
