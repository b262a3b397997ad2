"""crepe.serving.notebook, .started and .client: notebook 07's plumbing (ports, commands, processes stopped by
PID, curl, requests)."""
import http.server
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from crepe.errors import UsageError
from crepe.serving.model_server import MAX_PORT
from crepe.serving.notebook import (
    NativeServer,
    crepe_lines,
    free_ports,
    native_config,
    post,
    server_environment,
    throughput,
    typed,
)
from crepe.serving.started import _group_processes, _Started
from tests.helpers import java_present, require


class _Echo(http.server.BaseHTTPRequestHandler):
    """Answers a POST {"text": t} with {"predicted": t}; a body without "text" with 400."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status, answer = (200, {"predicted": body["text"]}) if "text" in body else (400, {"error": "no text"})
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def echo():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    thread.join(timeout=10)


def test_free_ports_skips_a_port_in_use():
    port = free_ports(1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        assert free_ports(1, start=port) != port


def test_free_ports_raises_one_sentence_when_none_is_left():
    with pytest.raises(UsageError, match="no 3 free ports in a row"):
        free_ports(3, start=MAX_PORT)


def test_crepe_lines_failure_is_one_sentence():
    with pytest.raises(UsageError, match="`crepe no-such-command` failed"):
        crepe_lines("no-such-command")


def test_crepe_lines_wait_is_bounded():
    with pytest.raises(UsageError, match="ran longer than 0.01 s"):
        crepe_lines("--help", timeout=0.01)


def test_typed_failure_names_the_line_shown():
    with pytest.raises(UsageError, match="`curl SECRET` failed with status 1"):
        typed("false", shown="curl SECRET")


def test_typed_wait_is_bounded():
    started = time.monotonic()
    with pytest.raises(UsageError, match="ran longer than 0.3 s"):
        typed("sleep 30", timeout=0.3)
    assert time.monotonic() - started < 10


def test_post_returns_an_error_status_with_its_answer(echo):
    assert post(echo, {"nothing": 1}) == (400, {"error": "no text"})


def test_throughput_keeps_the_answers_in_order(echo):
    texts = [f"text {i}" for i in range(20)]
    rate, answers = throughput(echo, texts, clients=4)
    assert rate > 0 and [answer["predicted"] for _, answer in answers] == texts


def test_native_config_puts_management_on_a_unix_socket():
    lines = native_config(18000, "/r/m.sock", "/r/store").splitlines()
    assert "management_address=unix:/r/m.sock" in lines and "use_native_io=true" in lines


def test_started_stop_ends_the_whole_process_group():
    started = _Started("two sleeps", ["sh", "-c", "sleep 60 & sleep 60"])
    time.sleep(0.5)
    assert len(started.left()) >= 2
    pid = started.pid
    started.stop(grace=5)
    assert _group_processes(pid) == []


def test_started_is_stopped_when_python_exits(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(os.getcwd())!r})
        from crepe.serving.started import _Started
        started = _Started("sleep", ["sleep", "60"])
        print(started.pid, flush=True)
    """)                                                   # exits without calling stop()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    pid = int(done.stdout.split()[0])
    assert _group_processes(pid) == []


def test_native_server_serves_nothing_and_leaves_nothing(tmp_path):
    require(java_present(), "Java is missing, so MXNet Model Server cannot start")
    (tmp_path / "store").mkdir()
    server = NativeServer(tmp_path / "mms", tmp_path / "store")
    try:
        server.wait_until_up(timeout=120)
        models = typed(f"curl -s --max-time 10 --unix-socket {server.socket} http://localhost/models")
        assert json.loads(models) == {"models": []}
    finally:
        server.stop()
    assert server.left() == [] and _group_processes(server.pid) == []


def test_server_environment_gives_each_server_its_own_temporary_folders():
    one, two = server_environment("/r/one"), server_environment("/r/two")
    assert one["TEMP"] != two["TEMP"] and one["TMPDIR"] != two["TMPDIR"] and "OMP_NUM_THREADS" not in one


def test_native_server_command_shows_every_variable_the_server_got(tmp_path):
    require(java_present(), "Java is missing, so MXNet Model Server cannot start")
    (tmp_path / "store").mkdir()
    server = NativeServer(tmp_path / "mms", tmp_path / "store", threads=1)
    try:
        server.wait_until_up(timeout=120)                  # exec'd: /proc shows the launcher's own environment
        environ = dict(item.split("=", 1) for item in
                       open(f"/proc/{server.pid}/environ", "rb").read().decode().split("\0") if "=" in item)
    finally:
        server.stop()
    assert server.command.startswith(f"cd {tmp_path / 'mms'} && OMP_NUM_THREADS=1 ")
    for name in ("OMP_NUM_THREADS", "TEMP", "TMPDIR", "LOG_LOCATION", "METRICS_LOCATION"):
        assert f"{name}={environ[name]} " in server.command, name


def test_started_stop_waits_for_members_still_exiting(monkeypatch):
    started = _Started("sleep", ["sleep", "60"])
    still_there = iter([[started.pid], [started.pid], []])     # Java and workers take a moment to go
    monkeypatch.setattr(started, "left", lambda: next(still_there, []))
    started.stop(grace=5)
    assert next(still_there, "asked until none was left") == "asked until none was left"
