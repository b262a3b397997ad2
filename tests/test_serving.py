"""``python -m crepe serve`` for real: MXNet Model Server on loopback, its Python workers, the demo page.

These tests need Java (the server's frontend) and, for the page, Chromium with its driver: on a laptop
without them they skip saying so; under ``CI=true`` they fail instead.
"""
import concurrent.futures
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import psutil
import pytest
from helpers import java_present, require

from crepe.cli import main
from crepe.serving.model_server import JAVA_HINT, MAX_PORT
from crepe.serving.client import post

START_SECONDS, STOP_SECONDS, RECOVER_SECONDS = 180, 60, 30
TEXTS = ["Stocks rally as the central bank holds rates", "The home team wins the cup final",
         "New chip doubles battery life", "Rebels sign a ceasefire in the capital"]


def free_ports(count=3):
    """A base port below MMS's limit with ``count`` free ports from it on 127.0.0.1."""
    import random

    for _ in range(200):
        base = random.randrange(20000, MAX_PORT - count)
        if all(_free(base + i) for i in range(count)):
            return base
    pytest.fail("no three consecutive free ports on 127.0.0.1")


def _free(port):
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class Served:
    """``python -m crepe serve`` in its own session; ``stop()`` sends SIGINT and waits, then kills by PID."""

    def __init__(self, model, run_dir, env=None, extra=()):
        self.port, self.run_dir, self.lines = free_ports(), Path(run_dir), []
        command = [sys.executable, "-m", "crepe", "serve", "--model", str(model), "--port", str(self.port),
                   "--run-dir", str(run_dir), "--batch-size", "16", *extra]           # the shipped 5 ms delay
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env=env, start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_ready(self):
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            urls = dict(re.findall(r"^(predictions|demo page): (\S+)$", "\n".join(self.lines), re.M))
            if len(urls) == 2:
                self.predictions, self.page = urls["predictions"], urls["demo page"]
                return self
            if self.process.poll() is not None:
                pytest.fail(f"serve exited with {self.process.returncode}: {self.lines[-5:]}")
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"serve printed no URLs within {START_SECONDS} s: {self.lines[-5:]}")

    def processes(self):
        """serve and every process it started (the server's launcher, Java frontend and Python workers)."""
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)] + _session_members(self.run_dir)
        except psutil.NoSuchProcess:
            return _session_members(self.run_dir)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                for process in self.processes():
                    process.kill()
                self.process.wait(timeout=10)
        self.reader.join(timeout=10)
        return self.process.returncode


