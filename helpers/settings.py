"""The walkthrough's settings: one immutable object, loaded and validated in one place.

Precedence, highest first: values given to `load` (notebook parameters) > environment variables
`WALKTHROUGH_<NAME>` > the settings file (`settings.json` in the project root, or the file named by
`WALKTHROUGH_SETTINGS_FILE`) > defaults that run in local mode.

`python -m helpers.settings` prints the effective settings as JSON, or the validation error.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import ipaddress
import json
import math
import os
import re
import sys
import types
import typing
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.errors import InputError
from helpers.layout import Layout
from helpers.paths import project_root

ENV_PREFIX = "WALKTHROUGH_"
SETTINGS_FILE_ENV = "WALKTHROUGH_SETTINGS_FILE"
#: `WALKTHROUGH_*` variables that are not settings, with what each does: the one list of them, so
#: that any other `WALKTHROUGH_*` variable (a mistyped setting) stops with a did-you-mean.
OTHER_VARIABLES: Mapping[str, str] = types.MappingProxyType(
    {
        SETTINGS_FILE_ENV: "the settings file to read instead of settings.json",
        "WALKTHROUGH_ROOT": "the project folder (default: the one holding helpers/)",
        "WALKTHROUGH_STATE_DIR": "where the local AWS keeps its state",
        "WALKTHROUGH_RUNS_DIR": "where run records are kept (default: runs/)",
        "WALKTHROUGH_CACHE_DIR": "where downloads and the local image set are cached",
        "WALKTHROUGH_RUN_DIR": "the run folder notebook 04 reads (set by make demo)",
        "WALKTHROUGH_PROGRESS": "progress display: plain for a few text lines",
        "WALKTHROUGH_LOCAL_PORT": "the local AWS's port",
        "WALKTHROUGH_LOCAL_SPEED": "the local AWS's simulated seconds per real second",
        "WALKTHROUGH_LOCAL_FAULTS": "faults the local AWS injects (JSON)",
        "WALKTHROUGH_LOCAL_GPU_QUOTA": "the local AWS's GPU training instance quota",
        "WALKTHROUGH_LOCAL_WORKER_ACCURACY": "the simulated workers' accuracy range",
        "WALKTHROUGH_LOCAL_WORKER_SECONDS": "the simulated workers' seconds-per-task range",
        "WALKTHROUGH_LOCAL_PERSON_LABELERS": "the local AWS's person labelers (the walkthrough "
        "sets them from person_labelers)",
        "WALKTHROUGH_LOCAL_OPENIMAGES_PER_CLASS": "pictures per class in the local Open Images "
        "mirror",
    }
)
#: Other spellings accepted for a setting, in every source: the upstream pipeline's flag is
#: spelled `task_availibility`, so its misspelling is accepted too.
ALIASES: Mapping[str, str] = types.MappingProxyType(
    {"ground_truth_task_availibility": "ground_truth_task_availability"}
)
#: The spellings of true and false accepted for every boolean setting, case-insensitively.
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")
#: S3 keys are at most 1024 bytes (UTF-8). What the walkthrough and Ground Truth write under the
#: prefix (e.g. `labeling-output/<63-char job name>/annotations/consolidated-annotation/
#: consolidation-response/iteration-1/<timestamp>.json`, or an image key with its class name)
#: takes up to about 300 bytes; half the key is left for it, with room to spare.
PREFIX_MAX_BYTES = 512
#: Bidirectional-control characters (Trojan Source): they make a key read differently than it is.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
LOCAL_ACCOUNT = "123456789012"

SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
IAM_ROLE_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
COGNITO_POOL_ID = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d_[0-9a-zA-Z]+$")
COGNITO_CLIENT_ID = re.compile(r"^[\w+]{1,128}$")
COGNITO_GROUP = re.compile(r"^[^\s,]{1,128}$")  # letters, marks, symbols, digits, punctuation
EKS_CLUSTER = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")
K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
#: A Kubernetes secret's name (an RFC 1123 subdomain) and a key in its data.
K8S_SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
K8S_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
#: The labeling backends: Ground Truth (the default) or a Label Studio server of your own.
LABELING_BACKENDS = ("ground_truth", "label_studio")
#: Host suffixes of in-cluster Kubernetes services (traffic that never leaves the cluster).
CLUSTER_HOST_SUFFIXES = (".svc", ".svc.cluster.local")
#: GPU instance families the built-in image-classification algorithm accepts for training.
GPU_FAMILIES = ("p2", "p3", "p3dn", "p4d", "p4de", "p5", "g4dn", "g5")
#: GPU families with local NVMe instance storage: AWS refuses a VolumeKmsKeyId on them ("KMS
#: volume encryption is not supported for local NVMe instance storage"), and the official
#: training program always sends one (empty when no key is set).
NVME_FAMILIES = ("p3dn", "p4d", "p4de", "p5", "g4dn", "g5")
#: The default training type: AWS's image-classification page recommends P2/P3 for training
#: (G4dn/G5 are not named there) and its example uses ml.p3.2xlarge; P3 has no NVMe storage.
DEFAULT_TRAINING_INSTANCE = "ml.p3.2xlarge"
#: Instance families the built-in image-classification algorithm runs inference on. AWS's page
#: of the algorithm, "EC2 Instance Recommendation for the Image Classification Algorithm"
#: (https://docs.aws.amazon.com/sagemaker/latest/dg/image-classification.html), says both CPU
#: instances (such as C4) and GPU instances (such as P2, P3, G4dn or G5) can be used for
#: inference, unlike training (GPU only): so the training GPU rule is not reused here. The CPU
#: families are the compute- and general-purpose ones of the same generations as that example.
INFERENCE_CPU_FAMILIES = ("c4", "c5", "m4", "m5")
INFERENCE_GPU_FAMILIES = ("p2", "p3", "g4dn", "g5")
#: The default batch transform type: a CPU type (cheaper than any GPU type, and enough for ten
#: images per class one at a time), of the family AWS's own examples deploy this algorithm on.
DEFAULT_TRANSFORM_INSTANCE = "ml.c5.xlarge"
#: At most this many held-out test images per class (the batch transform sends one per request).
MAX_TEST_IMAGES_PER_CLASS = 100
INSTANCE_TYPE = re.compile(r"^ml\.([a-z0-9]+)\.([0-9]*x?large|metal)$")
BUCKET_FORBIDDEN_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_FORBIDDEN_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_KMS_KEY_ID = r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
_KMS_ALIAS = r"alias/[a-zA-Z0-9/_-]{1,250}"
#: A KMS key as SageMaker takes it: key id, key ARN, alias name or alias ARN.
KMS_KEY = re.compile(
    rf"^({_KMS_KEY_ID}|{_KMS_ALIAS}|arn:aws(-cn|-us-gov)?:kms:[a-z0-9-]+:\d{{12}}:"
    rf"(key/{_KMS_KEY_ID}|{_KMS_ALIAS}))$"
)
SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8,17}$")
SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8,17}$")
#: Settings of KMS keys, with what each key encrypts.
KMS_SETTINGS = {
    "labeling_output_kms_key": "the labeling jobs' output (OutputConfig.KmsKeyId)",
    "training_volume_kms_key": "the training instance's storage volume "
    "(ResourceConfig.VolumeKmsKeyId)",
    "training_output_kms_key": "the model artifacts (OutputDataConfig.KmsKeyId)",
}


@dataclass(frozen=True)
class Settings:
    """Every parameter the notebooks use; names follow the upstream pipeline where it has one."""

    mode: str = "local"
    region: str = "us-west-2"
    bucket: str = "gt-kfp-walkthrough-local"
    prefix: str = "mini-image-classification/ground-truth-demo"
    # dataset
    source: str = "openimages"
    classes: tuple[str, ...] = ("Musical Instrument", "Fruit")
    images_per_class: int = 50
    validation_fraction: float = 0.2
    #: held-out images per class that no worker sees, for the model's predictions (0: none)
    test_images_per_class: int = 10
    seed: int = 42
    annotations_url: str | None = None
    class_descriptions_url: str | None = None
    create_bucket: bool | None = None
    # IAM and Kubernetes
    role_arn: str | None = None
    kfp_pod_role_arn: str | None = None
    eks_cluster_name: str | None = None
    kfp_namespace: str = "kubeflow"
    kfp_service_account: str = "pipeline-runner"
    kfp_host: str | None = None
    # Cognito private workforce and workteam
    team_name: str | None = None
    team_description: str = "Team for mini image classification labeling job"
    user_pool: str | None = None
    user_groups: str | None = None
    client_id: str | None = None
    # labeling backend
    #: `ground_truth` (SageMaker Ground Truth) or `label_studio` (a Label Studio server of yours)
    labeling_backend: str = "ground_truth"
    #: Label Studio's URL (local mode, unset: the local server, started on demand)
    label_studio_url: str | None = None
    #: a file holding the Label Studio API token (never printed)
    label_studio_token_file: str | None = None
    #: the Kubernetes secret (in kfp_namespace) with the token: `<secret>` or `<secret>/<key>`
    label_studio_token_secret: str | None = None
    # Ground Truth
    ground_truth_train_job_name: str | None = None
    ground_truth_validation_job_name: str | None = None
    ground_truth_label_attribute_name: str = "category"
    ground_truth_title: str = "Mini image classification"
    ground_truth_description: str = "Choose the category that best describes the image"
    ground_truth_num_workers_per_object: int = 3
    ground_truth_time_limit: int = 300
    ground_truth_task_availability: int = 86400
    ground_truth_max_concurrent_tasks: int = 100
    #: automated data labeling: Ground Truth labels by machine what its model is sure of (each
    #: labeling job needs at least 1,250 objects; AWS recommends 5,000)
    enable_auto_labeling: bool = False
    # training
    training_instance_type: str = DEFAULT_TRAINING_INSTANCE
    training_instance_count: int = 1
    training_volume_size: int = 50
    training_max_run_time: int = 3600
    # predictions (batch transform over the held-out test images)
    transform_instance_type: str = DEFAULT_TRANSFORM_INSTANCE
    # encryption and networking: unset, the jobs' requests are as without them
    #: KMS key (id, ARN, alias or alias ARN) for the labeling jobs' output in S3
    labeling_output_kms_key: str | None = None
    #: KMS key for the training instance's storage volume (not on types with local NVMe storage)
    training_volume_kms_key: str | None = None
    #: KMS key for the model artifacts the training job writes to S3
    training_output_kms_key: str | None = None
    #: subnets the training job runs in (a list, or comma-separated); needs vpc_security_group_ids
    vpc_subnets: tuple[str, ...] = ()
    #: security groups of the training job's network interfaces; needs vpc_subnets
    vpc_security_group_ids: tuple[str, ...] = ()
    # pipeline
    component_set: str | None = None
    kfp_experiment: str = "ground-truth-walkthrough"
    kfp_token_file: str | None = None
    kfp_aws_secret: str | None = None
    new_run: bool = False
    # setup checks
    #: users that create-missing puts in the Cognito group (comma-separated; a name with "@" is
    #: also their e-mail address, for the invitation); local default: one per worker per object
    labelers: str | None = None
    #: local mode: `labelers` who label themselves in the local labeling portal (comma-separated);
    #: simulated workers answer for the others. Unset: simulated workers answer everything
    person_labelers: str | None = None
    #: create the EKS cluster record when it is missing (local mode only: a real cluster is
    #: made with eksctl)
    create_eks_cluster: bool | None = None
    # confirmations (aws mode asks before it creates cost or deletes)
    #: create missing setup pieces in notebook 02 (default: yes in local mode, no in aws mode)
    create_missing: bool | None = None
    confirm_submit: bool = False
    #: delete what notebook 05 found (default: yes in local mode; aws mode shows a dry-run plan)
    confirm_delete: bool | None = None
    # where the value of each setting came from (not a setting itself)
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def layout(self) -> Layout:
        """Where everything lives under the bucket and prefix."""
        return Layout(self.bucket, self.prefix)

    @property
    def label_studio(self) -> bool:
        """Whether Label Studio labels the images (labeling_backend=label_studio)."""
        return self.labeling_backend == "label_studio"

    @property
    def predictions(self) -> bool:
        """Whether the run predicts the held-out test images (test_images_per_class > 0)."""
        return self.test_images_per_class > 0

    @property
    def s3_prefix_uri(self) -> str:
        """The S3 URI of the walkthrough's prefix in the bucket."""
        return self.layout.root

    def require(self, name: str, why: str) -> Any:
        """Return a setting that this step needs, or raise a clear error when it is unset."""
        value = getattr(self, name)
        if value in (None, ""):
            raise InputError(
                name,
                value,
                f"this setting is required {why}",
                f"set it in settings.json, as {ENV_PREFIX}{name.upper()}, or as a notebook "
                "parameter",
            )
        return value

    def origin(self, name: str) -> str:
        """Where the value of setting `name` came from: parameter, environment, file or default."""
        return self.sources.get(name, "default")

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as plain JSON-ready values (without `sources`)."""
        out = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "sources"
        }
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


SETTING_NAMES: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(Settings) if f.name != "sources"
)


def load(
    overrides: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    settings_file: Path | None = None,
) -> Settings:
    """Load, merge and validate the settings; `overrides` (e.g. a notebook's globals) win."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    path = settings_file or _settings_path(env)
    if path is not None:
        for name, value in _read_settings_file(path).items():
            values[name], sources[name] = value, f"file {path.name}"
    _check_env_names(env)
    for variable, raw in sorted(env.items()):
        name = ALIASES.get(variable[len(ENV_PREFIX) :].lower(), variable[len(ENV_PREFIX) :].lower())
        if variable.startswith(ENV_PREFIX) and name in SETTING_NAMES and raw != "":
            values[name], sources[name] = _parse_env(name, raw, variable), "environment"
    for name, value in (overrides or {}).items():
        name = ALIASES.get(name, name)
        if name in SETTING_NAMES and value is not None:
            values[name], sources[name] = value, "parameter"
    coerced = {name: _coerce(name, value) for name, value in values.items()}
    settings = Settings(**coerced, sources=types.MappingProxyType(sources))
    settings = _apply_mode_defaults(settings)
    validate(settings)
    return settings


def _did_you_mean(name: str, choices: typing.Iterable[str]) -> str:
    """Return " (did you mean X?)" for the closest of `choices`, or "" when none is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _check_env_names(env: Mapping[str, str]) -> None:
    """Stop on a `WALKTHROUGH_*` variable that is neither a setting nor in OTHER_VARIABLES."""
    known = {ENV_PREFIX + n.upper() for n in (*SETTING_NAMES, *ALIASES)} | set(OTHER_VARIABLES)
    for variable in sorted(v for v in env if v.startswith(ENV_PREFIX) and v not in known):
        hint = _did_you_mean(variable, sorted(known))
        raise InputError(
            variable,
            env[variable],
            f"is not a setting's environment variable{hint}",
            "fix its spelling or unset it; `python -m helpers.settings --table` lists the settings",
        )


def _settings_path(env: Mapping[str, str]) -> Path | None:
    named = env.get(SETTINGS_FILE_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise InputError(
                SETTINGS_FILE_ENV,
                named,
                "the settings file does not exist",
                "point it at an existing JSON file, or unset it",
            )
        return path
    default = default_settings_file()
    return default if default.is_file() else None


def default_settings_file() -> Path:
    """Return the settings file used when WALKTHROUGH_SETTINGS_FILE is not set."""
    return project_root() / "settings.json"


def _read_settings_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"settings file {path}",
            f"line {exc.lineno}",
            f"not valid JSON ({exc.msg})",
            "fix the JSON syntax (settings.example.json shows the format)",
        ) from exc
    if not isinstance(data, dict):
        raise InputError(
            f"settings file {path}",
            type(data).__name__,
            "must hold a JSON object",
            'write the settings as {"name": value, ...}',
        )
    unknown = sorted(set(data) - set(SETTING_NAMES) - set(ALIASES))
    if unknown:
        hints = "".join(_did_you_mean(n, SETTING_NAMES) for n in unknown)
        raise InputError(
            f"settings file {path}",
            unknown,
            f"unknown setting names{hints}",
            "remove them or fix their spelling; `python -m helpers.settings --table` lists the "
            "valid names",
        )
    return {ALIASES.get(name, name): value for name, value in data.items()}


def _field_type(name: str) -> Any:
    return typing.get_type_hints(Settings)[name]


def _parse_env(name: str, raw: str, variable: str) -> Any:
    kind = _field_type(name)
    if _base_type(kind) in (str, bool):
        return raw  # booleans: parse_bool, in _coerce, for every source
    if _base_type(kind) is tuple and not raw.lstrip().startswith("["):
        return raw  # comma-separated, as in a settings file
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        raise InputError(
            variable,
            raw,
            "must be JSON for this setting",
            'write numbers as 3, booleans as true, lists as ["Fruit", "Tiger"]',
        ) from None


def _base_type(kind: Any) -> Any:
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if typing.get_origin(kind) in (types.UnionType, typing.Union) and len(args) == 1:
        return _base_type(args[0])
    return typing.get_origin(kind) or kind


def parse_bool(value: Any) -> bool | None:
    """Return the boolean a value spells (true/yes/on/1, false/no/off/0, any case), or None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
    return None


def _coerce(name: str, value: Any) -> Any:
    base = _base_type(_field_type(name))
    if base is bool:
        parsed = parse_bool(value)
        if parsed is None:
            raise InputError(
                name,
                value,
                f"must be true or false (accepted: {', '.join(TRUE_WORDS + FALSE_WORDS)})",
                f"give {name} as true or false",
            )
        return parsed
    ok = {
        str: isinstance(value, str),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
        bool: isinstance(value, bool),
        tuple: isinstance(value, list | tuple) and all(isinstance(v, str) for v in value),
    }
    if base is int and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if base is float and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    if base is tuple and isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if not ok.get(base, True):
        want = {
            str: "a string",
            int: "a whole number",
            float: "a number",
            bool: "true or false",
            tuple: "a list of strings",
        }[base]
        raise InputError(name, value, f"must be {want}", f"give {name} as {want}")
    return tuple(value) if base is tuple else (float(value) if base is float else value)


def _apply_mode_defaults(s: Settings) -> Settings:
    """Fill the defaults that differ between local and aws mode."""
    updates: dict[str, Any] = {}
    local = s.mode == "local"
    if s.create_bucket is None:
        updates["create_bucket"] = local
    if s.component_set is None:
        updates["component_set"] = "python" if local else "official"
    if local and s.role_arn is None:
        updates["role_arn"] = (
            f"arn:aws:iam::{LOCAL_ACCOUNT}:role/kfp-example-sagemaker-execution-role"
        )
    if local and s.kfp_pod_role_arn is None:
        updates["kfp_pod_role_arn"] = f"arn:aws:iam::{LOCAL_ACCOUNT}:role/kfp-example-pod-role"
    updates.update(_setup_defaults(s) if local else {})
    if s.create_missing is None:
        updates["create_missing"] = local
    if s.confirm_delete is None:
        updates["confirm_delete"] = local
    if s.create_eks_cluster is None:
        updates["create_eks_cluster"] = local
    if s.annotations_url is None:
        updates["annotations_url"] = (
            "s3://open-images-dataset/2018_04/test/test-annotations-human-imagelabels-boxable.csv"
            if local
            else "https://storage.googleapis.com/openimages/2018_04/test/"
            "test-annotations-human-imagelabels-boxable.csv"
        )
    if s.class_descriptions_url is None:
        updates["class_descriptions_url"] = (
            "s3://open-images-dataset/2018_04/class-descriptions-boxable.csv"
            if local
            else "https://storage.googleapis.com/openimages/2018_04/class-descriptions-boxable.csv"
        )
    return dataclasses.replace(s, **updates) if updates else s


def _setup_defaults(s: Settings) -> dict[str, Any]:
    """Local-mode defaults of the setup pieces notebook 02 creates."""
    updates: dict[str, Any] = {}
    if s.eks_cluster_name is None:
        updates["eks_cluster_name"] = "walkthrough-local"
    if s.user_groups is None:
        updates["user_groups"] = "walkthrough-labelers"
    if s.labelers is None:
        workers = s.ground_truth_num_workers_per_object
        updates["labelers"] = ",".join(f"labeler-{i}" for i in range(1, workers + 1))
    return updates


@functools.cache
def known_regions() -> frozenset[str]:
    """Return the AWS regions botocore knows (read from its bundled endpoint data, offline)."""
    import boto3

    session = boto3.session.Session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("s3", partition_name=partition))
    return frozenset(regions)


