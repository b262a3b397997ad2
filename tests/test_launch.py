"""``python -m crepe launch``: real jobs on this machine (scheduler, 1 server, 2 workers over 127.0.0.1),
each process bounded in time and stopped by its id; the ssh launcher as far as one machine allows;
and the shim that lets MXNet's own dmlc_tracker run on this Python."""
import ast
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import free_port, require

ROOT = Path(__file__).resolve().parents[1]
#: Seconds any one command of these tests may run before it is stopped (and the test fails).
BOUND = 150
#: The training every job runs: the bundled sample, 3 short epochs.
TRAIN = ["train", "--dataset", "sample", "--epochs", "3", "--max-batches", "12", "--seed", "0"]
PID_LINE = re.compile(r"^(scheduler|server \d+|worker \d+): pid (\d+)$")


class Job:
    """A command started in its own session, its output collected line by line as it comes."""

    def __init__(self, *args, module="crepe"):
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "CREPE_PROGRESS": "1"}      # as under a terminal
        self.popen = subprocess.Popen([sys.executable, "-m", module, *map(str, args)], cwd=ROOT, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      start_new_session=True)
        self.lines, self.errors = [], []
        self.readers = [threading.Thread(target=self._read, args=(stream, store), daemon=True)
                        for stream, store in ((self.popen.stdout, self.lines), (self.popen.stderr, self.errors))]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(stream, store):
        for line in stream:
            store.extend(part for part in line.rstrip("\n").split("\r") if part.strip())

    def wait_for(self, pattern, seconds=BOUND):
        """The first output line matching ``pattern``, waited for at most ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = [line for line in list(self.lines) if re.search(pattern, line)]
            if found:
                return found[0]
            if self.popen.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"no line matching {pattern!r}: {self.lines[-20:]} {self.errors[-10:]}")

    def pids(self):
        return {m.group(1): int(m.group(2)) for m in map(PID_LINE.match, list(self.lines)) if m}

    def finish(self, seconds=BOUND):
        """The exit status, after at most ``seconds`` (the job is stopped, and the test fails, if later)."""
        try:
            status = self.popen.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"still running after {seconds} s: {self.lines[-20:]}") from None
        for reader in self.readers:
            reader.join(timeout=5)
        return status

    def stop(self):
        """Kill the command and every process it said it started (each leads a process group of its own)."""
        for pid in [self.popen.pid, *self.pids().values()]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.popen.wait()


def running(pids):
    alive = []
    for name, pid in pids.items():
        try:
            os.kill(pid, 0)
            alive.append(name)
        except ProcessLookupError:
            pass
    return alive


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """A 2-worker job whose worker 1 is killed (SIGKILL) early in epoch 2, once epoch 1 is committed."""
    out = tmp_path_factory.mktemp("killed") / "model"
    job = Job("launch", "--workers", 2, "--servers", 1, "--timeout", BOUND, "--", *TRAIN, "--out", out)
    job.wait_for(r"epoch 1: .*validation accuracy")                 # rank 0 prints it once epoch 1 is committed
    time.sleep(0.5)
    victim = job.pids()["worker 1"]
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    status = job.finish()
    return {"out": out, "status": status, "seconds": time.monotonic() - killed_at, "job": job}


def test_launch_worker_killed_mid_epoch_exits_nonzero_naming_it(killed):
    assert killed["status"] != 0 and killed["seconds"] < 90
    assert any("worker 1 exited with signal 9" in line for line in killed["job"].errors), killed["job"].errors


def test_launch_worker_killed_mid_epoch_leaves_no_process(killed):
    pids = killed["job"].pids()
    assert sorted(pids) == ["scheduler", "server 0", "worker 0", "worker 1"] and running(pids) == []


def test_model_directory_after_a_killed_worker_loads_its_last_committed_epoch(killed):
    from crepe.inference import load_model

    state = json.loads((killed["out"] / "state.json").read_text())
    net, config = load_model(killed["out"])
    assert state["epoch"] in (1, 2) and config["run"]["distributed"]["workers"] == 2


def test_train_resume_of_a_two_worker_run_in_one_process_names_both_counts(killed):
    job = Job(*TRAIN, "--out", killed["out"], "--resume")
    assert job.finish() == 2
    assert any("trained on 2 workers and this run has 1" in line for line in job.errors), job.errors


def test_launch_resume_after_a_killed_worker_finishes_the_run(killed):
    job = Job("launch", "--workers", 2, "--timeout", BOUND, "--", *TRAIN, "--out", killed["out"], "--resume")
    status = job.finish()
    assert status == 0, job.lines[-20:] + job.errors[-10:]
    assert json.loads((killed["out"] / "state.json").read_text())["epoch"] == 3
    assert running(job.pids()) == []
    bars = {line.split("]")[0] for line in job.lines if re.search(r"\d+/12 \[", line)}
    assert len(bars) == 1                                           # one worker (rank 0) draws a progress bar
    digests = [re.search(r"\[(worker \d)\] epoch 3: .*weights (\w+)", line) for line in job.lines]
    assert len({m.group(2) for m in digests if m}) == 1 and len([m for m in digests if m]) == 2
    assert {"[worker 0] kvstore dist_sync: rank 0 of 2 workers, 1 server(s)",
            "[worker 1] kvstore dist_sync: rank 1 of 2 workers, 1 server(s)"} <= set(job.lines)


def test_launch_ctrl_c_stops_every_process(tmp_path):
    job = Job("launch", "--workers", 2, "--timeout", BOUND, "--", *TRAIN, "--out", tmp_path / "model")
    job.wait_for(r"\] training Crepe")
    job.popen.send_signal(signal.SIGINT)
    assert job.finish(seconds=30) == 130
    assert running(job.pids()) == []


def job_members(job):
    """(pid, name) of every live process in the groups of the job's processes: each process leads a group of
    its own, and what it forked (DataLoader workers) is in its group. Zombies count as gone."""
    groups = set(job.pids().values())
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:                                             # ended meanwhile
            continue
        name, fields = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) in groups:           # state, ppid, pgrp
            members.append((int(stat.parent.name), name))
    return members


def port_free(port):
    """Whether nothing listens on ``port`` (connections of the ended job waiting out TIME_WAIT do not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def gone_within(job, port, seconds):
    """Whether every process of the job has ended and its scheduler's port is free within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not job_members(job) and port_free(port):
            return True
        time.sleep(0.2)
    return False


def started_epoch_2(tmp_path):
    """A 2-worker job (scheduler port known) once rank 0 has committed epoch 1, and the port."""
    require(sys.platform == "linux", "the launcher's processes die with it on Linux only (prctl)")
    port = free_port()
    job = Job("launch", "--workers", 2, "--servers", 1, "--port", port, "--timeout", BOUND, "--", *TRAIN,
              "--out", tmp_path / "model")
    job.wait_for(r"epoch 1: .*validation accuracy")
    assert len(job_members(job)) >= 4
    return job, port


def test_launch_hangup_stops_every_process(tmp_path):
    job, port = started_epoch_2(tmp_path)
    try:
        job.popen.send_signal(signal.SIGHUP)                       # the terminal closed
        assert job.finish(seconds=10) == 130                       # stopped as by Ctrl-C, not killed by SIGHUP
        assert gone_within(job, port, 10), job_members(job)
    finally:
        job.stop()


def test_launch_killed_leaves_no_process_and_frees_its_port(tmp_path):
    job, port = started_epoch_2(tmp_path)
    try:
        os.kill(job.popen.pid, signal.SIGKILL)                     # no handler runs: only the lifelines act
        assert job.finish(seconds=10) == -signal.SIGKILL
        assert gone_within(job, port, 10), job_members(job)
    finally:
        job.stop()


def test_launch_port_in_use_is_one_sentence():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        job = Job("launch", "--workers", 2, "--port", port, "--", *TRAIN)
        assert job.finish(seconds=60) == 2
    assert job.errors == [f"error: port {port} on 127.0.0.1 is in use; choose another --port, or leave it out to "
                          "take a free one"]


def test_launch_unreachable_host_is_one_sentence(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1:1\n")                               # nothing listens on port 1
    job = Job("launch", "--workers", 2, "--launcher", "ssh", "--hostfile", hosts, "--", *TRAIN)
    assert job.finish(seconds=60) == 2
    assert len(job.errors) == 1 and job.errors[0].startswith("error: cannot reach 127.0.0.1 on ssh port 1 (")


def test_launch_ssh_host_that_is_not_an_ssh_server_stops_the_job_naming_the_process(tmp_path):
    require(shutil.which("ssh"), "no ssh client on PATH (Debian: apt install openssh-client)")
    with socket.socket() as listener, socket.socket() as spare:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        spare.bind(("127.0.0.1", 0))
        scheduler_port = spare.getsockname()[1]
        spare.close()

        def hang_up():                                             # answers the port, then closes: not sshd
            for _ in range(4):
                try:
                    connection, _ = listener.accept()
                    connection.close()
                except OSError:
                    return
        threading.Thread(target=hang_up, daemon=True).start()
        hosts = tmp_path / "hosts"
        hosts.write_text(f"127.0.0.1:{listener.getsockname()[1]}\n")
        job = Job("launch", "--workers", 1, "--launcher", "ssh", "--hostfile", hosts, "--host-ip", "127.0.0.1",
                  "--port", scheduler_port, "--timeout", 60, "--", *TRAIN)
        assert job.finish(seconds=90) == 1
    assert any(re.search(r"(server 0|worker 0) exited with status 255", line) for line in job.errors), job.errors
    assert sorted(job.pids()) == ["scheduler", "server 0", "worker 0"] and running(job.pids()) == []


def test_launch_ssh_dry_run_shows_the_command_lines(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("node1\nnode2:2222 slots=4\n")
    job = Job("launch", "--workers", 2, "--launcher", "ssh", "--hostfile", hosts, "--host-ip", "10.0.0.1",
              "--port", 9100, "--dry-run", "--", *TRAIN)
    assert job.finish(seconds=60) == 0
    lines = dict(line.split(": ", 1) for line in job.lines)
    assert lines["scheduler"].endswith("-c 'import mxnet'")
    assert " -p 22 -- node1 " in lines["server 0"] and "export DMLC_ROLE=server;" in lines["server 0"]
    assert " -p 2222 -- node2 " in lines["worker 0"] and " -p 22 -- node1 " in lines["worker 1"]
    for name in ("server 0", "worker 0", "worker 1"):
        assert lines[name].startswith("ssh -tt -o StrictHostKeyChecking=accept-new -o BatchMode=yes -o "
                                      "ServerAliveInterval=10 -o ServerAliveCountMax=3 ")
        assert "export DMLC_PS_ROOT_URI=10.0.0.1; export DMLC_PS_ROOT_PORT=9100;" in lines[name]
    assert "-m crepe train --dataset sample" in lines["worker 0"] and "--kvstore dist_sync" in lines["worker 0"]


@pytest.mark.parametrize("line", ["-oProxyCommand=touch /tmp/owned", "node1 -p 22", "fe80::1", "[fe80::zz]:22",
                                  "999.0.0.1", "node1:99999", "user@node1"])
def test_read_hostfile_refuses_a_line_that_is_not_a_host_naming_it(tmp_path, line):
    from crepe.errors import UsageError
    from crepe.distributed.launch import read_hostfile

    hosts = tmp_path / "hosts"
    hosts.write_text(f"node0\n{line}\n")
    with pytest.raises(UsageError) as refused:
        read_hostfile(hosts)
    assert str(refused.value) == (f"{hosts}, line 2: {line!r} is not a host name, an IPv4 address or an IPv6 address "
                                  "in brackets, with an optional :port")


def test_read_hostfile_reads_a_bracketed_ipv6_address_and_its_port(tmp_path):
    from crepe.distributed.launch import read_hostfile

    hosts = tmp_path / "hosts"
    hosts.write_text("[2001:db8::7]:2222\n10.1.2.3\n")
    assert read_hostfile(hosts) == [("2001:db8::7", 2222), ("10.1.2.3", 22)]


def test_forward_takes_an_ssh_terminals_crlf_for_one_line_end():
    import io

    from crepe.distributed.supervisor import _forward

    read, write = os.pipe()
    os.write(write, b"epoch 1: loss 0.5\r\n 3/12\r 4/12\r\ndone\r\n")
    os.close(write)
    out = io.StringIO()
    _forward(os.fdopen(read, "rb"), "[worker 0] ", out)
    assert out.getvalue() == "[worker 0] epoch 1: loss 0.5\n[worker 0]  3/12\r[worker 0]  4/12\n[worker 0] done\n"


def test_supervise_stops_a_job_whose_workers_have_not_joined_naming_them():
    from crepe.distributed.worker import JOINED, JOINED_LINE
    from crepe.distributed.supervisor import Process, supervise

    joins = f"print({JOINED_LINE.format(name='dist_sync', rank=0, workers=2, servers=1)!r}, flush=True)"
    processes = [Process("scheduler", "scheduler", [sys.executable, "-c", "import time; time.sleep(60)"], {}),
                 Process("worker 0", "worker", [sys.executable, "-c", f"{joins}; import time; time.sleep(60)"], {}),
                 Process("worker 1", "worker", [sys.executable, "-c", "import time; time.sleep(60)"], {})]
    began = time.monotonic()
    status, failure = supervise(processes, timeout=30, out=open(os.devnull, "w"), startup=3, joined_line=JOINED)
    assert (status, failure.split(" had not joined")[0]) == (1, "worker 1") and time.monotonic() - began < 15
    assert all(p.popen.returncode is not None for p in processes)


def test_supervise_names_every_process_when_no_worker_has_joined():
    from crepe.distributed.worker import JOINED
    from crepe.distributed.supervisor import Process, supervise

    processes = [Process(name, role, [sys.executable, "-c", "import time; time.sleep(60)"], {})
                 for name, role in (("scheduler", "scheduler"), ("server 0", "server"), ("worker 0", "worker"))]
    status, failure = supervise(processes, timeout=30, out=open(os.devnull, "w"), startup=2, joined_line=JOINED)
    assert failure.startswith("scheduler, server 0, worker 0 had not joined the job 2 s after the start")


def test_launch_startup_bound_is_on_by_default():
    from crepe.cli import build_parser
    from crepe.distributed.launch import STARTUP

    args = build_parser().parse_args(["launch", "--workers", "2", "--", "train"])
    assert args.startup_timeout == STARTUP and 0 < STARTUP <= 300


@pytest.mark.parametrize("command", [["launch", "--workers", "2", "--dry-run", "--", "train"],
                                     ["train", "--kvstore", "dist_sync", "--epochs", "1"]])
def test_launch_and_dist_train_on_an_mxnet_without_parameter_server_are_one_sentence(monkeypatch, capsys, command):
    from crepe.cli import main
    from crepe.distributed.worker import NO_PARAMETER_SERVER

    monkeypatch.setattr("crepe.distributed.worker.parameter_server_built", lambda: False)
    assert main(command) == 2
    assert capsys.readouterr().err == f"error: {NO_PARAMETER_SERVER}\n"


def test_doctor_reports_an_mxnet_without_parameter_server(monkeypatch):
    from crepe.distributed.worker import NO_PARAMETER_SERVER
    from crepe.doctor import run

    monkeypatch.setattr("crepe.distributed.worker.parameter_server_built", lambda: False)
    lines = []
    run(out=lines.append)
    assert f"--  parameter server (several workers, `python -m crepe launch`): {NO_PARAMETER_SERVER}" in lines


def thread_methods_called(source):
    """Names of the methods called on anything named like a thread in ``source``."""
    called = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = ast.unparse(node.func.value).lower()
            if receiver in ("thread", "self.thread") or receiver.startswith("procs["):
                called.add(node.func.attr)
    return called


def test_patch_threads_gives_thread_every_method_dmlc_tracker_calls():
    import dmlc_tracker

    from crepe.distributed.dmlc import patch_threads

    patch_threads()
    folder = Path(dmlc_tracker.__file__).parent
    called = set().union(*(thread_methods_called(path.read_text()) for path in folder.glob("*.py")))
    assert "join" in called                                        # the scan does see the tracker's threads
    missing = sorted(name for name in called if not hasattr(threading.Thread, name))
    assert not missing, f"dmlc_tracker calls Thread.{missing[0]}, which crepe.distributed.dmlc.RENAMED does not provide"


def test_dmlc_main_runs_the_upstream_local_launcher():
    job = Job("--cluster", "local", "--num-workers", 1, "--num-servers", 1, sys.executable, "-c", "pass",
              module="crepe.distributed.dmlc")
    assert job.finish(seconds=60) == 0 and not [line for line in job.errors if "isAlive" in line], job.errors
