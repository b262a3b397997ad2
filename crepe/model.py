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

The six convolutions and three poolings are always the paper's. What sits around them comes from
an architecture (:data:`ARCHITECTURES`): ``paper`` is the table above, with every weight *and bias*
drawn from a Gaussian (std 0.05 small, 0.02 large) as the original Torch code does; ``workshop``
learns real text within minutes on a CPU: He initialisation, 128 maps per convolution, and a head
that reads the maximum over time of every convolution, then dropout 0.2 and the output layer.

The network takes the ``uint8`` index frame (N, 1014) that :func:`crepe.encode` returns and does
the one-hot expansion itself, on the device: 1 KB per document crosses to the GPU instead of
280 KB of float32.
"""
import mxnet as mx
from mxnet import gluon
from mxnet.gluon import nn

from .architectures import ARCHITECTURES, SIZES, TRAIN_FRAME_LENGTH, architecture_problem
from .arithmetic import CREPE_LAYERS, crepe_shape_walk
from .quantise import FRAME_LENGTH, NUM_CHARS

__all__ = ["SIZES", "ARCHITECTURES", "TRAIN_FRAME_LENGTH", "Crepe", "summary", "parameter_count", "training_length",
           "reads_length", "architecture_problem"]

class ConvBlock(gluon.HybridBlock):
    """Conv1D, then optionally batch normalisation, then ReLU.

    MXNet 1.9.1's oneDNN CPU path fails on ``BatchNorm`` after a second ``Conv1D`` (``!is_view``), so
    the normalisation runs on a 4-D view: (N, C, T) -> (N, C, T, 1) -> BatchNorm -> (N, C, T).

    Examples
    --------
    >>> block = ConvBlock(8, 3, in_channels=4, norm="batch"); block.initialize()
    >>> block(mx.nd.ones((2, 4, 10))).shape
    (2, 8, 8)
    """

    def __init__(self, channels, width, in_channels, norm=None, **init):
        super().__init__()
        with self.name_scope():
            self.conv = nn.Conv1D(channels, width, in_channels=in_channels, use_bias=norm is None, **init)
            self.norm = nn.BatchNorm(in_channels=channels) if norm == "batch" else None

    def hybrid_forward(self, F, x):
        x = self.conv(x)                                                   # (N, C, T')
        if self.norm is not None:
            x = F.squeeze(self.norm(F.expand_dims(x, axis=3)), axis=3)
        return F.relu(x)


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
    head : {"flatten", "max"}, optional
        ``flatten`` (the paper's): the last pooling's output, flattened (8,704 values for small), then
        two dense layers and the output. ``max``: each of the six convolutions' outputs reduced by max
        over time and concatenated (6 x filters values: 768 for the workshop's 128), then dropout and the
        output layer.
    norm : {None, "batch"}, optional
        Batch normalisation after every convolution (default None, as in the paper).
    init : {"gaussian", "he"}, optional
        ``gaussian`` (the paper's): weights and biases from N(0, std) with the size's std; ``he``:
        He-normal convolution weights, zero biases.
    filters : int, optional
        Feature maps per convolution; default the size's (256 small, 1024 large).

    Examples
    --------
    >>> import mxnet as mx
    >>> net = Crepe(4)
    >>> net.initialize()
    >>> net(mx.nd.zeros((2, 1014), dtype="uint8")).shape
    (2, 4)
    >>> workshop = Crepe(4, **ARCHITECTURES["workshop"]); workshop.initialize()
    >>> workshop(mx.nd.zeros((2, 1014), dtype="uint8")).shape
    (2, 4)
    """

    #: The registry entry that builds, feeds and keeps this network (crepe.families).
    family = "crepe"

    def __init__(self, num_classes, size="small", dropout=0.5, head="flatten", norm=None, init="gaussian",
                 filters=None, **kwargs):
        super().__init__(**kwargs)
        if size not in SIZES:
            raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
        self.architecture = {"head": head, "norm": norm, "init": init, "dropout": dropout,
                             **({"filters": filters} if filters is not None else {})}
        problem = architecture_problem(self.architecture)
        if problem:
            raise ValueError(problem)
        if filters is not None:
            self.architecture["filters"] = int(filters)             # a numpy integer is not JSON
        self.num_classes, self.size = num_classes, size
        default_filters, units, std = SIZES[size]
        filters = filters or default_filters
        gaussian = {"weight_initializer": mx.init.Normal(std), "bias_initializer": mx.init.Normal(std)}
        conv_init = gaussian if init == "gaussian" else {
            "weight_initializer": mx.init.MSRAPrelu(factor_type="in", slope=0.0), "bias_initializer": "zeros"}
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="features_")
            with self.features.name_scope():
                channels = NUM_CHARS
                for _, kind, width in CREPE_LAYERS:
                    if kind == "pool":
                        self.features.add(nn.MaxPool1D(width, width))
                    elif norm is None and init == "gaussian":          # the paper's layers, as they were
                        self.features.add(nn.Conv1D(filters, width, activation="relu", in_channels=channels,
                                                    **conv_init))
                    else:
                        self.features.add(ConvBlock(filters, width, channels, norm, **conv_init))
                    channels = filters
                if head == "flatten":
                    self.features.add(nn.Flatten())
            self.classifier = nn.HybridSequential(prefix="classifier_")
            with self.classifier.name_scope():
                if head == "flatten":
                    flat = crepe_shape_walk(FRAME_LENGTH, filters)[-1][1]      # 8704 small, 34816 large
                    dense_init = gaussian if init == "gaussian" else {}
                    for in_units in (flat, units):
                        self.classifier.add(nn.Dense(units, activation="relu", in_units=in_units, **dense_init),
                                            nn.Dropout(dropout))
                    self.classifier.add(nn.Dense(num_classes, in_units=units, **dense_init))
                else:
                    # Small output weights: the pooled maxima are large, and big initial logits stall Adam.
                    self.classifier.add(nn.Dropout(dropout),
                                        nn.Dense(num_classes, in_units=filters * self.convolutions,
                                                 weight_initializer=mx.init.Normal(0.01)))

    convolutions = sum(kind == "conv" for _, kind, _ in CREPE_LAYERS)      # 6

    def feature_vector(self, x, F=mx.nd):
        """What the classifier reads, from one-hot input (N, 69, T): flattened maps or pooled maxima."""
        if self.architecture["head"] == "flatten":
            return self.features(x)                                # (N, 8704) small
        pooled = []
        for layer in self.features:
            x = layer(x)
            if not isinstance(layer, nn.MaxPool1D):
                pooled.append(F.max(x, axis=2))                    # (N, filters): max over time
        return F.concat(*pooled, dim=1)                            # (N, 6 * filters)

    def hybrid_forward(self, F, x):
        x = F.one_hot(x, depth=NUM_CHARS + 1)                     # (N, 1014, 70)
        x = F.slice_axis(x, axis=2, begin=1, end=None)             # (N, 1014, 69): drop "no character"
        x = F.transpose(x, axes=(0, 2, 1))                         # (N, 69, 1014)
        return self.classifier(self.feature_vector(x, F))          # (N, classes)