def bucket_name_problem(name: str) -> str | None:
    """Return which S3 bucket naming rule `name` breaks, or None when it is valid."""
    if not 3 <= len(name) <= 63:
        return f"must be 3 to 63 characters long (it has {len(name)})"
    if not re.fullmatch(r"[a-z0-9.-]+", name):
        return "may hold only lower-case letters, digits, dots and hyphens"
    if not (name[0].isalnum() and name[-1].isalnum()):
        return "must begin and end with a letter or digit"
    if ".." in name:
        return "must not hold two adjacent dots"
    try:
        ipaddress.IPv4Address(name)
        return "must not be formatted as an IP address"
    except ValueError:
        pass
    for bad in BUCKET_FORBIDDEN_PREFIXES:
        if name.startswith(bad):
            return f"must not start with {bad!r}"
    for bad in BUCKET_FORBIDDEN_SUFFIXES:
        if name.endswith(bad):
            return f"must not end with {bad!r}"
    return None


def sagemaker_name_problem(name: str) -> str | None:
    """Return which SageMaker name rule (pattern, 1-63 chars) `name` breaks, or None."""
    if not 1 <= len(name) <= 63:
        return f"must be 1 to 63 characters long (it has {len(name)})"
    if not SAGEMAKER_NAME.fullmatch(name):
        return (
            "must match ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$: letters, digits and hyphens, "
            "starting and ending with a letter or digit (no underscores, dots or spaces)"
        )
    return None


