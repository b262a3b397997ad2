"""Named image filters, a plain-numpy cross-correlation for teaching, and the same through MXNet.

Every deep-learning framework's "convolution" is a *cross-correlation*: the kernel slides over the
input unflipped, and each output is the sum of element-wise products plus a bias. ``corr1d`` and
``corr2d`` compute exactly that in numpy (channels last, the way the seeds draw their tables);
``apply`` computes it with ``mx.nd.Convolution`` so the two can be compared number for number.

Kernel shapes, shared by ``corr1d``, ``corr2d`` and ``apply`` (2-D shown; 1-D drops a ``k``):

==========================  ==================================  =========================
kernel                      meaning                             output for (H, W, C) input
==========================  ==================================  =========================
``(kh, kw)``                the same filter on every channel    ``(H', W', C)``
``(kh, kw, C)``             one multi-channel filter            ``(H', W')``
``(kh, kw, C, M)``          ``M`` multi-channel filters         ``(H', W', M)``
==========================  ==================================  =========================

A 2-D input ``(H, W)`` is a single channel, and a 2-D kernel on it gives ``(H', W')``.
"""
import numpy as np

__all__ = ["SOBEL_X", "SOBEL_Y", "LAPLACIAN", "BOX_BLUR", "GAUSSIAN_BLUR", "SHARPEN", "EDGE",
           "HORIZONTAL_LINE", "KERNELS", "gaussian_kernel", "corr1d", "corr2d", "apply",
           "to_grayscale", "sample_photo"]

#: Horizontal gradient (responds to vertical edges), as a cross-correlation kernel.
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
#: Vertical gradient (responds to horizontal edges).
SOBEL_Y = SOBEL_X.T.copy()
#: 4-neighbour Laplacian: second derivative, zero on flat and linear regions.
LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32)
#: Mean of the 3x3 neighbourhood.
BOX_BLUR = np.full((3, 3), 1 / 9, dtype=np.float32)
#: 3x3 binomial approximation of a Gaussian (sigma about 0.85).
GAUSSIAN_BLUR = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float32) / 16
#: Identity plus a negative Laplacian: boosts local contrast; its weights sum to 1.
SHARPEN = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32)
#: 8-neighbour edge detector; its weights sum to 0.
EDGE = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=np.float32)
#: Responds to thin horizontal lines.
HORIZONTAL_LINE = np.array([[-1, -1, -1], [2, 2, 2], [-1, -1, -1]], dtype=np.float32)

#: The named kernels above, by name, in the order the filters notebook shows them.
KERNELS = {
    "sobel_x": SOBEL_X, "sobel_y": SOBEL_Y, "laplacian": LAPLACIAN, "box_blur": BOX_BLUR,
    "gaussian_blur": GAUSSIAN_BLUR, "sharpen": SHARPEN, "edge": EDGE,
    "horizontal_line": HORIZONTAL_LINE,
}


