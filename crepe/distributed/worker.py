"""Data-parallel training on MXNet's parameter server: which worker this is, its rows, its step.

:func:`crepe.fit` trains on one process unless ``TrainSettings.kvstore`` names a distributed store
(``dist_sync``, ``dist_device_sync``). Then every worker process (started by ``python -m crepe
launch``, which sets the ``DMLC_*`` environment) joins the store (:func:`join`), and:

- trains on its own shard of each epoch's rows (:func:`shard`): the epoch's order is the same on every
  worker, and worker ``r`` of ``n`` takes rows ``r, r + n, r + 2n, ...`` of it. A global batch of
  ``batch_size`` rows is split into ``n`` worker batches of ``batch_size / n`` (:func:`worker_batch`),
  so that the ``n`` workers' batch ``k`` together hold exactly the rows of one process's batch ``k``;
- has its parameters broadcast from rank 0 before the first forward pass (:func:`synchronise`): left to
  the first ``Trainer.step``, the broadcast can interleave with the first gradient push;
- divides the summed gradient by the global batch (:func:`step_rows`): the servers add the workers'
  gradients, so ``step(b)`` with a worker's batch ``b`` would take steps ``n`` times too large;
- compares its weights with every other worker's at the end of an epoch (:func:`check_agreement`): a
  difference stops the job, naming the ranks, before anything is committed;
- waits for every worker at the end of an epoch (:func:`barrier`) before rank 0, alone, commits it;
- stops when any worker's callbacks ask to at the end of an epoch (:func:`anyone`); a callback that
  stops one worker inside an epoch would leave the others waiting for its gradients, and is refused.

The servers only sum (``update_on_kvstore=False``): every worker runs the optimiser itself, so that
the learning-rate schedule applies and :mod:`crepe.optimizer_state` can save the state.
"""
import os
import re
from dataclasses import dataclass

from ..errors import CheckpointError, UsageError

__all__ = ["KVSTORES", "DISTRIBUTED", "Group", "join", "worker_batch", "check_rows", "shard", "synchronise",
           "step_rows", "barrier", "gather", "check_agreement", "anyone", "DivergenceError", "record", "check_resume",
           "weights_digest"]

#: The key-value stores a run may name: one process (``local``, ``device``) or several (``dist_*``).
KVSTORES = ("local", "device", "dist_sync", "dist_device_sync")
#: Those that span several processes.
DISTRIBUTED = ("dist_sync", "dist_device_sync")
#: What a worker process needs in its environment to join a distributed store (set by ``crepe launch``).
ENVIRONMENT = ("DMLC_ROLE", "DMLC_PS_ROOT_URI", "DMLC_PS_ROOT_PORT", "DMLC_NUM_SERVER", "DMLC_NUM_WORKER")

#: What a worker prints once it has joined the job (every process of it has then reached the scheduler), and
#: the pattern by which ``launch`` knows it has.
JOINED_LINE = "kvstore {name}: rank {rank} of {workers} workers, {servers} server(s)"
JOINED = re.compile(r"^kvstore \S+: rank \d+ of \d+ workers, \d+ server\(s\)$")

#: The store key through which the workers compare notes (far above any parameter's index, which the Trainer uses).
GATHER_KEY = 999_983
#: Numbers in each worker's row of a :func:`gather`: three 16-bit pieces of a digest (exact in float32), a flag.
GATHER_WIDTH = 4

_STORES = {}            # one distributed store per process: creating a second one would join the job twice
_GATHERING = set()      # the stores whose GATHER_KEY is initialised


@dataclass(frozen=True)
class Group:
    """The workers of a run as this process sees them: the store, its rank and the counts.

    Examples
    --------
    >>> Group().rank, Group().workers, Group().distributed
    (0, 1, False)
    """
    name: str = "device"
    store: object = None          # the mx.kv.KVStore of a distributed run
    rank: int = 0
    workers: int = 1
    servers: int = 0

    @property
    def distributed(self):
        return self.store is not None


#: What a launch or a dist_* store needs and an MXNet built without a parameter server says, in one sentence.
NO_PARAMETER_SERVER = ("this MXNet was built without a parameter server (its DIST_KVSTORE feature is off, as in the "
                       "aarch64 wheels), so it cannot train on several workers; train in one process (--kvstore "
                       "device), or launch from an x86-64 machine")


def parameter_server_built():
    """Whether this MXNet was built with ps-lite, its parameter server (the DIST_KVSTORE feature).

    Examples
    --------
    >>> parameter_server_built() in (True, False)
    True
    """
    import mxnet as mx

    return mx.runtime.Features().is_enabled("DIST_KVSTORE")


def require_parameter_server():
    """Raise UsageError (:data:`NO_PARAMETER_SERVER`) on an MXNet built without a parameter server."""
    if not parameter_server_built():
        raise UsageError(NO_PARAMETER_SERVER)


