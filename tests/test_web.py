"""The static demo (``export --format web``): served by a plain static server, no model server, the model run
by onnxruntime-web (WASM) in headless Chromium, with the answers of ``predict --json``."""
import json
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crepe.cli import main
from crepe.data import load_evaluation_set
from crepe.errors import UsageError
from crepe.web_export import WEB_DIRECTORY, browser_documents, ort_directory
from tests.browser import browser  # noqa: F401  (a fixture)
from tests.helpers import require
from tests.static import static_server

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "workshop-crepe-ag-news"
HEADLINES = 10                 # the sample's first test rows
TOLERANCE = 1e-4
NPM_SECONDS, READY_SECONDS = 300, 60


def install_ort():
    """The pinned onnxruntime-web files, installed by ``npm ci`` in web/ when missing (skip/fail without npm)."""
    try:
        return ort_directory()
    except UsageError:
        pass
    require(shutil.which("npm"), "no npm on PATH: building the static demo needs Node and npm "
                                 "(Debian: apt install nodejs npm)")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=WEB_DIRECTORY, check=True,
                   timeout=NPM_SECONDS, stdout=subprocess.DEVNULL)
    return ort_directory()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    install_ort()
    out = tmp_path_factory.mktemp("web") / "site"
    assert main(["export", "--model", str(SHIPPED), "--format", "web", "--out", str(out)]) == 0
    return out


def open_demo(chrome, url):
    """Open the demo and wait (bounded) until the page has loaded the model; whether it could."""
    chrome.get(url + "index.html")
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        ready = chrome.execute_script("return window.crepeDemo ? window.crepeDemo.ready : null")
        if ready is not None:
            return ready
        time.sleep(0.2)
    return None


def in_browser(chrome, texts):
    return chrome.execute_async_script("""
        const done = arguments[arguments.length - 1];
        (async () => {
          const out = [];
          for (const text of arguments[0]) out.push(await window.crepeDemo.inBrowser(text));
          return out;
        })().then(done).catch((error) => done(String(error)));""", texts)


def test_static_demo_answers_as_predict_does(site, browser, tmp_path, capsys):  # noqa: F811
    texts = list(load_evaluation_set("sample")["rows"][0][:HEADLINES])
    path = tmp_path / "headlines.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", "--model", str(SHIPPED), "--json", "--file", str(path)]) == 0
    expected = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    with static_server(site) as url:
        assert open_demo(browser, url) is True
        answers = in_browser(browser, texts)
    assert [a["predicted"] for a in answers] == [e["predicted"] for e in expected]
    assert max(abs(a["probabilities"][name] - p) for a, e in zip(answers, expected)
               for name, p in e["probabilities"].items()) < TOLERANCE


