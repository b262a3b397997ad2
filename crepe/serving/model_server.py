"""MXNet Model Server as a child process: its configuration, start, model registration and stop.

``multi-model-server`` is a Java frontend (HTTP, batching, queues) that starts Python worker
processes running :mod:`crepe.serving.handler`. Everything it writes goes into one run folder, readable by
this user only (0700): ``config.properties``, ``logs/`` (``LOG_LOCATION``, ``METRICS_LOCATION``) and
``tmp/`` (``TEMP`` and ``TMPDIR``: unpacked models, sockets). The Java frontend starts directly
(:func:`frontend_command`: the command line MMS's launcher, ``multi-model-server``, would build), under a
group keeper (:func:`crepe.processes.group_keeper`): the frontend and every Python worker it starts live in
one process group, which dies whole when ``serve`` ends, even by ``kill -9``, or when
:meth:`ModelServer.stop` asks. The launcher would start Java as a child of its own, out of a lifeline's
reach, and a Python worker outlives a killed Java.

With ``console=True`` the frontend's log lines (its own, the workers' ``MODEL_LOG`` and the access log)
go to this process's stdout instead of files (:data:`CONSOLE_LOG4J2`); the metrics stay in ``logs/``.

The management API has no authentication, and MMS downloads a model from any URL it is given: on
TCP, any local user, and any web page (a POST without a body needs no CORS preflight), could make it
run code. So it listens on a Unix socket inside the run folder (``management_address=unix:...`` with
``use_native_io=true``), and :class:`ManagementClient` talks HTTP over that socket. Only the
predictions API listens on TCP.

Batching applies only to a model registered through the management API (:meth:`ModelServer.register`),
never to one loaded at start-up, so the server starts with no model.
"""
import errno
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import UsageError
from ..processes import Process, group_keeper, stop
from .management import ManagementClient

__all__ = ["ServeSettings", "config_properties", "frontend_command", "CONSOLE_LOG4J2", "check_port", "find_java",
           "ModelServer"]

#: MMS's frontend refuses ports from 32767 (Java's Short.MAX_VALUE) up.
MAX_PORT = 32766
#: How to install the Java runtime the frontend needs, by platform.
#: The management socket's name inside the run folder's ``tmp/``; a Unix socket path has at most 107 bytes.
MANAGEMENT_SOCKET, MAX_SOCKET_PATH = "management.sock", 107
#: The frontend's JVM options (MMS's launcher reads them from config.properties' ``vmargs``).
VMARGS = "-XX:-UsePerfData -Xmx1g"         # no hsperfdata files outside the run folder
#: The frontend's main class, and its jars relative to the folder that holds the ``mms`` package.
FRONTEND_CLASS, FRONTEND_JARS = "com.amazonaws.ml.mms.ModelServer", "mms/frontend/*"
#: log4j2's configuration for ``serve --log-to-console``: what MMS 1.1.11's own log4j2.xml (in
#: model-server.jar) sends to files goes to stdout, at level info; only the metrics stay in files.
CONSOLE_LOG4J2 = """<?xml version="1.0" encoding="UTF-8"?>
<Configuration>
    <Appenders>
        <Console name="STDOUT" target="SYSTEM_OUT">
            <PatternLayout pattern="%d{ISO8601} [%-5p] %t %c - %m%n"/>
        </Console>
        <File name="model_metrics" fileName="${env:METRICS_LOCATION:-logs}/model_metrics.log">
            <PatternLayout pattern="%d{ISO8601} - %m%n"/>
        </File>
        <File name="mms_metrics" fileName="${env:METRICS_LOCATION:-logs}/mms_metrics.log">
            <PatternLayout pattern="%d{ISO8601} - %m%n"/>
        </File>
    </Appenders>
    <Loggers>
        <Logger name="io.netty" level="error"/>
        <Logger name="org.apache" level="off"/>
        <Logger name="MODEL_METRICS" level="all" additivity="false"><AppenderRef ref="model_metrics"/></Logger>
        <Logger name="MMS_METRICS" level="all" additivity="false"><AppenderRef ref="mms_metrics"/></Logger>
        <Root level="info"><AppenderRef ref="STDOUT"/></Root>
    </Loggers>
</Configuration>
"""
JAVA_HINT = ("install a Java runtime (Debian/Ubuntu: sudo apt install openjdk-17-jre-headless; "
             "macOS: brew install openjdk@17), or set JAVA_HOME")


