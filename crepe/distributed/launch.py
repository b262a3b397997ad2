"""``python -m crepe launch``: one training run as several workers on MXNet's parameter server.

    python -m crepe launch --workers 2 --servers 1 -- train --dataset sample --epochs 2 --out runs/d
    python -m crepe launch --workers 4 --servers 2 --launcher ssh --hostfile hosts -- train ...

It starts ps-lite's scheduler, the servers and the workers with the environment MXNet's own launcher
(``dmlc_tracker``) gives them (``DMLC_ROLE``, ``DMLC_PS_ROOT_URI`` and ``_PORT``, ``DMLC_NUM_SERVER``,
``DMLC_NUM_WORKER``), adds ``--kvstore dist_sync`` to ``train`` unless one is given, and watches them
with :mod:`crepe.distributed.supervisor`: each line of output carries its process's name, only rank 0
draws a progress bar, the first process to fail stops the rest, and so does a worker that has not joined
within ``--startup-timeout`` seconds. The processes are started here, not
through ``dmlc_tracker.local``, because that launcher runs the scheduler inside a thread whose process
cannot be watched or stopped, retries failed workers, and ignores ``--host-ip``.

``local`` runs everything on this machine over the loopback interface, and gives each worker an equal
share of the cores (``OMP_NUM_THREADS``, which MXNet reads once, when it loads). ``ssh`` runs the
scheduler here and the servers and workers on the hosts of ``--hostfile`` (dmlc's format: one
``host[:port]`` a line, the host a name, an IPv4 address or an IPv6 address in brackets), in turn,
each with ``ssh HOST 'export ...; cd DIR; python -m crepe ...'``, the form of ``dmlc_tracker.ssh``;
every host needs this checkout, its virtualenv and the data at the same path. ``--dry-run`` prints
those command lines instead of running them.

Ranks: on 127.0.0.1 worker ``i`` has rank ``i`` (see :func:`_node_ports`); over ssh ps-lite orders the
processes by address, so the ranks need not follow the ``worker i`` names. Each worker prints its own.
"""
import ipaddress
import os
import re
import shlex
import socket
import sys
from pathlib import Path

from ..errors import UsageError
from .supervisor import Process, supervise

__all__ = ["HELP", "add_arguments", "run", "train_command", "local_processes", "ssh_processes", "read_hostfile"]

HELP = "train on several worker processes over MXNet's parameter server (this machine, or hosts over ssh)"
#: Seconds to wait for an ssh host's port before calling it unreachable.
REACH_TIMEOUT = 5.0
#: Seconds every worker gets to join the job (``--startup-timeout``): ps-lite waits for a missing node for ever.
STARTUP = 120.0
#: ssh keeps asking a silent host whether it is there (every 10 s; after 3 unanswered, it gives up), so that a
#: network partition ends the job instead of hanging it; accept-new: a changed host key still refuses.
SSH_OPTIONS = ("-tt", "-o", "StrictHostKeyChecking=accept-new", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=10",
               "-o", "ServerAliveCountMax=3")
#: A host file entry: a host name (RFC 1123 labels), an IPv4 address, or an IPv6 address in brackets; a port.
HOST_ENTRY = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*))(?::(?P<port>\d{1,5}))?$")


def _count(text):
    """A positive whole number (argparse's type for counts, ports and the like)."""
    import argparse

    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


def add_arguments(parser):
    """The ``launch`` command's options; the ``train`` command line follows ``--``."""
    from ..cli import _positive

    parser.add_argument("--workers", type=_count, required=True, help="worker processes (each trains a shard)")
    parser.add_argument("--servers", type=_count, default=1, help="parameter servers that sum the gradients (1)")
    parser.add_argument("--launcher", choices=tuple(LAUNCHERS), default="local",
                        help="local: every process on this machine, over 127.0.0.1 (default); ssh: servers and "
                             "workers on the hosts of --hostfile")
    parser.add_argument("--hostfile", type=Path, help="for --launcher ssh: one host[:ssh port] a line")
    parser.add_argument("--host-ip", help="for --launcher ssh: the address the hosts reach this machine at "
                                          "(default: the tracker's guess)")
    parser.add_argument("--port", type=_count, help="the scheduler's port (default: a free one)")
    parser.add_argument("--threads", type=_count, help="OMP_NUM_THREADS of each worker (default for local: the "
                                                       "cores divided between the workers)")
    parser.add_argument("--timeout", type=_positive(float), help="stop every process after this many seconds")
    parser.add_argument("--startup-timeout", type=_positive(float), default=STARTUP,
                        help=f"stop the job, naming the processes missing, unless every worker has joined it within "
                             f"this many seconds (default {STARTUP:g})")
    parser.add_argument("--dry-run", action="store_true", help="print the command lines, start nothing")
    parser.add_argument("train_args", nargs="...", metavar="-- train ARGS",
                        help="the training command each worker runs")


