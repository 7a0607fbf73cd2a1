"""The pipeline's two component sets, with one interface.

`official()` loads our specs for the official SageMaker components image; `python(install)` wraps
the lightweight boto3 functions of `python_set`. Both give the same inputs and outputs (names and
types), so the pipeline is built the same way from either. Three steps are ours in both sets:
`prepare_training` (training channels from the labeled manifests), `evaluate` (the model's test
accuracy, as KFP artifacts) and `stop_run_jobs` (the exit handler's step). Each is one
self-contained function: the Python set runs it as a lightweight component; the official set runs
its file as a program on the official image (`program`), with the image's own python3 3.7 and
boto3 1.14, so no step of the official set installs anything.
The official set's labeling step runs the official Ground Truth program under a program of ours
(`ground_truth_watch`) that stops the job when the run's other labeling job failed, as the
Python set's `ground_truth` does itself.
Label Studio's labeling step (`label_studio`) is the Python set's in both sets (the official
image has no such program): its code, `helpers.labelstudio` and the Dawid-Skene consolidation,
is shipped inside the component (kfp's `embedded_artifact_path`), and needs boto3 and numpy.
"""

from __future__ import annotations

import inspect
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kfp import components, dsl

from helpers.components import python_set
from helpers.components.evaluate import evaluate
from helpers.components.prepare_training import prepare_training
from helpers.components.stop_run_jobs import stop_run_jobs

SPECS = Path(__file__).resolve().parent
OFFICIAL_IMAGE = "public.ecr.aws/kubeflow-on-aws/aws-sagemaker-kfp-components:1.1.2"
#: Base image of the Python set on a cluster: needs boto3 (installed at start) and the
#: cluster's egress to PyPI and to the AWS APIs (SageMaker, S3, STS).
PYTHON_IMAGE = "python:3.11-slim"
#: 1.34.41 is the first boto3 whose botocore takes credentials from EKS Pod Identity.
PYTHON_PACKAGES = ["boto3>=1.34.41,<2"]
#: What the Label Studio step needs besides the standard library (numpy: the consolidation).
LABEL_STUDIO_PACKAGES = [*PYTHON_PACKAGES, "numpy>=1.24,<3"]
#: The modules the Label Studio step imports, shipped into its pod (paths under helpers/).
LABEL_STUDIO_MODULES = (
    "labelstudio/__init__.py",
    "labelstudio/api.py",
    "labelstudio/config.py",
    "labelstudio/output.py",
    "labelstudio/step.py",
    "local/standins/dawid_skene.py",
    "local/sagemaker/output_layout.py",
)
#: The programs of ours that run on the official image (Python 3.7, boto3 1.14, botocore 1.17).
PROGRAMS: tuple[Callable[..., Any], ...] = (prepare_training, stop_run_jobs, evaluate)
#: KFP's types for the functions' parameter annotations.
_KFP_TYPES = {
    str: "String",
    int: "Integer",
    float: "Float",
    bool: "Boolean",
    dict: "JsonObject",
    list: "JsonArray",
}


@dataclass(frozen=True)
class ComponentSet:
    """The components a pipeline is built from."""

    name: str
    workteam: Any
    ground_truth: Any
    train: Any
    prepare_training: Any
    stop_run_jobs: Any
    create_model: Any
    batch_transform: Any
    evaluate: Any
    label_studio: Any


def embedded_package(folder: Path) -> Path:
    """Copy the Label Studio step's modules into `folder` as a `helpers` package; return it.

    Only those modules: the packages above them get empty `__init__.py` files, so the pod
    imports nothing of the walkthrough's that needs more than the standard library, boto3
    and numpy.
    """
    source = SPECS.parent
    for name in LABEL_STUDIO_MODULES:
        target = folder / "helpers" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, target)
        for package in target.relative_to(folder).parents:
            init = folder / package / "__init__.py"
            if package != Path(".") and not init.exists():
                init.write_text("")
    return folder


def label_studio_component(options: dict[str, Any]) -> Any:
    """The Label Studio step as a lightweight component carrying its package."""
    with tempfile.TemporaryDirectory(prefix="label-studio-step-") as folder:
        return dsl.component(
            python_set.label_studio,
            **options,
            embedded_artifact_path=str(embedded_package(Path(folder))),
        )


def program_source(function: Callable[..., Any]) -> str:
    """The Python 3.7 program that runs `function` with flags: its file, then the flag runner."""
    runner = SPECS / "program_main.py"
    module = Path(inspect.getfile(function))
    return f"{module.read_text()}\n\n{runner.read_text()}\n\nrun_program({function.__name__})\n"


