"""The live-demo page (crepe/serving/page/) in headless Chromium, and the server that serves it.

The page is served for real by :func:`crepe.serving.page_server.start_page_server`, which forwards the
page's predictions to the model server; that is a stub of this file (the standard library's HTTP
server on 127.0.0.1) that answers the serving contract with fixed numbers and records every
request, so that the tests can count them. One Chromium serves the
whole module; every wait is bounded. Set BROWSER_SCREENSHOTS=folder to keep a screenshot.
"""
import fnmatch
import http.client
import json
import re
import socket
import threading
import time
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crepe.errors import UsageError
from crepe.serving.page_server import DOWN, MAX_FORWARD_BYTES, PAGE_DIRECTORY, PAGE_FILES, start_page_server
from tests.browser import screenshot, start_chromium
from tests.helpers import free_port

CLASSES = ["World", "Sports", "Business", "Sci/Tech"]
HEADLINE = "Striker scores twice in the cup final"
ANSWERS = {  # what the stub predicts: World for a text containing "slow", Sports otherwise
    "World": {"World": 0.6, "Sports": 0.2, "Business": 0.15, "Sci/Tech": 0.05},
    "Sports": {"World": 0.1, "Sports": 0.7, "Business": 0.15, "Sci/Tech": 0.05},
}
SCORES = (0.5, -0.25, 0.0, 0.125, -0.5)   # saliency of character i: SCORES[i % 5]
SCORED_TAIL = 12                          # a text containing "long" is scored on its last 12 characters
ERROR_SENTENCE = "The text is longer than the model server accepts."
SLOW_SECONDS = 1.5
WAIT_SECONDS = 10
ENTER, TAB, CONTROL, RELEASE = "\ue007", "\ue004", "\ue009", "\ue000"   # WebDriver's key codes
NEVER = 600_000                                                     # a pause that never ends (ms)
OTHER_PATHS = ("/../pyproject.toml", "/%2e%2e/pyproject.toml", "/page/../page_server.py", "/page_server.py",
                    "//etc/passwd", "/page/", "/page", "/config.json/..", "/index.html/")


def stub_answer(text):
    """(status, JSON body) of the stub model server for ``text``."""
    if "broken" in text:
        return 400, {"error": ERROR_SENTENCE}
    if "slow" in text:
        time.sleep(SLOW_SECONDS)
    predicted = "World" if "slow" in text else "Sports"
    answer = {"predicted": predicted, "probabilities": ANSWERS[predicted]}
    characters = text[-SCORED_TAIL:] if "long" in text else text
    if "word" not in text:
        answer["saliency"] = [[c, SCORES[i % len(SCORES)]] for i, c in enumerate(characters)]
    return 200, answer


