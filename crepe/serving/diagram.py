"""The picture of one request's path through MXNet Model Server (matplotlib, imported when drawn).

Notebook 07 opens with it: the client, the Java frontend that batches, the Python worker running the
handler, MXNet's one forward pass, and beside them the management API that registers the model with
a batch size and a batching delay. :func:`draw_request_path` draws it into a given axes and returns the
text it wrote, so that a caller can check every label is inside the picture.
"""
__all__ = ["BOXES", "ARROWS", "draw_request_path"]

#: (x, y, width, height, title, lines, colour) of every box, in data units of a 13.2 x 5.85 canvas.
BOXES = (
    (0.1, 1.3, 1.9, 2.2, "browser / client", ("the demo page,", "urllib in this", "notebook, or curl"), "#e8f1fb"),
    (3.1, 0.9, 2.8, 3.0, "Java frontend", ("inference API :PORT", "one queue per model;", "a batch leaves at",
                                          "batch_size requests", "or after max_batch_delay ms"), "#fdf1dc"),
    (7.1, 0.9, 2.3, 3.0, "Python worker", ("handle(data, context)", "crepe/serving/handler.py:",
                                          "decode every body,", "encode all texts", "into one array"), "#e6f5e6"),
    (10.7, 0.9, 2.4, 3.0, "MXNet", ("the exported network", "(symbol + params):", "ONE forward pass,",
                                   "(batch, 1014) in,", "(batch, 4) out"), "#f3e6f5"),
    (0.1, 4.35, 1.9, 1.25, "crepe serve", ("starts it all",), "#eeeeee"),
    (0.1, -0.1, 1.9, 0.95, "page server", (":PORT+2, static files",), "#eeeeee"),
)
#: (start, end, label, label below the arrow) of every arrow of the request's path, left to right and back.
ARROWS = (
    ((2.05, 2.75), (3.05, 2.75), "HTTP POST,\none request", False),
    ((5.95, 2.75), (7.05, 2.75), "a batch of\n1..batch_size", False),
    ((9.45, 2.75), (10.65, 2.75), "indices,\n(batch, 1014)", False),
    ((10.65, 1.6), (9.45, 1.6), "probabilities", True),
    ((7.05, 1.6), (5.95, 1.6), "one answer\nper request", True),
    ((3.05, 1.6), (2.05, 1.6), "JSON", True),
    ((2.05, 5.0), (3.05, 5.0), "POST /models", False),
)


def _box(ax, x, y, w, h, title, lines, colour):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05,rounding_size=0.15",
                                facecolor=colour, edgecolor="black", linewidth=1.2))
    return [ax.text(x + w / 2, y + h - 0.22, title, ha="center", va="top", fontsize=11, weight="bold"),
            ax.text(x + w / 2, y + h - 0.65, "\n".join(lines), ha="center", va="top", fontsize=8.5,
                    linespacing=1.5)]


def _arrow(ax, start, end, label="", below=False, colour="black"):
    from matplotlib.patches import FancyArrowPatch

    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, linewidth=1.4, color=colour))
    if not label:
        return []
    dy = -0.12 if below else 0.12
    return [ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + dy, label, ha="center",
                    va="top" if below else "bottom", fontsize=8)]


def draw_request_path(ax, batch_size, max_batch_delay):
    """Draw one request's path through the server into ``ax``; the text artists drawn.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        An empty axes; a figure about 13 x 5.4 inches wide reads well.
    batch_size, max_batch_delay : int
        What the model is registered with (``crepe serve``'s defaults in the notebook), shown in the
        management API's box.

    Returns
    -------
    list of matplotlib.text.Text
        Every label, so that a caller can check that each lies inside the figure.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(figsize=(13, 5.4))
    >>> any("max_batch_delay=5 ms" in t.get_text() for t in draw_request_path(ax, 16, 5))
    True
    >>> plt.close(fig)
    """
    ax.set_xlim(0, 13.2)
    ax.set_ylim(-0.15, 5.7)
    ax.axis("off")
    texts = []
    for box in BOXES:
        texts += _box(ax, *box)
    texts += _box(ax, 3.1, 4.35, 2.8, 1.25, "management API",
                  ("a Unix socket, this user only", f"batch_size={batch_size}, max_batch_delay={max_batch_delay} ms"),
                  "#fdf1dc")
    for start, end, label, below in ARROWS:
        texts += _arrow(ax, start, end, label, below)
    _arrow(ax, (4.5, 4.3), (4.5, 3.95), colour="grey")
    texts.append(ax.text(4.6, 4.12, "registers the model", fontsize=7.5, va="center"))
    _arrow(ax, (1.05, 0.85), (1.05, 1.25), colour="grey")
    texts.append(ax.text(1.15, 1.05, "index.html, page.js", fontsize=7.5, va="center"))
    ax.set_title("One request through MXNet Model Server: the frontend batches, "
                 "the handler answers a batch with one forward pass")
    return texts + [ax.title]
