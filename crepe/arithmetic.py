"""Convolution arithmetic: output sizes, parameter counts and receptive fields.

Sizes follow MXNet's convention: ``padding`` is added on *each* side, and the output length of a
convolution or (``pooling_convention='valid'``) pooling is

    floor((n + 2p - d(k - 1) - 1) / s) + 1

for input length ``n``, kernel ``k``, padding ``p``, stride ``s`` and dilation ``d``.
"""
import math
from numbers import Integral

from .quantise import FRAME_LENGTH

__all__ = ["conv_output_length", "pool_output_length", "conv_params", "dense_params",
           "receptive_field", "CREPE_LAYERS", "crepe_shape_walk", "transposed_output_length",
           "depthwise_separable_params", "conv_multiply_adds"]

#: The six convolutions and three poolings of Crepe's feature extractor, as (name, kind, width).
#: Convolutions have stride 1 and no padding; poolings are 3 wide with stride 3.
CREPE_LAYERS = (
    ("conv1", "conv", 7), ("pool1", "pool", 3),
    ("conv2", "conv", 7), ("pool2", "pool", 3),
    ("conv3", "conv", 3),
    ("conv4", "conv", 3),
    ("conv5", "conv", 3),
    ("conv6", "conv", 3), ("pool6", "pool", 3),
)


