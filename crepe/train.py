"""Training, evaluation, prediction and export for Crepe and the word CNN.

Checkpoints go to a model directory whose format lives in :mod:`crepe.checkpoint`: one commit per
epoch, interrupt-safe, nothing unpickled. Model selection uses the validation split only, never the
test set.
"""
import contextlib
import os
import signal
import sys
import time
import warnings
from collections import namedtuple
from dataclasses import dataclass
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from . import checkpoint
from .checkpoint import (FORMAT_VERSION, CheckpointError, build_model, is_word_model, load_model, model_config,
                         save_config)
from .data import data_loader
from .quantise import FRAME_LENGTH, encode

__all__ = ["CheckpointError", "RECIPES", "FORMAT_VERSION", "enable_mixed_precision", "fit", "evaluate", "predict",
           "Prediction", "learning_rate", "make_dataset", "model_config", "save_config", "build_model", "load_model",
           "export", "load_exported", "plot_confusion", "plot_history", "plot_learning_curve"]

#: Training recipes by name. ``paper`` is the original's; ``workshop`` learns within a CPU budget
#: of minutes (benchmarks/README.md, "Learning", has the measurements behind it).
RECIPES = {
    "paper": {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "wd": 1e-5, "halve_every": 3, "halvings": 10},
    "workshop": {"optimizer": "adam", "lr": 4e-3, "wd": 0.0, "warmup_steps": 20, "decay": "cosine"},
}

Prediction = namedtuple("Prediction", ["label", "probabilities"])

#: If set, fit writes "epoch step" to this file after every step: a position an outside process
#: (a monitor, or a test that must interrupt mid-epoch) can wait for instead of guessing with sleeps.
PROGRESS_FILE_VARIABLE = "CREPE_PROGRESS_FILE"


def make_dataset(net, texts, labels, transform=None, seed=0, training=False):
    """The dataset and batchify function that feed ``net``: index frames for Crepe, token ids for words.

    Parameters
    ----------
    net : Crepe or WordCNN
    texts, labels : sequences
    transform : callable, optional
        Training augmentation (see :class:`crepe.data.TextDataset`).
    seed : int, optional
        The run's seed, for ``transform``.
    training : bool, optional
        A training set: Crepe then gets frames of ``crepe.model.training_length(net)`` columns (512
        for the max-over-time head, which reads any length); otherwise, and for evaluation, 1014.

    Returns
    -------
    (dataset, callable or None)
        Pass both to :func:`fit` or :func:`evaluate` (``batchify_fn``).
    """
    if is_word_model(net):
        from .words import WordDataset, word_batchify

        if transform is not None:        # words: augmented once, each row with its own seeded draw
            from .data import _takes_two_arguments

            seeded = _takes_two_arguments(transform)
            texts = [transform(text, np.random.RandomState([seed, 0, i])) if seeded else transform(text)
                     for i, text in enumerate(texts)]
        return WordDataset(texts, labels, net.vocab), word_batchify(net.vocab)
    from .data import TextDataset
    from .model import training_length

    length = training_length(net) if training else FRAME_LENGTH
    return TextDataset(texts, labels, transform=transform, seed=seed, length=length), None


# ----------------------------------------------------------------------------- training


class _Permutation(gluon.data.sampler.Sampler):
    """Indices in an order fixed by a seed, so that a resumed run sees the same batches."""

    def __init__(self, length, seed):
        self._order = np.random.RandomState(seed).permutation(length)

    def __iter__(self):
        return iter(self._order.tolist())

    def __len__(self):
        return len(self._order)


def _as_list(ctx):
    return list(ctx) if isinstance(ctx, (list, tuple)) else [ctx or mx.cpu()]


