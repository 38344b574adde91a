"""Headless Chromium for page checks: open a file, collect console errors, take a screenshot.

Chromium and its driver come from Debian's ``chromium`` and ``chromium-driver`` packages, which
``make test`` installs (target ``browser``). A missing browser fails the check rather than
skipping it, so CI cannot pass without looking at the pages.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--window-size=1280,1600",
)


@dataclass
class Page:
    """A loaded page: its visible text, console errors and the driver for further checks."""

    driver: object
    text: str
    errors: list[str]

    def screenshot(self, path: Path) -> Path:
        """Save a PNG of the page to ``path``."""
        self.driver.save_screenshot(str(path))  # type: ignore[attr-defined]
        return path


class Browser:
    """One headless Chromium session shared by a test module."""

    def __init__(self, profile: Path) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)

    def open(self, path: Path) -> Page:
        """Load ``path`` from the file system; console messages at SEVERE level are errors."""
        self.driver.get(Path(path).resolve().as_uri())
        from selenium.webdriver.common.by import By

        text = self.driver.find_element(By.TAG_NAME, "body").text
        logs = self.driver.get_log("browser")
        errors = [entry["message"] for entry in logs if entry.get("level") == "SEVERE"]
        return Page(self.driver, text, errors)

    def close(self) -> None:
        self.driver.quit()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """A headless Chromium; fails (does not skip) when the browser is not installed."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail(f"{CHROMIUM} and {CHROMEDRIVER} are needed for page checks: run `make browser`")
    session = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield session
    finally:
        session.close()
