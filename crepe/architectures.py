"""What may differ around Crepe's six convolutions: the sizes, the architectures, and the check of both.

No MXNet here: the command line's choices and a model directory's ``config.json`` are checked
against these tables without loading it. :class:`crepe.model.Crepe` builds what they describe.
"""
import numbers

__all__ = ["SIZES", "ARCHITECTURES", "CHOICES", "TRAIN_FRAME_LENGTH", "architecture_problem"]

#: (feature maps per convolution, units per dense layer, initialisation std) by size.
SIZES = {"small": (256, 1024, 0.05), "large": (1024, 2048, 0.02)}

#: What may differ around the six convolutions and three poolings. ``paper`` is the original network;
#: ``workshop`` is the one that learns real text within a CPU budget (benchmarks/README.md, "Learning"):
#: He initialisation, a max-over-time head, and 128 feature maps per convolution instead of 256. Its
#: ``filters`` applies whatever the size; the command line drops it for ``--size large`` (1024 maps).
ARCHITECTURES = {
    "paper": {"head": "flatten", "norm": None, "init": "gaussian", "dropout": 0.5},
    "workshop": {"head": "max", "norm": None, "init": "he", "dropout": 0.2, "filters": 128},
}

#: The values each architecture field may take (``Crepe`` and ``crepe.checkpoint`` check against it).
CHOICES = {"head": ("flatten", "max"), "norm": (None, "batch"), "init": ("gaussian", "he")}


def architecture_problem(architecture):
    """The first thing wrong with an architecture (a mapping of ``Crepe``'s keyword arguments), or None.

    ``Crepe`` refuses it with ``ValueError``; a model directory's ``config.json`` with ``CheckpointError``.

    Examples
    --------
    >>> architecture_problem({"head": "max", "norm": None, "init": "he", "dropout": 0.2, "filters": 128}) is None
    True
    >>> architecture_problem({"head": "avg", "norm": None, "init": "he", "dropout": 0.2})
    "head must be one of ('flatten', 'max'), got 'avg'"
    """
    if not isinstance(architecture, dict):
        return "it is not a mapping"
    unknown = sorted(set(architecture) - {*CHOICES, "dropout", "filters"})
    if unknown:
        return f"unknown field {unknown[0]!r}"
    for field, values in CHOICES.items():
        if architecture.get(field) not in values:
            return f"{field} must be one of {values}, got {architecture.get(field)!r}"
    dropout, filters = architecture.get("dropout"), architecture.get("filters")
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
        return f"dropout must be a number in [0, 1), got {dropout!r}"
    if filters is not None and (isinstance(filters, bool) or not isinstance(filters, numbers.Integral) or filters < 1):
        return f"filters must be a positive integer, got {filters!r}"
    return None

#: Frame length the workshop Crepe trains on. The max-over-time head reads a frame of any length, so
#: training keeps each text's last 512 characters (99 % of AG News texts are shorter): a step costs half
#: as much, and the network scores the same on full 1014-column frames (benchmarks/README.md).
TRAIN_FRAME_LENGTH = 512
