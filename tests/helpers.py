"""Helpers shared by several test modules."""
import os
import socket
from pathlib import Path

import numpy as np
import pytest

from crepe.callbacks import Callback


def mx_corr1d(x, kernel, bias=0.0):
    """Reference through mx.nd.Convolution for channels-last x (T, C) and kernel (w, C, M)."""
    import mxnet as mx

    x = np.asarray(x, np.float32)
    k = np.asarray(kernel, np.float32)
    out = mx.nd.Convolution(
        data=mx.nd.array(x.T[np.newaxis]),                                    # (1, C, T)
        weight=mx.nd.array(k.transpose(2, 1, 0)),                             # (M, C, w)
        bias=mx.nd.array(np.broadcast_to(np.float32(bias), (k.shape[2],))),
        kernel=(k.shape[0],), num_filter=k.shape[2])
    return out.asnumpy()[0].T                                                 # (T', M)


def seeded_crepe(seed=0, num_classes=4, **kwargs):
    """A freshly initialised Crepe whose weights depend only on ``seed``."""
    import mxnet as mx

    from crepe.model import Crepe

    mx.random.seed(seed)
    net = Crepe(num_classes, **kwargs)
    net.initialize()
    return net


def quiet_fit(net, train_set, val_set=None, out_dir=None, classes=None, resume=False, overwrite=False,
              log=lambda line: None, **settings):
    """``crepe.fit`` with ``TrainSettings(**settings)``, no progress bar, its lines to ``log``, and a model
    directory in ``out_dir`` when given."""
    from crepe.callbacks import EpochLog, ModelDirectory
    from crepe.settings import TrainSettings
    from crepe.train import fit

    directory = [ModelDirectory(out_dir, classes, resume=resume, overwrite=overwrite, log=log)] if out_dir else []
    return fit(net, train_set, val_set, TrainSettings(**settings), [*directory, EpochLog(log)])


class PositionFile(Callback):
    """Writes "epoch step" (1-based, the step within its epoch) to ``path`` after every training step: a
    position that a test in another process can wait for before it interrupts the run."""

    def __init__(self, path):
        self.path = Path(path)

    def on_step_end(self, loop, loss_sum, correct):
        self.path.write_text(f"{loop.epoch + 1} {loop.step - loop.epoch * loop.steps_per_epoch}\n")


def under_ci():
    """Whether this runs under CI (``CI=true``), where a missing system component is a failure."""
    return os.environ.get("CI", "").lower() == "true"


def require(present, reason):
    """Skip (on a laptop) or fail (under CI=true) unless ``present``; ``reason`` says what is missing."""
    if present:
        return
    if under_ci():
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def free_port():
    """A port nothing listens on at 127.0.0.1 now (the OS's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def java_present():
    """Whether MXNet Model Server's frontend would find a Java runtime."""
    from crepe.errors import UsageError
    from crepe.serving.model_server import find_java

    try:
        find_java()
        return True
    except UsageError:
        return False