def learning_rate(recipe, step, total_steps, steps_per_epoch, base):
    """The recipe's learning rate for 0-based ``step`` of ``total_steps``.

    ``paper``: halved every ``halve_every`` epochs. ``workshop``: a linear warm-up over
    ``warmup_steps`` (or a quarter of a shorter run), then a cosine decay to zero at ``total_steps``.

    Examples
    --------
    >>> workshop = RECIPES["workshop"]
    >>> [round(learning_rate(workshop, s, 1000, 100, 4e-3), 6) for s in (0, 19, 510, 999)]
    [0.0002, 0.004, 0.002, 0.0]
    >>> learning_rate(RECIPES["paper"], 650, 3000, 100, 0.01)     # epoch 7: halved twice
    0.0025
    """
    if recipe.get("halve_every"):
        return base * 0.5 ** min(step // steps_per_epoch // recipe["halve_every"], recipe["halvings"])
    warm = min(recipe.get("warmup_steps", 0), total_steps // 4)       # a short run warms up for a quarter
    factor = min(1.0, (step + 1) / warm) if warm else 1.0
    if recipe.get("decay") == "cosine":
        progress = min(max(step - warm, 0) / max(total_steps - warm, 1), 1.0)
        factor *= 0.5 * (1 + np.cos(np.pi * progress))
    return base * factor


def _make_trainer(net, recipe, lr, ctx):
    options = {"learning_rate": lr, "wd": recipe["wd"]}
    if "momentum" in recipe:
        options["momentum"] = recipe["momentum"]
    kvstore = "device" if len(ctx) > 1 else None
    # update_on_kvstore=False keeps the optimiser state where crepe.checkpoint can save it as NDArrays.
    return gluon.Trainer(net.collect_params(), recipe["optimizer"], options, kvstore=kvstore,
                         update_on_kvstore=False if kvstore else None)


def enable_mixed_precision():
    """Switch MXNet to automatic mixed precision (float16 with loss scaling) for GPU training.

    Call it once, *before* building the network (``mxnet.contrib.amp.init`` rewrites operators as
    they are created), then pass ``amp=True`` to :func:`fit`. GPU only: on the CPU MXNet 1.9.1 would
    use bfloat16, which this workshop does not support.
    """
    from mxnet.contrib import amp

    if not getattr(amp.amp, "_amp_initialized", False):
        amp.init()


def train_step(net, trainer, loss_fn, data, label, ctx, amp=False):
    """One forward/backward/update over a batch split across ``ctx``; returns (loss sum, correct) NDArrays.

    Nothing here waits for the device: the returned sums are read back only when needed. With
    ``amp`` the losses are scaled (mixed precision) before the backward pass.
    """
    datas = gluon.utils.split_and_load(data, ctx, even_split=False)
    labels = gluon.utils.split_and_load(label, ctx, even_split=False)
    with autograd.record():
        outputs = [net(x) for x in datas]
        losses = [loss_fn(out, y) for out, y in zip(outputs, labels)]
        if amp:
            from mxnet.contrib import amp as mx_amp

            with mx_amp.scale_loss(losses, trainer) as scaled:
                autograd.backward(scaled)
        else:
            autograd.backward(losses)
    trainer.step(data.shape[0])
    loss_sum = sum(loss.sum().as_in_context(ctx[0]) for loss in losses)
    correct = sum((out.argmax(axis=1) == y.astype("float32")).sum().as_in_context(ctx[0])
                  for out, y in zip(outputs, labels))
    return loss_sum, correct


@contextlib.contextmanager
def _plain_signals():
    """Default signal handling while DataLoader workers are forked, so that they inherit none of ours.

    A worker then ignores Ctrl-C (the parent handles it and ends the pool) and dies on SIGTERM.
    """
    if sys.platform == "win32" or not _in_main_thread():
        yield
        return
    previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
                signal.SIGTERM: signal.signal(signal.SIGTERM, signal.SIG_DFL)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _in_main_thread():
    import threading

    return threading.current_thread() is threading.main_thread()


@dataclass
class _Loop:
    """What stays fixed for every epoch of one :func:`fit` call."""
    net: object
    trainer: object
    recipe: dict
    base_lr: float
    ctx: list
    batch_size: int
    steps: int                  # per epoch
    total: int                  # planned steps in all (a time budget may shorten it)
    seed: int
    num_workers: int
    batchify_fn: object
    amp: bool
    eval_every: int
    progress: bool
    time_budget: float
    trained: float = 0.0        # seconds of training so far in this call
    first_step: int = 0         # where this call started (after a resume, not 0)


def _start(loop, out_dir, resume, overwrite, classes, run, log):
    """Restore a run from ``out_dir`` (``resume``) or prepare a fresh one; return (history, epoch, best)."""
    net = loop.net
    if out_dir is None:
        return [], 0, (None, -1.0)
    if not resume:
        _check_writable(out_dir)
        checkpoint.prepare_directory(out_dir, overwrite)
        save_config(out_dir, net, classes or [str(i) for i in range(net.num_classes)], run)
        return [], 0, (None, -1.0)
    if not (out_dir / "state.json").is_file():
        raise CheckpointError(f"nothing to resume in {out_dir}: no state.json")
    config = checkpoint.read_config(out_dir)
    if config["format"] < 2:
        raise CheckpointError(f"{out_dir} was written by an earlier version that stored the optimiser state as a "
                              "pickle, which this version never reads; train again into a new directory")
    wanted = model_config(net, config["classes"])
    changed = [key for key in ("model", "size", "architecture") if config.get(key) != wanted.get(key)]
    if changed or len(config["classes"]) != net.num_classes:
        raise CheckpointError(f"{out_dir} holds another model than this one (it differs in "
                              f"{', '.join(changed) or 'the number of classes'}); train into a new directory")
    recorded = dict(config.get("run", {}))
    for key, before in (("word_dropout", 0.0), ("train_length", FRAME_LENGTH if config["model"] == "crepe" else None)):
        if key in run:
            recorded.setdefault(key, before)          # a run recorded before this setting existed
    changed = checkpoint.differences(recorded, run)
    if changed:
        raise CheckpointError(f"{out_dir} was trained with other settings, so --resume would mix two runs "
                              f"({'; '.join(changed)}); resume with the same settings or use --overwrite")
    state = checkpoint.read_state(out_dir)
    for name in (state["params"], state["states"]):
        checkpoint.verify(out_dir / name, state["sha256"].get(name))
    checkpoint.load_parameters(net, out_dir / state["params"], loop.ctx)
    checkpoint.load_optimizer(loop.trainer, out_dir / state["states"], state.get("optimizer"))
    log(f"resuming from {out_dir} after epoch {state['epoch']}")
    return state["history"], state["epoch"], (state.get("best"), state.get("best_accuracy", -1.0))


def _train_epoch(loop, epoch, train_set, val_set, loss_fn, epochs):
    """One epoch: the seeded batches, the per-step learning rate, the curve; returns the history entry."""
    from tqdm import tqdm                # plain text bars: the same in a terminal and a notebook

    mx.random.seed(loop.seed + epoch)
    if hasattr(train_set, "set_epoch"):
        train_set.set_epoch(epoch)       # seeds augmentation by (seed, epoch, row)
    with _plain_signals() if loop.num_workers else contextlib.nullcontext():   # workers are forked here
        loader = gluon.data.DataLoader(train_set, batch_size=loop.batch_size, num_workers=loop.num_workers,
                                       sampler=_Permutation(len(train_set), loop.seed + epoch),
                                       last_batch="discard" if len(train_set) > loop.batch_size else "keep",
                                       thread_pool=False, batchify_fn=loop.batchify_fn)
    progress_file = os.environ.get(PROGRESS_FILE_VARIABLE)
    ctx, steps = loop.ctx, loop.steps
    total_loss, total_correct, seen = mx.nd.zeros(1, ctx=ctx[0]), mx.nd.zeros(1, ctx=ctx[0]), 0
    curve, paused = [], 0.0
    started = time.perf_counter()
    with tqdm(total=steps, desc=f"epoch {epoch + 1}/{epochs}", unit="batch", disable=not loop.progress,
              leave=False, file=sys.stdout, mininterval=2.0) as bar:
        for step, (data, label) in enumerate(loader):
            position = epoch * steps + step
            if step >= steps or position >= loop.total:
                break
            loop.trainer.set_learning_rate(learning_rate(loop.recipe, position, loop.total, steps, loop.base_lr))
            loss_sum, correct = train_step(loop.net, loop.trainer, loss_fn, data, label, ctx, amp=loop.amp)
            total_loss += loss_sum
            total_correct += correct
            seen += data.shape[0]
            bar.update(1)
            if progress_file:
                total_loss.wait_to_read()
                Path(progress_file).write_text(f"{epoch + 1} {step + 1}\n")
            if step % 10 == 9 or step == steps - 1:      # read back only now and then
                rate = seen / (time.perf_counter() - started - paused)
                bar.set_postfix(loss=f"{total_loss.asscalar() / seen:.3f}", samples_s=f"{rate:.0f}")
            if loop.time_budget and position + 1 == loop.first_step + 10:
                total_loss.wait_to_read()
                per_step = (time.perf_counter() - started - paused + loop.trained) / 10
                loop.total = min(loop.total, loop.first_step + max(10, int(loop.time_budget / per_step)))
            if loop.eval_every and val_set is not None and (position + 1) % loop.eval_every == 0:
                began = time.perf_counter()
                curve.append((position + 1, evaluate(loop.net, val_set, ctx=ctx, batchify_fn=loop.batchify_fn)["accuracy"]))
                paused += time.perf_counter() - began
    seconds = time.perf_counter() - started - paused
    loop.trained += seconds
    return {"epoch": epoch + 1, "lr": loop.trainer.learning_rate,
            "train_loss": float(total_loss.asscalar()) / max(seen, 1),
            "train_accuracy": float(total_correct.asscalar()) / max(seen, 1),
            "val_accuracy": (evaluate(loop.net, val_set, ctx=ctx, batchify_fn=loop.batchify_fn)["accuracy"]
                             if val_set is not None else None),
            "samples_per_s": seen / max(seconds, 1e-9), "seconds": seconds, "curve": curve}


def fit(net, train_set, val_set=None, epochs=5, batch_size=64, ctx=None, recipe="workshop", lr=None,
        out_dir=None, classes=None, resume=False, seed=0, num_workers=0, max_batches=None,
        progress=True, log=print, amp=False, batchify_fn=None, eval_every=None, time_budget=None,
        overwrite=False, run=None):
    """Train ``net`` with softmax cross-entropy, on every context in ``ctx``.

    Parameters
    ----------
    net : Crepe or WordCNN
        Initialised, or about to be restored by ``resume``.
    train_set, val_set : dataset
        Training data, and the validation data used for "best" and reporting (never the test set).
    epochs : int
        Total epochs (a resumed run continues up to this number).
    batch_size : int
    ctx : mxnet.Context or list of Context, optional
        Several contexts split each batch between them (data parallelism). Default: CPU.
    recipe : {"workshop", "paper"}
        See ``RECIPES``.
    lr : float, optional
        Overrides the recipe's base learning rate.
    out_dir : str or Path, optional
        Model directory for a checkpoint after every epoch (:mod:`crepe.checkpoint`); None keeps
        nothing on disk. One that already holds a run is refused unless ``resume`` or ``overwrite``.
    classes : sequence of str, optional
        Class names, recorded in ``config.json``.
    resume : bool
        Continue from the last committed epoch in ``out_dir``; refused if the model or the run's
        settings differ from those recorded.
    seed : int
        Fixes the data order, dropout and augmentation of every epoch (so a resumed run matches an
        unbroken one).
    num_workers : int
        Worker processes for encoding batches.
    max_batches : int, optional
        Stop each epoch after this many batches (quick runs and tests).
    progress : bool
        A tqdm bar per epoch.
    log : callable
        Where one line per epoch goes (default ``print``).
    amp : bool
        Mixed precision (float16 with dynamic loss scaling), GPU contexts only; call
        :func:`enable_mixed_precision` before building the network.
    batchify_fn : callable, optional
        How samples become a batch (default: stack); word models pass a padding one.
    eval_every : int, optional
        Also measure validation accuracy every this many steps, for a learning curve per step
        (the time it takes is not counted in ``samples_per_s``).
    time_budget : float, optional
        Seconds of training (validation not counted) after which to stop, for comparisons at equal
        wall-clock time. After 10 steps the run is shortened to the steps that fit, so that the
        learning-rate schedule still ends where the run ends.
    overwrite : bool
        Replace a run already in ``out_dir``.
    run : dict, optional
        Further settings to record and to compare on ``resume`` (the command line passes the data
        set and its digest, and the validation fraction).

    Returns
    -------
    list of dict
        One entry per epoch: ``epoch``, ``lr``, ``train_loss``, ``train_accuracy``,
        ``val_accuracy`` (or None), ``samples_per_s``, ``seconds``, and ``curve``: a list of
        (step, validation accuracy) pairs when ``eval_every`` is set.
    """
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}: use one of {sorted(RECIPES)}")
    ctx = _as_list(ctx)
    base_lr = lr or RECIPES[recipe]["lr"]
    run = {"recipe": recipe, "lr": base_lr, "batch_size": batch_size, "seed": seed, **(run or {})}
    trainer = _make_trainer(net, RECIPES[recipe], base_lr, ctx)
    if amp:
        from mxnet.contrib import amp as mx_amp

        if any(c.device_type != "gpu" for c in ctx):
            raise ValueError("mixed precision (amp=True) needs GPU contexts; on the CPU train in float32")
        if not getattr(mx_amp.amp, "_amp_initialized", False):
            raise ValueError("call crepe.train.enable_mixed_precision() before building the network")
        mx_amp.init_trainer(trainer)
    batches = len(train_set) // batch_size if len(train_set) > batch_size else 1
    steps = min(batches, max_batches or batches)
    loop = _Loop(net, trainer, RECIPES[recipe], base_lr, ctx, batch_size, steps, epochs * steps, seed, num_workers,
                 batchify_fn, amp, eval_every, progress, time_budget)
    out_dir = Path(out_dir) if out_dir else None
    history, start, best = _start(loop, out_dir, resume, overwrite, classes, run, log)
    loop.first_step = start * steps
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    epoch = start
    try:
        for epoch in range(start, epochs):
            if epoch * steps >= loop.total:
                break
            entry = _train_epoch(loop, epoch, train_set, val_set, loss_fn, epochs)
            history.append(entry)
            val = entry["val_accuracy"]
            line = (f"epoch {entry['epoch']}: loss {entry['train_loss']:.4f}, train accuracy "
                    f"{entry['train_accuracy']:.3f}" + (f", validation accuracy {val:.3f}" if val is not None else "")
                    + f", {entry['samples_per_s']:.0f} samples/s")
            if out_dir is None:
                log(line)
                continue
            if val is None or val > best[1]:                # this epoch becomes the best
                best = (None, val if val is not None else best[1])
            best = checkpoint.commit_epoch(out_dir, net, trainer, epoch + 1, history, best)
            log(line)
    except KeyboardInterrupt:
        committed = None
        if out_dir is not None and (out_dir / "state.json").is_file():
            with contextlib.suppress(CheckpointError):
                committed = checkpoint.read_state(out_dir)["epoch"]
        if committed == epoch + 1:         # the signal came while this epoch was being committed
            log(f"interrupted after epoch {committed}: it is saved in {out_dir}")
        else:
            where = f"{out_dir}, epoch {committed}" if committed else "nowhere (no epoch completed)"
            log(f"interrupted during epoch {epoch + 1}: the last completed epoch is saved in {where}")
        raise
    return history


def _check_writable(directory):
    """Fail before training if the model directory cannot be written to."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".write-test-{os.getpid()}"
        probe.write_bytes(b"\0" * 4096)
        probe.unlink()
    except OSError as error:
        raise CheckpointError(f"cannot write checkpoints to {directory}: {error.strerror or error}") from error


# ----------------------------------------------------------------------------- evaluation


def evaluate(net, dataset, ctx=None, batch_size=256, num_classes=None, batchify_fn=None):
    """Accuracy, per-class precision and recall, and the confusion matrix, over *every* row.

    Parameters
    ----------
    net : Crepe
    dataset : TextDataset
    ctx : mxnet.Context or list, optional
        The first context is used (default CPU).
    batch_size : int, optional
    num_classes : int, optional
        Defaults to ``net.num_classes``.
    batchify_fn : callable, optional
        As in :func:`fit`.

    Returns
    -------
    dict
        ``accuracy`` (float), ``precision`` and ``recall`` (arrays; 0.0 for a class never predicted,
        or never present, rather than NaN), ``confusion`` (rows: true class, columns: predicted),
        ``count``.
    """
    device = _as_list(ctx)[0]
    num_classes = num_classes or net.num_classes
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    for data, label in data_loader(dataset, batch_size, last_batch="keep", batchify_fn=batchify_fn):
        predicted = net(data.as_in_context(device)).argmax(axis=1).asnumpy().astype(np.int64)
        np.add.at(confusion, (label.asnumpy().astype(np.int64), predicted), 1)
    count = int(confusion.sum())
    predicted, present = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.diag(confusion) / np.maximum(predicted, 1)     # 0.0 for a class never predicted
    recall = np.diag(confusion) / np.maximum(present, 1)          # 0.0 for a class absent from the data
    return {"accuracy": float(np.trace(confusion)) / max(count, 1), "precision": precision, "recall": recall,
            "confusion": confusion, "count": count}


def predict(net, texts, classes, ctx=None):
    """Class names with probabilities, for one text or many.

    Parameters
    ----------
    net : Crepe
    texts : str or list of str
    classes : sequence of str
    ctx : mxnet.Context, optional

    Returns
    -------
    Prediction or list of Prediction
        ``label`` (the most probable class) and ``probabilities`` (class -> probability, in class
        order).
    """
    device = _as_list(ctx)[0]
    batch = texts if not isinstance(texts, str) else [texts]
    if is_word_model(net):
        from .words import WordDataset, word_batchify

        ids, _ = word_batchify(net.vocab)([WordDataset([t], [0], net.vocab)[0] for t in batch])
        inputs = ids.as_in_context(device)                                        # (N, tokens)
    else:
        inputs = mx.nd.array(encode(batch), ctx=device, dtype="uint8")            # (N, 1014)
    probabilities = mx.nd.softmax(net(inputs), axis=1).asnumpy()                  # (N, classes)
    results = [Prediction(classes[int(p.argmax())], dict(zip(classes, map(float, p)))) for p in probabilities]
    return results[0] if isinstance(texts, str) else results


# ----------------------------------------------------------------------------- export


def export(net, prefix):
    """Save ``net`` in MXNet's symbolic format: ``prefix-symbol.json`` and ``prefix-0000.params``.

    Returns
    -------
    (Path, Path)
        The symbol and parameter files.
    """
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    word = is_word_model(net)
    net.hybridize(static_alloc=True, static_shape=not word)
    device = next(iter(net.collect_params().values())).list_ctx()[0]
    example = mx.nd.ones((1, 8), ctx=device) if word else mx.nd.zeros((1, FRAME_LENGTH), ctx=device, dtype="uint8")
    net(example)                                                               # build the graph
    net.export(str(prefix), epoch=0)
    return Path(f"{prefix}-symbol.json"), Path(f"{prefix}-0000.params")


def load_exported(prefix, ctx=None):
    """Load an exported model as a ``SymbolBlock`` that takes (N, 1014) uint8 frames."""
    prefix = str(prefix)
    for path in (f"{prefix}-symbol.json", f"{prefix}-0000.params"):
        if not os.path.isfile(path):
            raise CheckpointError(f"{path}: missing; export the model first (python -m crepe export)")
    with warnings.catch_warnings():                  # SymbolBlock warns about unnamed inputs
        warnings.simplefilter("ignore")
        return gluon.SymbolBlock.imports(f"{prefix}-symbol.json", ["data"], f"{prefix}-0000.params",
                                         ctx=ctx or mx.cpu())


# ----------------------------------------------------------------------------- pictures


def plot_history(history, ax=None):
    """Training loss and accuracies per epoch, on one matplotlib axes (two y scales)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(7, 3.5))[1]
    epochs = [h["epoch"] for h in history]
    ax.plot(epochs, [h["train_loss"] for h in history], "o-", color="tab:red", label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    right = ax.twinx()
    right.plot(epochs, [h["train_accuracy"] for h in history], "s--", color="tab:blue", label="training accuracy")
    if history and history[0]["val_accuracy"] is not None:
        right.plot(epochs, [h["val_accuracy"] for h in history], "s-", color="tab:green", label="validation accuracy")
    right.set_ylim(0, 1)
    right.set_ylabel("accuracy")
    lines = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(lines, [line.get_label() for line in lines], loc="center right")
    return ax


def plot_learning_curve(history, num_classes, ax=None, label="validation accuracy"):
    """Validation accuracy against training steps (``fit(..., eval_every=N)``), with the chance level."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(7, 3.5))[1]
    points = [point for entry in history for point in entry.get("curve", [])]
    if points:
        ax.plot(*zip(*points), "o-", markersize=3, label=label)
    ax.axhline(1 / num_classes, color="grey", linestyle="--", label=f"chance (1/{num_classes})")
    ax.set_xlabel("training step (one batch)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return ax


def plot_confusion(confusion, classes, ax=None):
    """The confusion matrix as a heat map with counts (rows: true class, columns: predicted)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(4.5, 4))[1]
    ax.imshow(confusion, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = confusion.max() / 2 if confusion.size else 0
    for (row, col), value in np.ndenumerate(confusion):
        ax.text(col, row, str(value), ha="center", va="center", color="white" if value > threshold else "black")
    return ax
