"""Named filters, the numpy correlations and apply() on real pictures and bad input."""
import numpy as np
import pytest

from crepe import filters
from crepe.filters import KERNELS, apply, corr1d, corr2d, gaussian_kernel, sample_photo, to_grayscale


def test_named_kernels_have_the_talks_values():
    np.testing.assert_array_equal(filters.LAPLACIAN, [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    np.testing.assert_array_equal(filters.SHARPEN, [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    np.testing.assert_array_equal(filters.SOBEL_X, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    np.testing.assert_array_equal(filters.EDGE, [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
    np.testing.assert_array_equal(filters.HORIZONTAL_LINE, [[-1, -1, -1], [2, 2, 2], [-1, -1, -1]])
    np.testing.assert_allclose(filters.BOX_BLUR, np.full((3, 3), 1 / 9))


def test_sobel_y_is_sobel_x_transposed():
    np.testing.assert_array_equal(filters.SOBEL_Y, filters.SOBEL_X.T)


@pytest.mark.parametrize("name,total", [("box_blur", 1), ("gaussian_blur", 1), ("sharpen", 1), ("laplacian", 0),
                                        ("edge", 0), ("sobel_x", 0), ("sobel_y", 0), ("horizontal_line", 0)])
def test_kernels_sum_as_expected(name, total):
    assert KERNELS[name].sum() == pytest.approx(total, abs=1e-6)


def test_gaussian_kernel_sums_to_one_and_is_symmetric():
    k = gaussian_kernel(5, sigma=1.5)
    assert k.sum() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(k, k.T)
    np.testing.assert_allclose(k, k[::-1, ::-1])


@pytest.mark.parametrize("size", [0, 4, -1, 2.0])
def test_gaussian_kernel_bad_size_is_a_value_error(size):
    with pytest.raises(ValueError, match="odd"):
        gaussian_kernel(size)


def test_sobel_x_is_positive_on_a_dark_to_bright_edge():
    image = np.repeat([[0, 0, 0, 1, 1, 1]], 4, axis=0)
    out = apply(image, filters.SOBEL_X)
    assert out.max() == 4 and out.min() == 0


def test_laplacian_is_zero_on_a_linear_ramp():
    ramp = np.add.outer(np.arange(6.0), 2 * np.arange(7.0))
    np.testing.assert_array_equal(apply(ramp, filters.LAPLACIAN), 0)


def test_apply_matches_corr2d_on_the_photo_for_every_named_kernel():
    gray = to_grayscale(sample_photo())[200:264, 200:264]
    for name, kernel in KERNELS.items():
        np.testing.assert_allclose(apply(gray, kernel), corr2d(gray, kernel), atol=1e-5, err_msg=name)


def test_sample_photo_is_rgb_in_unit_range():
    photo = sample_photo()
    assert photo.shape == (600, 512, 3) and photo.dtype == np.float32
    assert 0 <= photo.min() and photo.max() <= 1


def test_apply_rgb_with_multichannel_kernel_sums_channels():
    image = np.ones((5, 5, 3)) * np.array([1, 2, 3])
    kernel = np.ones((3, 3, 3))
    np.testing.assert_array_equal(apply(image, kernel), np.full((3, 3), 9 * 6))


def test_apply_stride_two_halves_the_size():
    assert apply(np.zeros((64, 48)), filters.BOX_BLUR, stride=2, padding=1).shape == (32, 24)


def test_corr1d_single_channel():
    np.testing.assert_array_equal(corr1d([1, 2, 3, 4, 5], [1, 1]), [3, 5, 7, 9])


def test_corr1d_stride_and_padding():
    np.testing.assert_array_equal(corr1d([1, 2, 3, 4], [1, 1, 1], stride=2, padding=1), [3, 9])


def test_corr2d_bias_per_output_channel():
    out = corr2d(np.ones((3, 3, 1)), np.ones((3, 3, 1, 2)), bias=[1, -1])
    np.testing.assert_array_equal(out, [[[10, 8]]])


def test_corr2d_kernel_larger_than_input_is_a_value_error():
    with pytest.raises(ValueError, match="larger than"):
        corr2d(np.ones((2, 2)), np.ones((3, 3)))


def test_apply_kernel_larger_than_input_is_a_value_error():
    with pytest.raises(ValueError, match="larger than"):
        apply(np.ones((2, 2)), np.ones((3, 3)))


def test_corr2d_channel_mismatch_is_a_value_error():
    with pytest.raises(ValueError, match="3 input channels but x has 2"):
        corr2d(np.ones((4, 4, 2)), np.ones((2, 2, 3)))


def test_apply_channel_mismatch_is_a_value_error():
    with pytest.raises(ValueError, match="3 input channels but the image has 1"):
        apply(np.ones((4, 4, 1)), np.ones((2, 2, 3)))


def test_apply_wrong_image_rank_is_a_value_error():
    with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, C\)"):
        apply(np.ones(5), filters.SOBEL_X)


def test_corr2d_stride_zero_is_a_value_error():
    with pytest.raises(ValueError, match="stride"):
        corr2d(np.ones((4, 4)), np.ones((2, 2)), stride=0)


def test_corr2d_text_input_is_a_type_error():
    with pytest.raises(TypeError, match="numeric"):
        corr2d([["a", "b"], ["c", "d"]], np.ones((1, 1)))


def test_to_grayscale_rejects_a_grayscale_image():
    with pytest.raises(ValueError, match="RGB"):
        to_grayscale(np.ones((4, 4)))
