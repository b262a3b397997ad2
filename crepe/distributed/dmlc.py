"""MXNet's own job launcher, ``dmlc_tracker``, mended for Python 3.9 and later.

The mxnet 1.9.1 wheel ships ``dmlc_tracker`` (the launchers behind ``mxnet/tools/launch.py``: local,
ssh, mpi, sge, yarn, mesos, kubernetes; slurm as a module). Its ``tracker.py`` calls
``Thread.isAlive()``, which Python 3.9 removed, so every launch dies with ``AttributeError``. Upstream
dmlc-core renamed the call in 2022, but no MXNet release picked the fix up. :func:`patch_threads` puts
the old names back on ``threading.Thread`` (:data:`RENAMED`), from our side, before ``dmlc_tracker``
is used; ``tests/test_launch.py`` fails should the tracker call a thread method by a name that is
neither there nor patched.

``python -m crepe launch`` uses the tracker for the address this machine is reached at; for the
cluster managers it does not cover itself, this module runs the tracker's own command line with the
patch applied::

    python -m crepe.distributed.dmlc --cluster kubernetes --num-workers 4 --num-servers 2 \\
        python -m crepe train --kvstore dist_sync ...
"""
import sys
import threading

__all__ = ["RENAMED", "patch_threads", "tracker", "host_address", "main"]

#: Thread methods ``dmlc_tracker`` calls by an old name -> the name they have now.
RENAMED = {"isAlive": "is_alive"}


def patch_threads():
    """Give ``threading.Thread`` the old method names ``dmlc_tracker`` calls; return those added.

    Examples
    --------
    >>> patch_threads() in ([], ["isAlive"])
    True
    >>> threading.Thread().isAlive()
    False
    """
    added = []
    for old, new in RENAMED.items():
        if not hasattr(threading.Thread, old):
            setattr(threading.Thread, old, getattr(threading.Thread, new))
            added.append(old)
    return added


def tracker():
    """``dmlc_tracker.tracker``, usable on this Python."""
    patch_threads()
    from dmlc_tracker import tracker as module

    return module


def host_address(hint="auto"):
    """The address other machines reach this one at, as the tracker finds it (``hint``: an address, or auto)."""
    return tracker().get_host_ip(hint)


def main(argv=None):
    """``dmlc_tracker``'s submit command (``--cluster local|ssh|mpi|sge|yarn|slurm|mesos|kubernetes``), patched.

    Its own ``submit.main`` imports every launcher first, and the kubernetes one needs the
    ``kubernetes`` package: here only the launcher asked for is imported.
    """
    import importlib
    import logging

    patch_threads()
    from dmlc_tracker import opts

    args = opts.get_opts(sys.argv[1:] if argv is None else list(argv))
    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", level=getattr(logging, args.log_level))
    importlib.import_module(f"dmlc_tracker.{args.cluster}").submit(args)


if __name__ == "__main__":
    main()
