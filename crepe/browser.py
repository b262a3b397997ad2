"""A headless Chromium driven by selenium: the notebooks' screenshots of the demo page, and the tests'.

It drives Debian's ``chromium`` through its ``chromium-driver``, never a browser or driver that
selenium would download. Every wait is bounded: a page load, a script and an implicit element lookup
each give up after the timeouts below. selenium is imported only when a browser starts.
"""
import shutil

from .errors import UsageError

__all__ = ["PAGE_LOAD_SECONDS", "SCRIPT_SECONDS", "WINDOW", "INSTALL_HINT", "BROWSERS", "chromium_paths",
           "start_chromium"]

PAGE_LOAD_SECONDS = 60
SCRIPT_SECONDS = 30
WINDOW = (1400, 1000)
INSTALL_HINT = ("install Chromium and its driver: Debian `apt install chromium chromium-driver`, "
                "macOS `brew install --cask google-chrome chromedriver` (docs/tests.md)")
#: Where a Chromium or a Chrome is looked for, first found first used.
BROWSERS = ("chromium", "chromium-browser", "google-chrome",
            "/Applications/Chromium.app/Contents/MacOS/Chromium",
            "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome")


def chromium_paths():
    """(browser, driver): the first Chromium or Chrome found, and chromedriver; None when missing.

    Examples
    --------
    >>> len(chromium_paths())
    2
    """
    browser = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    return browser, shutil.which("chromedriver")


def start_chromium():
    """A new headless Chromium driven by selenium, with bounded timeouts; the caller quits it.

    Raises
    ------
    UsageError
        If selenium, the browser or its driver is missing, in one sentence saying what to install.
    """
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise UsageError("selenium is not installed (it is in requirements/base.txt: run `make setup`)") from None
    browser, driver = chromium_paths()
    if browser is None or driver is None:
        raise UsageError(f"no {'Chromium' if browser is None else 'chromedriver'} on PATH: {INSTALL_HINT}")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(argument)
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    chrome.set_page_load_timeout(PAGE_LOAD_SECONDS)
    chrome.set_script_timeout(SCRIPT_SECONDS)
    return chrome