class StubHandler(BaseHTTPRequestHandler):
    def cors(self):
        self.send_header("Access-Control-Allow-Origin", self.server.origin)
        self.send_header("Access-Control-Allow-Methods", "POST")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")

    def do_OPTIONS(self):
        self.send_response(204)
        self.cors()
        self.end_headers()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.requests.append({"body": body, "origin": self.headers.get("Origin"),
                                         "type": self.headers.get("Content-Type")})
        status, answer = stub_answer(body.get("text", ""))
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.cors()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        with self.server.lock:
            self.server.answered.append(body.get("text"))

    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def chrome():
    driver = start_chromium()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def stub():
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubHandler)
    server.lock, server.origin = threading.Lock(), "null"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def until(condition, what, seconds=WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {seconds} s waiting for {what}")
        time.sleep(0.05)
    return value


@pytest.fixture
def page(chrome, stub):
    """open(examples=(), predictions=stub's URL, debounce_ms=None): the page loaded and ready."""
    servers = []
    stub.requests, stub.answered = [], []

    def open_page(examples=(), upstream=None, debounce_ms=None, classes=CLASSES):
        config = {"predictions": "/predictions/crepe", "model": "crepe", "classes": list(classes),
                  "examples": list(examples)}
        server, url = start_page_server(config, upstream=upstream or f"127.0.0.1:{stub.server_port}")
        servers.append(server)
        stub.origin = server.origin
        chrome.get(url)
        until(lambda: status(chrome)[0] == "idle", "the page to read its config.json")
        if debounce_ms:
            chrome.execute_script(f"document.getElementById('text').dataset.debounceMs = '{debounce_ms}'")
        return chrome.find_element("id", "text")

    yield open_page
    for server in servers:
        server.shutdown()


def status(chrome):
    element = chrome.find_element("id", "status")
    return element.get_attribute("data-state"), element.text


def predicted(chrome):
    return chrome.find_element("id", "predicted").text


def answered(chrome, text):
    until(lambda: status(chrome)[0] == "ok" and predicted(chrome) != "\u2014", f"the answer for {text!r}")


def texts(stub):
    return [request["body"]["text"] for request in stub.requests]


def test_page_shows_the_predicted_class_of_a_typed_headline(page, chrome):
    page().send_keys(HEADLINE)
    answered(chrome, HEADLINE)
    assert predicted(chrome) == stub_answer(HEADLINE)[1]["predicted"]


def test_page_sends_one_request_per_pause_in_typing(page, chrome, stub):
    page().send_keys(HEADLINE)
    answered(chrome, HEADLINE)
    time.sleep(0.8)
    assert [r["body"] for r in stub.requests] == [{"text": HEADLINE, "explain": True}]


def test_page_sends_json_to_its_own_origin(page, chrome, stub):
    page().send_keys(HEADLINE)
    answered(chrome, HEADLINE)
    fetched = chrome.execute_script("return performance.getEntriesByType('resource')"
                                    ".filter(e => e.initiatorType === 'fetch').map(e => e.name)")
    assert fetched == [stub.origin + "/config.json", stub.origin + "/predictions/crepe"]
    assert [r["type"] for r in stub.requests] == ["application/json"]


def test_page_sends_nothing_for_unchanged_text(page, chrome, stub):
    box = page()
    box.send_keys(HEADLINE)
    answered(chrome, HEADLINE)
    box.send_keys(ENTER)
    time.sleep(0.8)
    assert texts(stub) == [HEADLINE]


@pytest.mark.parametrize("key", [ENTER, TAB], ids=["enter", "tab"])
def test_page_sends_at_once_on_enter_or_tab(page, chrome, stub, key):
    page(debounce_ms=NEVER).send_keys(HEADLINE + key)
    answered(chrome, HEADLINE)
    assert texts(stub) == [HEADLINE]


def test_page_enter_adds_no_new_line(page, chrome):
    box = page(debounce_ms=NEVER)
    box.send_keys(HEADLINE + ENTER)
    answered(chrome, HEADLINE)
    assert box.get_attribute("value") == HEADLINE


def test_page_keeps_the_newer_answer_when_a_stale_one_arrives_late(page, chrome, stub):
    box = page(debounce_ms=NEVER)
    box.send_keys("A slow story" + ENTER)
    until(lambda: stub.requests, "the slow request")
    box.send_keys(CONTROL + "a" + RELEASE + HEADLINE + ENTER)        # select all, type over it
    until(lambda: len(stub.answered) == 2, "both answers")
    time.sleep(0.3)
    assert stub.answered == [HEADLINE, "A slow story"] and predicted(chrome) == "Sports"


def test_page_random_example_fills_the_box_and_predicts(page, chrome, stub):
    examples = ["Goalkeeper saves a penalty", "Sprinter breaks the record"]
    box = page(examples=examples, debounce_ms=NEVER)
    chrome.find_element("id", "random").click()
    answered(chrome, "a random example")
    assert box.get_attribute("value") in examples and texts(stub) == [box.get_attribute("value")]


def test_page_random_example_without_examples_uses_its_own_headlines(page, chrome, stub):
    box = page(debounce_ms=NEVER)
    chrome.find_element("id", "random").click()
    answered(chrome, "a built-in example")
    assert box.get_attribute("value").strip() and texts(stub) == [box.get_attribute("value")]


def test_page_says_that_a_model_server_that_is_down_is_not_answering(page, chrome):
    page(upstream=f"127.0.0.1:{free_port()}", debounce_ms=NEVER).send_keys(HEADLINE + ENTER)
    kind, message = until(lambda: status(chrome)[0] == "error" and status(chrome), "the error message")
    assert message == DOWN


def test_page_shows_html_in_class_names_and_examples_as_text(page, chrome):
    names = ["<b>World</b>", "Sports", "<img src=x onerror=alert(1)>", "Sci/Tech"]
    example = "<script>document.title='owned'</script> & <i>news</i>"
    box = page(examples=[example], classes=names, debounce_ms=NEVER)
    chrome.find_element("id", "random").click()
    answered(chrome, "the example")
    labels = [element.text for element in chrome.find_elements("css selector", "#bars .bar-label")]
    assert labels == names and box.get_attribute("value") == example
    assert chrome.find_element("id", "saliency").text == example
    assert chrome.find_elements("css selector", "#bars b, #bars img, #saliency script, #saliency i") == []
    assert chrome.title != "owned"


def test_page_shows_the_sentence_of_an_error_answer(page, chrome):
    page(debounce_ms=NEVER).send_keys("A broken text" + ENTER)
    kind, message = until(lambda: status(chrome)[0] == "error" and status(chrome), "the error message")
    assert message == ERROR_SENTENCE


def test_page_bars_follow_the_probabilities(page, chrome):
    page().send_keys(HEADLINE)
    answered(chrome, HEADLINE)
    bars = chrome.execute_script(
        "return Array.from(document.querySelectorAll('#bars .bar'), (bar) => [bar.dataset.class, "
        "bar.querySelector('.bar-fill').getBoundingClientRect().width / "
        "bar.querySelector('.bar-track').clientWidth, bar.classList.contains('is-predicted')]);")
    assert [name for name, _, _ in bars] == CLASSES
    assert [width for _, width, _ in bars] == pytest.approx([ANSWERS["Sports"][c] for c in CLASSES], abs=0.01)
    assert [name for name, _, chosen in bars if chosen] == ["Sports"]


def span_colours(chrome):
    return chrome.execute_script(
        "return Array.from(document.querySelectorAll('#saliency span'), (s) => "
        "[s.textContent, s.classList.contains('scored'), getComputedStyle(s).backgroundColor]);")


def test_page_colours_characters_by_saliency(page, chrome):
    page().send_keys(HEADLINE)
    answered(chrome, HEADLINE)
    screenshot(chrome, "page")
    colours = {SCORES[i % len(SCORES)]: colour for i, (_, _, colour) in enumerate(span_colours(chrome))}
    assert "".join(c for c, _, _ in span_colours(chrome)) == HEADLINE
    assert colours == {0.5: "rgb(239, 138, 98)", -0.5: "rgb(103, 169, 207)", 0.0: "rgb(255, 255, 255)",
                       0.125: "rgb(251, 226, 216)", -0.25: "rgb(179, 212, 231)"}


def test_page_leaves_characters_the_model_did_not_read_uncoloured(page, chrome):
    text = "A long story about the cup final and its many goals"
    page().send_keys(text)
    answered(chrome, text)
    scored = [is_scored for _, is_scored, _ in span_colours(chrome)]
    assert scored == [False] * (len(text) - SCORED_TAIL) + [True] * SCORED_TAIL
    assert f"last {SCORED_TAIL} characters" in chrome.find_element("id", "saliency-note").text


def test_page_without_saliency_says_it_is_for_the_character_model(page, chrome):
    text = "A word model reads this"
    page().send_keys(text)
    answered(chrome, text)
    assert chrome.find_element("id", "saliency").text == text and not any(s for _, s, _ in span_colours(chrome))
    assert "character model" in chrome.find_element("id", "saliency-note").text


def test_page_fits_a_phone_screen(page, chrome):
    size = chrome.get_window_size()
    chrome.set_window_size(360, 740)
    try:
        page().send_keys(HEADLINE)
        answered(chrome, HEADLINE)
        overflow = chrome.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    finally:
        chrome.set_window_size(size["width"], size["height"])
    assert overflow <= 0


def test_page_files_load_nothing_from_another_origin():
    sources = [(PAGE_DIRECTORY / name).read_text() for name in ("index.html", "page.css")]
    assert not [match for source in sources for match in re.findall(r"(?:https?:)?//[\w.-]+|@import|url\(", source)]


def get(url, path, method="GET"):
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


@pytest.fixture
def served(stub):
    config = {"predictions": "/predictions/crepe", "model": "crepe", "classes": CLASSES, "examples": ["one", "two"]}
    stub.requests, stub.answered, readiness = [], [], {"ready": False}
    server, url = start_page_server(config, upstream=f"127.0.0.1:{stub.server_port}",
                                    ready=lambda: readiness["ready"])
    yield config, url, readiness
    server.shutdown()


def post(url, path, body, headers=None):
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("POST", path, body, {"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_start_page_server_forwards_predictions_to_the_model_server(served, stub):
    assert post(served[1], "/predictions/crepe", json.dumps({"text": HEADLINE})) == stub_answer(HEADLINE)
    assert [r["body"] for r in stub.requests] == [{"text": HEADLINE}]


def test_start_page_server_forwards_the_model_servers_error_status(served):
    assert post(served[1], "/predictions/crepe", json.dumps({"text": "broken"})) == (400, {"error": ERROR_SENTENCE})


def test_start_page_server_refuses_a_body_over_the_limit_with_413(served, stub):
    status_code, answer = post(served[1], "/predictions/crepe", b"x" * (MAX_FORWARD_BYTES + 1))
    assert status_code == 413 and "the limit is" in answer["error"] and stub.requests == []


def test_start_page_server_forwards_only_the_predictions_path(served, stub):
    connection_status = get(served[1], "/predictions/other", method="POST")[0]
    assert connection_status == 405 and stub.requests == []


def test_start_page_server_answers_ready_only_while_the_model_is_ready(served):
    _, url, readiness = served
    before = get(url, "/ready")[0]
    readiness["ready"] = True
    assert (before, get(url, "/ready")[0]) == (503, 200)


def test_start_page_server_listens_on_every_ipv6_address():
    server, url = start_page_server({}, host="::")
    try:
        assert get(f"http://127.0.0.1:{server.server_address[1]}", "/")[0] == 200
    finally:
        server.shutdown()


def test_start_page_server_serves_the_config_from_memory(served):
    config, url, _ = served
    status_code, kind, body = get(url, "/config.json")
    assert (status_code, kind, json.loads(body)) == (200, "application/json", config)


def test_start_page_server_serves_the_page_at_its_root(served):
    url = served[1]
    assert get(url, "/") == get(url, "/index.html") == (200, "text/html; charset=utf-8",
                                                        (PAGE_DIRECTORY / "index.html").read_bytes())


@pytest.mark.parametrize("path", OTHER_PATHS)
def test_start_page_server_refuses_other_paths_with_404(served, path):
    assert get(served[1], path)[0] == 404


def test_start_page_server_refuses_other_methods_with_405(served):
    assert get(served[1], "/config.json", method="POST")[0] == 405


def test_start_page_server_answers_head_without_a_body(served):
    assert get(served[1], "/page.js", method="HEAD")[::2] == (200, b"")


def test_start_page_server_logs_nothing_per_request(served, capfd):
    get(served[1], "/")
    get(served[1], "/missing")
    assert capfd.readouterr() == ("", "")


def test_start_page_server_says_in_one_sentence_that_a_port_is_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UsageError, match=rf"^port {port} on 127\.0\.0\.1 is in use: [^\n]*port for the demo page$"):
            start_page_server({}, port=port)


def test_page_server_shutdown_closes_the_port():
    server, url = start_page_server({})
    server.shutdown()
    with pytest.raises(ConnectionRefusedError):
        get(url, "/")


def test_page_files_are_package_data():
    pyproject = tomllib.loads((PAGE_DIRECTORY.parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = pyproject["tool"]["setuptools"]
    patterns = setuptools["package-data"]["crepe.serving.page"]
    assert "crepe.serving.page" in setuptools["packages"]
    assert all(any(fnmatch.fnmatch(name, pattern) for pattern in patterns) for name, _ in PAGE_FILES.values())