@dataclass(frozen=True)
class ServeSettings:
    """How ``python -m crepe serve`` runs the server.

    Parameters
    ----------
    host : str
        Where the predictions API and the demo page listen (the management API is a Unix socket).
    port : int
        The predictions API's port; the demo page takes ``port + 2`` unless given.
    page_port : int, optional
    batch_size, max_batch_delay : int
        Requests per batch at most, and milliseconds the frontend waits to fill one.
    workers : int
        Python worker processes; each gets ``cores // workers`` threads.
    queue : int
        Requests waiting at most; beyond, the server answers 503.
    max_request_bytes : int
        The largest request body the frontend accepts: above the handler's own limit
        (:data:`crepe.serving.handler.MAX_BODY_BYTES`), so that the handler answers 413 in a sentence.
    response_timeout : int
        Seconds a worker may take for a batch before the frontend replaces it. MMS's worker answers
        through a forked child; if that child dies, only this timeout notices.
    """
    host: str = "127.0.0.1"
    port: int = 8080
    page_port: Optional[int] = None
    batch_size: int = 16
    max_batch_delay: int = 5
    workers: int = 1
    queue: int = 512
    max_request_bytes: int = 4_000_000
    response_timeout: int = 20

    def __post_init__(self):
        if ":" in self.host:
            raise UsageError(f"--host {self.host}: MXNet Model Server 1.1.11 cannot listen on an IPv6 address; give "
                             "0.0.0.0 for every IPv4 address, or a host name")
        if self.port > MAX_PORT:
            raise UsageError(f"--port {self.port} is too high: MXNet Model Server takes ports up to {MAX_PORT}")

    @property
    def ports(self):
        """(predictions, page) ports."""
        return (self.port, self.page_port or self.port + 2)

    @property
    def public_host(self):
        """The name a browser on this machine uses for ``host`` (``localhost`` for 0.0.0.0)."""
        return "localhost" if self.host == "0.0.0.0" else self.host


def management_socket(run_dir):
    """The management API's Unix socket in ``run_dir``, or UsageError if its path is too long for one.

    Examples
    --------
    >>> management_socket(Path("/run"))
    PosixPath('/run/tmp/management.sock')
    """
    path = Path(run_dir) / "tmp" / MANAGEMENT_SOCKET
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise UsageError(f"the run folder {run_dir} is too deep for a Unix socket ({MAX_SOCKET_PATH} bytes at "
                         "most); choose a shorter --run-dir")
    return path


