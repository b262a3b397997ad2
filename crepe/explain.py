"""Which characters mattered: gradient saliency for Crepe, mapped back onto the text.

The score of the predicted class is differentiated with respect to the one-hot input (N, 69, 1014).
At each column only the row of the character actually there is "on", so the saliency of a character
is the gradient at that (row, column): how much the score would change per unit of that character.
Columns of padding and of characters outside the alphabet have no "on" row and score exactly 0.
A test checks the scores against finite differences of the network's output.
The frame holds the text backwards (column 0 is the last character), so scores are mapped back to
reading order, and characters cut off by truncation (before the last 1014) get no score at all.

:func:`top_windows` asks the other question, what each first-layer filter looks for: the 7-character
windows of real text that excite it most.
"""
import mxnet as mx
import numpy as np
from mxnet import autograd

from .quantise import FRAME_LENGTH, encode, one_hot

__all__ = ["saliency_frame", "explain", "plot_saliency", "first_convolution",
           "first_layer", "top_windows", "filter_weights", "plot_filters"]


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
        features = net.feature_vector(x)                                   # (1, 8704) or (1, 6 x filters)
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


def first_layer(net, frames, ctx=None):
    """Activations of Crepe's first convolution (after its ReLU) for index frames.

    Parameters
    ----------
    net : Crepe
    frames : numpy.ndarray
        ``uint8`` frames of shape (N, 1014), from :func:`crepe.quantise.encode`.
    ctx : mxnet.Context, optional

    Returns
    -------
    numpy.ndarray
        ``float32`` of shape (N, filters, 1008): output position ``p`` reads frame columns
        ``p`` … ``p + 6``.

    Examples
    --------
    >>> from crepe.model import Crepe
    >>> net = Crepe(4); net.initialize()
    >>> first_layer(net, encode(["abc", "de"])).shape
    (2, 256, 1008)
    """
    ctx = ctx or mx.cpu()
    x = mx.nd.array(one_hot(frames), ctx=ctx)                              # (N, 69, 1014)
    return net.features[0](x).asnumpy()                                    # (N, filters, 1008)


def first_convolution(net):
    """The first ``Conv1D``: the paper's layer itself, or the one inside a workshop ``ConvBlock``.

    Examples
    --------
    >>> from crepe.model import ARCHITECTURES, Crepe
    >>> first_convolution(Crepe(4, **ARCHITECTURES["workshop"])).weight.shape
    (128, 69, 7)
    """
    layer = net.features[0]
    return getattr(layer, "conv", layer)


def _window(text, position, width):
    """The characters (lower case, reading order) under first-layer output ``position``, or None."""
    kept = text[-FRAME_LENGTH:]
    end = len(kept) - position                 # column c holds kept[len(kept) - 1 - c]
    return kept[end - width:end].lower() if end - width >= 0 else None


def top_windows(net, texts, k=3, ctx=None, batch_size=64):
    """For every first-layer filter, the ``k`` distinct windows of ``texts`` that excite it most.

    A window is the 7 characters one output of the first convolution reads, shown in reading order
    and in lower case (the quantiser folds case). Windows that reach into the padding are skipped.

    Parameters
    ----------
    net : Crepe
    texts : list of str
    k : int, optional
        Windows per filter (default 3).
    ctx : mxnet.Context, optional
    batch_size : int, optional

    Returns
    -------
    list of list of (str, float)
        One list per filter, strongest first: ``(window, activation)``.

    Examples
    --------
    >>> from crepe.model import Crepe
    >>> net = Crepe(4); net.initialize()
    >>> found = top_windows(net, ["Stocks rally", "Team wins the cup"], k=2)
    >>> len(found), all(len(window) == 7 for window, _ in found[0])
    (256, True)
    """
    width = first_convolution(net).weight.shape[2]                        # 7
    best = None
    for start in range(0, len(texts), batch_size):
        chunk = texts[start:start + batch_size]
        activations = first_layer(net, encode(chunk), ctx)                 # (B, filters, 1008)
        positions = activations.shape[2]
        valid = np.arange(positions)[None, :] <= np.array([min(len(t), FRAME_LENGTH) - width for t in chunk])[:, None]
        activations = np.where(valid[:, None, :], activations, -np.inf)   # padding windows never win
        flat = activations.transpose(1, 0, 2).reshape(activations.shape[1], -1)   # (filters, B * 1008)
        if best is None:
            best = [dict() for _ in range(flat.shape[0])]
        take = min(flat.shape[1], 8 * k)
        candidates = np.argpartition(-flat, take - 1, axis=1)[:, :take]
        for f, row in enumerate(candidates):
            for index in row:
                value = flat[f, index]
                if not np.isfinite(value):
                    continue
                window = _window(chunk[index // positions], int(index % positions), width)
                if value > best[f].get(window, -np.inf):
                    best[f][window] = float(value)
    return [sorted(found.items(), key=lambda item: -item[1])[:k] for found in (best or [])]


def filter_weights(net):
    """First-layer weights in reading order: (filters, 69, 7), position 0 the window's first character.

    The frame holds text backwards, so the kernel's column 0 meets the window's *last* character;
    flipping the width axis puts the weights in the order a person reads.
    """
    return first_convolution(net).weight.data().asnumpy()[:, :, ::-1]    # (filters, 69, 7)


def plot_filters(net, which, axes=None):
    """Draw first-layer filters as (character x position) heat maps, every character labelled."""
    import matplotlib.pyplot as plt

    from .quantise import ALPHABET

    weights = filter_weights(net)
    if axes is None:
        _, axes = plt.subplots(1, len(which), figsize=(1.3 * len(which) + 0.8, 9), sharey=True)
    axes = np.atleast_1d(axes)
    limit = float(np.abs(weights[list(which)]).max())
    for ax, f in zip(axes, which):
        image = ax.imshow(weights[f], cmap="coolwarm", vmin=-limit, vmax=limit, aspect="auto")
        ax.set_title(f"filter {f}", fontsize=9)
        ax.set_xticks(range(weights.shape[2]))
        ax.set_xlabel("position")
        ax.set_yticks(range(len(ALPHABET)))
        ax.set_yticklabels([repr(c)[1:-1] if c != " " else "␣" for c in ALPHABET], fontsize=6, family="monospace")
    axes[0].set_ylabel("character")
    plt.colorbar(image, ax=list(axes), fraction=0.03, pad=0.02, label="weight")
    return axes
