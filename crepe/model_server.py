"""MXNet Model Server as a child process: its configuration, start, model registration and stop.

``multi-model-server`` is a Java frontend (HTTP, batching, queues) that starts Python worker
processes running :mod:`crepe.handler`. Everything it writes goes into one run folder:
``config.properties``, ``logs/`` (``LOG_LOCATION``, ``METRICS_LOCATION``) and ``tmp/`` (``TEMP`` and
``TMPDIR``: unpacked models, sockets, its PID file). It runs in a process group of its own, so that
:meth:`ModelServer.stop` ends the launcher, the Java frontend and every Python worker together.

Batching applies only to a model registered through the management API (:meth:`ModelServer.register`),
never to one loaded at start-up, so the server starts with no model.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .errors import UsageError
from .supervisor import Process, stop

__all__ = ["ServeSettings", "config_properties", "check_port", "find_java", "ModelServer"]

#: MMS's frontend refuses ports from 32767 (Java's Short.MAX_VALUE) up.
MAX_PORT = 32766
#: How to install the Java runtime the frontend needs, by platform.
JAVA_HINT = ("install a Java runtime (Debian/Ubuntu: sudo apt install openjdk-17-jre-headless; "
             "macOS: brew install openjdk@17), or set JAVA_HOME")


@dataclass(frozen=True)
class ServeSettings:
    """How ``python -m crepe serve`` runs the server.

    Parameters
    ----------
    host : str
        Where the inference API listens (the management API always listens on 127.0.0.1).
    port : int
        The inference API's port; the management API takes ``port + 1`` and the demo page ``port + 2``
        unless given.
    batch_size, max_batch_delay : int
        Requests per batch at most, and milliseconds the frontend waits to fill one.
    workers : int
        Python worker processes; each gets ``cores // workers`` threads.
    queue : int
        Requests waiting at most; beyond, the server answers 503.
    max_request_bytes : int
        The largest request body the frontend accepts.
    response_timeout : int
        Seconds a worker may take for a batch before the frontend replaces it. MMS's worker answers
        through a forked child; if that child dies, only this timeout notices.
    """
    host: str = "127.0.0.1"
    port: int = 8080
    management_port: Optional[int] = None
    page_port: Optional[int] = None
    batch_size: int = 16
    max_batch_delay: int = 5
    workers: int = 1
    queue: int = 512
    max_request_bytes: int = 1_000_000
    response_timeout: int = 20

    def __post_init__(self):
        high = max(self.port + 1, self.management_port or 0)
        if high > MAX_PORT:
            raise UsageError(f"--port {self.port} is too high: MXNet Model Server takes ports up to {MAX_PORT}, "
                             f"and uses --port and --port + 1")

    @property
    def ports(self):
        """(inference, management, page) ports."""
        return (self.port, self.management_port or self.port + 1, self.page_port or self.port + 2)

    @property
    def public_host(self):
        """The name a browser on this machine uses for ``host`` (``localhost`` for 0.0.0.0)."""
        return "localhost" if self.host in ("0.0.0.0", "::") else self.host


def config_properties(settings, run_dir, origin, gpus=0):
    """The server's ``config.properties``: addresses, CORS for exactly the page's origin, queues, folders.

    Examples
    --------
    >>> text = config_properties(ServeSettings(), Path("/run"), "http://127.0.0.1:8082")
    >>> [line for line in text.splitlines() if line.startswith(("management", "cors_allowed_origin"))]
    ['management_address=http://127.0.0.1:8081', 'cors_allowed_origin=http://127.0.0.1:8082']
    """
    inference, management, _ = settings.ports
    return "\n".join([
        f"inference_address=http://{settings.host}:{inference}",
        f"management_address=http://127.0.0.1:{management}",
        f"model_store={run_dir / 'model-store'}",
        f"cors_allowed_origin={origin}",
        "cors_allowed_methods=GET, POST, OPTIONS",
        "cors_allowed_headers=Content-Type",
        "default_workers_per_model=1",
        f"job_queue_size={settings.queue}",
        f"max_request_size={settings.max_request_bytes}",
        f"number_of_gpu={gpus}",
        "decode_input_request=false",              # the handler decodes bodies itself (crepe.handler)
        "vmargs=-XX:-UsePerfData -Xmx1g",          # no hsperfdata files outside the run folder
        ""])


def check_port(host, port, what, flag="--port"):
    """Raise UsageError in one sentence if ``host:port`` is taken (by a listening socket).

    Examples
    --------
    >>> with socket.socket() as taken:
    ...     taken.bind(("127.0.0.1", 0)); taken.listen()
    ...     check_port("127.0.0.1", taken.getsockname()[1], "the inference API")
    Traceback (most recent call last):
    ...
    crepe.errors.UsageError: port ... on 127.0.0.1 is in use (wanted for the inference API); stop what ...
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)     # as servers bind: TIME_WAIT is no obstacle
        try:
            probe.bind((host, port))
        except OSError:
            raise UsageError(f"port {port} on {host} is in use (wanted for {what}); stop what uses it, or choose "
                             f"another with {flag}") from None