def training_instance_problem(instance_type: str) -> str | None:
    """Return why the image-classification algorithm cannot train on this type, or None."""
    match = INSTANCE_TYPE.fullmatch(instance_type)
    if not match:
        return f"must look like ml.<family>.<size>, for example {DEFAULT_TRAINING_INSTANCE}"
    if match.group(1) not in GPU_FAMILIES:
        return (
            "the built-in image-classification algorithm trains on GPU instances only "
            f"(families {', '.join(GPU_FAMILIES)}); {instance_type} is a CPU type"
        )
    return None


def transform_instance_problem(instance_type: str) -> str | None:
    """Return why the image-classification algorithm cannot run batch transform on it, or None."""
    match = INSTANCE_TYPE.fullmatch(instance_type)
    if not match:
        return f"must look like ml.<family>.<size>, for example {DEFAULT_TRANSFORM_INSTANCE}"
    families = INFERENCE_CPU_FAMILIES + INFERENCE_GPU_FAMILIES
    if match.group(1) not in families:
        return (
            "the built-in image-classification algorithm runs inference on CPU families "
            f"{', '.join(INFERENCE_CPU_FAMILIES)} and GPU families "
            f"{', '.join(INFERENCE_GPU_FAMILIES)}; {instance_type} is of none of them"
        )
    if instance_type not in transform_instance_types():
        sizes = sorted(t for t in transform_instance_types() if t.split(".")[1] == match.group(1))
        return (
            f"is not a batch transform instance type (sizes of ml.{match.group(1)}: "
            f"{', '.join(sizes)})"
        )
    return None


