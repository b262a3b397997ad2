"""Signals around the two moments that must not be cut: a checkpoint commit and forking workers.

Ctrl-C (SIGINT), ``kill`` (SIGTERM) and a closed terminal (SIGHUP) end training like an exception, never
in the middle of a commit (:func:`deferred_signals`). DataLoader workers are forked with default handling
(:func:`plain_signals`), so that they inherit none of the parent's handlers.
"""
import contextlib
import signal
import sys
import threading

__all__ = ["deferred_signals", "plain_signals"]

#: The signals that stop training (SIGHUP: the terminal closed; not on Windows).
STOPPING = (signal.SIGINT, signal.SIGTERM, *((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()))


def _in_main_thread():
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def deferred_signals():
    """Hold the stopping signals back inside the block; act on them (KeyboardInterrupt) when it ends.

    Outside the main thread signals cannot be handled, and the block simply runs.

    Examples
    --------
    >>> with deferred_signals():
    ...     print("committing")
    committing
    """
    if not _in_main_thread():
        yield
        return
    received = []
    previous = {signum: signal.signal(signum, lambda number, frame: received.append(number)) for signum in STOPPING}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        raise KeyboardInterrupt(f"signal {received[0]}")


@contextlib.contextmanager
def plain_signals():
    """Default signal handling while DataLoader workers are forked, so that they inherit none of ours.

    A worker then ignores Ctrl-C (the parent handles it and ends the pool) and dies on SIGTERM or SIGHUP.

    Examples
    --------
    >>> with plain_signals():
    ...     signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    True
    """
    if sys.platform == "win32" or not _in_main_thread():
        yield
        return
    previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
                **{signum: signal.signal(signum, signal.SIG_DFL) for signum in STOPPING[1:]}}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
