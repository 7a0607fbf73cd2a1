"""Headless Debian Chromium for the browser tests, driven by selenium (one launcher for all)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
#: What every test browser runs with: headless, no network of its own beyond the page's.
BASE_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@contextmanager
def chromium(prefix: str, flags: Sequence[str], browser_log: bool = False) -> Iterator[Any]:
    """Headless Chromium with a fresh profile (skips, saying why, where it is not installed)."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip(
            "Chromium and its driver are not installed: `apt-get install -y chromium "
            "chromium-driver` (.ci/run installs them where apt-get can)"
        )
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the [dev] extra")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix=prefix)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*BASE_FLAGS, *flags, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    if browser_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