def join(name):
    """The :class:`Group` of key-value store ``name``; a distributed one is joined once per process.

    Examples
    --------
    >>> join("device")
    Group(name='device', store=None, rank=0, workers=1, servers=0)
    >>> join("dist_async")
    Traceback (most recent call last):
    ...
    crepe.errors.UsageError: unknown kvstore 'dist_async': use one of local, device, dist_sync, dist_device_sync
    """
    if name not in KVSTORES:
        raise UsageError(f"unknown kvstore {name!r}: use one of {', '.join(KVSTORES)}")
    if name not in DISTRIBUTED:
        return Group(name)
    require_parameter_server()
    missing = [key for key in ENVIRONMENT if key not in os.environ]
    if missing or os.environ["DMLC_ROLE"] != "worker":
        raise UsageError(f"--kvstore {name} runs as one worker of a launched job, and this process has "
                         f"{'no ' + missing[0] if missing else 'DMLC_ROLE=' + os.environ['DMLC_ROLE']}; start it "
                         "with `python -m crepe launch --workers N -- train ...`")
    if name not in _STORES:
        import mxnet as mx

        store = _STORES[name] = mx.kv.create(name)
        group = Group(name, store, store.rank, store.num_workers, int(os.environ["DMLC_NUM_SERVER"]))
        print(JOINED_LINE.format(**vars(group)), flush=True)
    store = _STORES[name]
    return Group(name, store, store.rank, store.num_workers, int(os.environ["DMLC_NUM_SERVER"]))


def worker_batch(batch_size, group):
    """Rows per step of one worker: the global ``batch_size`` split evenly between the workers.

    Examples
    --------
    >>> worker_batch(32, Group(workers=2))
    16
    >>> worker_batch(30, Group(workers=4))
    Traceback (most recent call last):
    ...
    crepe.errors.UsageError: --batch-size 30 (the global batch) does not split evenly between 4 workers; ...
    """
    if batch_size % group.workers:
        raise UsageError(f"--batch-size {batch_size} (the global batch) does not split evenly between "
                         f"{group.workers} workers; use a multiple of {group.workers}")
    return batch_size // group.workers


def check_rows(rows, batch_size, group):
    """Refuse a training set smaller than the global batch on several workers, in one sentence: their shards'
    one short batch would differ in size, and so would their steps.

    Examples
    --------
    >>> check_rows(100, 32, Group(workers=2))
    >>> check_rows(20, 32, Group("dist_sync", object(), 0, 2, 1))
    Traceback (most recent call last):
    ...
    crepe.errors.UsageError: the training set has 20 rows, fewer than the global batch of 32 that 2 workers ...
    """
    if group.distributed and rows < batch_size:
        raise UsageError(f"the training set has {rows} rows, fewer than the global batch of {batch_size} that "
                         f"{group.workers} workers share; use --batch-size {rows - rows % group.workers} or less, "
                         "or more data")


def shard(order, group):
    """This worker's rows of an epoch's ``order``: every ``workers``-th, from its rank on.

    Worker batch ``k`` of every worker together are the rows of global batch ``k``.

    Examples
    --------
    >>> shard(list(range(10)), Group(rank=1, workers=2))
    [1, 3, 5, 7, 9]
    """
    return order[group.rank::group.workers]


def synchronise(trainer, group):
    """Give every worker rank 0's parameters now, before the first forward pass, and wait for it."""
    if not group.distributed:
        return
    import mxnet as mx

    if not trainer._kv_initialized:
        trainer._init_kvstore()
    trainer._init_params()
    if trainer._params_to_init:
        raise RuntimeError("distributed training needs every parameter's shape before the first step; "
                           f"{trainer._params_to_init[0].name} is still deferred")
    mx.nd.waitall()


def step_rows(trainer, rows):
    """What ``trainer.step`` divides the gradient by: the rows of every worker, whose gradients the servers
    summed (``rows`` is this worker's batch).

    Examples
    --------
    >>> from types import SimpleNamespace as Fake
    >>> step_rows(Fake(_kvstore=None), 16), step_rows(Fake(_kvstore=Fake(num_workers=2), _distributed=True), 16)
    (16, 32)
    """
    store = getattr(trainer, "_kvstore", None)
    if store is None or not getattr(trainer, "_distributed", False):
        return rows
    return rows * store.num_workers


def barrier(group):
    """Wait until every worker has come here (nothing to wait for in one process)."""
    if group.distributed:
        group.store._barrier()


class DivergenceError(RuntimeError):
    """The workers of one run hold different weights: the job cannot go on."""


