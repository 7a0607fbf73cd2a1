"""One side of the annotations benchmark, run alone in a fresh process so its memory is its own.

`python -m benchmarks.annotations_side ours|upstream <csv> <classes as JSON> <per class>` reads the
CSV, selects every image of each class, and prints one JSON line: the seconds the read and the
selection took (imports excluded), the process's peak resident memory before and after them
(`ru_maxrss`), and the selected ImageIDs per class.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable

Selection = dict[str, list[str]]
#: The image the upstream sample drops by hand (it shows personal information).
PERSONAL_INFO_IMAGE_ID = "02a54f6864478101"


def upstream(path: str, classes: dict[str, str], per_class: int) -> Selection:
    """`prep_inputs.py`, call for call: readlines, split, one list comprehension per class."""
    with open(path) as f:
        all_labels = [line.strip().split(",") for line in f.readlines()]
    ims = {}
    for name, mid in classes.items():
        ims[name] = [label[0] for label in all_labels if (label[2] == mid and label[3] == "1")]
    ims["Fruit"].remove(PERSONAL_INFO_IMAGE_ID)
    return ims


def ours(path: str, classes: dict[str, str], per_class: int) -> Selection:
    """Notebook 01's way: `read_annotations` (pandas) then `select_images`."""
    from helpers import openimages

    annotations = openimages.read_annotations(path)
    chosen = openimages.select_images(annotations, classes, per_class, seed=42)
    return {
        name: group["image_id"].tolist() for name, group in chosen.groupby("class_name", sort=False)
    }


SIDES: dict[str, Callable[[str, dict[str, str], int], Selection]] = {
    "ours": ours,
    "upstream": upstream,
}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def measure(side: str, path: str, classes: dict[str, str], per_class: int) -> dict[str, object]:
    """Run one side once; return its seconds, peak memory and selection."""
    function = SIDES[side]
    if side == "ours":
        import pandas  # noqa: F401 - imported before the clock starts, as a notebook has it

        from helpers import openimages  # noqa: F401
    before = _peak_rss_mb()
    started = time.perf_counter()
    selection = function(path, classes, per_class)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rss_before_mb": before,
        "rss_peak_mb": _peak_rss_mb(),
        "selection": {name: sorted(ids) for name, ids in selection.items()},
    }


def main(argv: list[str]) -> int:
    """Measure the side named on the command line and print the JSON line."""
    side, path, classes, per_class = argv
    print(json.dumps(measure(side, path, json.loads(classes), int(per_class))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
