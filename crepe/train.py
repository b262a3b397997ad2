"""Training, evaluation, prediction, checkpoints and export for Crepe.

A model directory holds:

- ``config.json``: what model this is (size, classes, frame length, alphabet, format version);
- ``epoch-NNNN.params`` / ``epoch-NNNN.states``: weights and optimiser state after epoch N;
- ``best.params``: the weights with the best *validation* accuracy so far;
- ``state.json``: the last completed epoch, the history, and the SHA-256 of each file it names.

Every file is written to a temporary name and renamed into place, and ``state.json`` is written
last: it only ever names files that are complete, so an interrupted run loses at most the epoch
in progress. Model selection never looks at the test set.
"""
import json
import os
import sys
import time
import warnings
from collections import namedtuple
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from .data import data_loader, sha256_of
from .model import Crepe
from .quantise import ALPHABET, FRAME_LENGTH, encode

__all__ = ["CheckpointError", "RECIPES", "FORMAT_VERSION", "enable_mixed_precision", "fit", "evaluate", "predict", "Prediction",
           "save_config", "load_model", "export", "load_exported", "plot_confusion", "plot_history"]

#: Version of the model-directory layout; a newer one is refused with a clear message.
FORMAT_VERSION = 1

#: Training recipes by name. ``paper`` is the original's; ``workshop`` learns within a CPU budget
#: of minutes (see the README's "Training recipes" for the measurements behind it).
RECIPES = {
    "paper": {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "wd": 1e-5, "halve_every": 3, "halvings": 10},
    "workshop": {"optimizer": "adam", "lr": 5e-4, "wd": 0.0, "halve_every": None, "halvings": 0},
}


class CheckpointError(RuntimeError):
    """A model directory or checkpoint that cannot be used; the message says which file and why."""


Prediction = namedtuple("Prediction", ["label", "probabilities"])


# ----------------------------------------------------------------------------- files


def _atomic(path, write):
    """Call ``write(temporary_path)`` and rename the result to ``path``; return its SHA-256."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(str(temporary))
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        digest = sha256_of(temporary)
        os.replace(temporary, path)
        return digest
    finally:
        if temporary.exists():
            temporary.unlink()


def _write_json(path, value):
    def write(temporary):
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(value, handle, indent=1)
    _atomic(path, write)


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing; is {Path(path).parent} a model directory written by "
                              "`python -m crepe train`?") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path}: damaged ({error})") from None


def save_config(directory, net, classes, recipe=None):
    """Write ``config.json`` describing ``net`` into ``directory`` (created if needed)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    _write_json(directory / "config.json", {
        "format": FORMAT_VERSION, "model": "crepe", "size": net.size, "classes": list(classes),
        "frame_length": FRAME_LENGTH, "alphabet": ALPHABET, "recipe": recipe})


