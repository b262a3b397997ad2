"""The numbers notebook 06 prints: dilated stacks, causal padding, transposed and separable convolutions."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon, nd

from crepe.arithmetic import (conv_multiply_adds, conv_params, depthwise_separable_params, receptive_field,
                              transposed_output_length)


@pytest.mark.parametrize("field,plain_weights,dilated_weights", [(16, 30_720, 8_192), (64, 129_024, 12_288),
                                                                 (256, 522_240, 16_384), (1024, 2_095_104, 20_480)])
def test_dilated_stack_reaches_the_field_with_logarithmic_weights(field, plain_weights, dilated_weights):
    layers = int(np.log2(field))
    assert receptive_field([(2, 1, 2 ** i) for i in range(layers)]) == field
    assert (field - 1) * conv_params(32, 32, 2, bias=False) == plain_weights
    assert layers * conv_params(32, 32, 2, bias=False) == dilated_weights


def causal_stack():
    stack = []
    for i in range(4):
        conv = gluon.nn.Conv1D(1, 2, dilation=2 ** i, in_channels=1)
        conv.initialize(mx.init.Uniform(1.0))
        stack.append((conv, 2 ** i))
    def run(x):
        for conv, dilation in stack:
            x = conv(nd.concat(nd.zeros((1, 1, dilation)), x, dim=2))     # left padding only
        return x.asnumpy()[0, 0]
    return run


def test_left_padded_dilated_stack_is_causal():
    mx.random.seed(0)
    run = causal_stack()
    x = np.random.RandomState(0).rand(1, 1, 32).astype(np.float32)
    base = run(nd.array(x))
    changed = x.copy()
    changed[0, 0, 20] += 1
    diff = np.abs(run(nd.array(changed)) - base) > 1e-6
    assert base.shape == (32,) and not diff[:20].any() and diff[20]


def test_transposed_stride_two_ones_kernel_repeats_pixels():
    up = gluon.nn.Conv2DTranspose(1, kernel_size=2, strides=2, in_channels=1, use_bias=False)
    up.initialize(mx.init.One())
    out = up(nd.array([[[[1, 2], [3, 4]]]])).asnumpy()[0, 0]
    np.testing.assert_array_equal(out, [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    assert transposed_output_length(4, 3, 1, 2, output_padding=1) == 8


def test_separable_numbers_of_notebook_06():
    assert (conv_params(32, 64, (3, 3)), depthwise_separable_params(32, 64, (3, 3))) == (18_496, 2_432)
    assert (conv_multiply_adds(32, 64, (3, 3), (56, 56)),
            conv_multiply_adds(32, 64, (3, 3), (56, 56), separable=True)) == (57_802_752, 7_325_696)