@functools.cache
def transform_instance_types() -> frozenset[str]:
    """The instance types CreateTransformJob takes (botocore's service model, offline)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    return frozenset(model.shape_for("TransformInstanceType").enum)


def _check(ok: bool, name: str, value: Any, rule: str, fix: str) -> None:
    if not ok:
        raise InputError(name, value, rule, fix)


def _check_range(s: Settings, name: str, low: float, high: float, fix: str) -> None:
    value = getattr(s, name)
    _check(low <= value <= high, name, value, f"must be between {low} and {high}", fix)


def _validate_setup(s: Settings) -> None:
    """Rules of the setup-check settings."""
    names = [] if s.labelers is None else s.labelers.split(",")
    _check(
        all(COGNITO_GROUP.fullmatch(n.strip()) for n in names),
        "labelers",
        s.labelers,
        "must be comma-separated Cognito user names or e-mail addresses (1-128 characters each)",
        "write them separated by commas, e.g. ana@example.com,bo@example.com",
    )
    _check(
        not s.create_eks_cluster or s.mode == "local",
        "create_eks_cluster",
        s.create_eks_cluster,
        "only local mode creates an EKS cluster (a record in the local AWS)",
        "create a real cluster with eksctl, then set eks_cluster_name",
    )


def _validate_person_labelers(s: Settings) -> None:
    """Person labelers: local mode only, and each one among `labelers`."""
    names = [n.strip() for n in (s.person_labelers or "").split(",") if n.strip()]
    _check(
        not names or s.mode == "local",
        "person_labelers",
        s.person_labelers,
        "local mode only: in aws mode every labeler is a person, who signs in to the "
        "labeling portal",
        "unset person_labelers (and WALKTHROUGH_PERSON_LABELERS) in aws mode",
    )
    labelers = [n.strip() for n in (s.labelers or "").split(",") if n.strip()]
    strangers = [n for n in names if n not in labelers]
    _check(
        not strangers,
        "person_labelers",
        s.person_labelers,
        f"must be among `labelers` (the team's Cognito users: {', '.join(labelers) or 'none'}); "
        f"{', '.join(strangers)} is not",
        "pick names from labelers, or add them to labelers",
    )


def validate(s: Settings) -> None:
    """Raise InputError for the first setting that breaks a rule."""
    _check(
        s.mode in ("local", "aws"),
        "mode",
        s.mode,
        "must be 'local' or 'aws'",
        "use mode='local' to run offline, or mode='aws' for a real account",
    )
    _check(
        s.mode == "local" or "bucket" in s.sources,
        "bucket",
        s.bucket,
        "aws mode needs a bucket of your own (the default is only for local mode)",
        "set bucket to a bucket name in your account, in settings.json or as a parameter",
    )
    _check(
        s.region in known_regions(),
        "region",
        s.region,
        "is not an AWS region botocore knows",
        "use a region code such as us-west-2 or eu-west-1",
    )
    problem = bucket_name_problem(s.bucket)
    _check(
        problem is None,
        "bucket",
        s.bucket,
        f"S3 bucket names {problem}",
        "choose a name of 3-63 lower-case letters, digits and hyphens, e.g. my-gt-demo-bucket",
    )
    _check(
        bool(s.prefix.strip("/"))
        and not s.prefix.startswith("/")
        and not s.prefix.endswith("/")
        and "//" not in s.prefix,
        "prefix",
        s.prefix,
        "must be a non-empty S3 key prefix without leading or trailing '/' or '//'",
        "use something like mini-image-classification/ground-truth-demo",
    )
    problem = prefix_problem(s.prefix)
    _check(
        problem is None,
        "prefix",
        s.prefix,
        f"S3 key prefixes {problem}",
        "use letters, digits, '-', '_' and '/' between names, e.g. "
        "mini-image-classification/ground-truth-demo",
    )
    _check(
        s.source == "openimages" or re.fullmatch(r"s3://[^/]+/.+", s.source) is not None,
        "source",
        s.source,
        "must be 'openimages' or an S3 prefix like s3://bucket/my-images/",
        "set source='openimages' for the Open Images subset, or point it at your images",
    )
    _check(
        len(s.classes) >= 2,
        "classes",
        list(s.classes),
        "Ground Truth image classification needs at least 2 classes",
        'give two or more class names, e.g. ["Musical Instrument", "Fruit"]',
    )
    lowered = [c.strip().lower() for c in s.classes]
    _check(
        all(lowered),
        "classes",
        list(s.classes),
        "class names must not be empty",
        "remove the empty name",
    )
    _check(
        len(set(lowered)) == len(lowered),
        "classes",
        list(s.classes),
        "class names must be distinct (case-insensitively)",
        "remove the duplicate name",
    )
    _check_range(s, "images_per_class", 2, 1000, "use at least 2 (one per split); 50 is the demo")
    _check_range(
        s,
        "test_images_per_class",
        0,
        MAX_TEST_IMAGES_PER_CLASS,
        "use 10 (the default), or 0 to stage no test images and skip predictions",
    )
    _check_range(s, "seed", 0, 2**32 - 1, "use a whole number from 0 (NumPy's seed range), e.g. 42")
    _check(
        0 < s.validation_fraction < 1,
        "validation_fraction",
        s.validation_fraction,
        "must be between 0 and 1 (exclusive)",
        "use 0.2 for an 80/20 split",
    )
    for name in ("role_arn", "kfp_pod_role_arn"):
        value = getattr(s, name)
        _check(
            value is None or IAM_ROLE_ARN.fullmatch(value) is not None,
            name,
            value,
            "must be an IAM role ARN like arn:aws:iam::<12-digit account>:role/<name>",
            "copy the ARN from `aws iam get-role --role-name <name> --query Role.Arn`",
        )
    for name in ("team_name", "ground_truth_train_job_name", "ground_truth_validation_job_name"):
        value = getattr(s, name)
        problem = None if value is None else sagemaker_name_problem(value)
        _check(
            problem is None,
            name,
            value,
            f"SageMaker names {problem}",
            "use letters, digits and hyphens only, at most 63 characters, "
            "or leave it unset to get a unique name",
        )
    train, validation = s.ground_truth_train_job_name, s.ground_truth_validation_job_name
    _check(
        train is None or validation is None or train.lower() != validation.lower(),
        "ground_truth_validation_job_name",
        validation,
        f"must differ from ground_truth_train_job_name ({train!r}): the two labeling jobs run "
        "side by side, and their names are unique per account and region, ignoring case",
        "choose two different names, or leave them unset to get unique ones",
    )
    _check(
        s.user_pool is None or COGNITO_POOL_ID.fullmatch(s.user_pool) is not None,
        "user_pool",
        s.user_pool,
        "must be a Cognito user pool id like us-west-2_AbC123xyz",
        "copy the pool id from the Cognito console or `aws cognito-idp list-user-pools`",
    )
    _check(
        s.client_id is None or COGNITO_CLIENT_ID.fullmatch(s.client_id) is not None,
        "client_id",
        s.client_id,
        "must be a Cognito app client id (letters, digits, '+', '_')",
        "copy it from `aws cognito-idp list-user-pool-clients --user-pool-id <pool>`",
    )
    groups = [] if s.user_groups is None else s.user_groups.split(",")
    _check(
        all(COGNITO_GROUP.fullmatch(g.strip()) for g in groups),
        "user_groups",
        s.user_groups,
        "must be comma-separated Cognito group names (1-128 characters each)",
        "write the group names separated by commas, e.g. labelers,reviewers",
    )
    _check(
        s.eks_cluster_name is None or EKS_CLUSTER.fullmatch(s.eks_cluster_name) is not None,
        "eks_cluster_name",
        s.eks_cluster_name,
        "is not a valid EKS cluster name",
        "copy it from `aws eks list-clusters`",
    )
    for name in ("kfp_namespace", "kfp_service_account"):
        value = getattr(s, name)
        _check(
            K8S_NAME.fullmatch(value) is not None and len(value) <= 63,
            name,
            value,
            "must be a Kubernetes name (lower-case letters, digits, '-')",
            "use kubeflow / pipeline-runner (standalone KFP) or <profile> / default-editor",
        )
    attr = s.ground_truth_label_attribute_name
    _check(
        0 < len(attr) <= 127
        and not attr.endswith(("-metadata", "-ref"))
        and re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", attr) is not None,
        "ground_truth_label_attribute_name",
        attr,
        "must be 1-127 letters, digits and hyphens, not ending in -metadata or -ref",
        "use the default, category",
    )
    _check_range(
        s,
        "ground_truth_num_workers_per_object",
        1,
        9,
        "use 3 (1 worker per object makes every confidence 0.00)",
    )
    _check_range(s, "ground_truth_time_limit", 30, 28800, "use 300 seconds per task")
    _validate_texts(s)
    _check_range(
        s,
        "ground_truth_task_availability",
        60,
        864000,
        "use 86400 (a day) so tasks do not expire before workers see them",
    )
    _check_range(s, "ground_truth_max_concurrent_tasks", 1, 5000, "use 100")
    _validate_auto_labeling(s)
    _validate_label_studio(s)
    problem = training_instance_problem(s.training_instance_type)
    _check(
        problem is None,
        "training_instance_type",
        s.training_instance_type,
        problem or "",
        f"use a GPU type AWS documents for the algorithm, such as {DEFAULT_TRAINING_INSTANCE}",
    )
    family = s.training_instance_type.split(".")[1]
    _check(
        s.component_set != "official" or family not in NVME_FAMILIES,
        "training_instance_type",
        s.training_instance_type,
        "the official training program always sends VolumeKmsKeyId (empty when unset), and AWS "
        "refuses a volume KMS key on instances with local NVMe storage (families "
        f"{', '.join(NVME_FAMILIES)})",
        f"use {DEFAULT_TRAINING_INSTANCE} (or another P2/P3 type), or set component_set=python",
    )
    _check_range(s, "training_instance_count", 1, 20, "use 1 for the demo")
    _check_range(s, "training_volume_size", 1, 16384, "use 50 (GB)")
    _check_range(s, "training_max_run_time", 60, 432000, "use 3600 seconds")
    problem = transform_instance_problem(s.transform_instance_type)
    _check(
        problem is None,
        "transform_instance_type",
        s.transform_instance_type,
        problem or "",
        f"use {DEFAULT_TRANSFORM_INSTANCE} (CPU), or a GPU type such as ml.p3.2xlarge",
    )
    _check(
        s.component_set in ("official", "python"),
        "component_set",
        s.component_set,
        "must be 'official' (the SageMaker components image) or 'python' (boto3 components)",
        "leave it unset for the mode's default",
    )
    _check(
        s.mode == "aws" or s.component_set == "python",
        "component_set",
        s.component_set,
        "local mode runs the pipeline on KFP's local runner, which needs the Python components",
        "leave component_set unset in local mode",
    )
    _check(
        s.kfp_aws_secret is None or K8S_NAME.fullmatch(s.kfp_aws_secret) is not None,
        "kfp_aws_secret",
        s.kfp_aws_secret,
        "must be a Kubernetes secret name",
        "name the secret that holds AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or leave it "
        "unset to use IRSA",
    )
    _validate_network(s)
    _validate_setup(s)  # last: its local defaults derive from the settings checked above
    _validate_person_labelers(s)


#: The fewest objects a labeling job with automated data labeling may have (the service's
#: minimum; AWS recommends 5,000 or more: "Automate data labeling",
#: https://docs.aws.amazon.com/sagemaker/latest/dg/sms-automated-labeling.html).
AUTO_LABELING_MIN_OBJECTS = 1_250
AUTO_LABELING_RECOMMENDED_OBJECTS = 5_000


def job_objects(s: Settings) -> dict[str, int]:
    """The objects each labeling job gets (train, validation), as notebook 01 splits them."""
    total = s.images_per_class * len(s.classes)
    validation = max(1, round(total * s.validation_fraction))
    return {"train": total - validation, "validation": validation}


def _validate_auto_labeling(s: Settings) -> None:
    if not s.enable_auto_labeling:
        return
    _check(
        s.source == "openimages",
        "enable_auto_labeling",
        s.enable_auto_labeling,
        "the walkthrough counts a job's objects from images_per_class, which your own images "
        "(source) do not follow",
        "set enable_auto_labeling=False with your own images",
    )
    counts = job_objects(s)
    smallest = min(counts, key=lambda split: counts[split])
    need = math.ceil(
        AUTO_LABELING_MIN_OBJECTS / min(s.validation_fraction, 1 - s.validation_fraction)
    )
    _check(
        counts[smallest] >= AUTO_LABELING_MIN_OBJECTS,
        "enable_auto_labeling",
        s.enable_auto_labeling,
        f"automated data labeling needs at least {AUTO_LABELING_MIN_OBJECTS:,} objects per "
        f"labeling job (AWS recommends {AUTO_LABELING_RECOMMENDED_OBJECTS:,}); the {smallest} job "
        f"would have {counts[smallest]:,} ({s.images_per_class} images per class x "
        f"{len(s.classes)} classes, validation_fraction {s.validation_fraction})",
        f"stage at least {need:,} images in all (images_per_class x classes) at this "
        "validation_fraction, or a validation_fraction nearer 0.5 (5,000 images at 0.5 make two "
        "jobs of 2,500), or set enable_auto_labeling=False",
    )


def is_loopback_host(host: str) -> bool:
    """Whether a URL's host is this machine (localhost, 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def label_studio_url_problem(url: str, mode: str) -> str | None:
    """Return which rule a Label Studio URL breaks in this mode, or None."""
    import urllib.parse

    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL with a host"
    if parts.username is not None or parts.password is not None:
        return "must not hold a user name or password (the API token is given apart)"
    if parts.query or parts.fragment:
        return "must not hold a query (?...) or fragment (#...)"
    host = parts.hostname
    try:
        parts.port  # noqa: B018 - the look-up is the test
    except ValueError:
        return "has a port that is not a number from 0 to 65535"
    if mode == "local" and not is_loopback_host(host):
        return (
            "local mode uses a Label Studio server on this machine (localhost or 127.0.0.1), "
            f"not {host}"
        )
    internal = host.lower().endswith(CLUSTER_HOST_SUFFIXES) or is_loopback_host(host)
    if mode == "aws" and parts.scheme.lower() != "https" and not internal:
        return (
            "must use https in aws mode: the API token would cross the network in clear text "
            "(http is accepted for in-cluster hosts *.svc / *.svc.cluster.local and loopback)"
        )
    return None