def _int(name, value, minimum):
    """Check that ``value`` is an integer >= ``minimum`` and return it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def conv_output_length(size, kernel, padding=0, stride=1, dilation=1):
    """Length of a convolution's output along one axis.

    Parameters
    ----------
    size : int
        Input length ``n``.
    kernel : int
        Kernel width ``k``.
    padding : int, optional
        Zeros added on each side ``p`` (default 0, "valid").
    stride : int, optional
        Step ``s`` between windows (default 1).
    dilation : int, optional
        Spacing ``d`` between kernel taps (default 1).

    Returns
    -------
    int
        ``floor((n + 2p - d(k - 1) - 1) / s) + 1``.

    Raises
    ------
    ValueError
        If a size is out of range or the (dilated) kernel is wider than the padded input.

    Examples
    --------
    >>> conv_output_length(1014, 7)
    1008
    >>> conv_output_length(32, 5)                 # six 5x5 filters on a 32x32 image -> 28x28
    28
    >>> conv_output_length(7, 3, padding=1)       # "same" padding keeps the length
    7
    >>> conv_output_length(7, 3, stride=2, dilation=2)
    2
    """
    size = _int("size", size, 1)
    kernel = _int("kernel", kernel, 1)
    padding = _int("padding", padding, 0)
    stride = _int("stride", stride, 1)
    dilation = _int("dilation", dilation, 1)
    span = dilation * (kernel - 1) + 1
    if span > size + 2 * padding:
        raise ValueError(f"kernel spans {span} positions (kernel {kernel}, dilation {dilation}) but the "
                         f"padded input has only {size + 2 * padding} (size {size}, padding {padding})")
    return (size + 2 * padding - span) // stride + 1


def pool_output_length(size, pool, stride=None, padding=0):
    """Length of a pooling's output along one axis (MXNet's ``'valid'`` convention).

    Parameters
    ----------
    size : int
        Input length.
    pool : int
        Window width.
    stride : int, optional
        Step between windows; defaults to ``pool`` (non-overlapping), as in Gluon.
    padding : int, optional
        Padding on each side (default 0).

    Returns
    -------
    int
        The output length, by the same formula as :func:`conv_output_length`.

    Examples
    --------
    >>> pool_output_length(1008, 3)
    336
    >>> pool_output_length(4, 2)
    2
    """
    return conv_output_length(size, pool, padding=padding, stride=pool if stride is None else stride)


def conv_params(in_channels, out_channels, kernel, bias=True):
    """Number of learnable parameters of a convolution layer.

    Parameters
    ----------
    in_channels : int
        Input channels ``N`` (the depth of each kernel).
    out_channels : int
        Number of filters ``M``.
    kernel : int or tuple of int
        Kernel size: ``W`` for 1-D, ``(H, W)`` for 2-D, and so on.
    bias : bool, optional
        Whether each filter has a bias (default True).

    Returns
    -------
    int
        ``M * N * prod(kernel) + M`` (without the ``+ M`` when ``bias`` is False).

    Examples
    --------
    >>> conv_params(256, 256, (3, 3))             # about 0.59 M
    590080
    >>> conv_params(3, 6, (5, 5))                 # six 5x5 filters over an RGB image
    456
    >>> conv_params(69, 256, 7)                   # Crepe's first layer
    123904
    """
    in_channels = _int("in_channels", in_channels, 1)
    out_channels = _int("out_channels", out_channels, 1)
    sizes = (kernel,) if isinstance(kernel, Integral) else tuple(kernel)
    if not sizes:
        raise ValueError("kernel must have at least one dimension")
    taps = math.prod(_int("kernel", k, 1) for k in sizes)
    return out_channels * in_channels * taps + (out_channels if bias else 0)


def dense_params(in_features, out_features, bias=True):
    """Number of learnable parameters of a fully connected layer.

    Examples
    --------
    >>> dense_params(32 * 32 * 3, 28 * 28 * 6, bias=False)   # the dense alternative: ~14.45 M
    14450688
    >>> dense_params(8704, 1024)
    8913920
    """
    in_features = _int("in_features", in_features, 1)
    out_features = _int("out_features", out_features, 1)
    return in_features * out_features + (out_features if bias else 0)


def receptive_field(layers):
    """Input positions that one output position of a stack of layers depends on.

    Parameters
    ----------
    layers : sequence of tuple
        One ``(kernel, stride)`` or ``(kernel, stride, dilation)`` per layer, input side first.
        Poolings count like convolutions.

    Returns
    -------
    int
        The receptive field ``1 + sum_i d_i (k_i - 1) * prod_{j<i} s_j``.

    Examples
    --------
    >>> receptive_field([(3, 1)] * 3)             # three stacked 3x3 see as far as one 7x7
    7
    >>> receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4)])
    15
    """
    field, jump = 1, 1
    for number, layer in enumerate(layers):
        if len(layer) not in (2, 3):
            raise ValueError(f"layer {number}: expected (kernel, stride) or (kernel, stride, dilation), got {layer!r}")
        kernel = _int(f"layer {number} kernel", layer[0], 1)
        stride = _int(f"layer {number} stride", layer[1], 1)
        dilation = _int(f"layer {number} dilation", layer[2], 1) if len(layer) == 3 else 1
        field += dilation * (kernel - 1) * jump
        jump *= stride
    return field


def crepe_shape_walk(length=FRAME_LENGTH, filters=256):
    """Output length after each layer of Crepe's feature extractor.

    Parameters
    ----------
    length : int, optional
        Input frame length (default 1014).
    filters : int, optional
        Feature maps per convolution: 256 (small) or 1024 (large).

    Returns
    -------
    list of (str, int)
        ``(layer name, output length)`` for every layer in ``CREPE_LAYERS``, then
        ``("flatten", features)`` with ``features = last length * filters``.

    Examples
    --------
    >>> [n for _, n in crepe_shape_walk()]
    [1008, 336, 330, 110, 108, 106, 104, 102, 34, 8704]
    >>> crepe_shape_walk(filters=1024)[-1]
    ('flatten', 34816)
    """
    filters = _int("filters", filters, 1)
    walk = []
    for name, kind, width in CREPE_LAYERS:
        try:
            length = conv_output_length(length, width) if kind == "conv" else pool_output_length(length, width)
        except ValueError as error:
            raise ValueError(f"{name}: input too short for Crepe ({error})") from error
        walk.append((name, length))
    walk.append(("flatten", length * filters))
    return walk


def transposed_output_length(size, kernel, padding=0, stride=1, dilation=1, output_padding=0):
    """Length of a transposed convolution's output (the inverse of :func:`conv_output_length`'s shape).

    ``(n - 1) s - 2p + d(k - 1) + output_padding + 1``, as MXNet's ``Deconvolution`` and Gluon's
    ``Conv2DTranspose`` compute it.

    Examples
    --------
    >>> transposed_output_length(4, 3, stride=2, padding=1, output_padding=1)   # 4 -> 8: upsampling x2
    8
    >>> transposed_output_length(conv_output_length(7, 3), 3)                  # undoes 7 -> 5
    7
    """
    size = _int("size", size, 1)
    kernel = _int("kernel", kernel, 1)
    padding = _int("padding", padding, 0)
    stride = _int("stride", stride, 1)
    dilation = _int("dilation", dilation, 1)
    output_padding = _int("output_padding", output_padding, 0)
    if output_padding >= stride:
        raise ValueError(f"output_padding must be smaller than stride ({stride}), got {output_padding}")
    length = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    if length < 1:
        raise ValueError(f"padding {padding} removes the whole output (length {length})")
    return length


def depthwise_separable_params(in_channels, out_channels, kernel, bias=True):
    """Parameters of a depthwise-separable convolution (MobileNet): depthwise, then 1x1 pointwise.

    The depthwise step has one ``kernel`` filter per input channel (``groups=in_channels``), the
    pointwise step mixes channels with ``out_channels`` 1x1 filters.

    Examples
    --------
    >>> depthwise_separable_params(32, 64, (3, 3))          # 32*9 + 32  +  32*64 + 64
    2432
    >>> conv_params(32, 64, (3, 3))                         # the full convolution it replaces
    18496
    """
    sizes = (kernel,) if isinstance(kernel, Integral) else tuple(kernel)
    depthwise = conv_params(1, in_channels, sizes, bias=bias)       # one single-channel filter per channel
    pointwise = conv_params(in_channels, out_channels, (1,) * len(sizes), bias=bias)
    return depthwise + pointwise


def conv_multiply_adds(in_channels, out_channels, kernel, output_size, separable=False):
    """Multiply-adds of a convolution producing ``output_size`` positions per output channel.

    Examples
    --------
    >>> full = conv_multiply_adds(32, 64, (3, 3), (56, 56))
    >>> separable = conv_multiply_adds(32, 64, (3, 3), (56, 56), separable=True)
    >>> full, separable, round(separable / full, 3)     # 1/M + 1/k^2 = 1/64 + 1/9
    (57802752, 7325696, 0.127)
    """
    sizes = (kernel,) if isinstance(kernel, Integral) else tuple(kernel)
    outputs = (output_size,) if isinstance(output_size, Integral) else tuple(output_size)
    positions = math.prod(_int("output_size", o, 1) for o in outputs)
    taps = math.prod(_int("kernel", k, 1) for k in sizes)
    in_channels = _int("in_channels", in_channels, 1)
    out_channels = _int("out_channels", out_channels, 1)
    if separable:
        return positions * (in_channels * taps + in_channels * out_channels)
    return positions * in_channels * out_channels * taps