def config_properties(settings, run_dir, gpus=0):
    """The server's ``config.properties``: addresses, queues, folders; management on a Unix socket.

    No CORS setting: the demo page reaches predictions through its own server (crepe.serving.page_server), so
    no browser origin is allowed to read the model server's answers.

    Examples
    --------
    >>> text = config_properties(ServeSettings(), Path("/run"))
    >>> [line for line in text.splitlines() if line.startswith(("management", "use_native", "inference"))]
    ['inference_address=http://127.0.0.1:8080', 'management_address=unix:/run/tmp/management.sock', \
'use_native_io=true']
    """
    return "\n".join([
        f"inference_address=http://{settings.host}:{settings.port}",
        f"management_address=unix:{management_socket(run_dir)}",
        "use_native_io=true",                      # MMS needs epoll for a Unix socket
        f"model_store={run_dir / 'model-store'}",
        "default_workers_per_model=1",
        f"job_queue_size={settings.queue}",
        f"max_request_size={settings.max_request_bytes}",
        f"number_of_gpu={gpus}",
        "decode_input_request=false",              # the handler decodes bodies itself (crepe.serving.handler)
        f"vmargs={VMARGS}",                        # for MMS's launcher; serve passes them itself
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
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)     # as servers bind: TIME_WAIT is no obstacle
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise UsageError(f"cannot listen on {host} port {port} ({error.strerror or error}); check --host") \
                    from None
            raise UsageError(f"port {port} on {host} is in use (wanted for {what}); stop what uses it, or choose "
                             f"another with {flag}") from None


def find_java():
    """The ``java`` the frontend will run, or UsageError saying how to install one."""
    home = os.environ.get("JAVA_HOME")
    java = shutil.which(f"{home}/bin/java" if home else "java")
    if not java:
        raise UsageError(f"MXNet Model Server needs Java and none was found; {JAVA_HINT}")
    return java


def frontend_command(java, mms_home, python, config, tmp_dir, vmargs=VMARGS, log_config=None):
    """The Java frontend's command line, as MMS 1.1.11's launcher (``mms/model_server.py``) builds it.

    Parameters
    ----------
    java : str
    mms_home : Path
        The folder that holds the ``mms`` package (site-packages).
    python : str
        The Python the frontend runs its workers with.
    config, tmp_dir : Path
        ``config.properties``, and ``java.io.tmpdir``.
    vmargs : str
        JVM options (config.properties' ``vmargs``).
    log_config : Path, optional
        A log4j2 configuration in place of the one inside model-server.jar.

    Examples
    --------
    >>> frontend_command("java", Path("/sp"), "/py", Path("/run/config.properties"), Path("/run/tmp"), "-Xmx1g",
    ...                  Path("/run/log4j2.xml"))     # doctest: +NORMALIZE_WHITESPACE
    ['java', '-Dmodel_server_home=/sp', '-Dlog4j.configurationFile=file:///run/log4j2.xml',
     '-Djava.io.tmpdir=/run/tmp', '-Xmx1g', '-cp', '.:/sp/mms/frontend/*', 'com.amazonaws.ml.mms.ModelServer',
     '--python', '/py', '-f', '/run/config.properties']
    """
    command = [java, f"-Dmodel_server_home={mms_home}"]
    if log_config is not None:
        command.append(f"-Dlog4j.configurationFile=file://{log_config}")
    command.append(f"-Djava.io.tmpdir={tmp_dir}")
    command += [word for word in vmargs.split()
                if log_config is None or not word.startswith("-Dlog4j.configurationFile=")]
    return [*command, "-cp", f".:{Path(mms_home) / FRONTEND_JARS}", FRONTEND_CLASS, "--python", python,
            "-f", str(config)]


def mms_home():
    """The folder that holds the ``mms`` package of this environment, or UsageError if it has none."""
    import importlib.util

    spec = importlib.util.find_spec("mms")
    if spec is None or spec.origin is None:
        raise UsageError("multi-model-server is not installed in this environment; run `make setup`")
    return Path(spec.origin).resolve().parent.parent


class ModelServer:
    """One running ``multi-model-server`` in ``run_dir``, stopped by process group.

    Parameters
    ----------
    run_dir : Path
        The run folder (config, logs, temporary files); private to this user (0700).
    settings : ServeSettings
    console : bool
        The frontend's and the workers' log lines to this process's stdout (:data:`CONSOLE_LOG4J2`), not
        to files in ``logs/``.
    """

    def __init__(self, run_dir, settings, console=False):
        self.run_dir, self.settings, self.process = Path(run_dir), settings, None     # a supervisor Process
        self.console = console
        self.logs, self.tmp = self.run_dir / "logs", self.run_dir / "tmp"
        self.management = ManagementClient(management_socket(self.run_dir))

    def _environment(self):
        threads = max(1, (os.cpu_count() or 1) // self.settings.workers)
        tmp = str(self.tmp)
        return dict(os.environ, TEMP=tmp, TMPDIR=tmp, LOG_LOCATION=str(self.logs), METRICS_LOCATION=str(self.logs),
                    OMP_NUM_THREADS=str(threads))

    def start(self):
        """Write the configuration and start the server (it has no model yet); what it creates is private."""
        find_java()
        self.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.run_dir.chmod(0o700)
        for path in (self.logs, self.tmp, self.run_dir / "model-store"):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        config = self.run_dir / "config.properties"
        config.write_text(config_properties(self.settings, self.run_dir), encoding="utf-8")
        log_config = None
        if self.console:
            log_config = self.run_dir / "log4j2.xml"
            log_config.write_text(CONSOLE_LOG4J2, encoding="utf-8")
        command = group_keeper(frontend_command(find_java(), mms_home(), sys.executable, config, self.tmp,
                                                log_config=log_config))
        with open(self.logs / "server.out", "ab") as out:
            output = {} if self.console else {"stdout": out, "stderr": subprocess.STDOUT}
            popen = subprocess.Popen(command, cwd=self.run_dir, env=self._environment(), umask=0o077,
                                     stdin=subprocess.DEVNULL, start_new_session=True, **output)
        self.process = Process("model server", "server", command, {}, popen=popen)
        return popen.pid

    @property
    def output(self):
        """Where the frontend's own output goes, in words."""
        return "the server's lines above" if self.console else str(self.logs / "server.out")

    @property
    def model_log(self):
        """Where the workers' log lines go, in words."""
        return "the server's lines above" if self.console else str(self.logs / "model_log.log")

    @property
    def address(self):
        """``host:port`` of the predictions API, as this machine reaches it."""
        host = "127.0.0.1" if self.settings.host == "0.0.0.0" else self.settings.host
        return f"{host}:{self.settings.port}"

    def url(self, path):
        """A URL of the predictions API, as this machine reaches it."""
        return f"http://{self.address}{path}"

    def wait_until_ready(self, name, timeout=120):
        """Block until model ``name`` has a ready worker; UsageError if the server exits or it takes too long."""
        deadline = time.monotonic() + timeout
        while self.management.ready_workers(name) == 0:
            if not self.process.alive() or time.monotonic() > deadline:
                raise UsageError(f"model {name} has no ready worker (after {timeout} s at most); see "
                                 f"{self.model_log}")
            time.sleep(0.3)

    def wait_until_up(self, timeout=120):
        """Block until the management socket answers; UsageError if the server exits or takes too long."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.process.alive():
                raise UsageError(f"the model server exited at start-up (status {self.process.code()}); "
                                 f"see {self.output}")
            try:
                if self.management.request("GET", "/models", timeout=2)[0] == 200:
                    return
            except OSError:
                time.sleep(0.3)
        raise UsageError(f"the model server did not answer within {timeout} s; see {self.output}")

    def register(self, name, archive, timeout=300):
        """Register ``archive`` (in the model store) with batching, and wait until its workers are up."""
        query = urllib.parse.urlencode({"url": Path(archive).name, "model_name": name,
                                        "batch_size": self.settings.batch_size,
                                        "max_batch_delay": self.settings.max_batch_delay,
                                        "initial_workers": self.settings.workers, "synchronous": "true",
                                        "response_timeout": self.settings.response_timeout})
        try:
            status, answer = self.management.request("POST", f"/models?{query}", timeout)
        except OSError as error:
            raise UsageError(f"the model server's management socket did not answer ({error}); see "
                             f"{self.logs / 'server.out'}") from None
        if status != 200:
            message = answer.get("message", "") if isinstance(answer, dict) else ""
            raise UsageError(f"the model server could not load {Path(archive).name} ({message or status}); "
                             f"see {self.model_log}")

    def alive(self):
        return self.process is not None and self.process.alive()

    def stop(self, grace=10):
        """Stop the frontend and the workers; idempotent.

        :func:`crepe.processes.stop` sends TERM to the group keeper, which stops the frontend's group
        (TERM, then KILL after :data:`crepe.processes.GRACE` s) and exits; ``grace`` must exceed that.
        """
        if self.process is not None:
            stop([self.process], grace)
