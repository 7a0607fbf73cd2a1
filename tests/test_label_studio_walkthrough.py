"""`WALKTHROUGH_LABELING_BACKEND=label_studio make demo`: notebooks 01 to 05 with Label Studio.

The demo's runner executes every notebook in local mode against the session's local AWS and its
real Label Studio server; the simulated annotators label both projects through Label Studio's API,
the pipeline trains and predicts from the output manifests the labeling steps wrote, notebook 04
reviews them and notebook 05 deletes the run's projects. Kept small (2 classes, 5 images each, no
predictions: they follow training as with Ground Truth): under a minute.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from helpers.paths import project_root
from tests import label_studio_support
from tests.label_studio_support import LabelStudio

label_studio = label_studio_support.label_studio

PREFIX = "notebook-tests/label-studio-demo"
SETTINGS = {
    "WALKTHROUGH_LABELING_BACKEND": "label_studio",
    "WALKTHROUGH_PREFIX": PREFIX,
    "WALKTHROUGH_IMAGES_PER_CLASS": "5",
    "WALKTHROUGH_TEST_IMAGES_PER_CLASS": "0",  # predictions follow training, whoever labeled
}
PROJECT_LINE = re.compile(
    r"Label Studio project (?P<title>\S+) \((?P<split>train|validation)\): "
    r"(?P<url>http://127\.0\.0\.1:\d+)/projects/(?P<id>\d+)/data"
)


def texts(notebook: Path) -> str:
    """Everything an executed notebook shows as text."""
    parts = []
    for cell in json.loads(notebook.read_text())["cells"]:
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            for kind in ("text/plain", "text/html", "text/markdown"):
                parts.append("".join(output.get("data", {}).get(kind, "")))
    return "\n".join(parts)


def test_the_demo_labels_in_label_studio_trains_reviews_and_cleans_up(
    label_studio: LabelStudio, tmp_path: Path
) -> None:
    env = dict(os.environ, WALKTHROUGH_RUNS_DIR=str(tmp_path), **SETTINGS)
    result = subprocess.run(
        [sys.executable, "-m", "helpers.demo"],
        capture_output=True,
        text=True,
        env=env,
        cwd=project_root(),
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Labeling backend: label_studio" in result.stdout
    run = (tmp_path / "latest").resolve()
    shown = {path.stem: texts(path) for path in sorted(run.glob("*.ipynb"))}
    assert len(shown) == 5, sorted(shown)

    # 02: the Label Studio checks passed, and the annotators' passwords are shown (local mode)
    assert "Local Label Studio at" in shown["02_check_aws_setup"]
    assert label_studio.annotator("labeler-1")["password"] in shown["02_check_aws_setup"]

    # 03: one project per split, titled with the run's job names, linked on the local server
    projects = {m["split"]: m for m in PROJECT_LINE.finditer(shown["03_run_pipeline"])}
    assert set(projects) == {"train", "validation"}, shown["03_run_pipeline"][-3000:]
    run_id = projects["train"]["title"].rsplit("-", 1)[1]
    assert run_id in projects["validation"]["title"]
    assert projects["train"]["url"] == label_studio.url
    assert "label-train: succeeded" in shown["03_run_pipeline"]
    assert re.search(r"^train: succeeded", shown["03_run_pipeline"], re.MULTILINE)

    # 04: the labels came from Label Studio's annotators and reached training and predictions
    review = shown["04_review_results"]
    assert f"reviewed 10 objects of run {run_id}" in review
    # the workers are the server's annotator accounts (other tests may have added some)
    accounts = label_studio.client().users()
    ids = {str(user["id"]) for user in accounts}
    workers = set(re.findall(r"labelstudio\.(\d+)", review))
    assert len(workers) >= 3 and workers <= ids, (workers, ids)
    assert "Label Studio labels agree with Open Images" in review
    assert "Labeling in Label Studio has no per-object fee" in review
    assert "Ground Truth fee" not in review and "Ground Truth labels" not in review

    # 05: the run's projects are gone; nothing else was touched
    titles = [p["title"] for p in label_studio.client().projects()]
    assert not [t for t in titles if run_id in t], titles

    # no API token anywhere a user or a CI log would see it
    tokens = [label_studio.admin_token] + [
        label_studio.annotator(name)["token"] for name in label_studio_support.ANNOTATORS
    ]
    seen = (
        result.stdout
        + result.stderr
        # the run folder, the run records, the local runner's logs
        + "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    )
    assert not [t for t in tokens if t in seen]
