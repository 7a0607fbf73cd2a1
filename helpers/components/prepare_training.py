"""The prepare-training step: training channels and hyperparameters from the labeled manifests.

One self-contained function with two uses. The Python set runs it as a lightweight component (KFP
ships the function's source alone, so it imports what it needs inside). The official set runs
this file as a program on the official components image, with that image's own python3 (3.7)
and boto3 1.14 and nothing installed (`helpers.components.program`). So this file keeps to
Python 3.7 syntax and to API calls that botocore 1.17 knows; tests check both.
"""

from typing import NamedTuple  # no `from __future__ import annotations`: KFP reads the types


def prepare_training(
    region: str,
    train_manifest: str,
    validation_manifest: str,
    label_category_config: str,
    label_attribute_name: str,
    training_input_location: str,
    hyperparameters: dict,
    endpoint_url: str = "",
) -> NamedTuple(
    "Outputs",
    [
        ("channels", list),
        ("hyperparameters", dict),
        ("num_training_samples", int),
        ("num_classes", int),
    ],
):
    """Build the training channels and hyperparameters from the labeled output manifests.

    Objects that failed labeling (no label attribute) are left out; `num_classes` comes from the
    label categories and `num_training_samples` from what is left. Given values must agree.
    """
    import json
    from collections import namedtuple

    import boto3

    s3 = boto3.session.Session(region_name=region).client("s3", endpoint_url=endpoint_url or None)

    def read(uri: str) -> str:
        bucket, _, key = uri[5:].partition("/")
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")

    classes = len(json.loads(read(label_category_config))["labels"])
    channels = []
    counts = {}
    for name, uri in (("train", train_manifest), ("validation", validation_manifest)):
        lines = [json.loads(raw) for raw in read(uri).splitlines() if raw.strip()]
        kept = [line for line in lines if label_attribute_name in line]
        print(
            f"{name}: {len(kept)} labeled objects kept, {len(lines) - len(kept)} failed "
            "labeling and left out"
        )
        if not kept:
            raise RuntimeError(
                f"No object of the {name} labeling job got a label; nothing to train on"
            )
        target = f"{training_input_location.rstrip('/')}/{name}.manifest"
        bucket, _, key = target[5:].partition("/")
        body = "".join(json.dumps(x) + "\n" for x in kept)
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"))
        counts[name] = len(kept)
        channels.append(
            {
                "ChannelName": name,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "AugmentedManifestFile",
                        "S3Uri": f"s3://{bucket}/{key}",
                        "S3DataDistributionType": "FullyReplicated",
                        "AttributeNames": ["source-ref", label_attribute_name],
                    }
                },
                "ContentType": "application/x-recordio",
                "CompressionType": "None",
                "RecordWrapperType": "RecordIO",
            }
        )
    derived = {"num_classes": classes, "num_training_samples": counts["train"]}
    for key, value in derived.items():
        given = hyperparameters.get(key)
        if given not in (None, "") and int(given) != value:
            raise ValueError(
                f"hyperparameter {key}={given} does not match the data ({value}); "
                "leave it out to have it derived from the labeled manifests"
            )
    merged = {k: str(v) for k, v in hyperparameters.items()}
    merged.update({k: str(v) for k, v in derived.items()})
    print(f"hyperparameters: {json.dumps(merged)}")
    return namedtuple(
        "Outputs", ["channels", "hyperparameters", "num_training_samples", "num_classes"]
    )(channels, merged, counts["train"], classes)