def find_java():
    """The ``java`` the frontend will run, or UsageError saying how to install one."""
    home = os.environ.get("JAVA_HOME")
    java = shutil.which(f"{home}/bin/java" if home else "java")
    if not java:
        raise UsageError(f"MXNet Model Server needs Java and none was found; {JAVA_HINT}")
    return java


def _server_command():
    """``multi-model-server`` of this Python environment."""
    launcher = Path(sys.executable).with_name("multi-model-server")
    if not launcher.is_file():
        raise UsageError("multi-model-server is not installed in this environment; run `make setup`")
    return [sys.executable, str(launcher)]


class ModelServer:
    """One running ``multi-model-server`` in ``run_dir``, stopped by process group.

    Parameters
    ----------
    run_dir : Path
        The run folder (config, logs, temporary files).
    settings : ServeSettings
    """

    def __init__(self, run_dir, settings):
        self.run_dir, self.settings, self.process = Path(run_dir), settings, None     # a supervisor Process
        self.logs, self.tmp = self.run_dir / "logs", self.run_dir / "tmp"

    def _environment(self):
        threads = max(1, (os.cpu_count() or 1) // self.settings.workers)
        tmp = str(self.tmp)
        return dict(os.environ, TEMP=tmp, TMPDIR=tmp, LOG_LOCATION=str(self.logs), METRICS_LOCATION=str(self.logs),
                    OMP_NUM_THREADS=str(threads))

    def start(self, origin):
        """Write the configuration and start the server (it has no model yet)."""
        find_java()
        for path in (self.logs, self.tmp, self.run_dir / "model-store"):
            path.mkdir(parents=True, exist_ok=True)
        config = self.run_dir / "config.properties"
        config.write_text(config_properties(self.settings, self.run_dir, origin), encoding="utf-8")
        command = [*_server_command(), "--start", "--foreground", "--mms-config", str(config)]
        with open(self.logs / "server.out", "ab") as out:
            popen = subprocess.Popen(command, cwd=self.run_dir, env=self._environment(), stdout=out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.process = Process("model server", "server", command, {}, popen=popen)
        return popen.pid

    def url(self, path, management=False):
        host = "127.0.0.1" if management or self.settings.host in ("0.0.0.0", "::") else self.settings.host
        return f"http://{host}:{self.settings.ports[1 if management else 0]}{path}"

    def wait_until_up(self, timeout=120):
        """Block until ``/ping`` answers; UsageError if the server exits or takes longer than ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.process.alive():
                raise UsageError(f"the model server exited at start-up (status {self.process.code()}); "
                                 f"see {self.logs / 'server.out'}")
            try:
                with urllib.request.urlopen(self.url("/ping"), timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise UsageError(f"the model server did not answer within {timeout} s; see {self.logs / 'server.out'}")

    def register(self, name, archive, timeout=300):
        """Register ``archive`` (in the model store) with batching, and wait until its workers are up."""
        query = urllib.parse.urlencode({"url": Path(archive).name, "model_name": name,
                                        "batch_size": self.settings.batch_size,
                                        "max_batch_delay": self.settings.max_batch_delay,
                                        "initial_workers": self.settings.workers, "synchronous": "true",
                                        "response_timeout": self.settings.response_timeout})
        request = urllib.request.Request(self.url(f"/models?{query}", management=True), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout):
                return
        except urllib.error.HTTPError as error:
            try:
                message = json.loads(error.read().decode("utf-8")).get("message", "")
            except ValueError:
                message = ""
            raise UsageError(f"the model server could not load {Path(archive).name} ({message or error.reason}); "
                             f"see {self.logs / 'model_log.log'}") from None

    def alive(self):
        return self.process is not None and self.process.alive()

    def stop(self, grace=10):
        """Stop the launcher, the frontend and the workers (one process group); idempotent.

        :func:`crepe.supervisor.stop`: TERM, then KILL for whatever is left of the group, signalled while
        the launcher is still unreaped, so the group id cannot belong to anyone else yet.
        """
        if self.process is not None:
            stop([self.process], grace)