def watcher_source() -> str:
    """The Python 3.7 program that runs the official Ground Truth program and watches siblings."""
    return f"{(SPECS / 'ground_truth_watch.py').read_text()}\n\nsys.exit(main())\n"


def watched_ground_truth() -> Any:
    """The official Ground Truth spec, its program run under `ground_truth_watch` (python3 -c)."""
    spec = yaml.safe_load((SPECS / "ground_truth.yaml").read_text())
    spec["implementation"]["container"]["command"] = ["python3", "-c", watcher_source()]
    return components.load_component_from_text(yaml.safe_dump(spec, sort_keys=False))


def program(function: Callable[..., Any], image: str = OFFICIAL_IMAGE) -> Any:
    """A container component that runs `function`'s file as a program with the image's python3.

    The program's source is in the command (`python3 -c`), so nothing needs to be in the image
    but python3 and boto3; inputs are `--<name>` flags and each output is written to the file
    given by `--<name>_output_path`, as the official programs do. Output artifacts
    (`Output[Metrics]` and the like) take KFP's executor input (`--executor_input`), and the
    program writes the executor output file KFP's launcher reads their metadata from.
    """
    from kfp.dsl.types import type_annotations

    signature = inspect.signature(function)
    inputs, args, outputs = [], [], []
    for name, parameter in signature.parameters.items():
        if type_annotations.is_artifact_wrapped_in_Output(parameter.annotation):
            kind = type_annotations.get_io_artifact_class(parameter.annotation)
            outputs.append({"name": name, "type": kind.schema_title.split(".")[-1]})
            continue
        entry: dict[str, Any] = {"name": name, "type": _KFP_TYPES[parameter.annotation]}
        if parameter.default is not inspect.Parameter.empty:
            default = parameter.default
            entry["default"] = default if isinstance(default, str) else str(default)
        inputs.append(entry)
        args += [f"--{name}", {"inputValue": name}]
    if outputs:
        args += ["--executor_input", {"executorInput": None}]
    returns = signature.return_annotation
    values = [
        {"name": name, "type": _KFP_TYPES[kind]}
        for name, kind in getattr(returns, "__annotations__", {}).items()
    ]
    for output in values:
        args += [f"--{output['name']}_output_path", {"outputPath": output["name"]}]
    outputs += values
    spec = {
        "name": function.__name__.replace("_", "-"),
        "description": (function.__doc__ or "").strip().splitlines()[0],
        "inputs": inputs,
        "outputs": outputs,
        "implementation": {
            "container": {
                "image": image,
                "command": ["python3", "-c", program_source(function)],
                "args": args,
            }
        },
    }
    return components.load_component_from_text(yaml.safe_dump(spec, sort_keys=False))


def official() -> ComponentSet:
    """Our specs for the official SageMaker components image (aws mode's default)."""
    return ComponentSet(
        name="official",
        workteam=components.load_component_from_file(str(SPECS / "workteam.yaml")),
        # the official program, run by our watcher of the run's other labeling job
        ground_truth=watched_ground_truth(),
        train=components.load_component_from_file(str(SPECS / "train.yaml")),
        # programs of ours run by the image's own python3 (3.7): KFP installs nothing
        prepare_training=program(prepare_training),
        stop_run_jobs=program(stop_run_jobs),
        create_model=components.load_component_from_file(str(SPECS / "model.yaml")),
        batch_transform=components.load_component_from_file(str(SPECS / "batch_transform.yaml")),
        evaluate=program(evaluate),
        # no official program labels in Label Studio: the Python set's step, installing its needs
        label_studio=label_studio_component(
            {"base_image": PYTHON_IMAGE, "packages_to_install": LABEL_STUDIO_PACKAGES}
        ),
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
        prepare_training=dsl.component(prepare_training, **options),
        stop_run_jobs=dsl.component(stop_run_jobs, **options),
        create_model=dsl.component(python_set.create_model, **options),
        batch_transform=dsl.component(python_set.batch_transform, **options),
        evaluate=dsl.component(evaluate, **options),
        label_studio=label_studio_component(
            {**options, "packages_to_install": LABEL_STUDIO_PACKAGES} if install else options
        ),
    )


def interface(component: Any) -> dict[str, dict[str, str]]:
    """A component's interface: input and output names with their types."""
    spec = component.component_spec
    return {
        "inputs": {n: str(i.type) for n, i in spec.inputs.items()},
        "outputs": {n: str(o.type) for n, o in (spec.outputs or {}).items()},
    }
