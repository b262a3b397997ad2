"""A headless Chromium for tests that look at a page as a person would (JupyterLab, the demo page).

Use the ``browser`` fixture (import it into the test module: ``from tests.browser import browser``).
The browser itself is started by ``crepe.browser`` (the deploy notebook's screenshot uses it too):
Debian's ``chromium`` through its ``chromium-driver``, every wait bounded.

A test that needs a component of the system (a browser, its driver, the Jupyter kernel) calls
``require``: on a laptop without it the test is skipped and says what to install; under CI
(``CI=true``) it fails instead, so that CI cannot pass by skipping.
"""
import os
from pathlib import Path

import pytest

from crepe import browser as _browser
from crepe.browser import INSTALL_HINT, PAGE_LOAD_SECONDS, SCRIPT_SECONDS, WINDOW, chromium_paths  # noqa: F401
from tests.helpers import require


def start_chromium():
    """A new headless Chromium (crepe.browser), or a skip (laptop) / failure (CI) saying what is missing."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        require(False, "selenium is not installed (it is in requirements/base.txt: run `make setup`)")
    browser, driver = chromium_paths()
    require(browser, f"no Chromium on PATH: {INSTALL_HINT}")
    require(driver, f"no chromedriver on PATH: {INSTALL_HINT}")
    return _browser.start_chromium()


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
