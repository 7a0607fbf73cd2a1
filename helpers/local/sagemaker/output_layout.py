"""Where a Ground Truth labeling job writes its output, under `<S3OutputPath>/<job-name>/`.

The local labeling jobs write exactly these keys, as Ground Truth documents them ("Output
Data"), so that the walkthrough's results parser reads the same files in both modes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutputLayout:
    """The S3 URIs of one labeling job's output; `prefix` is `<S3OutputPath>/<job-name>`."""

    prefix: str
    iteration: int = 1

    @property
    def output_manifest(self) -> str:
        """The final output manifest (`LabelingJobOutput.OutputDatasetS3Uri`)."""
        return f"{self.prefix}/manifests/output/output.manifest"

    @property
    def intermediate_manifest(self) -> str:
        """The manifest of the iteration, written before the final one."""
        return f"{self.prefix}/manifests/intermediate/{self.iteration}/output.manifest"

    def worker_response(self, index: int, stamp: str) -> str:
        """The workers' answers to one dataset object, submitted at `stamp`."""
        return (
            f"{self.prefix}/annotations/worker-response/iteration-{self.iteration}/"
            f"{index}/{stamp}.json"
        )

    def consolidation_response(self, stamp: str) -> str:
        """The consolidated answers of the iteration, written at `stamp`."""
        return (
            f"{self.prefix}/annotations/consolidated-annotation/consolidation-response/"
            f"iteration-{self.iteration}/{stamp}.json"
        )
