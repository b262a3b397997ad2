"""crepe.processes' group keeper: a command and its own children die with the keeper's parent, or on stop."""
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from crepe.processes import GRACE, Process, group_keeper, stop

#: A command that starts a child of its own (``sleep``), prints that child's PID, then sleeps.
FAMILY = [sys.executable, "-c", "import subprocess, time; c = subprocess.Popen(['sleep', '300']); "
          "print(c.pid, flush=True); time.sleep(300)"]
#: The same, except that it exits (status 3) right after printing, leaving its child behind.
LEAVER = [sys.executable, "-c", "import subprocess, sys; c = subprocess.Popen(['sleep', '300']); "
          "print(c.pid, flush=True); sys.exit(3)"]
WAIT_SECONDS = 20

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")


def left(pids):
    """The PIDs of ``pids`` still running after a bounded wait (zombies count as gone)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        running = [pid for pid in pids if psutil.pid_exists(pid)
                   and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.1)


def kept_by_a_parent(command):
    """(parent Popen, [keeper, command, grandchild PIDs]): a parent that started ``command`` under a keeper."""
    parent_code = ("import subprocess, sys; from crepe.processes import group_keeper; "
                   f"k = subprocess.Popen(group_keeper({command!r}), start_new_session=True, stdout=subprocess.PIPE, "
                   "text=True); print(k.pid, k.stdout.readline().strip(), flush=True); k.wait()")
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True)
    keeper, grandchild = map(int, parent.stdout.readline().split())
    members = [p.pid for p in psutil.Process(keeper).children(recursive=True)]
    return parent, [keeper, *members, grandchild]


def test_group_keeper_kills_the_commands_children_when_its_parent_is_killed():
    parent, family = kept_by_a_parent(FAMILY)
    try:
        parent.kill()
        parent.wait(timeout=10)
        assert left(family) == []
    finally:
        for pid in family:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_group_keeper_stops_the_whole_group_on_sigterm():
    keeper = Process("keeper", "test", group_keeper(FAMILY), {})
    keeper.popen = subprocess.Popen(keeper.argv, start_new_session=True, stdout=subprocess.PIPE, text=True)
    grandchild = int(keeper.popen.stdout.readline())
    stop([keeper], grace=GRACE + 5)
    assert left([grandchild]) == []


def test_group_keeper_kills_what_the_command_left_and_exits_with_its_status():
    keeper = subprocess.Popen(group_keeper(LEAVER), start_new_session=True, stdout=subprocess.PIPE, text=True)
    grandchild = int(keeper.stdout.readline())
    assert keeper.wait(timeout=WAIT_SECONDS) == 3
    assert left([grandchild]) == []