def _session_members(run_dir):
    """Processes whose command line names the run folder (the server's, even if orphaned)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if str(run_dir) in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("serving") / "model"
    assert main(["train", "--dataset", "sample", "--epochs", "1", "--max-batches", "10", "--out", str(out),
                 "--cpu"]) == 0
    return out


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    require(java_present(), f"no Java for MXNet Model Server's frontend: {JAVA_HINT}")
    served = Served(model_dir, tmp_path_factory.mktemp("serve-run") / "run").wait_ready()
    yield served
    served.stop()


def predict_json(model_dir, texts):
    done = subprocess.run([sys.executable, "-m", "crepe", "predict", "--model", str(model_dir), "--json", *texts],
                          capture_output=True, text=True, timeout=120, check=True)
    return [json.loads(line) for line in done.stdout.splitlines()]


def assert_same_answers(served, printed):
    assert [answer["predicted"] for answer in served] == [answer["predicted"] for answer in printed]
    np.testing.assert_allclose([list(a["probabilities"].values()) for a in served],
                               [list(a["probabilities"].values()) for a in printed], atol=1e-4)


def test_serve_answers_as_predict_json(server, model_dir):
    served = [post(server.predictions, {"text": text})[1] for text in TEXTS]
    assert_same_answers(served, predict_json(model_dir, TEXTS))


def test_serve_answers_a_list_of_texts_as_predict_json(server, model_dir):
    status, served = post(server.predictions, {"texts": TEXTS})
    assert status == 200
    assert_same_answers(served, predict_json(model_dir, TEXTS))


def test_serve_answers_a_plain_text_body_as_predict_file_reads_the_line(server, model_dir):
    status, served = post(server.predictions, TEXTS[0].encode() + b"\n", "text/plain")
    assert status == 200
    assert_same_answers([served], predict_json(model_dir, TEXTS[:1]))


def _batch_sizes(server):
    return [int(n) for n in re.findall(r"answered a batch of (\d+)",
                                       (server.run_dir / "logs" / "mms_log.log").read_text())]


def test_serve_gives_each_of_64_concurrent_clients_its_own_answer(server, model_dir):
    texts = [f"{TEXTS[i % 4]} number {i}" for i in range(64)]
    with concurrent.futures.ThreadPoolExecutor(64) as pool:
        answers = list(pool.map(lambda text: post(server.predictions, {"text": text}), texts))
    assert [status for status, _ in answers] == [200] * 64
    assert_same_answers([answer for _, answer in answers], predict_json(model_dir, texts))
    assert max(_batch_sizes(server)) > 1, f"the handler only saw batches of {sorted(set(_batch_sizes(server)))}"


HOSTILE = [b'{"text": ' + b"1" * 5000 + b"}", b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
           b'{"text": "\xff\xfe oops"}', b"\xc3\x28 plain"]


def test_serve_answers_the_good_requests_of_a_batch_with_hostile_ones(server, model_dir):
    texts = [f"{TEXTS[i % 4]} round {i}" for i in range(12)]
    expected = predict_json(model_dir, texts)
    jobs = [(json.dumps({"text": text}).encode(), "application/json") for text in texts]
    jobs[2::3] = [(raw, "text/plain" if raw.startswith(b"\xc3") else "application/json") for raw in HOSTILE]
    good = [i for i in range(len(jobs)) if i % 3 != 2]
    for _ in range(3):
        with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
            answers = list(pool.map(lambda job: post(server.predictions, *job), jobs))
        assert [answers[i][0] for i in range(len(jobs)) if i not in good] == [400] * len(HOSTILE)
        assert [answers[i][0] for i in good] == [200] * len(good)
        assert_same_answers([answers[i][1] for i in good], [expected[i] for i in good])
    assert max(_batch_sizes(server)) > 1


@pytest.mark.parametrize("payload, content_type, status", [
    (b"", "application/json", 400),
    (b"\xff\xfe", "text/plain", 400),
    (b'{"text": 3}', "application/json", 400),
    (b'{"text": "unterminated', "application/json", 400),
    (json.dumps({"texts": ["a"] * 65}).encode(), "application/json", 413),
    (json.dumps({"text": "a" * 20_001}).encode(), "application/json", 413),
    (b"a" * 2_000_000, "text/plain", 413),
    (b'{"text": ""}', "application/json", 400),
], ids=["empty", "invalid-utf8", "wrong-shape", "invalid-json", "too-many-texts", "too-long", "too-large",
        "empty-text"])
def test_serve_answers_bad_input_with_4xx_and_lives_on(server, payload, content_type, status):
    code, answer = post(server.predictions, payload, content_type)
    assert (code, len(answer["error"].splitlines())) == (status, 1)
    assert post(server.predictions, {"text": TEXTS[0]})[0] == 200


def _handler_processes(server):
    """The worker processes that run the handler (MMS forks one per connection from its worker)."""
    workers = [p for p in server.processes() if "model_service_worker" in " ".join(p.cmdline())]
    return [p for p in workers if not any(child in workers for child in p.children())]


def test_serve_replaces_a_killed_worker(server):
    killed = _handler_processes(server)
    assert killed, "no Python worker found"
    for process in killed:
        process.kill()
    deadline = time.monotonic() + RECOVER_SECONDS
    while time.monotonic() < deadline:
        try:
            if post(server.predictions, {"text": TEXTS[1]}, timeout=5)[0] == 200:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    else:
        pytest.fail(f"no answer within {RECOVER_SECONDS} s of killing the worker")
    assert {p.pid for p in _handler_processes(server)}.isdisjoint(p.pid for p in killed)


def _page_answer(chrome, url, text):
    """The predicted class the page at ``url`` shows for ``text``."""
    from selenium.webdriver.common.keys import Keys

    chrome.get(url)
    box = chrome.find_element("id", "text")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)
    deadline = time.monotonic() + 60
    while chrome.find_element("id", "status").get_attribute("data-state") != "ok":
        assert time.monotonic() < deadline, chrome.find_element("id", "status").text
        time.sleep(0.1)
    return chrome.find_element("id", "predicted").text


def test_serve_on_every_address_is_ready_and_its_page_answers_under_any_host_name(model_dir, tmp_path):
    require(java_present(), f"no Java for MXNet Model Server's frontend: {JAVA_HINT}")
    sys.path.insert(0, str(Path(__file__).parent))
    from browser import start_chromium

    served = Served(model_dir, tmp_path / "run", extra=("--host", "0.0.0.0")).wait_ready()
    try:
        page_port = int(served.page.rstrip("/").rsplit(":", 1)[1])
        with urllib.request.urlopen(f"http://127.0.0.1:{page_port}/ready", timeout=10) as ready:
            assert ready.status == 200
        expected = post(served.predictions.replace("localhost", "127.0.0.1"), {"text": TEXTS[1]})[1]["predicted"]
        chrome = start_chromium()
        try:
            shown = [_page_answer(chrome, f"http://{name}:{page_port}/", TEXTS[1])
                     for name in ("127.0.0.1", "localhost")]
        finally:
            chrome.quit()
        assert shown == [expected, expected]
    finally:
        served.stop()


def test_serve_refuses_an_ipv6_host_in_one_sentence_not_as_a_port_in_use(model_dir, capsys):
    assert main(["serve", "--model", str(model_dir), "--host", "::", "--port", str(free_ports())]) == 2
    error = capsys.readouterr().err
    assert "cannot listen on an IPv6 address" in error and "in use" not in error and error.count("\n") == 1


def test_check_port_takes_every_ipv6_address_for_a_free_port():
    from crepe.serving.model_server import check_port

    check_port("::", free_ports(1), "the predictions API")


def test_serve_page_shows_the_apis_answer_in_chromium(server):
    sys.path.insert(0, str(Path(__file__).parent))
    from browser import screenshot, start_chromium
    from selenium.webdriver.common.keys import Keys

    chrome = start_chromium()
    try:
        chrome.get(server.page)
        box = chrome.find_element("id", "text")
        box.send_keys(TEXTS[1])
        box.send_keys(Keys.ENTER)
        deadline = time.monotonic() + 60
        while chrome.find_element("id", "status").get_attribute("data-state") != "ok":
            assert time.monotonic() < deadline, chrome.find_element("id", "status").text
            time.sleep(0.1)
        screenshot(chrome, "serving-page")
        assert chrome.find_element("id", "predicted").text == post(server.predictions, {"text": TEXTS[1]})[1][
            "predicted"]
    finally:
        chrome.quit()


def test_serve_stops_on_sigint_leaving_no_process_and_no_file_outside_its_run_folder(model_dir, tmp_path):
    require(java_present(), f"no Java for MXNet Model Server's frontend: {JAVA_HINT}")
    private_tmp, cwd_files = tmp_path / "tmp", set(os.listdir("."))
    private_tmp.mkdir()
    hsperf = {path.name for path in Path("/tmp").glob("hsperfdata_*/*")}
    served = Served(model_dir, private_tmp / "run", env=dict(os.environ, TMPDIR=str(private_tmp))).wait_ready()
    started = served.processes()
    assert len(started) >= 4, [p.info if hasattr(p, "info") else p.pid for p in started]
    assert served.stop() == 0
    assert [p.pid for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    assert sorted(os.listdir(private_tmp)) == ["run"]
    assert sorted(os.listdir(private_tmp / "run")) == ["config.properties", "logs"]
    assert set(os.listdir(".")) == cwd_files
    assert {path.name for path in Path("/tmp").glob("hsperfdata_*/*")} <= hsperf


def _running(processes):
    """Those of ``processes`` still running (a zombie has ended)."""
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            pass
    return alive


def test_serve_killed_with_sigkill_leaves_no_process_and_frees_both_ports(model_dir, tmp_path):
    require(java_present(), f"no Java for MXNet Model Server's frontend: {JAVA_HINT}")
    served = Served(model_dir, tmp_path / "run").wait_ready()
    descendants = psutil.Process(served.process.pid).children(recursive=True)
    try:
        assert len(descendants) >= 3, descendants                  # keeper, Java, a Python worker
        served.process.kill()                                       # no handler runs: only the keeper acts
        served.process.wait(timeout=10)
        deadline = time.monotonic() + STOP_SECONDS
        while (_running(descendants) or not (_free(served.port) and _free(served.port + 2))) \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _running(descendants) == []
        assert _free(served.port) and _free(served.port + 2)
    finally:
        for process in _running(descendants):
            process.kill()


def test_serve_log_to_console_prints_the_frontends_and_the_workers_log_lines(model_dir, tmp_path):
    require(java_present(), f"no Java for MXNet Model Server's frontend: {JAVA_HINT}")
    served = Served(model_dir, tmp_path / "run", extra=["--log-to-console"]).wait_ready()
    served.stop()
    output = "\n".join(served.lines)
    assert " com.amazonaws.ml.mms.ModelServer - " in output and " crepe handler: crepe loaded" in output, \
        served.lines[:40]


def test_serve_refuses_a_port_in_use_in_one_sentence(model_dir, capsys):
    with socket.socket() as taken:
        port = free_ports()
        taken.bind(("127.0.0.1", port))
        taken.listen()
        assert main(["serve", "--model", str(model_dir), "--port", str(port)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: port {port} on 127.0.0.1 is in use") and error.count("\n") == 1


def test_serve_refuses_without_java_saying_how_to_install_it(model_dir, monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["serve", "--model", str(model_dir), "--port", str(free_ports()), "--run-dir",
                 str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert "needs Java" in error and "openjdk-17-jre-headless" in error and error.count("\n") == 1


def test_serve_refuses_a_damaged_model_directory_in_one_sentence(model_dir, tmp_path, capsys):
    import shutil

    damaged = tmp_path / "damaged"
    shutil.copytree(model_dir, damaged)
    for params in damaged.glob("epoch-*.params"):
        params.write_bytes(params.read_bytes()[:100])
    assert main(["serve", "--model", str(damaged), "--port", str(free_ports()), "--run-dir",
                 str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert "damaged" in error and error.count("\n") == 1


EVIL_HANDLER = """import pathlib
pathlib.Path({marker!r}).write_text("ran")


