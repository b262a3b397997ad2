"""The training loop: :func:`fit` and one step of it.

``fit(net, train_set, val_set, settings, callbacks)`` trains with softmax cross-entropy on every
context the network was initialised on, splitting each batch between them. What a run does besides
learning goes through callbacks (:mod:`crepe.callbacks`): the progress bar and the line per epoch,
the model directory's checkpoints, the time budget and the per-step learning curve, and whatever a
benchmark or a test wants to watch. Model selection uses the validation split only, never the test
set.
"""
import contextlib
import time
from dataclasses import dataclass, field

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from .distributed import worker as distributed
from .families import family_of
from .recipes import learning_rate, make_trainer, recipe_of
from .settings import TrainSettings
from .signals import plain_signals

__all__ = ["fit", "train_step", "Loop", "contexts_of"]


@dataclass
class Loop:
    """The state of one :func:`fit` call. It changes as training goes; callbacks read it, and may change
    ``total_steps`` (to end the run sooner, schedule included) or set ``stop``."""
    net: object
    trainer: object
    settings: TrainSettings
    recipe: dict
    contexts: list
    val_set: object
    steps_per_epoch: int
    total_steps: int                 # planned steps in all (a time budget may shorten it)
    epoch: int = 0                   # the epoch under way, 0-based
    step: int = 0                    # steps completed, counted over the whole run
    first_step: int = 0              # where this call started (after a resume, not 0)
    history: list = field(default_factory=list)
    seconds: float = 0.0             # training time of this call's completed epochs
    paused: float = 0.0              # time set aside by pause() during this call (evaluation)
    stop: bool = False
    epoch_started: float = 0.0
    epoch_paused: float = 0.0
    epoch_loss: object = None        # running sums of the epoch under way, on the first context
    epoch_correct: object = None
    epoch_seen: int = 0
    curve: list = field(default_factory=list)    # (step, validation accuracy) of the epoch under way
    group: distributed.Group = field(default_factory=distributed.Group)   # this process among the workers

    def training_seconds(self):
        """Seconds of training in this call so far, the epoch under way included, pauses left out.

        MXNet computes asynchronously: this counts the steps queued so far only once something has
        waited for them (reading the loss, :meth:`pause`).
        """
        return self.seconds + time.perf_counter() - self.epoch_started - (self.paused - self.epoch_paused)

    @contextlib.contextmanager
    def pause(self):
        """A block of work that is not training (a callback's evaluation): its time is left out of
        :meth:`training_seconds`. The steps queued before it are waited for first, as training time."""
        mx.nd.waitall()
        began = time.perf_counter()
        try:
            yield
        finally:
            self.paused += time.perf_counter() - began


class _Permutation(gluon.data.sampler.Sampler):
    """Indices in an order fixed by a seed, so that a resumed run sees the same batches; of several
    workers, this one's shard of that order (:func:`crepe.distributed.worker.shard`)."""

    def __init__(self, length, seed, group=distributed.Group()):
        self._order = distributed.shard(np.random.RandomState(seed).permutation(length), group)

    def __iter__(self):
        return iter(self._order.tolist())

    def __len__(self):
        return len(self._order)


def contexts_of(net):
    """The contexts ``net``'s parameters live on: where :func:`fit` trains it.

    Examples
    --------
    >>> from crepe.model import Crepe
    >>> net = Crepe(4); net.initialize(ctx=mx.cpu())
    >>> contexts_of(net)
    [cpu(0)]
    """
    try:
        return list(next(iter(net.collect_params().values())).list_ctx())
    except RuntimeError:
        raise ValueError("initialise the network before training it: net.initialize(ctx=crepe.get_ctx())") from None


#: Where a callback may end a run of several workers: at the end of an epoch, where they agree to stop together.
#: Elsewhere it would end one worker's loop and leave the others waiting for its gradients.
STOPPING_MOMENTS = ("on_epoch_end",)


def _notify(loop, callbacks, moment, *arguments):
    """Call ``moment`` on every callback, in order; on several workers, refuse a callback that would end
    this worker's run alone (:data:`STOPPING_MOMENTS`)."""
    for callback in callbacks:
        before = (loop.stop, loop.total_steps)
        getattr(callback, moment)(loop, *arguments)
        changed = before != (loop.stop, loop.total_steps)
        if changed and loop.group.distributed and (moment not in STOPPING_MOMENTS or before[1] != loop.total_steps):
            raise ValueError(f"{type(callback).__name__}.{moment} ended or shortened the run of worker "
                             f"{loop.group.rank} alone, which would leave the other workers waiting; with several "
                             "workers a callback may only set loop.stop, and only in on_epoch_end")