def gather(group, row):
    """Every worker's ``row`` (:data:`GATHER_WIDTH` numbers) as a (workers, GATHER_WIDTH) array.

    Each worker pushes a table of zeros but for its own row; the servers sum the tables, so the sum
    holds every row. Every worker must call it at the same point of the run.
    """
    import mxnet as mx
    import numpy as np

    shape = (group.workers, GATHER_WIDTH)
    if group.name not in _GATHERING:
        group.store.init(GATHER_KEY, mx.nd.zeros(shape))           # rank 0's zeros, then a barrier
        _GATHERING.add(group.name)
    table = np.zeros(shape, np.float32)
    table[group.rank] = row
    total = mx.nd.zeros(shape)
    group.store.push(GATHER_KEY, mx.nd.array(table))
    group.store.pull(GATHER_KEY, out=total)
    return total.asnumpy()


def digest_pieces(digest):
    """The first 12 hex digits of a digest as three numbers below 2**16 (exact in float32).

    Examples
    --------
    >>> digest_pieces("0001000200ff")
    [1, 2, 255]
    """
    value = int(digest[:12], 16)
    return [(value >> shift) & 0xFFFF for shift in (32, 16, 0)]


def disagreeing(table):
    """The ranks whose digest (the first three numbers of their row) differs from rank 0's.

    Examples
    --------
    >>> disagreeing([[1, 2, 3, 0], [1, 2, 3, 0], [1, 2, 4, 0]])
    [2]
    """
    return [rank for rank, row in enumerate(table) if list(row[:3]) != list(table[0][:3])]


def check_agreement(net, group, epoch):
    """Raise :class:`DivergenceError`, naming the ranks, unless every worker holds the same weights after
    ``epoch`` (compared through the store, by digest); nothing to compare in one process.

    Examples
    --------
    >>> check_agreement(None, Group(), 1)          # one process: nothing to compare
    """
    if not group.distributed:
        return
    table = gather(group, [*digest_pieces(weights_digest(net)), 0])
    odd = disagreeing(table)
    if odd:
        ranks = ", ".join(map(str, odd))
        raise DivergenceError(f"the workers' weights differ after epoch {epoch}: rank{'s' if len(odd) > 1 else ''} "
                              f"{ranks} disagree{'s' if len(odd) == 1 else ''} with rank 0, so they no longer train "
                              "one model; the job stops here, before this epoch is saved")


def anyone(group, flag):
    """Whether ``flag`` is true on any worker (``flag`` itself in one process); every worker must ask.

    Examples
    --------
    >>> anyone(Group(), 1), anyone(Group(), 0)
    (True, False)
    """
    if not group.distributed:
        return bool(flag)
    return bool(gather(group, [0, 0, 0, float(bool(flag))])[:, 3].any())


def record(group, batch_size):
    """What ``config.json`` records about the workers (``run.distributed``).

    Examples
    --------
    >>> record(Group("dist_sync", None, 0, 2, 1), 32)
    {'kvstore': 'dist_sync', 'workers': 2, 'servers': 1, 'global_batch': 32, 'worker_batch': 16}
    """
    return {"kvstore": group.name, "workers": group.workers, "servers": group.servers, "global_batch": batch_size,
            "worker_batch": batch_size // group.workers}


def check_resume(directory, recorded, group):
    """Refuse to resume a run on another number of workers than it was trained on, naming both.

    Examples
    --------
    >>> check_resume("runs/d", {"workers": 2}, Group(workers=2))
    >>> check_resume("runs/d", {"workers": 2}, Group())
    Traceback (most recent call last):
    ...
    crepe.errors.CheckpointError: runs/d was trained on 2 workers and this run has 1; resume it with `python -m ...
    """
    trained = (recorded or {}).get("workers", 1)
    if trained != group.workers:
        how = f"`python -m crepe launch --workers {trained} -- train --resume ...`" if trained > 1 else \
            "`python -m crepe train --resume ...` (one process)"
        raise CheckpointError(f"{directory} was trained on {trained} worker{'s' if trained > 1 else ''} and this run "
                         f"has {group.workers}; resume it with {how}")


def weights_digest(net, digits=12):
    """The first ``digits`` hex digits of a SHA-256 over ``net``'s parameters (name order): equal on every
    worker of a run whose weights agree, which each worker's line per epoch shows.

    Examples
    --------
    >>> from crepe.model import Crepe
    >>> import mxnet as mx
    >>> mx.random.seed(0); a = Crepe(2, filters=8); a.initialize()
    >>> mx.random.seed(0); b = Crepe(2, filters=8); b.initialize()
    >>> weights_digest(a) == weights_digest(b), len(weights_digest(a))
    (True, 12)
    """
    import hashlib

    hasher = hashlib.sha256()
    for name, param in sorted(net._collect_params_with_prefix().items()):
        hasher.update(name.encode())
        hasher.update(param.data().asnumpy().tobytes())
    return hasher.hexdigest()[:digits]
