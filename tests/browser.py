"""Headless Debian Chromium driven by Selenium, with networking off (for the browser tests).

The browser and the driver are the system's (/usr/bin/chromium, /usr/bin/chromedriver);
both paths are given so that Selenium Manager never tries to download anything.
Name lookups fail and every request goes to a closed local port, so a page that
renders here renders offline.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
OFFLINE_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
    "--window-size=1280,900",
]
# requests for base tiles fail offline by design (the map keeps a plain background)
TILE_HOSTS = ("tile.openstreetmap.org",)


def skip_browser() -> str | None:
    """Why to skip the browser tests here (never under ``CI=true``: .ci/run installs it)."""
    if os.environ.get("CI") == "true":
        return None
    return missing_browser()


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    return None


class Browser:
    """One headless Chromium session with a fresh profile folder."""

    def __init__(self, width: int = 1280, height: int = 900) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="polygeo-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in OFFLINE_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--window-size={width},{height}")
        options.add_argument(f"--user-data-dir={self.profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)

    def open(self, path: Path) -> None:
        """Load a file from disk and wait until its scripts have run."""
        self.driver.get(Path(path).resolve().as_uri())
        self.driver.execute_script("return document.readyState")

    def run(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def console_errors(self) -> list[str]:
        """Console errors (SEVERE), leaving out failed base-tile requests."""
        return [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if entry["level"] == "SEVERE" and not any(h in entry["message"] for h in TILE_HOSTS)
        ]

    def alert_text(self) -> str | None:
        """The text of an open alert dialog (an injection that ran), or None."""
        from selenium.common.exceptions import NoAlertPresentException

        try:
            return self.driver.switch_to.alert.text
        except NoAlertPresentException:
            return None

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        if full_page:
            height = self.run("return document.documentElement.scrollHeight")
            self.driver.set_window_size(1100, min(int(height) + 40, 12000))
        self.driver.save_screenshot(str(path))
        return path

    def close(self) -> None:
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
