"""Per-region facts: Ground Truth's built-in Lambdas, the image-classification image."""

from __future__ import annotations

from types import MappingProxyType

#: Accounts that own Ground Truth's built-in PRE-/ACS- Lambdas; no other region has them.
GROUND_TRUTH_LAMBDA_ACCOUNTS = MappingProxyType(
    {
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
)

#: Accounts that publish the built-in image-classification algorithm's image.
IMAGE_CLASSIFICATION_ACCOUNTS = MappingProxyType(
    {
        "us-west-2": "433757028032",
        "us-east-1": "811284229777",
        "us-east-2": "825641698319",
        "us-west-1": "632365934929",
        "ca-central-1": "469771592824",
        "eu-west-1": "685385470294",
        "eu-west-2": "644912444149",
        "eu-central-1": "813361260812",
        "ap-northeast-1": "501404015308",
        "ap-northeast-2": "306986355934",
        "ap-south-1": "991648021394",
        "ap-southeast-1": "475088953585",
        "ap-southeast-2": "544295431143",
    }
)

TASK_TYPE = "ImageMultiClass"


def has_ground_truth(region: str) -> bool:
    """Return True when Ground Truth's built-in Lambdas exist in the region."""
    return region in GROUND_TRUTH_LAMBDA_ACCOUNTS


def region_problem(region: str) -> str | None:
    """Return why Ground Truth image classification cannot run in `region`, or None."""
    if not has_ground_truth(region):
        return (
            f"{region} has no Ground Truth built-in image-classification Lambdas "
            "(PRE-/ACS-ImageMultiClass), so labeling jobs cannot be created there"
        )
    if region not in IMAGE_CLASSIFICATION_ACCOUNTS:
        return f"{region} has Ground Truth but not the built-in image-classification algorithm"
    return None


def region_fix() -> str:
    """How to fix a region where Ground Truth image classification cannot run."""
    usable = sorted(set(GROUND_TRUTH_LAMBDA_ACCOUNTS) & set(IMAGE_CLASSIFICATION_ACCOUNTS))
    return f"set region to one of {', '.join(usable)} (and use a bucket in that region)"


def pre_human_task_lambda(region: str) -> str:
    """Return the PRE-ImageMultiClass Lambda ARN of the region."""
    return (
        f"arn:aws:lambda:{region}:{GROUND_TRUTH_LAMBDA_ACCOUNTS[region]}:function:PRE-{TASK_TYPE}"
    )


def consolidation_lambda(region: str) -> str:
    """Return the ACS-ImageMultiClass (annotation consolidation) Lambda ARN of the region."""
    return (
        f"arn:aws:lambda:{region}:{GROUND_TRUTH_LAMBDA_ACCOUNTS[region]}:function:ACS-{TASK_TYPE}"
    )


def image_classification_image(region: str) -> str:
    """Return the built-in image-classification algorithm's training image URI."""
    account = IMAGE_CLASSIFICATION_ACCOUNTS[region]
    return f"{account}.dkr.ecr.{region}.amazonaws.com/image-classification:1"


#: The one account that publishes Ground Truth's auto-labeling algorithms in every region
#: (API reference of LabelingJobAlgorithmsConfig, LabelingJobAlgorithmSpecificationArn:
#: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_LabelingJobAlgorithmsConfig.html).
AUTO_LABELING_ACCOUNT = "027400017018"


def auto_labeling_algorithm_arn(region: str) -> str:
    """Return the auto-labeling algorithm specification ARN of image classification."""
    return (
        f"arn:aws:sagemaker:{region}:{AUTO_LABELING_ACCOUNT}:"
        "labeling-job-algorithm-specification/image-classification"
    )
