"""The pipeline's two component sets, with one interface.

`official()` loads our specs for the official SageMaker components image; `python(install)` wraps
the lightweight boto3 functions of `python_set`. Both give the same inputs and outputs (names and
types), so the pipeline is built the same way from either. `prepare_training` builds the training
channels from the labeled manifests and is a Python component in both sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfp import components, dsl

from helpers.components import python_set

SPECS = Path(__file__).resolve().parent
OFFICIAL_IMAGE = "public.ecr.aws/kubeflow-on-aws/aws-sagemaker-kfp-components:1.1.2"
#: Base image of the Python set on a cluster: needs boto3 (installed at start) and the
#: cluster's egress to PyPI and to the AWS APIs (SageMaker, S3, STS).
PYTHON_IMAGE = "python:3.11-slim"
PYTHON_PACKAGES = ["boto3>=1.34,<2"]


@dataclass(frozen=True)
class ComponentSet:
    """The components a pipeline is built from."""

    name: str
    workteam: Any
    ground_truth: Any
    train: Any
    prepare_training: Any


def official() -> ComponentSet:
    """Our specs for the official SageMaker components image (aws mode's default)."""
    return ComponentSet(
        name="official",
        workteam=components.load_component_from_file(str(SPECS / "workteam.yaml")),
        ground_truth=components.load_component_from_file(str(SPECS / "ground_truth.yaml")),
        train=components.load_component_from_file(str(SPECS / "train.yaml")),
        # the official image has python3 and boto3; KFP installs its own runtime at start
        prepare_training=dsl.component(python_set.prepare_training, base_image=OFFICIAL_IMAGE),
    )


def python(install: bool = True) -> ComponentSet:
    """The lightweight boto3 set: `install=False` runs in this Python (kfp.local, no installs)."""
    options: dict[str, Any] = (
        {"base_image": PYTHON_IMAGE, "packages_to_install": PYTHON_PACKAGES}
        if install
        else {"base_image": PYTHON_IMAGE, "install_kfp_package": False}
    )
    return ComponentSet(
        name="python" if install else "python-local",
        workteam=dsl.component(python_set.create_workteam, **options),
        ground_truth=dsl.component(python_set.ground_truth, **options),
        train=dsl.component(python_set.train, **options),
        prepare_training=dsl.component(python_set.prepare_training, **options),
    )


def interface(component: Any) -> dict[str, dict[str, str]]:
    """A component's interface: input and output names with their types."""
    spec = component.component_spec
    return {
        "inputs": {n: str(i.type) for n, i in spec.inputs.items()},
        "outputs": {n: str(o.type) for n, o in (spec.outputs or {}).items()},
    }
