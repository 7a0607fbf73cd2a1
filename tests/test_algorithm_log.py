"""The local training log's configuration lines read as the built-in algorithm's do.

The parsing below is what the AWS example notebook does with a real job's log (see
`helpers.local.sagemaker.algorithm_log` for where the format comes from).
"""

from __future__ import annotations

import ast
import re

from helpers.local.sagemaker import algorithm_log
from helpers.local.standins import classifier
from helpers.results import parse_training_log

HYPERPARAMETERS = {
    "num_classes": "5",
    "num_training_samples": "606",
    "epochs": "10",
    "mini_batch_size": "128",
    "learning_rate": "0.01",
}
PREFIX = re.compile(r"^\[\d\d/\d\d/\d{4} \d\d:\d\d:\d\d INFO \d+\] ")


def notebook_num_samples(messages: list[str]) -> int:
    """What the AWS example notebook reads from the `Final configuration` message."""
    message = next(m for m in messages if "Final configuration" in m)
    return int(message.split("num_training_samples': u'")[1].split("'")[0])


def test_the_final_configuration_gives_the_notebook_num_training_samples() -> None:
    lines = algorithm_log.configuration_lines(HYPERPARAMETERS)
    assert notebook_num_samples(lines) == 606
    final = ast.literal_eval(lines[-1].split("Final configuration: ", 1)[1])
    assert final == {**algorithm_log.DEFAULTS, **HYPERPARAMETERS}
    assert final["epochs"] == "10" and final["optimizer"] == "sgd"  # given ones are text
    assert lines[0].startswith("Reading default configuration from /opt/amazon/")


def test_the_parameters_block_lists_the_resolved_values() -> None:
    hp = classifier.parse_hyperparameters(HYPERPARAMETERS)
    block = algorithm_log.parameter_lines(hp.__dict__)
    assert block[0] == "---- Parameters ----" and block[-1] == "--------------------"
    assert {"num_training_samples: 606", "image_shape: 3,224,224", "epochs: 10"} <= set(block)


def test_prefixed_lines_keep_the_epoch_lines_readable() -> None:
    prefix = algorithm_log.prefix(now=1594765218.0, thread=140558353856320)
    assert prefix == "[07/14/2020 22:20:18 INFO 140558353856320] "
    lines = [prefix + "Epoch[0] Train-accuracy=0.5", prefix + "Epoch[0] Validation-accuracy=0.25"]
    assert all(PREFIX.match(line) for line in lines)
    curves = parse_training_log(lines)
    assert curves.to_dict("records") == [{"epoch": 0, "train": 0.5, "validation": 0.25}]