def redacted_url(url: str) -> str:
    """The URL with any user:password part replaced by `***` (safe to show)."""
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#]*@", r"\1***@", url.strip())


def token_file_problem(path: str) -> str | None:
    """Return why a token file cannot give a token (missing, unreadable, empty), or None."""
    file = Path(path).expanduser()
    if not file.is_file():
        return "the file does not exist"
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"the file cannot be read ({type(exc).__name__})"
    if not text.strip():
        return "the file is empty"
    return None


def split_secret(value: str) -> tuple[str, str]:
    """Split `label_studio_token_secret` into (secret name, key); the key defaults to `token`."""
    name, _, key = value.partition("/")
    return name, key or "token"


def _validate_label_studio(s: Settings) -> None:
    """Rules of the labeling backend and the Label Studio settings."""
    _check(
        s.labeling_backend in LABELING_BACKENDS,
        "labeling_backend",
        s.labeling_backend,
        f"must be one of {', '.join(LABELING_BACKENDS)}",
        "use ground_truth (SageMaker Ground Truth, for accounts that have it) or label_studio "
        "(a Label Studio server of yours)",
    )
    if s.label_studio_url is not None:
        problem = label_studio_url_problem(s.label_studio_url, s.mode)
        _check(
            problem is None,
            "label_studio_url",
            redacted_url(s.label_studio_url),
            problem or "",
            "use e.g. https://label-studio.example.com, or "
            "http://label-studio.<namespace>.svc.cluster.local:8080 inside the cluster"
            if s.mode == "aws"
            else "leave it unset: local mode starts its own Label Studio server",
        )
    _check(
        not s.label_studio or s.mode == "local" or s.label_studio_url is not None,
        "label_studio_url",
        s.label_studio_url,
        "aws mode with labeling_backend=label_studio needs the URL of your Label Studio server",
        "set label_studio_url, e.g. http://label-studio.<namespace>.svc.cluster.local:8080 "
        "(the Helm chart's service) or https://label-studio.example.com",
    )
    if s.label_studio_token_file is not None:
        problem = token_file_problem(s.label_studio_token_file)
        _check(
            problem is None,
            "label_studio_token_file",
            s.label_studio_token_file,
            problem or "",
            "write the API token (Label Studio: Account & Settings > Personal Access Token) into "
            "that file, or unset label_studio_token_file",
        )
    secret = s.label_studio_token_secret
    if secret is not None:
        name, key = split_secret(secret)
        _check(
            secret.count("/") <= 1
            and len(name) <= 253
            and K8S_SECRET_NAME.fullmatch(name) is not None
            and len(key) <= 253
            and K8S_SECRET_KEY.fullmatch(key) is not None,
            "label_studio_token_secret",
            secret,
            "must be `<secret>` or `<secret>/<key>`: a Kubernetes secret name (lower-case "
            "letters, digits, '-' and '.', at most 253 characters) and a key of its data "
            "(letters, digits, '-', '_', '.')",
            "e.g. label-studio-token or label-studio/api-token (the key defaults to token)",
        )
    _check(
        not (s.label_studio and s.enable_auto_labeling),
        "enable_auto_labeling",
        s.enable_auto_labeling,
        "automated data labeling is a Ground Truth feature; Label Studio labels every object by "
        "its annotators",
        "set enable_auto_labeling=False with labeling_backend=label_studio, or use ground_truth",
    )