def gaussian_kernel(size=5, sigma=1.0):
    """A normalised 2-D Gaussian kernel.

    Parameters
    ----------
    size : int, optional
        Odd side length (default 5).
    sigma : float, optional
        Standard deviation in pixels (default 1.0).

    Returns
    -------
    numpy.ndarray
        ``float32`` array of shape ``(size, size)`` whose entries sum to 1.

    Examples
    --------
    >>> k = gaussian_kernel(3, sigma=1.0)
    >>> k.shape, round(float(k.sum()), 6), bool(k[1, 1] == k.max())
    ((3, 3), 1.0, True)
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1 or size % 2 == 0:
        raise ValueError(f"size must be a positive odd integer, got {size!r}")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}")
    offsets = np.arange(size) - size // 2
    line = np.exp(-offsets ** 2 / (2.0 * sigma ** 2))
    kernel = np.outer(line, line)
    return (kernel / kernel.sum()).astype(np.float32)


def _check_step(stride, padding):
    for name, value, minimum in (("stride", stride, 1), ("padding", padding, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _as_float_array(name, value):
    array = np.asarray(value)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{name} must be a numeric array, got dtype {array.dtype}")
    return array.astype(np.float64)


def _correlate(x, kernel, bias, stride, padding, spatial):
    """Shared engine of corr1d/corr2d: ``spatial`` is 1 or 2 leading spatial axes."""
    _check_step(stride, padding)
    x = _as_float_array("x", x)
    kernel = _as_float_array("kernel", kernel)
    if x.ndim not in (spatial, spatial + 1):
        raise ValueError(f"x must have {spatial} spatial axes and optionally a channel axis, got shape {x.shape}")
    if kernel.ndim not in (spatial, spatial + 1, spatial + 2):
        raise ValueError(f"kernel must have shape {'(w' if spatial == 1 else '(kh, kw'}[, C[, M]]), got {kernel.shape}")
    single_channel = x.ndim == spatial
    x = x[..., np.newaxis] if single_channel else x                      # (*S, C)
    channels = x.shape[-1]
    per_channel = kernel.ndim == spatial
    if per_channel:
        weights = np.zeros(kernel.shape + (channels, channels))
        for c in range(channels):
            weights[..., c, c] = kernel                                   # (*K, C, C), diagonal
    else:
        weights = kernel[..., np.newaxis] if kernel.ndim == spatial + 1 else kernel   # (*K, C, M)
        if weights.shape[spatial] != channels:
            raise ValueError(f"kernel has {weights.shape[spatial]} input channels but x has {channels}")
    ksize = weights.shape[:spatial]
    pad = [(padding, padding)] * spatial + [(0, 0)]
    x = np.pad(x, pad)
    for axis in range(spatial):
        if ksize[axis] > x.shape[axis]:
            raise ValueError(f"kernel size {ksize} is larger than the (padded) input {x.shape[:spatial]}")
    windows = np.lib.stride_tricks.sliding_window_view(x, ksize, axis=tuple(range(spatial)))
    windows = windows[tuple(slice(None, None, stride) for _ in range(spatial))]   # (*S', C, *K)
    letters = "hw"[:spatial] if spatial == 2 else "w"
    out = np.einsum(f"...c{letters},{letters}cm->...m", windows, weights)         # (*S', M)
    out = out + np.asarray(bias, dtype=np.float64)
    if (single_channel and per_channel) or (not per_channel and kernel.ndim == spatial + 1):
        out = out[..., 0]
    return out


def corr1d(x, kernel, bias=0.0, stride=1, padding=0):
    """Cross-correlate a sequence with a kernel, in plain numpy.

    Parameters
    ----------
    x : array_like, shape (T,) or (T, C)
        A sequence of numbers, or of C-dimensional vectors (one row per position).
    kernel : array_like, shape (w,), (w, C) or (w, C, M)
        See the module docstring for what each shape means.
    bias : float or array_like of shape (M,), optional
        Added to every output.
    stride : int, optional
        Step between windows (default 1).
    padding : int, optional
        Zeros added at each end (default 0).

    Returns
    -------
    numpy.ndarray
        ``float64``, shape ``(T',)``, ``(T', C)`` or ``(T', M)``.

    Examples
    --------
    >>> corr1d([1, 2, 3, 4], [1, 0, -1])
    array([-2., -2.])
    >>> x = np.arange(1, 21).reshape(4, 5)          # four 5-vectors
    >>> k = np.arange(1, 31).reshape(3, 5, 2)       # width 3, 5 -> 2 channels
    >>> corr1d(x, k)
    array([[2360., 2480.],
           [3485., 3680.]])
    """
    return _correlate(x, kernel, bias, stride, padding, spatial=1)


def corr2d(x, kernel, bias=0.0, stride=1, padding=0):
    """Cross-correlate an image with a kernel, in plain numpy.

    Parameters
    ----------
    x : array_like, shape (H, W) or (H, W, C)
        A grayscale image, or a grid of C-dimensional vectors (e.g. RGB pixels).
    kernel : array_like, shape (kh, kw), (kh, kw, C) or (kh, kw, C, M)
        See the module docstring for what each shape means.
    bias : float or array_like of shape (M,), optional
        Added to every output.
    stride : int, optional
        Step between windows along both axes (default 1).
    padding : int, optional
        Zeros added on each side of both axes (default 0).

    Returns
    -------
    numpy.ndarray
        ``float64``, shape ``(H', W')``, ``(H', W', C)`` or ``(H', W', M)``.

    Examples
    --------
    >>> corr2d([[2, 2, 1], [3, 1, -1], [4, 3, 2]], [[1, -1], [-1, 0]], bias=2)
    array([[-1.,  2.],
           [ 0.,  1.]])
    """
    return _correlate(x, kernel, bias, stride, padding, spatial=2)


def apply(image, kernel, bias=0.0, stride=1, padding=0, ctx=None):
    """Filter an image with ``mx.nd.Convolution`` (a cross-correlation), on any device.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Grayscale or colour image (any numeric dtype; computed in float32).
    kernel : array_like, shape (kh, kw), (kh, kw, C) or (kh, kw, C, M)
        A named kernel such as ``SOBEL_X`` applies to each channel; see the module docstring.
    bias : float or array_like of shape (M,), optional
        Added to every output.
    stride, padding : int, optional
        As in :func:`corr2d`.
    ctx : mxnet.Context, optional
        Where to compute (default ``mx.cpu()``); pass ``get_ctx()[0]`` for the GPU.

    Returns
    -------
    numpy.ndarray
        ``float32``, the same shape :func:`corr2d` gives.

    Examples
    --------
    >>> apply([[2, 2, 1], [3, 1, -1], [4, 3, 2]], [[1, -1], [-1, 0]], bias=2)
    array([[-1.,  2.],
           [ 0.,  1.]], dtype=float32)
    """
    import mxnet as mx

    _check_step(stride, padding)
    x = _as_float_array("image", image).astype(np.float32)
    k = _as_float_array("kernel", kernel).astype(np.float32)
    if x.ndim not in (2, 3):
        raise ValueError(f"image must have shape (H, W) or (H, W, C), got {x.shape}")
    if k.ndim not in (2, 3, 4):
        raise ValueError(f"kernel must have shape (kh, kw[, C[, M]]), got {k.shape}")
    single_channel = x.ndim == 2
    x = x[..., np.newaxis] if single_channel else x                       # (H, W, C)
    channels = x.shape[-1]
    groups = 1
    if k.ndim == 2:                                                       # same filter per channel
        groups = channels
        weight = np.broadcast_to(k, (channels, 1) + k.shape)             # (C, 1, kh, kw)
    else:
        k4 = k[..., np.newaxis] if k.ndim == 3 else k                     # (kh, kw, C, M)
        if k4.shape[2] != channels:
            raise ValueError(f"kernel has {k4.shape[2]} input channels but the image has {channels}")
        weight = k4.transpose(3, 2, 0, 1)                                 # (M, C, kh, kw)
    if weight.shape[2] > x.shape[0] + 2 * padding or weight.shape[3] > x.shape[1] + 2 * padding:
        raise ValueError(f"kernel {weight.shape[2:]} is larger than the (padded) image "
                         f"{(x.shape[0] + 2 * padding, x.shape[1] + 2 * padding)}")
    filters = weight.shape[0]
    ctx = ctx or mx.cpu()
    data = mx.nd.array(x.transpose(2, 0, 1)[np.newaxis], ctx=ctx)         # (1, C, H, W)
    out = mx.nd.Convolution(
        data=data, weight=mx.nd.array(weight, ctx=ctx),
        bias=mx.nd.array(np.broadcast_to(np.asarray(bias, np.float32), (filters,)), ctx=ctx),
        kernel=weight.shape[2:], stride=(stride, stride), pad=(padding, padding),
        num_filter=filters, num_group=groups)
    out = out.asnumpy()[0].transpose(1, 2, 0)                             # (H', W', M)
    if (single_channel and k.ndim == 2) or k.ndim == 3:
        out = out[..., 0]
    return out


def to_grayscale(rgb):
    """Luminance of an RGB image (ITU-R BT.601 weights 0.299, 0.587, 0.114).

    Examples
    --------
    >>> to_grayscale(np.ones((2, 2, 3))).round(6)
    array([[1., 1.],
           [1., 1.]], dtype=float32)
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[-1] < 3:
        raise ValueError(f"expected an RGB image of shape (H, W, 3), got {rgb.shape}")
    return (rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))


def sample_photo():
    """The photograph of Grace Hopper that matplotlib ships, as float32 RGB in [0, 1].

    Returns
    -------
    numpy.ndarray
        Shape ``(600, 512, 3)``.
    """
    import matplotlib.cbook
    import matplotlib.image

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        photo = matplotlib.image.imread(handle, format="jpg")
    return photo.astype(np.float32) / 255.0
