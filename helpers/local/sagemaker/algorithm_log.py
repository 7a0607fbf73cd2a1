"""The lines the built-in image-classification algorithm writes to its log that people parse.

Local training jobs write them in the algorithm's own format, so a script written against a
real job's CloudWatch log reads the local one too. The format is the algorithm's published log
(its container runs Python 2.7, hence dictionaries printed with `u'...'` strings), e.g. the
training output of `deeplens-car-detector/deeplens-car-detector.md` in the GitHub repository
King0fLimbs/AWS-Car-Identification (a job of 2020-07-14, the algorithm's `latest` image). What
parses them is, for one, the AWS example notebook
`archived/from_unlabeled_data_to_deployed_machine_learning_model_ground_truth_demo_image_
classification.ipynb` of aws/amazon-sagemaker-examples (its `get_training_job_data`): it takes
the message that contains `Final configuration`, reads as a whole number the text between
`num_training_samples': u'` and the next quote, and reads as a number what follows
`Validation-accuracy=` on the epoch lines.

Every line starts as the algorithm's do: `[07/14/2020 22:20:18 INFO 140558353856320] ` (UTC
date and time, level, thread id). The `Epoch[N] Train-accuracy=...` lines come from the
stand-in trainer (`helpers.local.standins.classifier`) and keep their form.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

#: Where the algorithm reads its defaults and the job's hyperparameters (named in its log).
DEFAULTS_FILE = "/opt/amazon/lib/python2.7/site-packages/image_classification/default-input.json"
HYPERPARAMETERS_FILE = "/opt/ml/input/config/hyperparameters.json"
#: The algorithm's `default-input.json`, in the order its log prints it.
DEFAULTS: Mapping[str, object] = {
    "beta_1": 0.9,
    "gamma": 0.9,
    "beta_2": 0.999,
    "optimizer": "sgd",
    "use_pretrained_model": 0,
    "eps": 1e-08,
    "epochs": 30,
    "lr_scheduler_factor": 0.1,
    "num_layers": 152,
    "image_shape": "3,224,224",
    "precision_dtype": "float32",
    "mini_batch_size": 32,
    "weight_decay": 0.0001,
    "learning_rate": 0.1,
    "momentum": 0,
}
#: The resolved values the algorithm lists between `---- Parameters ----` and a rule.
PARAMETERS = (
    "num_layers",
    "epochs",
    "optimizer",
    "momentum",
    "weight_decay",
    "learning_rate",
    "num_training_samples",
    "mini_batch_size",
    "image_shape",
    "num_classes",
    "augmentation_type",
)


def prefix(now: float | None = None, thread: int | None = None) -> str:
    """The algorithm's line prefix: `[MM/DD/YYYY HH:MM:SS INFO <thread id>] ` (UTC)."""
    stamp = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(time.time() if now is None else now))
    return f"[{stamp} INFO {threading.get_ident() if thread is None else thread}] "


def py2_repr(value: object) -> str:
    """A value as Python 2.7 prints it inside a dict: text as `u'...'`, numbers as repr."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{py2_repr(k)}: {py2_repr(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return "u'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return repr(value)


def final_configuration(hyperparameters: Mapping[str, str]) -> dict[str, object]:
    """The defaults merged with the job's hyperparameters (strings, as the job gives them)."""
    return {**DEFAULTS, **hyperparameters}


def configuration_lines(hyperparameters: Mapping[str, str]) -> list[str]:
    """The three configuration lines the algorithm logs first (without the prefix)."""
    given = dict(hyperparameters)
    return [
        f"Reading default configuration from {DEFAULTS_FILE}: {py2_repr(DEFAULTS)}",
        f"Merging with provided configuration from {HYPERPARAMETERS_FILE}: {py2_repr(given)}",
        f"Final configuration: {py2_repr(final_configuration(given))}",
    ]


def parameter_lines(resolved: Mapping[str, object]) -> list[str]:
    """The `---- Parameters ----` block: `name: value` for the resolved values (no prefix)."""
    lines = [f"{name}: {_plain(resolved[name])}" for name in PARAMETERS if name in resolved]
    return ["---- Parameters ----", *lines, "--------------------"]


def _plain(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
