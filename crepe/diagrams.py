"""Box diagrams of a 1-D correlation: which inputs each output reads (matplotlib, imported when drawn).

Notebook 01 draws padding, stride and dilation with :func:`draw_windows`: the padded input on top,
one row per output below it, the inputs that output reads in orange with the kernel weight on each,
and the output itself in green at the right end.
"""
import numpy as np

from .arithmetic import conv_output_length

__all__ = ["WINDOW_COLOURS", "window_taps", "draw_windows", "window_legend"]

#: Face colour of each kind of box, and the legend's words for it.
WINDOW_COLOURS = {
    "input": ("lightsteelblue", "input value"),
    "padding": ("lightgrey", "padding zero"),
    "read": ("orange", "input read (× kernel weight)"),
    "output": ("palegreen", "output value"),
}
_BOX_WIDTH, _BOX_HEIGHT = 0.92, 0.85


def window_taps(size, width, padding=0, stride=1, dilation=1):
    """Positions in the padded input that each output of a 1-D correlation reads.

    Parameters
    ----------
    size : int
        Input length, before padding.
    width : int
        Kernel width (its taps, before dilation).
    padding, stride, dilation : int
        As MXNet's ``pad`` (per side), ``stride`` and ``dilate``.

    Returns
    -------
    list of list of int
        One list per output, ``width`` indices into the padded input (length ``size + 2 * padding``).

    Examples
    --------
    >>> window_taps(7, 3, stride=2)
    [[0, 1, 2], [2, 3, 4], [4, 5, 6]]
    >>> window_taps(7, 3, dilation=2)
    [[0, 2, 4], [1, 3, 5], [2, 4, 6]]
    """
    outputs = conv_output_length(size, width, padding, stride, dilation)
    return [[j * stride + t * dilation for t in range(width)] for j in range(outputs)]


def _box(ax, col, row, text=None, colour=None):
    """One box of the diagram: filled and labelled, or (``colour`` None) an empty grey outline."""
    from matplotlib.patches import Rectangle

    if colour is None:
        ax.add_patch(Rectangle((col, row), _BOX_WIDTH, _BOX_HEIGHT, fill=False, edgecolor="lightgrey"))
        return
    ax.add_patch(Rectangle((col, row), _BOX_WIDTH, _BOX_HEIGHT, facecolor=colour, edgecolor="black"))
    ax.text(col + _BOX_WIDTH / 2, row + _BOX_HEIGHT / 2, text.replace("-", "−"), ha="center", va="center",
            fontsize=10)


def _label_axes(ax, size, padding, shift, n_out):
    """Ticks in input positions (padding at negative positions and from ``size`` on), rows named."""
    positions = np.arange(size + 2 * padding) - padding                    # (size + 2p,)
    ax.set_xticks(np.arange(len(positions)) + shift + _BOX_WIDTH / 2,
                  [f"{i:g}".replace("-", "−") for i in positions])
    ax.set_yticks(np.arange(n_out + 1) + _BOX_HEIGHT / 2, ["input"] + [f"output {j}" for j in range(n_out)])
    pads = f" (padding at −{padding}…−1 and {size}…{size + padding - 1})" if padding > 1 else \
        f" (padding at −1 and {size})" if padding else ""
    ax.set_xlabel("input position" + pads)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)


def draw_windows(ax, x, kernel, padding=0, stride=1, dilation=1, name="", max_padding=1):
    """Draw a 1-D correlation as boxes: the padded input on top, one row per output below.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    x, kernel : array_like, 1-D
        The input and the (undilated) kernel.
    padding, stride, dilation : int
        As MXNet's ``pad`` (per side), ``stride`` and ``dilate``.
    name : str
        Start of the panel title.
    max_padding : int
        Largest padding among panels drawn one above the other: input position 0 then lines up in all.

    Returns
    -------
    numpy.ndarray
        The outputs drawn, shape (outputs,): what ``mx.nd.Convolution`` computes with the same settings.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> draw_windows(ax, np.arange(1, 8), np.array([1, 0, -1]), padding=1)
    array([-2., -2., -2., -2., -2., -2.,  6.])
    >>> plt.close(fig)
    """
    x, kernel = np.asarray(x, dtype=float), np.asarray(kernel, dtype=float)
    padded = np.pad(x, padding)                                             # (n + 2p,)
    taps = window_taps(len(x), len(kernel), padding, stride, dilation)
    out = np.array([padded[row] @ kernel for row in taps])                  # (outputs,)
    shift = max_padding - padding                                           # columns to skip on the left
    width = len(x) + 2 * max_padding                                        # the widest padded input
    for col, value in enumerate(padded):                                    # row 0: the input
        kind = "padding" if col < padding or col >= padding + len(x) else "input"
        _box(ax, col + shift, 0, f"{value:g}", WINDOW_COLOURS[kind][0])
    for j, row in enumerate(taps, start=1):                                 # one row per output
        for col in range(len(padded)):
            if col in row:
                _box(ax, col + shift, j, f"×{kernel[row.index(col)]:g}", WINDOW_COLOURS["read"][0])
            else:
                _box(ax, col + shift, j)
        ax.text(width + 0.5, j + _BOX_HEIGHT / 2, "→", ha="center", va="center", fontsize=12)
        _box(ax, width + 1, j, f"{out[j - 1]:g}", WINDOW_COLOURS["output"][0])
    ax.set_xlim(-0.2, width + 2.1)
    ax.set_ylim(len(taps) + 1, -0.2)
    _label_axes(ax, len(x), padding, shift, len(taps))
    ax.set_title(f"{name}: conv_output_length({len(x)}, {len(kernel)}, padding={padding}, stride={stride}, "
                 f"dilation={dilation}) = {len(taps)}", fontsize=11)
    return out


def window_legend(ax, **kwargs):
    """Put the legend of the box colours on ``ax`` (keyword arguments go to ``ax.legend``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> [text.get_text() for text in window_legend(ax).get_texts()][:2]
    ['input value', 'padding zero']
    >>> plt.close(fig)
    """
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=colour, edgecolor="black", label=label) for colour, label in WINDOW_COLOURS.values()]
    return ax.legend(handles=handles, **kwargs)
