"""Notebook 07's one import: crepe commands and shell lines as typed, servers, requests.

It lets the deploy notebook say in one line what would otherwise be fifty lines of ports, subprocesses
and signals:

- :func:`crepe_lines` runs ``python -m crepe ...`` and gives its printed lines;
- :func:`typed` prints a shell line as an attendee would type it, runs it, and gives its output;
- from :mod:`crepe.serving.started`: :func:`free_ports`, :class:`CrepeServe`, :class:`NativeServer`,
  :func:`server_environment`, :func:`native_config`;
- from :mod:`crepe.serving.client`: :func:`post`, :func:`throughput`.
"""
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import UsageError
from .client import post, throughput
from .started import WAIT, CrepeServe, NativeServer, free_ports, native_config, server_environment

__all__ = ["WAIT", "crepe_lines", "free_ports", "post", "CrepeServe", "native_config", "server_environment",
           "NativeServer", "typed", "throughput"]


def crepe_lines(*arguments, timeout=600):
    """The lines ``python -m crepe ARGUMENTS`` printed, a progress bar's redrawn fragments left out.

    Raises
    ------
    UsageError
        If the command fails: its last lines of error output, or that it ran longer than ``timeout``.

    Examples
    --------
    >>> crepe_lines("--help")[0].startswith("usage:")
    True
    """
    try:
        done = subprocess.run([sys.executable, "-m", "crepe", *map(str, arguments)], capture_output=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)   # bytes: text mode turns \r into lines
    except subprocess.TimeoutExpired:
        raise UsageError(f"`crepe {' '.join(map(str, arguments))}` ran longer than {timeout} s") from None
    if done.returncode != 0:
        raise UsageError(f"`crepe {' '.join(map(str, arguments))}` failed: "
                         + done.stderr.decode("utf-8", "replace").strip()[-2000:])
    lines = [line.split("\r")[-1].strip() for line in done.stdout.decode("utf-8").split("\n")]
    return [line for line in lines if line]


def typed(line, timeout=WAIT, shown=None):
    """Print ``$ LINE`` (or ``shown``, with this machine's details replaced), run it, give its output.

    The command is looked up in this Python's own ``bin`` folder first, where ``model-archiver`` and
    ``multi-model-server`` are, then on the PATH.

    Raises
    ------
    UsageError
        If the command exits with an error, or runs longer than ``timeout`` seconds.

    Examples
    --------
    >>> typed("echo hello")
    $ echo hello
    'hello\\n'
    """
    print("$", shown or line)
    argv = shlex.split(line)
    here = str(Path(sys.executable).parent)           # this environment's commands: model-archiver, ...
    argv[0] = shutil.which(argv[0], path=here + os.pathsep + os.environ.get("PATH", "")) or argv[0]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise UsageError(f"`{shown or line}` ran longer than {timeout} s") from None
    if done.returncode != 0:
        raise UsageError(f"`{shown or line}` failed with status {done.returncode}: {done.stderr.strip()[-500:]}")
    return done.stdout