def training_length(net):
    """Frame length to train ``net`` on: ``TRAIN_FRAME_LENGTH`` for the max-over-time head, else 1014.

    The flatten head's first dense layer is sized for 1014-column frames, so it can read no other.

    Examples
    --------
    >>> training_length(Crepe(4)), training_length(Crepe(4, **ARCHITECTURES["workshop"]))
    (1014, 512)
    """
    return TRAIN_FRAME_LENGTH if net.architecture["head"] == "max" else FRAME_LENGTH


def reads_length(net, length):
    """Whether ``net`` reads frames of ``length`` columns: the flatten head only 1014, the max head any.

    Examples
    --------
    >>> reads_length(Crepe(4), 512), reads_length(Crepe(4, **ARCHITECTURES["workshop"]), 512)
    (False, True)
    """
    return net.architecture["head"] == "max" or length == FRAME_LENGTH


def parameter_count(block):
    """Number of learnable values in an initialised block.

    Examples
    --------
    >>> net = Crepe(4); net.initialize()
    >>> parameter_count(net)
    11337988
    >>> workshop = Crepe(4, **ARCHITECTURES["workshop"]); workshop.initialize()
    >>> parameter_count(workshop)
    376964
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
    pooled = 0
    for layer in net.features:
        x = layer(x)
        rows.append((type(layer).__name__.lower(), x.shape[1:], parameter_count(layer)))
        if net.architecture["head"] == "max" and not isinstance(layer, nn.MaxPool1D):
            pooled += x.shape[1]
    if pooled:
        x = mx.nd.zeros((1, pooled))
        rows.append(("max over time", x.shape[1:], 0))
    for layer in net.classifier:
        x = layer(x)
        rows.append((type(layer).__name__.lower(), x.shape[1:], parameter_count(layer)))
    return rows
