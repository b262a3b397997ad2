"""One worker of tests/test_distributed.py, started by crepe.distributed.supervisor with a DMLC_* environment.

    python tests/distributed_worker.py OUT [diverge]

Trains the tiny network of :func:`tiny_run` with ``kvstore=dist_sync`` into ``OUT/pid-<pid>`` (a
model directory that only rank 0 should write), and writes ``OUT/digests-<pid>.json``: this worker's
rank and the SHA-256 of its parameters after every epoch. Every worker but rank 0 first adds noise to
its initial weights: only rank 0's broadcast before the first step can make the workers agree. With
``diverge``, rank 1 nudges its weights as epoch 2 begins, which the workers' comparison must catch.
"""
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import crepe  # noqa: E402,F401  (first: it sets OMP_NUM_THREADS unless the launcher did)

#: What both the workers and the one-process reference train (augmentation off: no transform).
SETTINGS = {"batch_size": 32, "epochs": 2, "max_batches": 3, "train_length": 256, "seed": 0}
ROWS = 256


def tiny_run():
    """(network, training set): a small Crepe without dropout on the sample's first rows."""
    import mxnet as mx

    from crepe.data import TextDataset, load_dataset
    from crepe.model import Crepe

    texts, labels = load_dataset("sample")["train"]
    mx.random.seed(0)
    net = Crepe(4, dropout=0.0, head="max", init="he", filters=32)
    net.initialize(ctx=mx.cpu())
    return net, TextDataset(texts[:ROWS], labels[:ROWS])


def digest(net):
    """SHA-256 of every parameter's bytes, in name order (all 64 hex digits)."""
    from crepe.distributed.worker import weights_digest

    return weights_digest(net, digits=64)


def main(out, diverge=False):
    from crepe.callbacks import Callback, ModelDirectory
    from crepe.settings import TrainSettings
    from crepe.train import fit

    out = Path(out)
    digests = []

    class Digests(Callback):
        def on_epoch_begin(self, loop):
            if diverge and loop.group.rank == 1 and loop.epoch == 1:
                for param in loop.net.collect_params().values():
                    param.set_data(param.data() + 0.001)

        def on_epoch_end(self, loop, entry):
            digests.append(digest(loop.net))

    from crepe.distributed.worker import join

    rank = join("dist_sync").rank
    net, train_set = tiny_run()
    if rank != 0:
        for param in net.collect_params().values():
            param.set_data(param.data() + 0.01)
    directory = ModelDirectory(out / f"pid-{os.getpid()}", log=lambda line: None)
    settings = TrainSettings(kvstore="dist_sync", **SETTINGS)
    fit(net, train_set, None, settings, [directory, Digests()])
    (out / f"digests-{os.getpid()}.json").write_text(json.dumps({"rank": rank, "digests": digests}))


if __name__ == "__main__":
    main(sys.argv[1], diverge=sys.argv[2:] == ["diverge"])
