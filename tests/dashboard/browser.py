"""Headless Chromium (Debian's chromium and chromium-driver) driven by selenium, with network and console logs."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = os.environ.get("ANNEXA_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("ANNEXA_CHROMEDRIVER", "/usr/bin/chromedriver")


def available() -> bool:
    """True when Chromium, its driver and selenium are installed."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return False
    return os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A headless Chromium that cannot reach any network, with performance and console logging on."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="annexa-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--window-size={width},{height}", f"--user-data-dir={profile}",
                 "--proxy-server=127.0.0.1:9", "--allow-file-access-from-files"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    options.add_experimental_option("prefs", {"download.default_directory": profile,
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


_LOCAL = ("file:", "data:", "blob:", "about:", "chrome:", "chrome-untrusted:", "devtools:")
"""Schemes that never leave the machine (Chromium's own pages are loaded before the test's page)."""


def network_requests(driver: Any) -> list[str]:
    """Every URL the page asked the network for (file:, data:, blob: and the browser's own pages are not)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if not url.startswith(_LOCAL):
                urls.append(url)
    return urls


def console_errors(driver: Any) -> list[str]:
    """Console messages at error level (including CSP violations and uncaught exceptions)."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") in ("SEVERE", "ERROR")]
