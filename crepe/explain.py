"""Which characters mattered: gradient saliency for Crepe, mapped back onto the text.

The score of the predicted class is differentiated with respect to the one-hot input (N, 69, 1014).
At each column only the row of the character actually there is "on", so the saliency of a character
is the gradient at that (row, column): how much the score would change per unit of that character.
Columns of padding and of characters outside the alphabet have no "on" row and score exactly 0.
A test checks the scores against finite differences of the network's output.
The frame holds the text backwards (column 0 is the last character), so scores are mapped back to
reading order, and characters cut off by truncation (before the last 1014) get no score at all.
"""
import mxnet as mx
import numpy as np
from mxnet import autograd

from .quantise import FRAME_LENGTH, encode, one_hot

__all__ = ["saliency_frame", "explain", "plot_saliency"]


def saliency_frame(net, frame, ctx=None, target=None):
    """Saliency of every column of one index frame, in frame order (column 0 = last character).

    Parameters
    ----------
    net : Crepe
    frame : numpy.ndarray
        ``uint8`` indices of shape (1014,), as ``encode(text)[0]``.
    ctx : mxnet.Context, optional
    target : int, optional
        Class to explain (default: the predicted one).

    Returns
    -------
    (numpy.ndarray, int)
        ``float32`` scores of shape (1014,): exactly 0 wherever the frame holds index 0 (padding, or a
        character outside the alphabet), and the class explained.

    Examples
    --------
    >>> from crepe.model import Crepe
    >>> net = Crepe(4); net.initialize()
    >>> scores, _ = saliency_frame(net, encode("abc")[0])
    >>> scores.shape, bool((scores[3:] == 0).all())
    ((1014,), True)
    """
    if getattr(net, "architecture", {}).get("norm"):
        raise ValueError("explain supports Crepe without batch normalisation (its feature extractor runs in "
                         "training mode, where batch statistics of one text would be wrong)")
    ctx = ctx or mx.cpu()
    x = mx.nd.array(one_hot(frame), ctx=ctx)                               # (1, 69, 1014)
    x.attach_grad()
    # The feature extractor (convolutions, ReLU, max-pooling: no dropout) runs in training mode: in
    # MXNet 1.9.1 a max-pooling recorded in predict mode on the oneDNN CPU path keeps no arg-max
    # workspace, and its backward pass returns wrong gradients. The classifier, which has dropout,
    # runs in predict mode.
    with autograd.record(train_mode=True):
        features = net.feature_vector(x)                                   # (1, 8704) or (1, 1536)
        with autograd.predict_mode():
            logits = net.classifier(features)                              # (1, classes)
        label = int(logits.argmax(axis=1).asscalar()) if target is None else int(target)
        score = logits[0, label]
    score.backward()
    return (x.grad * x).sum(axis=1).asnumpy()[0], label                    # the "on" row of each column


def explain(net, text, ctx=None, target=None):
    """Per-character saliency of ``net``'s prediction for ``text``.

    Parameters
    ----------
    net : Crepe
        A trained (or any initialised) Crepe.
    text : str
        One document.
    ctx : mxnet.Context, optional
        Where the network's weights live (default CPU).
    target : int, optional
        Class to explain (default: the predicted one).

    Returns
    -------
    (list of (str, float), int)
        ``(character, score)`` for each character of ``text`` in reading order, and the class explained.
        Characters before the last 1014 (cut off by truncation) are omitted; padding never appears.

    Examples
    --------
    >>> from crepe.model import Crepe
    >>> net = Crepe(4); net.initialize()
    >>> pairs, label = explain(net, "Hi, Ada!")
    >>> [c for c, _ in pairs] == list("Hi, Ada!")
    True
    """
    if not isinstance(text, str):
        raise TypeError(f"explain expects one str, got {type(text).__name__}")
    gradient, label = saliency_frame(net, encode(text)[0], ctx=ctx, target=target)
    kept = min(len(text), FRAME_LENGTH)
    # Column c holds character len(text) - 1 - c; reading order is the kept columns reversed.
    scores = gradient[:kept][::-1]
    return list(zip(text[len(text) - kept:], map(float, scores))), label


def plot_saliency(pairs, ax=None, width=80, title=None):
    """Draw the text with each character's background coloured by its score (red +, blue -)."""
    import matplotlib.pyplot as plt

    chars = [c for c, _ in pairs]
    scores = np.array([s for _, s in pairs]) if pairs else np.zeros(0)
    limit = float(np.abs(scores).max()) if scores.size and np.abs(scores).max() > 0 else 1.0
    rows = max(1, -(-len(chars) // width))
    ax = ax or plt.subplots(figsize=(width * 0.13, rows * 0.35 + 0.4))[1]
    cmap = plt.get_cmap("coolwarm")
    for i, (char, score) in enumerate(zip(chars, scores)):
        row, col = divmod(i, width)
        ax.add_patch(plt.Rectangle((col, -row - 1), 1, 1, color=cmap(0.5 + 0.5 * score / limit)))
        ax.text(col + 0.5, -row - 0.5, char if char.isprintable() else "\u00b7", ha="center", va="center",
                fontsize=9, family="monospace")
    ax.set_xlim(0, width)
    ax.set_ylim(-rows, 0)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return ax
