"""The exit handler's step: stop the run's labeling, training and transform jobs still running.

When a run ends (succeeded, failed, or terminated on a cluster), whatever job of the run still
runs would go on billing. This step looks the jobs up by their names (pipeline parameters) and
stops those still running; after a successful run it finds nothing to stop. Like
`prepare_training`, it is one self-contained function that the Python set runs as a lightweight
component and the official set runs as a Python 3.7 program on the official image (no installs).
"""


def stop_run_jobs(
    region: str,
    train_job_name: str,
    validation_job_name: str,
    training_job_name: str,
    endpoint_url: str = "",
    transform_job_name: str = "",
):
    """Stop the run's labeling, training and transform jobs still running; say what it found."""
    import boto3
    from botocore.exceptions import ClientError

    sagemaker = boto3.session.Session(region_name=region).client(
        "sagemaker", endpoint_url=endpoint_url or None
    )

    def missing(error: ClientError) -> bool:
        # DescribeLabelingJob says ResourceNotFound; DescribeTrainingJob and
        # DescribeTransformJob a ValidationException ("... not found", "Could not find ...")
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "").lower()
        return code == "ResourceNotFound" or (
            code == "ValidationException"
            and ("not found" in message or "could not find" in message)
        )

    stopped = []
    for name in (train_job_name, validation_job_name):
        if not name:
            continue
        try:
            status = sagemaker.describe_labeling_job(LabelingJobName=name)["LabelingJobStatus"]
        except ClientError as error:
            if not missing(error):
                raise
            print(f"labeling job {name}: not created")
            continue
        if status in ("Initializing", "InProgress"):
            sagemaker.stop_labeling_job(LabelingJobName=name)
            stopped.append("labeling job " + name)
        print(f"labeling job {name}: {status}")
    if training_job_name:
        try:
            status = sagemaker.describe_training_job(TrainingJobName=training_job_name)[
                "TrainingJobStatus"
            ]
        except ClientError as error:
            if not missing(error):
                raise
            status = None
            print(f"training job {training_job_name}: not created")
        if status == "InProgress":
            sagemaker.stop_training_job(TrainingJobName=training_job_name)
            stopped.append("training job " + training_job_name)
        if status:
            print(f"training job {training_job_name}: {status}")
    if transform_job_name:
        try:
            status = sagemaker.describe_transform_job(TransformJobName=transform_job_name)[
                "TransformJobStatus"
            ]
        except ClientError as error:
            if not missing(error):
                raise
            status = None
            print(f"transform job {transform_job_name}: not created")
        if status == "InProgress":
            sagemaker.stop_transform_job(TransformJobName=transform_job_name)
            stopped.append("transform job " + transform_job_name)
        if status:
            print(f"transform job {transform_job_name}: {status}")
    if stopped:
        print("Stopped what was still running: " + ", ".join(stopped), flush=True)
    else:
        print("Nothing of this run was still running.", flush=True)