#: Free-text settings with the length SageMaker's API allows (botocore's service model:
#: CreateWorkteam Description String200, HumanTaskConfig TaskTitle 128 and TaskDescription 255).
TEXT_LIMITS: Mapping[str, int] = types.MappingProxyType(
    {"team_description": 200, "ground_truth_title": 128, "ground_truth_description": 255}
)


def prefix_problem(prefix: str) -> str | None:
    """Return which rule the S3 key prefix breaks (segments, characters, length), or None."""
    if any(part in (".", "..") for part in prefix.split("/")):
        return "must not hold '.' or '..' segments (S3 keeps them literally; paths resolve them)"
    bad = [c for c in prefix if unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS]
    if bad:
        return f"must not hold control or bidirectional-override characters (found {bad[0]!r})"
    size = len(prefix.encode("utf-8"))
    if size > PREFIX_MAX_BYTES:
        return (
            f"must be at most {PREFIX_MAX_BYTES} bytes (it has {size}): S3 keys are at most "
            "1024 bytes, and the keys written under the prefix need the rest"
        )
    return None


def _validate_texts(s: Settings) -> None:
    """Length rules of the free-text settings (the API limits), and the KFP host's URL shape."""
    for name, most in TEXT_LIMITS.items():
        value = getattr(s, name)
        _check(
            0 < len(value) <= most,
            name,
            value,
            f"must be 1 to {most} characters long (the SageMaker API limit; it has {len(value)})",
            "shorten it",
        )
    _check(
        s.kfp_host is None
        or re.fullmatch(r"https?://[^\s/?#]+(/[^\s]*)?", s.kfp_host, re.IGNORECASE) is not None,
        "kfp_host",
        s.kfp_host,
        "must be an http:// or https:// URL of the KFP API",
        "use e.g. http://localhost:8080 (after kubectl port-forward) or your cluster's "
        "https://<host>/pipeline, or leave it unset",
    )


