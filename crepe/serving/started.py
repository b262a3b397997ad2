"""Servers started from Python for notebook 07, and stopped by their PID: ``crepe serve`` and a bare MMS.

Every wait is bounded; every process started here runs in a session of its own and is stopped by its
PID (its process group), by the caller or at the latest when Python exits.

- :func:`free_ports` finds ports in a row that nothing listens on at 127.0.0.1;
- :class:`CrepeServe` is ``python -m crepe serve`` on free ports;
- :func:`native_config` and :func:`server_environment` are what MMS reads at start (its
  ``config.properties``; ``TEMP``, ``TMPDIR``, ``LOG_LOCATION``, ...);
- :class:`NativeServer` is ``multi-model-server --start --foreground`` with that configuration, written in
  the open, for the notebook's "by hand" section.
"""
import atexit
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..errors import UsageError
from ..processes import Process, stop
from .model_server import MAX_PORT, find_java

__all__ = ["WAIT", "FIRST_PORT", "free_ports", "CrepeServe", "native_config", "server_environment", "NativeServer"]

#: Seconds any start-up waits at most (the frontend, then a worker loading MXNet and the model).
WAIT = 180
#: The first port tried: clear of the usual 8080-8082, below MMS's highest (32766).
FIRST_PORT = 18000


def _free(port, host="127.0.0.1"):
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
            return True
        except OSError:
            return False


def free_ports(count=1, start=FIRST_PORT):
    """The first port from ``start`` with ``count`` free ports in a row on 127.0.0.1 (MMS takes none above 32766).

    Examples
    --------
    >>> base = free_ports(3)
    >>> FIRST_PORT <= base <= MAX_PORT - 3
    True
    """
    for base in range(start, MAX_PORT - count + 1, count):
        if all(_free(base + i) for i in range(count)):
            return base
    raise UsageError(f"no {count} free ports in a row on 127.0.0.1 between {start} and {MAX_PORT}")


def _group_processes(pid):
    """PIDs still running in process group ``pid``, zombies left out (``ps``; empty where it is missing).

    Examples
    --------
    >>> _group_processes(os.getpgid(0)) != []
    True
    """
    try:
        listing = subprocess.run(["ps", "-e", "-o", "pid=,pgid=,stat="], capture_output=True, text=True,
                                 timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    rows = [line.split() for line in listing.splitlines() if line.strip()]
    return [int(row[0]) for row in rows if int(row[1]) == pid and not row[2].startswith("Z")]


class _Started:
    """A command started in a session of its own (its group is its PID), stopped by that PID at the latest
    when Python exits."""

    def __init__(self, name, command, log=None, env=None, cwd=None):
        self.lines = []
        out = open(log, "ab") if log else subprocess.PIPE
        popen = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True, env=env, cwd=cwd)
        if log:
            out.close()
        else:
            threading.Thread(target=self._read, args=(popen.stdout,), daemon=True).start()
        self.process = Process(name, "notebook", list(map(str, command)), {}, popen=popen)
        self.pid = popen.pid
        atexit.register(self.stop)

    def _read(self, stream):
        for line in stream:
            self.lines.append(line.decode("utf-8", "replace").rstrip("\n"))

    def alive(self):
        return self.process.alive()

    def left(self):
        """PIDs still running of this command's process group and of everything it started (in a session of
        its own or not): the launcher, Java, the Python workers."""
        import psutil

        found = set(_group_processes(self.pid))
        try:
            for process in psutil.Process(self.pid).children(recursive=True):
                if process.status() != psutil.STATUS_ZOMBIE:
                    found.add(process.pid)
            if self.process.popen.returncode is None:
                found.add(self.pid)
        except psutil.NoSuchProcess:
            pass
        return sorted(found)

    def stop(self, grace=15):
        """SIGTERM to the group, SIGKILL to whatever is left after ``grace`` s; the exit status. Idempotent.

        The launcher may end before Java and the workers it started: they got the SIGTERM too, and are
        waited for (at most ``grace`` s more), then killed by their PIDs.
        """
        stop([self.process], grace)
        deadline = time.monotonic() + grace
        while self.left() and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in self.left():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return self.process.popen.returncode


class CrepeServe(_Started):
    """``python -m crepe serve --model MODEL`` on three free ports from 18000, in a run folder of its own.

    ``wait_ready()`` blocks (at most ``WAIT`` s) until it printed its URLs; ``stop()`` sends Ctrl-C
    (SIGINT) to it by PID, as you would in a terminal, then TERM/KILL to the group if it does not end.

    Parameters
    ----------
    model : Path
        A model directory or an archive.
    run_dir : Path
        A new folder for the server's configuration and logs.
    *options : str
        More options of ``crepe serve`` (``"--batch-size", 1``).
    """

    def __init__(self, model, run_dir, *options):
        self.port, self.run_dir = free_ports(3), Path(run_dir)
        super().__init__("crepe serve", [sys.executable, "-m", "crepe", "serve", "--model", str(model),
                                         "--port", str(self.port), "--run-dir", str(self.run_dir),
                                         *map(str, options)])

    def wait_ready(self, timeout=WAIT):
        """Block until serve printed both URLs; then ``predictions`` and ``page`` hold them. Itself."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            urls = dict(re.findall(r"^(predictions|demo page): (\S+)$", "\n".join(self.lines), re.M))
            if len(urls) == 2:
                self.predictions, self.page = urls["predictions"], urls["demo page"]
                return self
            if not self.alive():
                raise UsageError(f"crepe serve exited with status {self.process.code()}: {self.lines[-3:]}")
            time.sleep(0.2)
        self.stop()
        raise UsageError(f"crepe serve printed no URLs within {timeout} s: {self.lines[-3:]}")

    def printed(self, folder=None):
        """What serve printed, with this machine's ports (and ``folder``, as WORK) replaced by names."""
        text = "\n".join(self.lines)
        if folder:
            text = text.replace(str(folder), "WORK")
        return text.replace(f":{self.port + 2}/", ":PAGE_PORT/").replace(f":{self.port}/", ":PORT/")

    def stop(self, grace=60):
        """Ctrl-C by PID and wait up to ``grace`` s; then as :meth:`_Started.stop`. Serve's exit status."""
        popen = self.process.popen
        if popen.returncode is None and popen.poll() is None:
            popen.send_signal(2)                                   # SIGINT: Ctrl-C
            try:
                popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        return super().stop(grace=5)


