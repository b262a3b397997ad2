"""Watching the processes of one job: start them, prefix their output, stop them all on the first failure.

A parameter-server job hangs when one of its processes dies: the other workers wait for its gradients,
the servers and the scheduler for its messages, and none of them says anything (ps-lite's heartbeats
did not report the dead node, tried with mxnet 1.9.1). :func:`supervise` therefore watches every
process it started, and as soon as one fails (or a non-worker ends before the workers have) it stops
the others, each by its process group (its own session: the DataLoader workers it forked go with it),
politely (SIGTERM) and then for sure (SIGKILL) a few seconds later. Ctrl-C and ``kill`` of the
supervisor stop them the same way.
"""
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

__all__ = ["Process", "describe_exit", "supervise", "stop"]

#: Seconds between SIGTERM and SIGKILL when stopping a process (a worker blocked inside ps-lite never
#: gets back to Python to act on SIGTERM).
GRACE = 3.0
#: Seconds the scheduler and servers get to end on their own once every worker has succeeded.
LINGER = 20.0
#: Seconds the workers get to finish once the scheduler or a server has ended by itself (at the end of a
#: job they end together, in no fixed order).
SETTLE = 15.0
#: Seconds between two looks at the processes.
POLL = 0.2

_WRITING = threading.Lock()
_OPEN = {"prefix": None}      # whose progress-bar redraw the terminal's current line holds, if anyone's


@dataclass
class Process:
    """One process of a job: its name (``worker 1``), role, command line and environment."""
    name: str
    role: str                 # scheduler, server or worker
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
            info = os.waitid(os.P_PID, self.popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:                 # already reaped elsewhere
            return self.popen.poll()
        if info is None:
            return None
        return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status


def describe_exit(code):
    """How a process ended, in words.

    Examples
    --------
    >>> describe_exit(-9), describe_exit(2)
    ('exited with signal 9', 'exited with status 2')
    """
    return f"exited with signal {-code}" if code < 0 else f"exited with status {code}"


def _forward(stream, prefix, out):
    """Copy a process's output to ``out``, ``prefix`` before every line; a progress bar's redraws
    (segments ending in a carriage return) stay redraws."""
    pending = b""
    while True:
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            break
        pending += chunk
        while True:
            ends = [i for i in (pending.find(b"\n"), pending.find(b"\r")) if i >= 0]
            if not ends:
                break
            cut = min(ends) + 1
            segment, pending = pending[:cut].decode("utf-8", "replace"), pending[cut:]
            with _WRITING:
                if _OPEN["prefix"] not in (None, prefix):
                    out.write("\n")                   # another process's redraw is on this line: leave it there
                out.write(segment if segment == "\r" else prefix + segment)
                out.flush()
                _OPEN["prefix"] = prefix if segment.endswith("\r") else None
    if pending:
        with _WRITING:
            out.write(prefix + pending.decode("utf-8", "replace") + "\n")
            out.flush()
    stream.close()


def _start(process, out):
    process.popen = subprocess.Popen(process.argv, env=process.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
    with _WRITING:
        out.write(f"{process.name}: pid {process.popen.pid}\n")
        out.flush()
    thread = threading.Thread(target=_forward, args=(process.popen.stdout, f"[{process.name}] ", out), daemon=True)
    thread.start()
    return thread


def _signal_group(process, signum):
    try:
        os.killpg(process.popen.pid, signum)          # its own session: the group is its id
    except (ProcessLookupError, PermissionError):
        pass


def stop(processes, grace=GRACE):
    """Stop every process still running: SIGTERM, then SIGKILL after ``grace`` seconds; wait for each."""
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


def _failure(processes, ended):
    """The first process whose end means the job has failed, and how it ended; (None, None) if none.

    ``ended`` maps the scheduler and servers that have exited with status 0 to when they were seen to.
    """
    workers_done = all(p.code() == 0 for p in processes if p.role == "worker")
    for process in processes:
        code = process.code()
        if code is None:
            continue
        if code != 0:
            return process, describe_exit(code)
        if process.role != "worker" and not workers_done:
            since = ended.setdefault(process.name, time.monotonic())
            if time.monotonic() - since > SETTLE:
                return process, f"exited while the workers were still running ({SETTLE:g} s later)"
    return None, None


def supervise(processes, timeout=None, out=None):
    """Start ``processes``, print ``name: pid P`` for each, and watch them until the job ends.

    Returns
    -------
    (int, str or None)
        0 and None when every worker succeeded (the scheduler and servers then end on their own, or are
        stopped after :data:`LINGER` seconds); otherwise 1 and a sentence naming the process at fault.
    """
    out = out or sys.stdout
    began, readers, ended = time.monotonic(), [], {}
    try:
        for process in processes:
            readers.append(_start(process, out))
        while True:
            process, how = _failure(processes, ended)
            if process is not None:
                stop(processes)
                return 1, f"{process.name} {how}; stopped the other processes"
            if all(p.code() == 0 for p in processes if p.role == "worker"):
                deadline = time.monotonic() + LINGER
                while any(p.alive() for p in processes) and time.monotonic() < deadline:
                    time.sleep(POLL)
                return 0, None
            if timeout is not None and time.monotonic() - began > timeout:
                stop(processes)
                return 1, f"the job was still running after {timeout:g} s; stopped every process"
            time.sleep(POLL)
    finally:
        stop(processes)
        for reader in readers:
            reader.join(timeout=2)
