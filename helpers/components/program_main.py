"""Run a component function as a program: `--<input> <value>` flags in, `--<output>_output_path`.

Appended to a function's source to make the official set's container command (`python3 -c`),
as the official components' programs take their inputs and write their outputs. Python 3.7 and
the standard library only: it runs with the official image's own python3.

Output artifacts (`Output[Metrics]` and the like, stand-ins where kfp is missing) come from KFP's
executor input (`--executor_input`, the `{executorInput}` placeholder): the function gets an
artifact with the URI KFP gave, logs to its metadata as with KFP's own classes, and this runner
writes the executor output file (`outputs.outputFile`) that KFP's launcher reads the artifacts'
URIs and metadata from, in the format KFP's executor writes it.
"""

import argparse
import inspect
import json
import os
import sys

#: Where KFP's launcher mounts remote artifact URIs in the container (as kfp.dsl.Artifact.path).
_MOUNTS = (("gs://", "/gcs/"), ("minio://", "/minio/"), ("s3://", "/s3/"))


class _Artifact:
    """An output artifact as the function sees it: name, uri, metadata, path, log methods."""

    def __init__(self, name, uri, metadata):
        self.name = name
        self.uri = uri
        self.metadata = metadata

    @property
    def path(self):
        for remote, local in _MOUNTS:
            if self.uri.startswith(remote):
                return local + self.uri[len(remote) :]
        return self.uri

    def log_metric(self, metric, value):
        self.metadata[metric] = value

    def log_confusion_matrix(self, categories, matrix):
        if len(matrix) != len(categories) or any(len(r) != len(categories) for r in matrix):
            raise ValueError(f"Invalid matrix: {matrix!r} passed for categories: {categories!r}")
        self.metadata["confusionMatrix"] = {
            "annotationSpecs": [{"displayName": c} for c in categories],
            "rows": [{"row": list(row)} for row in matrix],
        }

    def runtime(self):
        """The artifact as the executor output file lists it."""
        return {"name": self.name, "uri": self.uri, "metadata": self.metadata}


def _artifact_kind(annotation):
    """The schema title of an `Output[X]` stand-in annotation; None for a parameter."""
    if isinstance(annotation, tuple) and len(annotation) == 2:
        return getattr(annotation[1], "schema_title", None)
    return None


def _parse(annotation, text):
    if annotation is float:
        return float(text)
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
    artifacts = {
        name: _artifact_kind(p.annotation)
        for name, p in parameters.items()
        if _artifact_kind(p.annotation)
    }
    parser = argparse.ArgumentParser(description=function.__doc__)
    for name, parameter in parameters.items():
        if name in artifacts:
            continue
        required = parameter.default is inspect.Parameter.empty
        parser.add_argument("--" + name, required=required, default=None)
    for name in outputs:
        parser.add_argument("--" + name + "_output_path", required=True)
    if artifacts:
        parser.add_argument("--executor_input", required=True)
    args = vars(parser.parse_args(sys.argv[1:] if argv is None else argv))
    values = {}
    for name, parameter in parameters.items():
        if name in artifacts or args[name] is None:
            continue
        values[name] = _parse(parameter.annotation, args[name])
    given = json.loads(args["executor_input"]).get("outputs", {}) if artifacts else {}
    for name in artifacts:
        (runtime,) = given["artifacts"][name]["artifacts"]
        values[name] = _Artifact(
            runtime.get("name", name), runtime["uri"], dict(runtime.get("metadata") or {})
        )
    result = function(**values)
    if artifacts:
        _write(
            given["outputFile"],
            json.dumps({"artifacts": {n: {"artifacts": [values[n].runtime()]} for n in artifacts}}),
        )
    for name in outputs:
        value = getattr(result, name)
        text = value if isinstance(value, str) else json.dumps(value)
        _write(args[name + "_output_path"], text)


def _write(path, text):
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as out:
        out.write(text)
