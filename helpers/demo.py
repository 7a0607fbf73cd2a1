"""`make demo`: run every notebook headlessly on the local AWS into runs/<timestamp>/.

Each notebook is executed with papermill (mode=local) into the run folder, with an HTML copy
beside it; `runs/latest` points at the newest run. The local AWS is started when needed and
stopped afterwards if this command started it.

The demo runs local mode with the defaults and any `WALKTHROUGH_*` variables (which the notebooks'
kernels inherit: `WALKTHROUGH_LABELING_BACKEND=label_studio make demo` labels with a local Label
Studio instead of the local Ground Truth). It never reads
`settings.json` (or the file `WALKTHROUGH_SETTINGS_FILE` names): that file holds a user's aws
settings, such as their real bucket, which are not the demo's.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from helpers import settings as settings_module
from helpers.paths import project_root, runs_dir

#: The empty settings file the demo's notebooks read instead of the user's (in the run folder).
DEMO_SETTINGS_FILE = "demo-settings.json"


@dataclass(frozen=True)
class NotebookResult:
    """How one notebook's execution went."""

    name: str
    seconds: float
    ok: bool
    summary: str
    error: str = ""


def notebooks(folder: Path | None = None) -> list[Path]:
    """Return the walkthrough's notebooks in order (01_..., 02_..., ...)."""
    folder = folder or project_root() / "notebooks"
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def new_run_dir(base: Path | None = None) -> Path:
    """Create runs/<timestamp>/ and point runs/latest at it."""
    base = base or runs_dir()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run = base / stamp
    suffix = 1
    while run.exists():
        suffix += 1
        run = base / f"{stamp}-{suffix}"
    run.mkdir(parents=True)
    latest = base / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(run.name)
    return run


def last_output_text(notebook: Path) -> str:
    """Return the text the notebook's last code cell showed (its outcome line)."""
    cells = json.loads(notebook.read_text())["cells"]
    for cell in reversed(cells):
        if cell["cell_type"] != "code":
            continue
        for output in reversed(cell.get("outputs", [])):
            data = output.get("data", {})
            text = output.get("text") or data.get("text/markdown") or data.get("text/plain")
            if text:
                return "".join(text).strip()
        return ""
    return ""


def to_html(notebook: Path) -> Path:
    """Write an HTML copy of an executed notebook beside it (pictures embedded)."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(notebook))
    target = notebook.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target


def isolate_settings(run: Path, environ: MutableMapping[str, str]) -> str:
    """Point the notebooks at an empty settings file in the run folder; say what was set aside.

    Changes `environ` (the demo's own environment, which the notebooks' kernels inherit) and
    returns the line the demo prints about where its settings come from.
    """
    empty = run / DEMO_SETTINGS_FILE
    empty.write_text("{}\n", encoding="utf-8")
    named = environ.get(settings_module.SETTINGS_FILE_ENV)
    environ[settings_module.SETTINGS_FILE_ENV] = str(empty)
    ignored = [named] if named else []
    default = settings_module.default_settings_file()
    if default.is_file():
        ignored.append(str(default))
    line = "The demo runs in local mode with the defaults and your WALKTHROUGH_* variables"
    if ignored:
        line = f"{line}; it does not read {' or '.join(ignored)} (your settings for aws mode)."
    else:
        line = f"{line} (it never reads settings.json, which is for aws mode)."
    return f"{line}\n{backend_line(environ)}"


def backend_line(environ: MutableMapping[str, str]) -> str:
    """Which labeling backend the notebooks use (WALKTHROUGH_LABELING_BACKEND passes through)."""
    backend = settings_module.load({"mode": "local"}, env=environ).labeling_backend
    if backend == "label_studio":
        return (
            "Labeling backend: label_studio (a local Label Studio server on 127.0.0.1, started "
            "on demand; simulated annotators label through its API)."
        )
    return (
        f"Labeling backend: {backend} (WALKTHROUGH_LABELING_BACKEND=label_studio labels with "
        "Label Studio instead)."
    )


def run_notebook(source: Path, run: Path, parameters: dict[str, object]) -> NotebookResult:
    """Execute one notebook with papermill into the run folder and convert it to HTML."""
    import papermill

    target = run / source.name
    started = time.monotonic()
    error = ""
    try:
        papermill.execute_notebook(
            str(source),
            str(target),
            parameters=parameters,
            cwd=str(source.parent),
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
        )
    except papermill.PapermillExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue}"
    seconds = time.monotonic() - started
    if target.exists():
        to_html(target)
    summary = last_output_text(target) if target.exists() and not error else ""
    return NotebookResult(source.stem, seconds, not error, summary, error)


def main(argv: list[str] | None = None) -> int:
    """Run the notebooks in order; print where the results are and a short summary."""
    parser = argparse.ArgumentParser(prog="python -m helpers.demo", description=__doc__)
    parser.add_argument("--only", nargs="*", help="notebook name prefixes to run (e.g. 01 02)")
    args = parser.parse_args(argv)

    from helpers import local

    was_running = local.status()["running"]
    url = local.start()
    print(f"Local AWS at {url}")
    run = new_run_dir()
    os.environ["WALKTHROUGH_RUN_DIR"] = str(run)
    print(isolate_settings(run, os.environ), flush=True)
    results: list[NotebookResult] = []
    try:
        for source in notebooks():
            if args.only and not any(source.name.startswith(p) for p in args.only):
                continue
            print(f"Running {source.name} ...", flush=True)
            result = run_notebook(source, run, {"mode": "local"})
            results.append(result)
            print(f"  {'ok' if result.ok else 'FAILED'} in {result.seconds:.0f}s", flush=True)
            if not result.ok:
                break
    finally:
        if not was_running:
            stop_local_aws(local.stop, local.status)
    print_summary(run, results)
    return 0 if results and all(r.ok for r in results) else 1


def stop_local_aws(stop: Callable[[], object], status: Callable[[], dict[str, Any]]) -> None:
    """Stop the local AWS; a stop reply cut short by the shutdown is fine once it has stopped."""
    try:
        stop()
    except http.client.HTTPException:  # IncompleteRead: the server went down mid-reply
        if status()["running"]:
            raise


def print_summary(run: Path, results: list[NotebookResult]) -> None:
    """Print where the executed notebooks are and what each one did."""
    print(f"\nExecuted notebooks (and HTML copies) are in {run}")
    print(f"(also reachable as {run.parent / 'latest'}).\n")
    for result in results:
        status = "ok" if result.ok else f"FAILED: {result.error}"
        print(f"- {result.name} ({result.seconds:.0f}s, {status})")
        if result.summary:
            print(f"    {result.summary.splitlines()[-1]}")
    failed = [r for r in results if not r.ok]
    if failed:
        print(f"\nOpen {run / (failed[0].name + '.html')} to see where it stopped.")


if __name__ == "__main__":
    sys.exit(main())