def train_step(net, trainer, loss_fn, data, label, contexts, amp=False, before_update=None):
    """One forward/backward/update over a batch split across ``contexts``; returns (loss sum, correct).

    Nothing here waits for the device: the returned NDArrays are read back only when needed. With
    ``amp`` the losses are scaled (mixed precision) before the backward pass. ``before_update()``, if
    given, runs between the backward pass and the update (``on_gradients`` callbacks).
    """
    from .precision import scaled_backward

    datas = gluon.utils.split_and_load(data, contexts, even_split=False)
    labels = gluon.utils.split_and_load(label, contexts, even_split=False)
    with autograd.record():
        outputs = [net(x) for x in datas]                                       # (n, classes) each
        losses = [loss_fn(out, y) for out, y in zip(outputs, labels)]
        if amp:
            scaled_backward(losses, trainer)
        else:
            autograd.backward(losses)
    if before_update is not None:
        before_update()
    trainer.step(distributed.step_rows(trainer, data.shape[0]))           # the mean over every worker's rows
    loss_sum = sum(loss.sum().as_in_context(contexts[0]) for loss in losses)
    correct = sum((out.argmax(axis=1) == y.astype("float32")).sum().as_in_context(contexts[0])
                  for out, y in zip(outputs, labels))
    return loss_sum, correct


def _loader(train_set, settings, epoch, group=distributed.Group()):
    """The epoch's batches, in the order the seed and the epoch fix (this worker's shard of them)."""
    workers, batch = settings.workers, distributed.worker_batch(settings.batch_size, group)
    sampler = _Permutation(len(train_set), settings.seed + epoch, group)
    with plain_signals() if workers else contextlib.nullcontext():           # worker processes are forked here
        return gluon.data.DataLoader(train_set, batch_size=batch, num_workers=workers, sampler=sampler,
                                     last_batch="discard" if len(sampler) > batch else "keep",
                                     thread_pool=False, batchify_fn=train_set.batchify_fn)


def _begin_epoch(loop, train_set):
    # Dropout masks: rank 0's as one process's; each other worker draws its own (its rows differ too).
    mx.random.seed(loop.settings.seed + loop.epoch + 7919 * loop.group.rank)
    train_set.set_epoch(loop.epoch)                      # seeds augmentation by (seed, epoch, row)
    first = loop.contexts[0]
    loop.epoch_loss, loop.epoch_correct = mx.nd.zeros(1, ctx=first), mx.nd.zeros(1, ctx=first)
    loop.epoch_seen, loop.curve = 0, []
    loop.epoch_started, loop.epoch_paused = time.perf_counter(), loop.paused


def _end_epoch(loop):
    """The history entry of the epoch just trained."""
    from .inference import evaluate

    loop.epoch_loss.wait_to_read()                       # the epoch's last steps are training time
    seconds = loop.training_seconds() - loop.seconds
    loop.seconds += seconds
    seen = max(loop.epoch_seen, 1)
    validate = loop.val_set is not None and loop.group.rank == 0          # rank 0 validates for every worker
    val = evaluate(loop.net, loop.val_set, ctx=loop.contexts)["accuracy"] if validate else None
    return {"epoch": loop.epoch + 1, "lr": loop.trainer.learning_rate,
            "train_loss": float(loop.epoch_loss.asscalar()) / seen,
            "train_accuracy": float(loop.epoch_correct.asscalar()) / seen, "val_accuracy": val,
            "samples_per_s": loop.epoch_seen * loop.group.workers / max(seconds, 1e-9),     # every worker's rows
            "seconds": seconds, "curve": loop.curve}


def _run_epoch(loop, train_set, loss_fn, callbacks):
    _begin_epoch(loop, train_set)
    _notify(loop, callbacks, "on_epoch_begin")
    for index, (data, label) in enumerate(_loader(train_set, loop.settings, loop.epoch, loop.group)):
        if index >= loop.steps_per_epoch or loop.step >= loop.total_steps or loop.stop:
            break
        loop.trainer.set_learning_rate(learning_rate(loop.recipe, loop.step, loop.total_steps,
                                                     loop.steps_per_epoch, loop.settings.lr))
        _notify(loop, callbacks, "on_step_begin")
        loss_sum, correct = train_step(loop.net, loop.trainer, loss_fn, data, label, loop.contexts, loop.settings.amp,
                                       lambda: _notify(loop, callbacks, "on_gradients"))
        loop.epoch_loss += loss_sum
        loop.epoch_correct += correct
        loop.epoch_seen += data.shape[0]
        loop.step += 1
        _notify(loop, callbacks, "on_step_end", loss_sum, correct)
    return _end_epoch(loop)


