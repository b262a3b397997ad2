"""Child processes that never outlive their parent: start each in a group of its own, stop the group.

Three functions hold the plumbing of ``launch`` (its scheduler, servers and workers) and of ``serve``
(MXNet Model Server's Java frontend and its Python workers):

- :func:`lifeline` turns a command line into one that dies with this process. It runs the command
  through this file, which asks Linux (``prctl(PR_SET_PDEATHSIG, SIGKILL)``) to kill it when its
  parent ends, then ``exec``s the command, which keeps the request. So even a ``kill -9`` of the
  parent leaves nothing behind. Linux sends the signal when the *thread* that started the child
  ends: start children from the main thread. It reaches that one process only, not its children.
- :func:`group_keeper` is for a command whose own children must die with it too (``serve``: Java
  starts the Python workers, and a worker outlives a killed Java, as measured on 2026-12-03). This
  file then stays as a small keeper: it asks for SIGTERM when its parent ends, starts the command
  in a process group of its own (the command itself with ``PR_SET_PDEATHSIG, SIGKILL``, should the
  keeper be killed), and on SIGTERM, SIGHUP or SIGINT, or its parent's end, sends SIGTERM to that
  group, then SIGKILL to whatever is left after :data:`GRACE` seconds. When the command exits by
  itself, the keeper kills what it left in the group and exits with its status.
- :func:`stop` ends processes started with ``start_new_session=True``: SIGTERM to each one's process
  group (its own children go with it), then SIGKILL to whatever is left a few seconds later.

Run as a program, this file is the wrapper itself::

    python crepe/processes.py PARENT_PID COMMAND ARGS...            # lifeline
    python crepe/processes.py --group PARENT_PID COMMAND ARGS...    # group keeper
"""
import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Process", "describe_exit", "lifeline", "group_keeper", "stop", "GRACE"]

#: Seconds between SIGTERM and SIGKILL when stopping a process (a worker blocked inside ps-lite never
#: gets back to Python to act on SIGTERM).
GRACE = 3.0
#: ``prctl``'s option that sets the signal a process receives when its parent ends (linux/prctl.h).
PR_SET_PDEATHSIG = 1
#: The signals that make the group keeper stop its group (its parent's end arrives as SIGTERM).
KEEPER_STOPS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


@dataclass
class Process:
    """One process of a job: its name (``worker 1``), role, command line and environment."""
    name: str
    role: str                 # scheduler, server or worker; or what the caller likes
    argv: list
    env: dict
    popen: object = None

    def alive(self):
        return self.popen is not None and self.code() is None

    def code(self):
        """Its exit status (negative: the signal), or None while it runs; the process is left unreaped.

        Unreaped, its PID, and so its process group's id, cannot be given to another process, so that
        :func:`stop` can still signal whatever the group holds without hitting a stranger's group.
        """
        if self.popen.returncode is not None:
            return self.popen.returncode
        try:
            return _exited(self.popen.pid)
        except ChildProcessError:                 # already reaped elsewhere
            return self.popen.poll()


def describe_exit(code):
    """How a process ended, in words.

    Examples
    --------
    >>> describe_exit(-9), describe_exit(2)
    ('exited with signal 9', 'exited with status 2')
    """
    return f"exited with signal {-code}" if code < 0 else f"exited with status {code}"


def lifeline(argv):
    """``argv`` run so that it is killed (SIGKILL) as soon as this process ends, however it ends.

    Linux only: elsewhere ``argv`` comes back unchanged, and a killed parent leaves its children running.

    Examples
    --------
    >>> wrapped = lifeline(["sleep", "1"])
    >>> wrapped[-2:] == ["sleep", "1"] and (sys.platform != "linux" or wrapped[3].endswith("processes.py"))
    True
    """
    if sys.platform != "linux":
        return list(argv)
    # -I: not this folder on sys.path (its modules would shadow none, but nothing to trust); -S: no site
    return [sys.executable, "-I", "-S", str(Path(__file__).resolve()), str(os.getpid()), *argv]


def group_keeper(argv):
    """``argv`` run in a process group of its own, which a keeper kills, whole, as soon as this process ends.

    Linux only: elsewhere ``argv`` comes back unchanged. Start the result with ``start_new_session=True``;
    :func:`stop` on it (SIGTERM to the keeper) then stops the command's whole group within :data:`GRACE` s.

    Examples
    --------
    >>> kept = group_keeper(["sleep", "1"])
    >>> kept[-2:] == ["sleep", "1"] and (sys.platform != "linux" or kept[4:6] == ["--group", str(os.getpid())])
    True
    """
    if sys.platform != "linux":
        return list(argv)
    return [sys.executable, "-I", "-S", str(Path(__file__).resolve()), "--group", str(os.getpid()), *argv]


def _die_with_parent(parent, signum=signal.SIGKILL):
    """Ask Linux for ``signum`` when the parent ends; exit now if ``parent`` has already ended."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:                    # the parent ended before the request was made
        os._exit(128 + signal.SIGKILL)


def _exited(pid):
    """The exit status of child ``pid`` (negative: the signal) once it has ended, else None; left unreaped."""
    info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    if info is None:
        return None
    return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status


def _keep_group(parent, argv, grace=GRACE):
    """Run ``argv`` in a group of its own until it exits or a stop signal comes; kill the group; its status."""
    _die_with_parent(parent, signal.SIGTERM)
    stopping = []
    for signum in KEEPER_STOPS:
        signal.signal(signum, lambda number, frame: stopping.append(number))
    child = subprocess.Popen(argv, process_group=0, preexec_fn=lambda: _die_with_parent(os.getppid()))
    while not stopping and _exited(child.pid) is None:
        time.sleep(0.1)
    if stopping:
        _killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while _exited(child.pid) is None and time.monotonic() < deadline:
            time.sleep(0.05)
    _killpg(child.pid, signal.SIGKILL)            # unreaped: the group id is still the command's
    code = child.wait()
    return code if code >= 0 else 128 - code


def _killpg(group, signum):
    try:
        os.killpg(group, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_group(process, signum):
    _killpg(process.popen.pid, signum)                # its own session: the group is its id


def stop(processes, grace=GRACE):
    """Stop every process still running: SIGTERM, then SIGKILL after ``grace`` seconds; wait for each.

    Each process was started with ``start_new_session=True``, so that its group is its id; a group is
    signalled only while its leader is unreaped, when the id cannot belong to anyone else.

    Examples
    --------
    >>> import subprocess
    >>> p = Process("nap", "test", ["sleep", "30"], {})
    >>> p.popen = subprocess.Popen(p.argv, start_new_session=True)
    >>> stop([p], grace=1.0); p.popen.returncode
    -15
    """
    started = [p for p in processes if p.popen is not None]
    for process in started:
        if process.alive():
            _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(p.alive() for p in started) and time.monotonic() < deadline:
        time.sleep(0.05)
    for process in started:
        if process.popen.returncode is None:          # unreaped: the group id is still this job's
            _signal_group(process, signal.SIGKILL)    # also what a dead process may have left behind
        process.popen.wait()


if __name__ == "__main__":
    if sys.argv[1] == "--group":
        sys.exit(_keep_group(int(sys.argv[2]), sys.argv[3:]))
    _die_with_parent(int(sys.argv[1]))
    os.execvp(sys.argv[2], sys.argv[2:])
