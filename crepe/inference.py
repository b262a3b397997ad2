"""A trained model put to use: load a model directory, answer texts with probabilities, score a test
set, and export the network in MXNet's symbolic format.

The command line, the notebooks and the serving handler all go through here, so a text is encoded
exactly as in training (:func:`crepe.families.Family.inputs`).
"""
import os
import warnings
from collections import namedtuple
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet import gluon

from .checkpoint import load_parameters, read_config, read_state, verify
from .data import data_loader
from .errors import CheckpointError
from .families import FAMILIES, family_of, hybridize

__all__ = ["Prediction", "load_model", "predict", "probabilities", "answer", "evaluate", "export", "load_exported"]

Prediction = namedtuple("Prediction", ["label", "probabilities"])


def _device(ctx):
    return (ctx[0] if isinstance(ctx, (list, tuple)) else ctx) or mx.cpu()


def load_model(directory, ctx=None, which="best"):
    """Rebuild a trained network from a model directory (weights only: no optimiser state is read).

    Parameters
    ----------
    directory : str or Path
    ctx : mxnet.Context or list, optional
        Where to put the weights (default CPU).
    which : {"best", "last"}, optional
        The best-validation epoch's weights (default) or the last completed epoch's.

    Returns
    -------
    (Crepe or WordCNN, dict)
        The network (hybridised) and its configuration (with ``classes``).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: no such model directory")
    config = read_config(directory)
    state = read_state(directory)
    name = state.get("best") or state["params"] if which == "best" else state["params"]
    verify(directory / name, state["sha256"].get(name))
    net = FAMILIES[config["model"]].rebuild(config, directory)
    load_parameters(net, directory / name, ctx or mx.cpu())
    return hybridize(net), config


def probabilities(net, texts, ctx=None):
    """Class probabilities for a list of texts: (N, classes) numpy array.

    One forward pass for the whole list, and a text's answer never depends on which other texts share
    it (the server's batches differ from ``predict``'s): the word CNN pools each text over its own
    tokens only (:meth:`crepe.words.WordCNN.scores`).

    Examples
    --------
    >>> from crepe.model import Crepe
    >>> net = Crepe(3); net.initialize()
    >>> probabilities(net, ["one", "two"]).shape
    (2, 3)
    """
    texts = list(texts)
    if not texts:
        return np.zeros((0, net.num_classes), dtype=np.float32)
    scores = family_of(net).scores(net, texts, _device(ctx))                 # (N, classes)
    return mx.nd.softmax(scores, axis=1).asnumpy()


def answer(row, classes):
    """The JSON answer for one text, as the server and ``predict --json`` give it.

    Parameters
    ----------
    row : numpy.ndarray
        The text's class probabilities, (classes,), a row of :func:`probabilities`.
    classes : sequence of str

    Examples
    --------
    >>> answer(np.array([0.25, 0.75]), ["World", "Sports"])
    {'predicted': 'Sports', 'probabilities': {'World': 0.25, 'Sports': 0.75}}
    """
    return {"predicted": classes[int(row.argmax())], "probabilities": dict(zip(classes, map(float, row)))}


def predict(net, texts, classes, ctx=None):
    """Class names with probabilities, for one text or many.

    Parameters
    ----------
    net : Crepe or WordCNN
    texts : str or list of str
    classes : sequence of str
    ctx : mxnet.Context, optional

    Returns
    -------
    Prediction or list of Prediction
        ``label`` (the most probable class) and ``probabilities`` (class -> probability, in class
        order).
    """
    batch = [texts] if isinstance(texts, str) else list(texts)
    results = [Prediction(classes[int(p.argmax())], dict(zip(classes, map(float, p))))
               for p in probabilities(net, batch, ctx)]
    return results[0] if isinstance(texts, str) else results


def evaluate(net, dataset, ctx=None, batch_size=256):
    """Accuracy, per-class precision and recall, and the confusion matrix, over *every* row.

    Parameters
    ----------
    net : Crepe or WordCNN
    dataset : TextDataset or WordDataset
        From :func:`crepe.make_dataset`; its ``batchify_fn`` makes the batches.
    ctx : mxnet.Context or list, optional
        The first context is used (default CPU).
    batch_size : int, optional

    Returns
    -------
    dict
        ``accuracy`` (float), ``precision`` and ``recall`` (arrays; 0.0 for a class never predicted,
        or never present, rather than NaN), ``confusion`` (rows: true class, columns: predicted),
        ``count``.
    """
    device = _device(ctx)
    confusion = np.zeros((net.num_classes, net.num_classes), dtype=np.int64)
    for data, label in data_loader(dataset, batch_size, last_batch="keep", batchify_fn=dataset.batchify_fn):
        predicted = net(data.as_in_context(device)).argmax(axis=1).asnumpy().astype(np.int64)
        np.add.at(confusion, (label.asnumpy().astype(np.int64), predicted), 1)
    count = int(confusion.sum())
    predicted, present = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.diag(confusion) / np.maximum(predicted, 1)     # 0.0 for a class never predicted
    recall = np.diag(confusion) / np.maximum(present, 1)          # 0.0 for a class absent from the data
    return {"accuracy": float(np.trace(confusion)) / max(count, 1), "precision": precision, "recall": recall,
            "confusion": confusion, "count": count}


def export(net, prefix):
    """Save ``net`` in MXNet's symbolic format: ``prefix-symbol.json`` and ``prefix-0000.params``.

    Returns
    -------
    (Path, Path)
        The symbol and parameter files.
    """
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    hybridize(net)
    device = next(iter(net.collect_params().values())).list_ctx()[0]
    net(family_of(net).example(device))                                        # build the graph
    net.export(str(prefix), epoch=0)
    return Path(f"{prefix}-symbol.json"), Path(f"{prefix}-0000.params")


def load_exported(prefix, ctx=None):
    """Load an exported model as a ``SymbolBlock`` that takes the same input as the network it was."""
    prefix = str(prefix)
    for path in (f"{prefix}-symbol.json", f"{prefix}-0000.params"):
        if not os.path.isfile(path):
            raise CheckpointError(f"{path}: missing; export the model first (python -m crepe export)")
    with warnings.catch_warnings():                  # SymbolBlock warns about unnamed inputs
        warnings.simplefilter("ignore")
        return gluon.SymbolBlock.imports(f"{prefix}-symbol.json", ["data"], f"{prefix}-0000.params",
                                         ctx=ctx or mx.cpu())
