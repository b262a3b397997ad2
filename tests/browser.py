"""A headless Chromium for tests that look at a page as a person would (JupyterLab, the demo page).

Use the ``browser`` fixture (import it into the test module: ``from tests.browser import browser``).
It drives Debian's ``chromium`` through its ``chromium-driver`` with selenium, never a browser or
driver that selenium would download. Every wait is bounded: a page load, a script and an implicit
element lookup each give up after the timeouts below.

A test that needs a component of the system (a browser, its driver, the Jupyter kernel) calls
``require``: on a laptop without it the test is skipped and says what to install; under CI
(``CI=true``) it fails instead, so that CI cannot pass by skipping.
"""
import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import require

PAGE_LOAD_SECONDS = 60
SCRIPT_SECONDS = 30
WINDOW = (1400, 1000)
INSTALL_HINT = ("install Chromium and its driver: Debian `apt install chromium chromium-driver`, "
                "macOS `brew install --cask google-chrome chromedriver` (docs/tests.md)")


BROWSERS = ("chromium", "chromium-browser", "google-chrome",
            "/Applications/Chromium.app/Contents/MacOS/Chromium",
            "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome")


def chromium_paths():
    """(browser, driver): the first Chromium or Chrome found, and chromedriver; None when missing."""
    browser = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    return browser, shutil.which("chromedriver")


def start_chromium():
    """A new headless Chromium driven by selenium, with bounded timeouts; the caller quits it."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        require(False, "selenium is not installed (it is in requirements/base.txt: run `make setup`)")
    browser, driver = chromium_paths()
    require(browser, f"no Chromium on PATH: {INSTALL_HINT}")
    require(driver, f"no chromedriver on PATH: {INSTALL_HINT}")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(argument)
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    chrome.set_page_load_timeout(PAGE_LOAD_SECONDS)
    chrome.set_script_timeout(SCRIPT_SECONDS)
    return chrome


def screenshot(chrome, name):
    """Save a PNG of the page into $BROWSER_SCREENSHOTS (when set) and return its path, else None."""
    folder = os.environ.get("BROWSER_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    chrome.save_screenshot(str(path))
    return path


@pytest.fixture
def browser():
    """A headless Chromium (selenium WebDriver), quit after the test whatever its outcome."""
    chrome = start_chromium()
    try:
        yield chrome
    finally:
        chrome.quit()
