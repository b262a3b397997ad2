"""The browser harness's rule: a missing system component skips on a laptop and fails under CI."""
import shutil

import pytest

from tests import browser


def test_require_skips_with_the_reason_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no frobnicator"):
        browser.require(False, "no frobnicator")


def test_require_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and no frobnicator"):
        browser.require(False, "no frobnicator")


def test_require_lets_a_present_component_through(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert browser.require("/usr/bin/chromium", "no Chromium") is None


def test_start_chromium_without_a_browser_says_how_to_install_one(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.skip.Exception, match="apt install chromium chromium-driver"):
        browser.start_chromium()


def test_crepe_start_chromium_without_a_browser_is_one_sentence(monkeypatch):
    from crepe import browser as package_browser
    from crepe.errors import UsageError

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(UsageError, match="no Chromium on PATH: install Chromium"):
        package_browser.start_chromium()
