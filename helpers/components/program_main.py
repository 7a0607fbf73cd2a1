"""Run a component function as a program: `--<input> <value>` flags in, `--<output>_output_path`.

Appended to a function's source to make the official set's container command (`python3 -c`),
as the official components' programs take their inputs and write their outputs. Python 3.7 and
the standard library only: it runs with the official image's own python3.
"""

import argparse
import inspect
import json
import os
import sys


def _parse(annotation, text):
    if annotation is int:
        return int(text)
    if annotation is bool:
        return text.strip().lower() == "true"
    if annotation in (dict, list):
        return json.loads(text) if text.strip() else annotation()
    return text


def run_program(function, argv=None):
    """Parse the flags of `function`'s parameters, call it, write each output to its file."""
    parameters = inspect.signature(function).parameters
    returns = inspect.signature(function).return_annotation
    outputs = getattr(returns, "_fields", ())
    parser = argparse.ArgumentParser(description=function.__doc__)
    for name, parameter in parameters.items():
        required = parameter.default is inspect.Parameter.empty
        parser.add_argument("--" + name, required=required, default=None)
    for name in outputs:
        parser.add_argument("--" + name + "_output_path", required=True)
    args = vars(parser.parse_args(sys.argv[1:] if argv is None else argv))
    values = {}
    for name, parameter in parameters.items():
        if args[name] is None:
            continue
        values[name] = _parse(parameter.annotation, args[name])
    result = function(**values)
    for name in outputs:
        value = getattr(result, name)
        text = value if isinstance(value, str) else json.dumps(value)
        path = args[name + "_output_path"]
        if os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as out:
            out.write(text)