def train_command(words):
    """The ``train`` command line each worker runs: ``--kvstore dist_sync`` added unless one is given.

    Examples
    --------
    >>> train_command(["--", "train", "--epochs", "2"])
    ['train', '--epochs', '2', '--kvstore', 'dist_sync']
    >>> train_command(["evaluate"])
    Traceback (most recent call last):
    ...
    crepe.errors.UsageError: launch runs a training command: python -m crepe launch --workers N -- train ARGS...
    >>> train_command(["train", "--kvstore", "device"])
    Traceback (most recent call last):
    ...
    crepe.errors.UsageError: --kvstore device trains each worker alone; launch needs dist_sync or dist_device_sync
    """
    from .worker import DISTRIBUTED

    words = list(words[1:] if words[:1] == ["--"] else words)
    if words[:1] != ["train"]:
        raise UsageError("launch runs a training command: python -m crepe launch --workers N -- train ARGS...")
    given = [words[i + 1] if word == "--kvstore" and i + 1 < len(words) else word.partition("=")[2]
             for i, word in enumerate(words) if word == "--kvstore" or word.startswith("--kvstore=")]
    if given and given[-1] not in DISTRIBUTED:
        raise UsageError(f"--kvstore {given[-1]} trains each worker alone; launch needs {' or '.join(DISTRIBUTED)}")
    return words if given else [*words, "--kvstore", "dist_sync"]


def _free_port(port, address="127.0.0.1"):
    """``port`` if it is free on ``address`` (one sentence if not), or a free port chosen by the system."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, port or 0))
        except OSError:
            raise UsageError(f"port {port} on {address or 'this machine'} is in use; choose another --port, or leave "
                             "it out to take a free one") from None
        return probe.getsockname()[1]


def _job_environment(args, address, port):
    return {"DMLC_PS_ROOT_URI": address, "DMLC_PS_ROOT_PORT": str(port), "DMLC_NUM_SERVER": str(args.servers),
            "DMLC_NUM_WORKER": str(args.workers), "PYTHONUNBUFFERED": "1"}


def _roles(args):
    """(name, role) of every process of the job, the scheduler first."""
    return [("scheduler", "scheduler"), *((f"server {i}", "server") for i in range(args.servers)),
            *((f"worker {i}", "worker") for i in range(args.workers))]


def _argv(role, command):
    """A server or the scheduler is MXNet itself: importing it with their DMLC_ROLE runs their loop."""
    return [sys.executable, "-c", "import mxnet"] if role != "worker" else [sys.executable, "-m", "crepe", *command]


def _node_ports(count):
    """``count`` free ports on 127.0.0.1, in increasing order.

    ps-lite's scheduler ranks the nodes of one host by their ports (``PORT``, else a random one), so
    that worker ``i`` given the ``i``-th port gets rank ``i``. Should a port be taken meanwhile, ps-lite
    binds another: the job still runs, with ranks in another order (each worker prints its rank).
    """
    probes = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return sorted(probe.getsockname()[1] for probe in probes)
    finally:
        for probe in probes:
            probe.close()


# CREPE_PROGRESS: rank 0 draws its progress bar when launch itself has a terminal (or is told to).
def local_processes(args, command):
    """The processes of a job on this machine, over the loopback interface.

    ``command`` is a worker's command line after ``python -m crepe`` (or a whole ``argv`` when it
    starts with an executable: the tests run workers of their own).
    """
    port = _free_port(args.port)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = args.threads or max(1, cores // args.workers)
    base = {**os.environ, **_job_environment(args, "127.0.0.1", port), "DMLC_INTERFACE": "lo",
            "CREPE_PROGRESS": os.environ.get("CREPE_PROGRESS") or ("1" if sys.stdout.isatty() else "0")}
    ports = {"server": _node_ports(args.servers), "worker": _node_ports(args.workers)}
    processes = []
    for name, role in _roles(args):
        argv = command if role == "worker" and os.path.isabs(command[0]) else _argv(role, command)
        env = {**base, "DMLC_ROLE": role, "OMP_NUM_THREADS": str(threads if role == "worker" else 1)}
        if role in ports:
            env["PORT"] = str(ports[role].pop(0))          # worker i gets rank i (see _node_ports)
        processes.append(Process(name, role, argv, env))
    return processes


def parse_host(entry):
    """(host, ssh port) of a host file entry, or None if it is not ``host[:port]`` (a name, an IPv4 address,
    or an IPv6 address in brackets).

    Examples
    --------
    >>> parse_host("node1"), parse_host("10.0.0.2:2222"), parse_host("[fe80::1]:22")
    (('node1', 22), ('10.0.0.2', 2222), ('fe80::1', 22))
    >>> parse_host("-oProxyCommand=touch"), parse_host("fe80::1"), parse_host("999.1.1.1")
    (None, None, None)
    """
    found = HOST_ENTRY.match(entry)
    if found is None or not 0 < int(found["port"] or 22) < 65536:
        return None
    host = found["v6"] or found["name"]
    try:
        if found["v6"]:
            ipaddress.IPv6Address(host)
        elif re.fullmatch(r"[\d.]+", host):
            ipaddress.IPv4Address(host)             # all digits and dots: an IPv4 address, or nothing
    except ValueError:
        return None
    return host, int(found["port"] or 22)


def read_hostfile(path):
    """(host, ssh port) of every line of a dmlc host file (``host[:port]``, an mpi ``slots=`` ignored).

    A line that is not a host name, an IPv4 address or an IPv6 address in brackets (with an optional
    port) is refused: it would reach ssh's command line, where ``-o...`` is an option.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
    ...     _ = f.write("node1\\nnode2:2222 slots=4\\n\\n[::1]:22\\n")
    >>> read_hostfile(f.name)
    [('node1', 22), ('node2', 2222), ('::1', 22)]
    >>> os.unlink(f.name)
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise UsageError(f"cannot read the host file {path}: {error.strerror or error}") from None
    hosts = []
    for number, line in enumerate(lines, 1):
        entry = line.split("slots=")[0].strip()
        if not entry:
            continue
        host = parse_host(entry)
        if host is None:
            raise UsageError(f"{path}, line {number}: {line.strip()!r} is not a host name, an IPv4 address or an IPv6 "
                             "address in brackets, with an optional :port")
        hosts.append(host)
    if not hosts:
        raise UsageError(f"the host file {path} names no host")
    return hosts