def _validate_network(s: Settings) -> None:
    """Rules of the KMS key and VPC settings."""
    for name, what in KMS_SETTINGS.items():
        value = getattr(s, name)
        _check(
            value is None or KMS_KEY.fullmatch(value) is not None,
            name,
            value,
            f"must be a KMS key for {what}: a key id (1234abcd-12ab-34cd-56ef-1234567890ab), "
            "a key ARN, an alias (alias/my-key) or an alias ARN",
            "copy it from `aws kms list-aliases` or `aws kms describe-key --key-id <alias>`, or "
            "leave it unset",
        )
        key_region = value.split(":")[3] if value and value.startswith("arn:") else s.region
        _check(
            key_region == s.region,
            name,
            value,
            f"is a key in {key_region}, but the jobs run in {s.region} (KMS keys are regional)",
            f"use a key of {s.region}",
        )
    family = INSTANCE_TYPE.fullmatch(s.training_instance_type)
    _check(
        s.training_volume_kms_key is None or family is None or family.group(1) not in NVME_FAMILIES,
        "training_volume_kms_key",
        s.training_volume_kms_key,
        f"SageMaker refuses a volume KMS key on {s.training_instance_type}: its local NVMe "
        "storage is encrypted by the instance's hardware",
        "leave training_volume_kms_key unset on this type, or train on a type without local "
        "storage (ml.p3.2xlarge)",
    )
    for name, pattern, most, example, kind in (
        ("vpc_subnets", SUBNET_ID, 16, "subnet-0123456789abcdef0", "subnets"),
        ("vpc_security_group_ids", SECURITY_GROUP_ID, 5, "sg-0123456789abcdef0", "security-groups"),
    ):
        values = getattr(s, name)
        bad = [v for v in values if not pattern.fullmatch(v)]
        _check(
            not bad,
            name,
            bad[0] if bad else None,
            f"must be ids like {example} (pattern {pattern.pattern})",
            f"copy them from `aws ec2 describe-{kind} --region {s.region}`",
        )
        _check(
            len(values) <= most,
            name,
            list(values),
            f"SageMaker takes at most {most}",
            "give fewer",
        )
    missing = "vpc_subnets" if s.vpc_security_group_ids else "vpc_security_group_ids"
    _check(
        bool(s.vpc_subnets) == bool(s.vpc_security_group_ids),
        missing,
        list(getattr(s, missing)),
        "a training job's VPC configuration needs both subnets and security groups",
        "set vpc_subnets and vpc_security_group_ids together, or neither",
    )