def _start(net, train_set, val_set, settings):
    """The Loop of a fresh run (a resume moves its position in ``on_train_begin``)."""
    family_of(net).check_dataset(net, train_set)
    if val_set is not None:
        family_of(net).check_dataset(net, val_set)
    recipe = recipe_of(settings.recipe)
    settings = settings.replace(lr=settings.lr or recipe["lr"], train_length=train_set.length)
    contexts = contexts_of(net)
    group = distributed.join(settings.kvstore)
    distributed.worker_batch(settings.batch_size, group)                 # refused early if it does not split
    distributed.check_rows(len(train_set), settings.batch_size, group)   # or if the workers' batches would differ
    if group.distributed and settings.time_budget:
        raise ValueError("a time budget ends each worker after its own steps, which would leave the others "
                         "waiting; give distributed runs a number of epochs or --max-batches instead")
    trainer = make_trainer(net.collect_params(), recipe, settings.lr, contexts, group.store or settings.kvstore)
    if settings.amp:
        from .precision import prepare_trainer

        prepare_trainer(trainer, contexts)
    batches = len(train_set) // settings.batch_size if len(train_set) > settings.batch_size else 1
    steps = min(batches, settings.max_batches or batches)
    return Loop(net, trainer, settings, recipe, contexts, val_set, steps, settings.epochs * steps, group=group)


def fit(net, train_set, val_set=None, settings=None, callbacks=None, loss=None):
    """Train ``net`` with softmax cross-entropy, on every context its parameters live on.

    Parameters
    ----------
    net : Crepe or WordCNN
        Initialised (``net.initialize(ctx=...)``): several contexts split each batch between them.
    train_set, val_set : dataset
        From :func:`crepe.make_dataset`: training data, and the validation data used for "best" and
        reporting (never the test set). A dataset built for another network is refused.
    settings : TrainSettings, optional
        The run's choices (default ``TrainSettings()``).
    callbacks : sequence of Callback, optional
        What watches the run, in order (:mod:`crepe.callbacks`). Default: a progress bar and a line
        per epoch (``crepe.callbacks.console()``); ``()`` trains silently. ``ModelDirectory`` keeps
        a checkpoint after every epoch.
    loss : callable, optional
        ``loss(outputs, labels)`` per row; default softmax cross-entropy.

    Returns
    -------
    list of dict
        One entry per epoch: ``epoch``, ``lr``, ``train_loss``, ``train_accuracy``,
        ``val_accuracy`` (or None), ``samples_per_s``, ``seconds``, and ``curve``: a list of
        (step, validation accuracy) pairs when ``settings.eval_every`` is set. Of several workers
        (``settings.kvstore`` ``dist_*``: this process is one worker of a job that ``python -m crepe
        launch`` started), the loss and training accuracy are this worker's shard's, ``samples_per_s``
        the whole job's, and the validation accuracy rank 0's alone (None on the others).
    """
    from .callbacks import console, from_settings

    loop = _start(net, train_set, val_set, settings or TrainSettings())
    callbacks = [*from_settings(loop.settings), *(console() if callbacks is None else callbacks)]
    loss_fn = loss or gluon.loss.SoftmaxCrossEntropyLoss()
    _notify(loop, callbacks, "on_train_begin")
    distributed.synchronise(loop.trainer, loop.group)                # rank 0's parameters, before any forward pass
    loop.first_step = loop.step
    try:
        while loop.epoch < loop.settings.epochs and loop.step < loop.total_steps and not loop.stop:
            entry = _run_epoch(loop, train_set, loss_fn, callbacks)
            distributed.check_agreement(loop.net, loop.group, loop.epoch + 1)     # before anything is saved
            loop.history.append(entry)
            _notify(loop, callbacks, "on_epoch_end", entry)
            loop.epoch += 1
            loop.stop = distributed.anyone(loop.group, loop.stop)          # one worker's stop stops them all
    except KeyboardInterrupt:
        _notify(loop, callbacks, "on_interrupt")
        raise
    _notify(loop, callbacks, "on_train_end")
    return loop.history