def native_config(port, socket_path, store):
    """A ``config.properties`` for MMS: predictions on 127.0.0.1:``port``, management on a Unix socket.

    Examples
    --------
    >>> print(native_config(18000, "/run/mms.sock", "/run/store"))   # doctest: +NORMALIZE_WHITESPACE
    inference_address=http://127.0.0.1:18000
    management_address=unix:/run/mms.sock
    use_native_io=true
    model_store=/run/store
    decode_input_request=false
    default_workers_per_model=1
    vmargs=-Xmx1g -XX:-UsePerfData
    """
    return "\n".join([f"inference_address=http://127.0.0.1:{port}",
                      f"management_address=unix:{socket_path}",
                      "use_native_io=true",
                      f"model_store={store}",
                      "decode_input_request=false",
                      "default_workers_per_model=1",
                      "vmargs=-Xmx1g -XX:-UsePerfData"]) + "\n"


def server_environment(folder, threads=None):
    """The variables MMS reads at start, each pointing into ``folder``; ``OMP_NUM_THREADS`` first when given.

    ``TEMP`` is the Java frontend's temporary folder (its workers' sockets); ``TMPDIR`` the launcher's,
    where it keeps ``.model_server.pid`` (Python's ``tempfile`` prefers ``TMPDIR`` to ``TEMP``, and
    macOS always sets it). Two servers sharing either clash, so each gets its own. ``threads`` is
    MXNet's thread count in every worker.

    Examples
    --------
    >>> server_environment("/run/mms", threads=1)   # doctest: +NORMALIZE_WHITESPACE
    {'OMP_NUM_THREADS': '1', 'TEMP': '/run/mms/tmp', 'TMPDIR': '/run/mms/tmp', 'LOG_LOCATION': '/run/mms/logs',
     'METRICS_LOCATION': '/run/mms/logs'}
    """
    folder = Path(folder)
    threads = {"OMP_NUM_THREADS": str(threads)} if threads else {}
    return {**threads, "TEMP": str(folder / "tmp"), "TMPDIR": str(folder / "tmp"),
            "LOG_LOCATION": str(folder / "logs"), "METRICS_LOCATION": str(folder / "logs")}


class NativeServer(_Started):
    """``multi-model-server --start --foreground --mms-config CONFIG --model-store STORE``, as typed.

    The configuration is written to ``folder/config.properties`` (:func:`native_config`); the logs go
    to ``folder/logs``; it runs in ``folder`` with :func:`server_environment`. ``command`` is the whole
    line an attendee types, folder and variables included (``multi-model-server`` is on the PATH of the
    environment). ``wait_until_up()`` blocks until the management socket answers.

    Parameters
    ----------
    folder : Path
        A folder for the configuration, the socket and the logs; its path must be short (a Unix
        socket's path has at most 107 bytes).
    store : Path
        The model store, where the ``.mar`` files are.
    threads : int, optional
        ``OMP_NUM_THREADS`` for every worker; by default the workers inherit this process's.
    """

    def __init__(self, folder, store, threads=None):
        find_java()
        self.folder, self.store = Path(folder), Path(store)
        self.port = free_ports(1)
        self.socket = self.folder / "management.sock"
        if len(os.fsencode(self.socket)) > 100:
            raise UsageError(f"the folder {folder} is too deep for a Unix socket; choose a shorter one")
        self.config = self.folder / "config.properties"
        (self.folder / "logs").mkdir(parents=True, exist_ok=True)
        (self.folder / "tmp").mkdir(exist_ok=True)
        self.config.write_text(native_config(self.port, self.socket, self.store), encoding="utf-8")
        self.environment = server_environment(self.folder, threads)
        self.command = (f"cd {self.folder} && "
                        + " ".join(f"{name}={value}" for name, value in self.environment.items())
                        + f" multi-model-server --start --foreground --mms-config {self.config} "
                        f"--model-store {self.store}")
        bin_dir = str(Path(sys.executable).parent)
        env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""), **self.environment)
        super().__init__("multi-model-server", [str(Path(bin_dir) / "multi-model-server"), "--start", "--foreground",
                                                "--mms-config", str(self.config), "--model-store", str(self.store)],
                         log=self.folder / "logs" / "server.out", env=env, cwd=self.folder)

    def wait_until_up(self, timeout=WAIT):
        """Block until ``GET /models`` on the management socket answers; UsageError if it exits or is late."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise UsageError(f"multi-model-server exited (status {self.process.code()}); see "
                                 f"{self.folder / 'logs' / 'server.out'}")
            done = subprocess.run(["curl", "-s", "-o", os.devnull, "-w", "%{http_code}", "--max-time", "2",
                                   "--unix-socket", str(self.socket), "http://localhost/models"],
                                  capture_output=True, text=True, timeout=10)
            if done.stdout == "200":
                return self
            time.sleep(0.3)
        self.stop()
        raise UsageError(f"multi-model-server did not answer within {timeout} s; see "
                         f"{self.folder / 'logs' / 'server.out'}")
