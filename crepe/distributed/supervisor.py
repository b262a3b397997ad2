"""Watching the processes of one job: start them, prefix their output, stop them all on the first failure.

A parameter-server job hangs when one of its processes dies: the other workers wait for its gradients,
the servers and the scheduler for its messages, and none of them says anything (ps-lite's heartbeats
did not report the dead node, tried with mxnet 1.9.1). :func:`supervise` therefore watches every
process it started, and as soon as one fails (or a non-worker ends before the workers have) it stops
the others, each by its process group (its own session: the DataLoader workers it forked go with it),
politely (SIGTERM) and then for sure (SIGKILL) a few seconds later. Ctrl-C, ``kill`` and a closed
terminal (SIGHUP) stop them the same way, and each runs through :func:`crepe.processes.lifeline`, so
that a ``kill -9`` of the supervisor takes them with it. ps-lite also waits for ever for a process that
never joins: a job whose workers have not all said they joined within ``startup`` seconds is stopped,
naming the ones missing.
"""
import os
import subprocess
import sys
import threading
import time

from ..processes import Process, describe_exit, lifeline, stop  # noqa: F401  (stop: serving imports it from here)

__all__ = ["Process", "describe_exit", "supervise", "stop"]

#: Seconds the scheduler and servers get to end on their own once every worker has succeeded.
LINGER = 20.0
#: Seconds the workers get to finish once the scheduler or a server has ended by itself (at the end of a
#: job they end together, in no fixed order).
SETTLE = 15.0
#: Seconds between two looks at the processes.
POLL = 0.2

_WRITING = threading.Lock()
_OPEN = {"prefix": None}      # whose progress-bar redraw the terminal's current line holds, if anyone's


def split_output(pending, final=False):
    """(segments, rest): the whole segments of ``pending`` bytes, each ending in a line end (``\\n``, or
    ``\\r\\n`` as an ssh terminal writes it, both given back as ``\\n``) or in a lone ``\\r`` (a progress
    bar's redraw), and what is left. A ``\\r`` at the very end waits for the next bytes (unless ``final``):
    a ``\\n`` may follow.

    Examples
    --------
    >>> split_output(b"one\\r\\ntwo\\n 3/9\\r 4/9")
    (['one\\n', 'two\\n', ' 3/9\\r'], b' 4/9')
    >>> split_output(b"half\\r")
    ([], b'half\\r')
    """
    segments = []
    while True:
        ends = [i for i in (pending.find(b"\n"), pending.find(b"\r")) if i >= 0]
        if not ends:
            return segments, pending
        cut = min(ends)
        if pending[cut:cut + 2] == b"\r\n":
            segment, pending = pending[:cut] + b"\n", pending[cut + 2:]
        elif pending[cut:cut + 1] == b"\r" and cut + 1 == len(pending) and not final:
            return segments, pending
        else:
            segment, pending = pending[:cut + 1], pending[cut + 1:]
        segments.append(segment.decode("utf-8", "replace"))


def _write(segment, prefix, out):
    with _WRITING:
        if _OPEN["prefix"] not in (None, prefix):
            out.write("\n")                   # another process's redraw is on this line: leave it there
        out.write(segment if segment == "\r" else prefix + segment)
        out.flush()
        _OPEN["prefix"] = prefix if segment.endswith("\r") else None


def _forward(stream, prefix, out, seen=None):
    """Copy a process's output to ``out``, ``prefix`` before every line; a progress bar's redraws
    (segments ending in a carriage return) stay redraws. ``seen(line)``, if given, sees every line."""
    pending = b""
    while True:
        chunk = os.read(stream.fileno(), 4096)
        segments, pending = split_output(pending + chunk, final=not chunk)
        for segment in segments:
            _write(segment, prefix, out)
            if seen is not None and segment.endswith("\n"):
                seen(segment.rstrip("\n"))
        if not chunk:
            break
    if pending:
        _write(pending.decode("utf-8", "replace") + "\n", prefix, out)
    stream.close()


def _start(process, out, seen=None):
    """Start ``process`` in a session of its own, bound to live no longer than this one (lifeline)."""
    process.popen = subprocess.Popen(lifeline(process.argv), env=process.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    with _WRITING:
        out.write(f"{process.name}: pid {process.popen.pid}\n")
        out.flush()
    thread = threading.Thread(target=_forward, args=(process.popen.stdout, f"[{process.name}] ", out, seen),
                              daemon=True)
    thread.start()
    return thread


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


def _missing(processes, joined):
    """The names of the processes not known to have joined: the workers that have not said so, and, while no
    worker has (every worker's join waits for the whole job), the scheduler and servers too."""
    waiting = [p.name for p in processes if p.role == "worker" and p.name not in joined]
    if joined:
        return waiting
    return [p.name for p in processes if p.role != "worker"] + waiting


def _check(processes, ended, joined, bounds):
    """None while the job may go on; else the sentence saying why it ended (its processes still to stop).

    ``bounds`` is (began, timeout, startup): when the job started, and its bounds in seconds (or None).
    """
    process, how = _failure(processes, ended)
    if process is not None:
        return f"{process.name} {how}; stopped the other processes"
    began, timeout, startup = bounds
    elapsed = time.monotonic() - began
    missing = _missing(processes, joined)
    if startup is not None and elapsed > startup and missing:
        return (f"{', '.join(missing)} had not joined the job {startup:g} s after the start (a host or the "
                "scheduler's address unreachable, or a slow start: raise --startup-timeout); stopped every process")
    if timeout is not None and elapsed > timeout:
        return f"the job was still running after {timeout:g} s; stopped every process"
    return None


def supervise(processes, timeout=None, out=None, startup=None, joined_line=None):
    """Start ``processes``, print ``name: pid P`` for each, and watch them until the job ends.

    ``timeout`` bounds the whole job; ``startup`` bounds its start: within that many seconds every worker
    must have printed a line that matches ``joined_line`` (a compiled pattern; a worker prints it once the
    job's start barrier lets it through, so that every process has reached the scheduler by then).

    Returns
    -------
    (int, str or None)
        0 and None when every worker succeeded (the scheduler and servers then end on their own, or are
        stopped after :data:`LINGER` seconds); otherwise 1 and a sentence naming the process at fault.
    """
    out = out or sys.stdout
    began, readers, ended, joined = time.monotonic(), [], {}, set()

    def seen(name):
        return lambda line: joined.add(name) if joined_line is not None and joined_line.search(line) else None
    try:
        for process in processes:                  # from this thread: a lifeline is bound to the thread
            readers.append(_start(process, out, seen(process.name)))
        while not all(p.code() == 0 for p in processes if p.role == "worker"):
            failure = _check(processes, ended, joined, (began, timeout, startup if joined_line else None))
            if failure is not None:
                return 1, failure
            time.sleep(POLL)
        deadline = time.monotonic() + LINGER
        while any(p.alive() for p in processes) and time.monotonic() < deadline:
            time.sleep(POLL)
        return 0, None
    finally:
        stop(processes)
        for reader in readers:
            reader.join(timeout=2)
