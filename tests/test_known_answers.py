"""The seeds' worked examples, each checked against the numpy reference and against MXNet."""
import numpy as np
import pytest

from crepe.filters import apply, corr1d, corr2d
from tests.helpers import mx_corr1d

THREE_BY_THREE = [[2, 2, 1], [3, 1, -1], [4, 3, 2]]
TWO_BY_TWO = [[1, -1], [-1, 0]]
BINARY_IMAGE = [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]]
X_KERNEL = [[1, 0, 1], [0, 1, 0], [1, 0, 1]]
SEQUENCE = np.arange(1, 21).reshape(4, 5)             # (1..5), (6..10), (11..15), (16..20)
SEQUENCE_KERNEL = np.arange(1, 31).reshape(3, 5, 2)   # rows (1 2), (3 4), ..., (29 30)
GRID = np.arange(1, 61).reshape(5, 4, 3)              # a 5x4 grid of 3-vectors
GRID_KERNEL = np.arange(1, 25).reshape(4, 2, 3)       # a 4x2 kernel, 3 -> 1 channel
POOL_ROWS = np.array([[4, 6, 8], [5, 3, 9], [8, 3, 1]])

EXPECTED_BIAS = [[-1, 2], [0, 1]]
EXPECTED_BINARY = [[4, 3, 4], [2, 4, 3], [2, 3, 4]]
EXPECTED_SEQUENCE = [[2360, 2480], [3485, 3680]]
EXPECTED_GRID = [[8680, 9580, 10480], [12280, 13180, 14080]]


def test_corr2d_three_by_three_with_bias():
    np.testing.assert_array_equal(corr2d(THREE_BY_THREE, TWO_BY_TWO, bias=2), EXPECTED_BIAS)


def test_apply_three_by_three_with_bias():
    np.testing.assert_array_equal(apply(THREE_BY_THREE, TWO_BY_TWO, bias=2), EXPECTED_BIAS)


def test_corr2d_binary_image_with_x_kernel():
    np.testing.assert_array_equal(corr2d(BINARY_IMAGE, X_KERNEL), EXPECTED_BINARY)


def test_apply_binary_image_with_x_kernel():
    np.testing.assert_array_equal(apply(BINARY_IMAGE, X_KERNEL), EXPECTED_BINARY)


def test_corr1d_sequence_of_vectors():
    np.testing.assert_array_equal(corr1d(SEQUENCE, SEQUENCE_KERNEL), EXPECTED_SEQUENCE)


def test_mx_convolution_sequence_of_vectors():
    np.testing.assert_array_equal(mx_corr1d(SEQUENCE, SEQUENCE_KERNEL), EXPECTED_SEQUENCE)


def test_gluon_conv1d_sequence_of_vectors(mx):
    layer = mx.gluon.nn.Conv1D(2, kernel_size=3, in_channels=5)
    layer.initialize()
    layer.weight.set_data(mx.nd.array(SEQUENCE_KERNEL.transpose(2, 1, 0)))
    layer.bias.set_data(mx.nd.zeros(2))
    out = layer(mx.nd.array(SEQUENCE.T[np.newaxis])).asnumpy()[0].T
    np.testing.assert_array_equal(out, EXPECTED_SEQUENCE)


def test_corr2d_grid_of_vectors():
    np.testing.assert_array_equal(corr2d(GRID, GRID_KERNEL), EXPECTED_GRID)


def test_apply_grid_of_vectors():
    np.testing.assert_array_equal(apply(GRID, GRID_KERNEL), EXPECTED_GRID)


def test_max_pooling_over_time_numpy():
    np.testing.assert_array_equal(POOL_ROWS.max(axis=0), [8, 6, 9])


def test_max_pooling_over_time_mxnet(mx):
    data = mx.nd.array(POOL_ROWS.T[np.newaxis])                      # (1, 3 channels, 3 steps)
    out = mx.nd.Pooling(data, kernel=(3,), pool_type="max", stride=(3,))
    np.testing.assert_array_equal(out.asnumpy()[0, :, 0], [8, 6, 9])


def test_gluon_global_max_pool_over_time(mx):
    out = mx.gluon.nn.GlobalMaxPool1D()(mx.nd.array(POOL_ROWS.T[np.newaxis]))
    np.testing.assert_array_equal(out.asnumpy().ravel(), [8, 6, 9])


def _grid_4x4_of_3_vectors():
    """The seed's 4x4 grid of 3-vectors numbered 1..48, with a few values shuffled in the corner."""
    grid = np.arange(1, 49).reshape(4, 4, 3)
    grid[0, 0] = [1, 17, 3]
    grid[1, 0] = [13, 14, 18]
    grid[1, 1] = [16, 2, 15]
    return grid


def test_max_pool_2x2_downsampling_numpy():
    grid = _grid_4x4_of_3_vectors()
    pooled = grid.reshape(2, 2, 2, 2, 3).max(axis=(1, 3))
    np.testing.assert_array_equal(pooled[0, 0], [16, 17, 18])


def test_max_pool_2x2_downsampling_mxnet(mx):
    grid = _grid_4x4_of_3_vectors()
    out = mx.nd.Pooling(mx.nd.array(grid.transpose(2, 0, 1)[np.newaxis]), kernel=(2, 2), stride=(2, 2),
                        pool_type="max").asnumpy()[0].transpose(1, 2, 0)
    np.testing.assert_array_equal(out.shape, (2, 2, 3))
    np.testing.assert_array_equal(out[0, 0], [16, 17, 18])


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 0), (1, 1), (2, 1), (3, 2)])
def test_apply_matches_corr2d_for_stride_and_padding(stride, padding):
    rng = np.random.default_rng(stride * 10 + padding)
    image = rng.integers(-5, 6, size=(9, 8, 3))
    kernel = rng.integers(-3, 4, size=(3, 3, 3, 4))
    np.testing.assert_array_equal(apply(image, kernel, stride=stride, padding=padding),
                                  corr2d(image, kernel, stride=stride, padding=padding))


def test_apply_per_channel_kernel_matches_corr2d():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 9, size=(6, 7, 3))
    kernel = rng.integers(-2, 3, size=(3, 3))
    got = apply(image, kernel)
    assert got.shape == (4, 5, 3)
    np.testing.assert_array_equal(got, corr2d(image, kernel))