def _read_config(directory):
    config = _read_json(Path(directory) / "config.json")
    if not isinstance(config, dict) or config.get("model") != "crepe":
        raise CheckpointError(f"{directory}/config.json does not describe a Crepe model")
    if config.get("format", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{directory} was written by a newer version of this workshop (format "
                              f"{config['format']}, this one reads up to {FORMAT_VERSION}); update the repository")
    if config.get("alphabet") != ALPHABET or config.get("frame_length") != FRAME_LENGTH:
        raise CheckpointError(f"{directory} was trained with a different alphabet or frame length")
    return config


def _load_parameters(net, path, ctx):
    """Load weights into ``net``, turning shape mismatches into one clear sentence."""
    try:
        net.load_parameters(str(path), ctx=ctx)
    except (AssertionError, mx.base.MXNetError, ValueError) as error:
        text = str(error).strip().splitlines()
        detail = next((line for line in text if "shape" in line.lower()), text[0] if text else "")
        raise CheckpointError(f"{path} does not fit this model (Crepe {net.size}, {net.num_classes} classes): "
                              f"{detail[:200]}") from None


def _verify(path, expected):
    if not Path(path).is_file():
        raise CheckpointError(f"{path}: missing")
    if expected and sha256_of(path) != expected:
        raise CheckpointError(f"{path}: damaged (its checksum does not match the one recorded when it was "
                              "written); use an earlier epoch or train again")


def load_model(directory, ctx=None, which="best"):
    """Rebuild a trained Crepe from a model directory.

    Parameters
    ----------
    directory : str or Path
    ctx : mxnet.Context or list, optional
        Where to put the weights (default CPU).
    which : {"best", "last"}, optional
        The best-validation weights (default) or the last completed epoch's.

    Returns
    -------
    (Crepe, dict)
        The network (hybridised) and its configuration (with ``classes``).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: no such model directory")
    config = _read_config(directory)
    state = _read_json(directory / "state.json")
    name = "best.params" if which == "best" else state["params"]
    _verify(directory / name, state["sha256"].get(name))
    net = Crepe(len(config["classes"]), size=config["size"])
    _load_parameters(net, directory / name, ctx or mx.cpu())
    net.hybridize(static_alloc=True, static_shape=True)
    return net, config


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


def _learning_rate(recipe, epoch, base):
    """The recipe's learning rate for 0-based ``epoch``."""
    if recipe["halve_every"]:
        return base * 0.5 ** min(epoch // recipe["halve_every"], recipe["halvings"])
    return base


def _make_trainer(net, recipe, lr, ctx):
    options = {"learning_rate": lr, "wd": recipe["wd"]}
    if "momentum" in recipe:
        options["momentum"] = recipe["momentum"]
    kvstore = "device" if len(ctx) > 1 else None
    return gluon.Trainer(net.collect_params(), recipe["optimizer"], options, kvstore=kvstore)


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


def fit(net, train_set, val_set=None, epochs=5, batch_size=64, ctx=None, recipe="workshop", lr=None,
        out_dir=None, classes=None, resume=False, seed=0, num_workers=0, max_batches=None,
        progress=True, log=print, amp=False, batchify_fn=None):
    """Train ``net`` with softmax cross-entropy, on every context in ``ctx``.

    Parameters
    ----------
    net : Crepe
        Initialised, or about to be restored by ``resume``.
    train_set, val_set : TextDataset
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
        Model directory for checkpoints after every epoch; None keeps nothing on disk.
    classes : sequence of str, optional
        Class names, recorded in ``config.json``.
    resume : bool
        Continue from the last completed epoch in ``out_dir``.
    seed : int
        Fixes the data order and dropout of every epoch (so a resumed run matches an unbroken one).
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

    Returns
    -------
    list of dict
        One entry per epoch: ``epoch``, ``lr``, ``train_loss``, ``train_accuracy``,
        ``val_accuracy`` (or None), ``samples_per_s``, ``seconds``.
    """
    from tqdm import tqdm                # plain text bars: the same in a terminal and a notebook

    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}: use one of {sorted(RECIPES)}")
    recipe_name, recipe = recipe, RECIPES[recipe]
    ctx = _as_list(ctx)
    base_lr = lr or recipe["lr"]
    out_dir = Path(out_dir) if out_dir else None
    history, start, best = [], 0, -1.0
    if out_dir is not None:
        _check_writable(out_dir)
    trainer = _make_trainer(net, recipe, base_lr, ctx)
    if amp:
        from mxnet.contrib import amp as mx_amp

        if any(c.device_type != "gpu" for c in ctx):
            raise ValueError("mixed precision (amp=True) needs GPU contexts; on the CPU train in float32")
        if not getattr(mx_amp.amp, "_amp_initialized", False):
            raise ValueError("call crepe.train.enable_mixed_precision() before building the network")
        mx_amp.init_trainer(trainer)
    if resume:
        if out_dir is None or not (out_dir / "state.json").is_file():
            raise CheckpointError(f"nothing to resume in {out_dir}: no state.json")
        config, state = _read_config(out_dir), _read_json(out_dir / "state.json")
        if config["size"] != net.size or len(config["classes"]) != net.num_classes:
            raise CheckpointError(f"{out_dir} holds Crepe {config['size']} with {len(config['classes'])} classes, "
                                  f"not {net.size} with {net.num_classes}")
        for name in (state["params"], state["states"]):
            _verify(out_dir / name, state["sha256"].get(name))
        _load_parameters(net, out_dir / state["params"], ctx)
        trainer.load_states(str(out_dir / state["states"]))
        history, start, best = state["history"], state["epoch"], state["best_accuracy"]
        log(f"resuming from {out_dir} after epoch {start}")
    elif out_dir is not None:
        save_config(out_dir, net, classes or [str(i) for i in range(net.num_classes)], recipe_name)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    epoch = start
    try:
        for epoch in range(start, epochs):
            trainer.set_learning_rate(_learning_rate(recipe, epoch, base_lr))
            mx.random.seed(seed + epoch)
            loader = gluon.data.DataLoader(train_set, batch_size=batch_size, num_workers=num_workers,
                                           sampler=_Permutation(len(train_set), seed + epoch),
                                           last_batch="discard" if len(train_set) > batch_size else "keep",
                                           thread_pool=False, batchify_fn=batchify_fn)
            steps = min(len(loader), max_batches or len(loader))
            total_loss, total_correct, seen = mx.nd.zeros(1, ctx=ctx[0]), mx.nd.zeros(1, ctx=ctx[0]), 0
            started = time.perf_counter()
            with tqdm(total=steps, desc=f"epoch {epoch + 1}/{epochs}", unit="batch", disable=not progress,
                      leave=False, file=sys.stdout, mininterval=2.0) as bar:
                for step, (data, label) in enumerate(loader):
                    if step >= steps:
                        break
                    loss_sum, correct = train_step(net, trainer, loss_fn, data, label, ctx, amp=amp)
                    total_loss += loss_sum
                    total_correct += correct
                    seen += data.shape[0]
                    bar.update(1)
                    if step % 10 == 9 or step == steps - 1:      # read back only now and then
                        rate = seen / (time.perf_counter() - started)
                        bar.set_postfix(loss=f"{total_loss.asscalar() / seen:.3f}", samples_s=f"{rate:.0f}")
            seconds = time.perf_counter() - started
            entry = {"epoch": epoch + 1, "lr": trainer.learning_rate,
                     "train_loss": float(total_loss.asscalar()) / max(seen, 1),
                     "train_accuracy": float(total_correct.asscalar()) / max(seen, 1),
                     "val_accuracy": (evaluate(net, val_set, ctx=ctx, batchify_fn=batchify_fn)["accuracy"]
                                      if val_set is not None else None),
                     "samples_per_s": seen / seconds, "seconds": seconds}
            history.append(entry)
            val = entry["val_accuracy"]
            log(f"epoch {entry['epoch']}: loss {entry['train_loss']:.4f}, train accuracy "
                f"{entry['train_accuracy']:.3f}" + (f", validation accuracy {val:.3f}" if val is not None else "")
                + f", {entry['samples_per_s']:.0f} samples/s")
            if out_dir is not None:
                improved = val is not None and val > best
                best = max(best, val) if val is not None else best
                _save_epoch(out_dir, net, trainer, epoch + 1, history, best, improved or val is None)
    except KeyboardInterrupt:
        where = f"{out_dir}, epoch {len(history)}" if out_dir is not None and history else "nowhere (no epoch completed)"
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
        raise CheckpointError(f"cannot write checkpoints to {directory}: {error.strerror or error}") from None


def _save_epoch(out_dir, net, trainer, epoch, history, best, improved):
    """Write epoch ``epoch``'s files, then commit them by rewriting state.json; drop older epochs."""
    params, states = f"epoch-{epoch:04d}.params", f"epoch-{epoch:04d}.states"
    previous = _read_json(out_dir / "state.json") if (out_dir / "state.json").is_file() else None
    digests = {params: _atomic(out_dir / params, net.save_parameters),
               states: _atomic(out_dir / states, trainer.save_states)}
    digests["best.params"] = (_atomic(out_dir / "best.params", net.save_parameters) if improved
                              else previous["sha256"]["best.params"])
    _write_json(out_dir / "state.json", {
        "format": FORMAT_VERSION, "epoch": epoch, "params": params, "states": states, "sha256": digests,
        "best_accuracy": best, "history": history})
    # Keep the previous epoch as a fallback; older ones go.
    for old in out_dir.glob("epoch-*.*"):
        if int(old.stem.split("-")[1]) < epoch - 1:
            old.unlink()


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
        ``accuracy`` (float), ``precision`` and ``recall`` (arrays, NaN for a class never
        predicted / never present), ``confusion`` (rows: true class, columns: predicted), ``count``.
    """
    device = _as_list(ctx)[0]
    num_classes = num_classes or net.num_classes
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    for data, label in data_loader(dataset, batch_size, last_batch="keep", batchify_fn=batchify_fn):
        predicted = net(data.as_in_context(device)).argmax(axis=1).asnumpy().astype(np.int64)
        np.add.at(confusion, (label.asnumpy().astype(np.int64), predicted), 1)
    count = int(confusion.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.diag(confusion) / confusion.sum(axis=0)
        recall = np.diag(confusion) / confusion.sum(axis=1)
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
    frames = mx.nd.array(encode(texts), ctx=device, dtype="uint8")               # (N, 1014)
    probabilities = mx.nd.softmax(net(frames), axis=1).asnumpy()                 # (N, classes)
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
    net.hybridize(static_alloc=True, static_shape=True)
    device = next(iter(net.collect_params().values())).list_ctx()[0]
    net(mx.nd.zeros((1, FRAME_LENGTH), ctx=device, dtype="uint8"))             # build the graph
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