def handle(data, context):
    return None
"""


def _evil_archive(folder, marker):
    """A .mar whose handler writes ``marker`` when it is imported (the issue's foreign registration)."""
    staging = folder / "evil"
    staging.mkdir()
    (staging / "evil_handler.py").write_text(EVIL_HANDLER.format(marker=str(marker)))
    subprocess.run([sys.executable, "-m", "model_archiver.model_packaging", "--model-name", "evil", "--model-path",
                    str(staging), "--handler", "evil_handler:handle", "--export-path", str(folder)],
                   check=True, capture_output=True, timeout=120)
    return folder / "evil.mar"


def _listening_ports(server):
    """Every TCP port that serve, the model server and its workers listen on."""
    ports = set()
    for process in server.processes():
        try:
            connections = process.net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        ports.update(c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN)
    return ports


def test_serve_registers_no_model_from_a_foreign_request_on_any_tcp_port(server, tmp_path):
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    marker = tmp_path / "evil-ran"
    archive = _evil_archive(tmp_path, marker)
    quiet = type("Quiet", (SimpleHTTPRequestHandler,), {"log_message": lambda *args: None})
    files = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(quiet, directory=str(tmp_path)))
    threading.Thread(target=files.serve_forever, daemon=True).start()
    ports = _listening_ports(server)
    assert ports, "serve listens on no TCP port"
    try:
        for port in sorted(ports):
            url = (f"http://127.0.0.1:{port}/models?url=http://127.0.0.1:{files.server_address[1]}/{archive.name}"
                   "&initial_workers=1&synchronous=true")
            request = urllib.request.Request(url, method="POST", headers={"Origin": "http://evil.example"})
            try:
                urllib.request.urlopen(request, timeout=60).close()
            except (urllib.error.HTTPError, OSError):
                pass
        time.sleep(2)
    finally:
        files.shutdown()
        files.server_close()
    assert not marker.exists(), f"a foreign request registered a model through one of the ports {sorted(ports)}"


def test_serve_refuses_an_archive_of_another_sha256_in_one_sentence(model_dir, tmp_path, capsys):
    require(java_present(), f"no Java for MXNet Model Server's frontend: {JAVA_HINT}")
    from crepe.serving.archive import package

    archive = package(model_dir, tmp_path / "crepe.mar")
    assert main(["serve", "--model", str(archive), "--sha256", "0" * 64, "--port", str(free_ports()), "--run-dir",
                 str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert "given with --sha256" in error and error.count("\n") == 1
