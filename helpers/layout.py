"""Where everything lives under the walkthrough's `s3://<bucket>/<prefix>/`: the one layout.

Notebook 01 stages the inputs and images here, notebook 03 records runs and points the jobs'
outputs here, the policies grant exactly this, and clean-up deletes it. Ground Truth's own layout
under the labeling output (`<job name>/manifests/output/output.manifest` ...) is Ground Truth's,
not ours: the results parser and the local AWS each spell it in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Notebook 01's Ground Truth inputs, at the top of the prefix.
INPUT_FILES = (
    "train.manifest",
    "validation.manifest",
    "class_labels.json",
    "instructions.template",
)
#: Files only a walkthrough prefix holds at its top (the label list, the template and the latest
#: run record): a folder under a prefix that holds one is another walkthrough prefix.
PREFIX_MARKERS = ("class_labels.json", "instructions.template", "runs/latest.json")


@dataclass(frozen=True)
class Layout:
    """The walkthrough's keys and URIs under one bucket and prefix (no leading or trailing '/')."""

    bucket: str
    prefix: str

    def key(self, *parts: str) -> str:
        """The key of a path under the prefix (the prefix itself with no parts)."""
        return "/".join(part for part in (self.prefix, *parts) if part)

    def uri(self, *parts: str) -> str:
        """The S3 URI of a path under the prefix (`s3://bucket/prefix` with no parts)."""
        return f"s3://{self.bucket}/{self.key(*parts)}"

    @property
    def root(self) -> str:
        """The S3 URI of the prefix."""
        return self.uri()

    @property
    def keys(self) -> str:
        """The key prefix every object of the walkthrough starts with (`<prefix>/`)."""
        return self.key() + "/" if self.prefix else ""

    def input(self, name: str) -> str:
        """The S3 URI of one of notebook 01's Ground Truth inputs (a name in INPUT_FILES)."""
        return self.uri(name)

    @property
    def image_keys(self) -> str:
        """The key prefix (ending in '/') of the staged images."""
        return self.key("images") + "/"

    def image_uri(self, file_name: str) -> str:
        """The S3 URI of a staged image."""
        return self.uri("images", file_name)

    # the held-out test set and the predictions (stand-ins until the "inputs" branch is merged)
    @property
    def test_image_keys(self) -> str:
        """The key prefix (ending in '/') of the held-out test images."""
        return self.key("test", "images") + "/"

    @property
    def test_images(self) -> str:
        """The S3 URI prefix (ending in '/') of the test images: the transform's input."""
        return self.uri("test", "images") + "/"

    def test_image_uri(self, file_name: str) -> str:
        """The S3 URI of one held-out test image."""
        return self.uri("test", "images", file_name)

    @property
    def test_labels(self) -> str:
        """The S3 URI of the test images' Open Images labels (JSON lines)."""
        return self.uri("test", "labels.jsonl")

    def predictions(self, run_id: str) -> str:
        """The S3 URI prefix (ending in '/') a run's transform job writes to."""
        return self.uri("predictions", run_id) + "/"

    @property
    def run_keys(self) -> str:
        """The key prefix (ending in '/') of notebook 03's run records."""
        return self.key("runs") + "/"

    def run_record(self, run_id: str) -> str:
        """The S3 URI of a run's record (`latest` names the latest run's)."""
        return self.uri("runs", f"{run_id}.json")

    def run_claim(self, after: str) -> str:
        """The S3 URI every execution that would submit after run `after` contends for."""
        return self.uri("runs", "claims", f"after-{after}.json")

    @property
    def labeling_output(self) -> str:
        """Where the labeling jobs write (Ground Truth adds `<job name>/...`)."""
        return self.uri("output")

    def training_input(self, run_id: str) -> str:
        """Where a run's training channels (filtered manifests) are written."""
        return self.uri("training-input", run_id)

    @property
    def training_output(self) -> str:
        """Where the training jobs write the model (SageMaker adds `<job name>/output/...`)."""
        return self.uri("training-output")

    @property
    def bucket_arn(self) -> str:
        """The bucket's ARN."""
        return f"arn:aws:s3:::{self.bucket}"

    @property
    def object_arn(self) -> str:
        """The ARN of every object under the prefix."""
        return f"arn:aws:s3:::{self.bucket}/{self.keys}*"
