"""The window diagram of notebook 01: it shows what MXNet computes, one row per output."""
import numpy as np
import pytest

from crepe.diagrams import draw_windows, window_taps

X = np.array([3, 1, 4, 1, 5, 9, 2])                     # not evenly spaced: every window gives its own output
KERNEL = np.array([1, 0, -1])


@pytest.fixture
def ax():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots()
    yield axes
    plt.close(fig)


@pytest.mark.parametrize("settings", [{}, {"padding": 1}, {"stride": 2}, {"dilation": 2}, {"padding": 2, "stride": 3}])
def test_draw_windows_returns_what_mxnet_computes(mx, ax, settings):
    padding, stride, dilation = (settings.get(key, 1 if key != "padding" else 0)
                                 for key in ("padding", "stride", "dilation"))
    expected = mx.nd.Convolution(mx.nd.array(X[None, None]), mx.nd.array(KERNEL[None, None]), no_bias=True,
                                 kernel=(3,), pad=(padding,), stride=(stride,), dilate=(dilation,),
                                 num_filter=1).asnumpy().ravel()
    drawn = draw_windows(ax, X, KERNEL, max_padding=2, **settings)
    assert (drawn == expected).all()


def test_draw_windows_labels_one_row_per_output(ax):
    draw_windows(ax, X, KERNEL, stride=2)
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["input", "output 0", "output 1", "output 2"]


def test_window_taps_dilation_leaves_gaps():
    assert window_taps(7, 3, dilation=2)[0] == [0, 2, 4]


def test_window_taps_stride_skips_windows():
    assert [row[0] for row in window_taps(7, 3, stride=2)] == [0, 2, 4]