def test_static_demo_says_where_and_how_long(site, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with static_server(site) as url:
        assert open_demo(browser, url) is True
        box = browser.find_element(By.ID, "text")
        box.send_keys("Striker scores twice in the cup final\ue007")
        where = WebDriverWait(browser, 20).until(
            lambda chrome: chrome.find_element(By.ID, "browser-where").get_attribute("data-ms"))
        text = browser.find_element(By.ID, "browser-where").text
        server_shown = browser.find_element(By.ID, "server-panel").is_displayed()
        runtime = browser.find_element(By.ID, "runtime").text
    assert float(where) > 0 and text.startswith("Computed in this browser") and not server_shown
    assert runtime == "run in this browser"


def occluded(chrome, text):
    """The page's occlusion pairs for ``text``, computed in the browser."""
    return chrome.execute_async_script("""
        const done = arguments[arguments.length - 1];
        window.crepeDemo.occlusion(arguments[0]).then(done).catch((error) => done(String(error)));""", text)


def test_static_demo_occlusion_equals_onnx_runtime_without_each_character(site, browser):  # noqa: F811
    import numpy as np

    from crepe.onnx_runtime import load_onnx

    text = "Striker scores twice in the cup final"
    with static_server(site) as url:
        assert open_demo(browser, url) is True
        pairs = occluded(browser, text)
    model = load_onnx(site / "model.onnx")
    full = model.probabilities([text])[0]                                     # (4,)
    target = int(full.argmax())
    without = model.probabilities([text[:i] + text[i + 1:] for i in range(len(text))])[:, target]   # (37,)
    assert [character for character, _ in pairs] == list(text)
    assert np.abs(np.array([score for _, score in pairs]) - (full[target] - without)).max() < TOLERANCE


def test_static_demo_occlusion_scores_only_the_characters_the_model_reads(site, browser):  # noqa: F811
    text = "Stocks rally. " * 80                                                    # 1,120 characters
    with static_server(site) as url:
        assert open_demo(browser, url) is True
        pairs = occluded(browser, text)
    assert "".join(character for character, _ in pairs) == text[-1014:]


def test_static_demo_colours_each_character_by_occlusion(site, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    text = "Striker scores twice in the cup final"
    with static_server(site) as url:
        assert open_demo(browser, url) is True
        browser.find_element(By.ID, "text").send_keys(text + "\ue007")
        WebDriverWait(browser, 30).until(lambda chrome: chrome.find_element(By.ID, "saliency").get_attribute("data-ms"))
        scored = browser.find_elements(By.CSS_SELECTOR, "#saliency .scored")
        shown = (browser.find_element(By.ID, "saliency-panel").is_displayed(),
                 browser.find_element(By.ID, "saliency-method").text, browser.find_element(By.ID, "saliency-note").text)
    assert "".join(span.text or " " for span in scored) == text
    assert shown[0] and shown[1].startswith("occlusion") and "37 texts, each without one character" in shown[2]


def test_static_demo_loads_nothing_from_another_origin(site, browser):  # noqa: F811
    with static_server(site) as url:
        assert open_demo(browser, url) is True
        in_browser(browser, ["one headline"])
        loaded = browser.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)")
    assert loaded and all(name.startswith(url) for name in loaded)


def test_export_web_of_a_word_model_says_so_in_one_sentence(tmp_path, capsys):
    install_ort()
    out = tmp_path / "word"
    assert main(["train", "--dataset", "sample", "--model", "word", "--epochs", "1", "--max-batches", "1",
                 "--out", str(out), "--cpu"]) == 0
    capsys.readouterr()
    assert main(["export", "--model", str(out), "--format", "web", "--out", str(tmp_path / "site")]) == 2
    assert capsys.readouterr().err.strip() == ("error: the static demo runs Crepe (character frames); export a "
                                                "word CNN with --format onnx")


def test_export_web_into_a_foreign_folder_is_refused(tmp_path, capsys):
    install_ort()
    (tmp_path / "mine.txt").write_text("keep me")
    assert main(["export", "--model", str(SHIPPED), "--format", "web", "--out", str(tmp_path)]) == 2
    assert "is not a static demo written before" in capsys.readouterr().err
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_ort_directory_of_an_installed_crepe_without_web_says_so(tmp_path):
    with pytest.raises(UsageError, match="installed without the workshop's web/ folder"):
        ort_directory(tmp_path)


def test_ort_directory_without_npm_ci_says_what_to_run(tmp_path):
    shutil.copy(WEB_DIRECTORY / "package-lock.json", tmp_path)
    with pytest.raises(UsageError, match="run `npm ci` in"):
        ort_directory(tmp_path)


class MXNetUpstream(BaseHTTPRequestHandler):
    """A stand-in for the model server: answers a POSTed {"text"} with the model's answer, computed by MXNet."""

    def do_POST(self):
        from crepe.inference import answer, probabilities

        text = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["text"]
        body = json.dumps(answer(probabilities(self.server.net, [text])[0], self.server.classes)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def page_with_upstream():
    """The page server with the model in the browser, forwarding to an MXNet stand-in; its URL and classes."""
    from crepe.inference import load_model
    from crepe.serving.page_server import start_page_server
    from tests.helpers import free_port

    install_ort()
    net, config = load_model(SHIPPED)
    extra, keys = browser_documents(net, config)
    upstream = ThreadingHTTPServer(("127.0.0.1", free_port()), MXNetUpstream)
    upstream.net, upstream.classes = net, config["classes"]
    thread = threading.Thread(target=upstream.serve_forever, daemon=True)
    thread.start()
    page, url = start_page_server({"predictions": "/predictions/crepe", "model": "crepe", "classes": config["classes"],
                                   "examples": [], **keys}, upstream=f"127.0.0.1:{upstream.server_address[1]}",
                                  extra=extra)
    yield url, config["classes"]
    page.shutdown()
    upstream.shutdown()
    upstream.server_close()
    thread.join(10)


def _both_answers(chrome, url, text, wait_for_model):
    """Open the page, send ``text`` with Enter: (both panels shown?, [server's class, browser's class])."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    if wait_for_model:
        assert open_demo(chrome, url) is True
    else:
        chrome.get(url)
    chrome.find_element(By.ID, "text").send_keys(text + "\ue007")
    WebDriverWait(chrome, 30).until(lambda page: page.find_element(By.ID, "browser-where").get_attribute(
        "data-ms") and " ms" in page.find_element(By.ID, "server-where").text)
    shown = [chrome.find_element(By.ID, name).is_displayed() for name in ("server-panel", "browser-panel")]
    return shown, [chrome.find_element(By.ID, name).text for name in ("predicted", "browser-predicted")]


def test_served_page_shows_server_and_browser_side_by_side(browser, page_with_upstream):  # noqa: F811
    url, classes = page_with_upstream
    shown, answers = _both_answers(browser, url, "Oil prices climb as investors weigh a weaker dollar", True)
    assert shown == [True, True] and answers[0] == answers[1] and answers[0] in classes


def test_served_page_answers_in_the_browser_a_text_sent_while_the_model_loaded(browser, page_with_upstream):  # noqa: F811
    url, classes = page_with_upstream
    # Enter at once: the server answers before the model has loaded into the page
    shown, answers = _both_answers(browser, url, "Oil prices climb as investors weigh a weaker dollar", False)
    assert shown == [True, True] and answers[0] == answers[1] and answers[0] in classes


def test_serve_page_answers_in_the_browser_as_the_server_does(browser, tmp_path):  # noqa: F811
    """The real ``crepe serve`` of the shipped model: both panels, the same class, probabilities within 1e-4."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from crepe.serving.model_server import JAVA_HINT
    from crepe.serving.client import post
    from tests.helpers import java_present
    from tests.test_serving import Served

    require(java_present(), f"no Java for MXNet Model Server's frontend: {JAVA_HINT}")
    install_ort()
    texts = list(load_evaluation_set("sample")["rows"][0][:HEADLINES])
    served = Served(SHIPPED, tmp_path / "run").wait_ready()
    try:
        served_answers = [post(served.predictions, {"text": text})[1] for text in texts]
        assert open_demo(browser, served.page) is True
        answers = in_browser(browser, texts)
        browser.find_element(By.ID, "text").send_keys(texts[0] + "\ue007")
        WebDriverWait(browser, 30).until(lambda chrome: chrome.find_element(By.ID, "browser-where").get_attribute(
            "data-ms") and " ms" in chrome.find_element(By.ID, "server-where").text)
        shown = [browser.find_element(By.ID, name).text for name in ("predicted", "browser-predicted")]
    finally:
        served.stop()
    assert any(line.startswith("in this browser: the page also runs the model") for line in served.lines)
    assert shown == [served_answers[0]["predicted"]] * 2
    assert [a["predicted"] for a in answers] == [s["predicted"] for s in served_answers]
    assert max(abs(a["probabilities"][name] - p) for a, s in zip(answers, served_answers)
               for name, p in s["probabilities"].items()) < TOLERANCE


def test_browser_panel_without_the_onnxruntime_web_files_says_so(tmp_path, monkeypatch):
    from crepe.serving import serve
    from crepe.serving.archive import package

    archive = package(SHIPPED, tmp_path / "crepe.mar", "crepe")
    monkeypatch.setattr("crepe.web_export.WEB_DIRECTORY", tmp_path / "no-web")
    documents, keys, line = serve.browser_panel(archive, tmp_path / "scratch")
    assert (documents, keys) == ({}, {}) and line.startswith("in this browser: not offered, there is no ")
    assert not (tmp_path / "scratch" / "browser-model").exists()