def _check_reachable(hosts, hostfile):
    for host, port in dict.fromkeys(hosts):
        try:
            socket.create_connection((host, port), timeout=REACH_TIMEOUT).close()
        except OSError as error:
            raise UsageError(f"cannot reach {host} on ssh port {port} ({error.strerror or error}); check "
                             f"{hostfile}") from None


def _remote(host, port, env, argv):
    """The ssh command line that runs ``argv`` on ``host`` in this directory, with ``env`` exported."""
    exports = " ".join(f"export {key}={shlex.quote(value)};" for key, value in env.items())
    script = f"{exports} cd {shlex.quote(os.getcwd())}; exec {shlex.join(argv)}"
    # -tt: the remote process gets a terminal, so that when the supervisor stops this ssh client the
    # remote side is hung up on too, instead of running on; "--": the host is never read as an option.
    return ["ssh", *SSH_OPTIONS, "-p", str(port), "--", host, script]


def ssh_processes(args, command):
    """The scheduler here; servers, then workers, on the hosts of ``--hostfile`` in turn (as dmlc_tracker.ssh)."""
    if args.hostfile is None:
        raise UsageError("--launcher ssh needs --hostfile FILE (one host[:port] a line)")
    from .dmlc import host_address

    hosts = read_hostfile(args.hostfile)
    if not args.dry_run:
        _check_reachable(hosts, args.hostfile)
    address = args.host_ip or host_address("auto")
    port = args.port or 9091
    if not args.dry_run:
        _free_port(port, "")                      # the scheduler listens here, on every interface
    job = _job_environment(args, address, port)
    forwarded = {key: os.environ[key] for key in ("DMLC_INTERFACE", "LD_LIBRARY_PATH") if key in os.environ}
    processes = [Process("scheduler", "scheduler", _argv("scheduler", command),
                         {**os.environ, **job, "DMLC_ROLE": "scheduler", "OMP_NUM_THREADS": "1"})]
    for index, (name, role) in enumerate(_roles(args)[1:]):
        host, ssh_port = hosts[index % len(hosts)]
        env = {**forwarded, **job, "DMLC_ROLE": role, "DMLC_NODE_HOST": host}
        if args.threads or role != "worker":
            env["OMP_NUM_THREADS"] = str(args.threads or 1) if role == "worker" else "1"
        processes.append(Process(name, role, _remote(host, ssh_port, env, _argv(role, command)), os.environ.copy()))
    return processes


#: How each launcher places the processes.
LAUNCHERS = {"local": local_processes, "ssh": ssh_processes}


def run(args):
    """Start the job, watch it, and return 0 when every worker succeeded (1, with the reason, otherwise)."""
    from .worker import JOINED, require_parameter_server

    require_parameter_server()
    if args.hostfile is not None and args.launcher != "ssh":
        raise UsageError("--hostfile is for --launcher ssh")
    processes = LAUNCHERS[args.launcher](args, train_command(args.train_args))
    if args.dry_run:
        for process in processes:
            print(f"{process.name}: {shlex.join(process.argv)}")
        return 0
    status, failure = supervise(processes, timeout=args.timeout, startup=args.startup_timeout, joined_line=JOINED)
    if failure:
        print(f"error: {failure}", file=sys.stderr)
    return status
