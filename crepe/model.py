"""Crepe, the character-level CNN of Zhang, Zhao & LeCun (NIPS 2015), as a Gluon HybridBlock.

=========  ===========  ===========  ======  ====
layer      large        small        kernel  pool
=========  ===========  ===========  ======  ====
1          1024         256          7       3
2          1024         256          7       3
3-5        1024         256          3       --
6          1024         256          3       3
7, 8       2048 units   1024 units   (dense, dropout 0.5)
9          one unit per class        (dense, logits)
=========  ===========  ===========  ======  ====

The network takes the ``uint8`` index frame (N, 1014) that :func:`crepe.encode` returns and does
the one-hot expansion itself, on the device: 1 KB per document crosses to the GPU instead of
280 KB of float32. All weights *and biases* start from a Gaussian (std 0.05 small, 0.02 large), as
the original Torch code initialises them.
"""
import mxnet as mx
from mxnet import gluon
from mxnet.gluon import nn

from .arithmetic import CREPE_LAYERS, crepe_shape_walk
from .quantise import FRAME_LENGTH, NUM_CHARS

__all__ = ["SIZES", "Crepe", "summary", "parameter_count"]

#: (feature maps per convolution, units per dense layer, initialisation std) by size.
SIZES = {"small": (256, 1024, 0.05), "large": (1024, 2048, 0.02)}


class Crepe(gluon.HybridBlock):
    """Crepe for ``num_classes`` classes.

    Parameters
    ----------
    num_classes : int
        Output units (logits).
    size : {"small", "large"}, optional
        The paper's two configurations (default "small").
    dropout : float, optional
        Dropout before each of the last two dense layers (default 0.5).

    Examples
    --------
    >>> import mxnet as mx
    >>> net = Crepe(4)
    >>> net.initialize()
    >>> net(mx.nd.zeros((2, 1014), dtype="uint8")).shape
    (2, 4)
    """

    def __init__(self, num_classes, size="small", dropout=0.5, **kwargs):
        super().__init__(**kwargs)
        if size not in SIZES:
            raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
        filters, units, std = SIZES[size]
        self.num_classes, self.size = num_classes, size
        init = {"weight_initializer": mx.init.Normal(std), "bias_initializer": mx.init.Normal(std)}
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="features_")
            with self.features.name_scope():
                channels = NUM_CHARS
                for _, kind, width in CREPE_LAYERS:
                    if kind == "conv":
                        self.features.add(nn.Conv1D(filters, width, activation="relu", in_channels=channels, **init))
                        channels = filters
                    else:
                        self.features.add(nn.MaxPool1D(width, width))
                self.features.add(nn.Flatten())
            flat = crepe_shape_walk(FRAME_LENGTH, filters)[-1][1]          # 8704 small, 34816 large
            self.classifier = nn.HybridSequential(prefix="classifier_")
            with self.classifier.name_scope():
                for in_units in (flat, units):
                    self.classifier.add(nn.Dense(units, activation="relu", in_units=in_units, **init),
                                        nn.Dropout(dropout))
                self.classifier.add(nn.Dense(num_classes, in_units=units, **init))

    def hybrid_forward(self, F, x):
        x = F.one_hot(x, depth=NUM_CHARS + 1)                     # (N, 1014, 70)
        x = F.slice_axis(x, axis=2, begin=1, end=None)             # (N, 1014, 69): drop "no character"
        x = F.transpose(x, axes=(0, 2, 1))                         # (N, 69, 1014)
        return self.classifier(self.features(x))                   # (N, classes)


def parameter_count(block):
    """Number of learnable values in an initialised block.

    Examples
    --------
    >>> net = Crepe(4); net.initialize()
    >>> parameter_count(net)
    11337988
    """
    return sum(p.data().size for p in block.collect_params().values())


def summary(net, length=FRAME_LENGTH):
    """Every layer of an initialised Crepe with its output shape and parameter count.

    Parameters
    ----------
    net : Crepe
    length : int, optional
        Input frame length (default 1014).

    Returns
    -------
    list of (str, tuple, int)
        ``(layer, output shape without the batch axis, parameters)``, starting with the one-hot
        input and ending with the logits.

    Examples
    --------
    >>> net = Crepe(4); net.initialize()
    >>> for name, shape, params in summary(net)[:3]:
    ...     print(name, shape, params)
    one-hot input (69, 1014) 0
    conv1d (256, 1008) 123904
    maxpool1d (256, 336) 0
    """
    x = mx.nd.zeros((1, NUM_CHARS, length))
    rows = [("one-hot input", x.shape[1:], 0)]
    for layer in list(net.features) + list(net.classifier):
        x = layer(x)
        name = type(layer).__name__.lower()
        rows.append((name, x.shape[1:], parameter_count(layer)))
    return rows
