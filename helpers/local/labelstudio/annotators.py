"""Simulated annotators (placeholder)."""

from __future__ import annotations

import time
from pathlib import Path


def run(folder: Path) -> None:
    """Answer tasks until the server stops."""
    while True:
        time.sleep(1)