#: What each setting means, for the README's reference table (`python -m helpers.settings
#: --table`); a test holds it to the settings' fields.
MEANINGS: Mapping[str, str] = types.MappingProxyType(
    {
        "mode": "`local` (embedded local AWS, KFP's local runner) or `aws` (a real account)",
        "region": "the AWS region of the bucket, the jobs and the workforce",
        "bucket": "the S3 bucket for the images, manifests and outputs",
        "prefix": "the key prefix in the bucket under which everything is written",
        "source": "`openimages` (the Open Images subset) or `s3://bucket/prefix/` of your images",
        "classes": "the class names to label, in the order workers and results show them",
        "images_per_class": "images staged per class (Open Images source)",
        "validation_fraction": "the share of each class put in the validation manifest",
        "test_images_per_class": "held-out images per class (in no manifest) the trained model "
        "predicts; 0 turns predictions off",
        "seed": "the seed of the image choice and the split (0 to 2**32-1)",
        "annotations_url": "where the Open Images annotations CSV is read from",
        "class_descriptions_url": "where the Open Images class names CSV is read from",
        "create_bucket": "create the bucket when it is missing",
        "role_arn": "the SageMaker execution role the labeling and training jobs run as",
        "kfp_pod_role_arn": "the IAM role the KFP pipeline pods use (IRSA)",
        "eks_cluster_name": "the EKS cluster KFP runs on (for the IRSA trust check)",
        "kfp_namespace": "the Kubernetes namespace of the pipeline pods",
        "kfp_service_account": "the Kubernetes service account of the pipeline pods",
        "kfp_host": "the KFP API's http(s) URL (unset: kfp.Client's in-cluster default)",
        "team_name": "the private workteam's name (unset: a unique name per run)",
        "team_description": "the workteam's description (at most 200 characters)",
        "user_pool": "the Cognito user pool of the private workforce",
        "user_groups": "the Cognito groups whose users label (comma-separated)",
        "client_id": "the Cognito app client of the private workforce",
        "labeling_backend": "`ground_truth` (SageMaker Ground Truth) or `label_studio` (a Label "
        "Studio server of yours)",
        "label_studio_url": "Label Studio's http(s) URL (https in aws mode, except in-cluster "
        "`*.svc` hosts; local, unset: the local server)",
        "label_studio_token_file": "a file holding the Label Studio API token (never printed)",
        "label_studio_token_secret": "the Kubernetes secret in `kfp_namespace` holding the token: "
        "`<secret>` or `<secret>/<key>` (key default `token`)",
        "ground_truth_train_job_name": "the train labeling job's name (unset: unique per run)",
        "ground_truth_validation_job_name": "the validation labeling job's name (unset: unique)",
        "ground_truth_label_attribute_name": "the label attribute in the output manifests",
        "ground_truth_title": "the task title workers see (at most 128 characters)",
        "ground_truth_description": "the task description workers see (at most 255 characters)",
        "ground_truth_num_workers_per_object": "workers per image (1 makes confidence 0)",
        "ground_truth_time_limit": "seconds a worker has for one task",
        "ground_truth_task_availability": "seconds a task waits for workers before it expires "
        "(also accepted as the upstream flag's spelling `ground_truth_task_availibility`)",
        "ground_truth_max_concurrent_tasks": "tasks offered to workers at once",
        "enable_auto_labeling": "automated data labeling (at least 1,250 objects per labeling "
        "job; AWS recommends 5,000)",
        "training_instance_type": "the training instance type (a GPU type)",
        "training_instance_count": "training instances",
        "training_volume_size": "GB of storage per training instance",
        "training_max_run_time": "seconds after which training is stopped",
        "transform_instance_type": "the batch transform (predictions) instance type; CPU or GPU",
        "labeling_output_kms_key": "KMS key for the labeling jobs' output in S3",
        "training_volume_kms_key": "KMS key for the training instance's storage volume",
        "training_output_kms_key": "KMS key for the model artifacts",
        "vpc_subnets": "subnets the training job runs in (with vpc_security_group_ids)",
        "vpc_security_group_ids": "security groups of the training job (with vpc_subnets)",
        "component_set": "`python` (boto3 components) or `official` (SageMaker components image)",
        "kfp_experiment": "the KFP experiment runs are filed under",
        "kfp_token_file": "a file holding a bearer token for the KFP API",
        "kfp_aws_secret": "a Kubernetes secret with AWS keys for the pods (unset: IRSA)",
        "new_run": "submit a new run even when notebook 03 has one on record",
        "labelers": "users create-missing puts in the Cognito group (comma-separated)",
        "person_labelers": "local mode: `labelers` who label in the local labeling portal "
        "themselves (comma-separated; simulated workers answer for the others)",
        "create_eks_cluster": "create the EKS cluster record (local mode only)",
        "create_missing": "create missing setup pieces in notebook 02",
        "confirm_submit": "confirm a submission that creates labeling work and cost (aws mode)",
        "confirm_delete": "delete what notebook 05 found (unset in aws mode: a dry-run plan)",
    }
)


def _default_text(name: str) -> str:
    """The default of a setting as the table shows it, per mode where the modes differ."""
    local = _apply_mode_defaults(Settings())
    aws = _apply_mode_defaults(Settings(mode="aws"))

    def show(value: Any) -> str:
        if value is None:
            return "unset"
        if isinstance(value, tuple):
            value = list(value)
        return f"`{json.dumps(value)}`" if not isinstance(value, str) else f"`{value}`"

    if name == "mode":
        return "`local`"
    a, b = getattr(local, name), getattr(aws, name)
    if a == b:
        return show(a)
    return f"local: {show(a)}; aws: {show(b)}"


def reference_table() -> str:
    """Return the README's Markdown table of every setting: name, variable, default, meaning."""
    rows = ["| setting | environment variable | default | meaning |", "|---|---|---|---|"]
    for name in SETTING_NAMES:
        default = _default_text(name).replace("|", "\\|")
        meaning = MEANINGS[name].replace("|", "\\|")
        rows.append(f"| `{name}` | `{ENV_PREFIX}{name.upper()}` | {default} | {meaning} |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the effective settings and each one's source as JSON (`--table`: the README table)."""
    if argv and argv[0] == "--table":
        print(reference_table(), end="")
        return 0
    try:
        settings = load()
    except InputError as exc:
        print(f"Invalid setting: {exc}", file=sys.stderr)
        return 1
    sources = {name: settings.origin(name) for name in SETTING_NAMES}
    print(json.dumps({"settings": settings.to_dict(), "sources": sources}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
