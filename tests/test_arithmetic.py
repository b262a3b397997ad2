"""Convolution arithmetic: sizes, parameter counts, receptive fields, the Crepe shape walk."""
import itertools

import pytest

from crepe.arithmetic import (CREPE_LAYERS, conv_output_length, conv_params, crepe_shape_walk,
                              dense_params, pool_output_length, receptive_field)


def test_conv_output_length_matches_mxnet_over_a_grid(mx):
    cases = 0
    for size, kernel, padding, stride, dilation in itertools.product((5, 8, 13), (1, 2, 3, 5), (0, 1, 2),
                                                                     (1, 2, 3), (1, 2)):
        if dilation * (kernel - 1) + 1 > size + 2 * padding:
            continue
        out = mx.nd.Convolution(mx.nd.ones((1, 1, size)), mx.nd.ones((1, 1, kernel)), no_bias=True,
                                kernel=(kernel,), pad=(padding,), stride=(stride,), dilate=(dilation,),
                                num_filter=1)
        assert out.shape[2] == conv_output_length(size, kernel, padding, stride, dilation), \
            (size, kernel, padding, stride, dilation)
        cases += 1
    assert cases > 150


def test_pool_output_length_matches_mxnet(mx):
    for size, pool, stride in itertools.product((6, 7, 1008, 102), (2, 3), (None, 1, 2)):
        step = pool if stride is None else stride
        out = mx.nd.Pooling(mx.nd.ones((1, 1, size)), kernel=(pool,), stride=(step,), pool_type="max")
        assert out.shape[2] == pool_output_length(size, pool, stride)


def test_conv_output_length_valid_and_same_padding():
    assert conv_output_length(7, 3) == 5
    assert conv_output_length(7, 3, padding=1) == 7


def test_conv_output_length_kernel_larger_than_input_is_a_value_error():
    with pytest.raises(ValueError, match="kernel spans 5 positions"):
        conv_output_length(4, 5)


def test_conv_output_length_stride_zero_is_a_value_error():
    with pytest.raises(ValueError, match="stride must be >= 1"):
        conv_output_length(10, 3, stride=0)


def test_conv_output_length_negative_padding_is_a_value_error():
    with pytest.raises(ValueError, match="padding must be >= 0"):
        conv_output_length(10, 3, padding=-1)


def test_conv_output_length_float_size_is_a_type_error():
    with pytest.raises(TypeError, match="size must be an integer"):
        conv_output_length(10.0, 3)


def test_conv_params_256_by_256_by_3_by_3_is_about_059_million():
    count = conv_params(256, 256, (3, 3))
    assert count == 590_080 and round(count / 1e6, 2) == 0.59


def test_conv_params_six_5x5_filters_on_rgb_is_456():
    assert conv_params(3, 6, (5, 5)) == 456


def test_conv_params_match_gluon(mx):
    layer = mx.gluon.nn.Conv2D(6, kernel_size=5, in_channels=3)
    layer.initialize()
    out = layer(mx.nd.ones((1, 3, 32, 32)))
    assert out.shape == (1, 6, 28, 28)
    assert sum(p.data().size for p in layer.collect_params().values()) == conv_params(3, 6, (5, 5))


def test_dense_params_for_the_32x32x3_image_is_about_1445_million():
    count = dense_params(32 * 32 * 3, 28 * 28 * 6, bias=False)
    assert count == 14_450_688 and round(count / 1e6, 2) == 14.45


def test_three_3x3_layers_cost_27_c_squared_against_49_for_one_7x7():
    c = 64
    three = 3 * conv_params(c, c, (3, 3), bias=False)
    one = conv_params(c, c, (7, 7), bias=False)
    assert (three, one) == (27 * c * c, 49 * c * c)
    assert receptive_field([(3, 1)] * 3) == receptive_field([(7, 1)]) == 7


def test_conv_params_empty_kernel_is_a_value_error():
    with pytest.raises(ValueError, match="at least one dimension"):
        conv_params(3, 6, ())


def test_receptive_field_grows_with_stride():
    assert receptive_field([(2, 2), (2, 2), (2, 2)]) == 8


def test_receptive_field_of_crepe_features_is_wide():
    layers = [(width, 1 if kind == "conv" else 3) for _, kind, width in CREPE_LAYERS]
    assert receptive_field(layers) == 123


def test_receptive_field_bad_layer_is_a_value_error():
    with pytest.raises(ValueError, match="layer 1"):
        receptive_field([(3, 1), (3,)])


def test_crepe_shape_walk_small():
    assert [n for _, n in crepe_shape_walk()] == [1008, 336, 330, 110, 108, 106, 104, 102, 34, 8704]


def test_crepe_shape_walk_large_flattens_to_34816():
    assert crepe_shape_walk(filters=1024)[-1] == ("flatten", 34816)


def test_crepe_shape_walk_matches_gluon_layers(mx):
    from mxnet.gluon import nn

    x = mx.nd.zeros((1, 69, 1014))
    lengths = []
    for _, kind, width in CREPE_LAYERS:
        layer = nn.Conv1D(8, width) if kind == "conv" else nn.MaxPool1D(width, width)
        layer.initialize()
        x = layer(x)
        lengths.append(x.shape[2])
    assert lengths == [n for _, n in crepe_shape_walk()[:-1]]


def test_crepe_shape_walk_too_short_input_is_a_value_error():
    with pytest.raises(ValueError, match="conv"):
        crepe_shape_walk(length=100)


def test_transposed_output_length_matches_gluon(mx):
    from crepe.arithmetic import transposed_output_length

    for size, kernel, padding, stride, output_padding in itertools.product((3, 4, 7), (2, 3, 4), (0, 1), (1, 2, 3),
                                                                          (0, 1)):
        if output_padding >= stride:
            continue
        try:
            expected = transposed_output_length(size, kernel, padding, stride, output_padding=output_padding)
        except ValueError:
            continue
        layer = mx.gluon.nn.Conv2DTranspose(1, kernel, strides=stride, padding=padding,
                                            output_padding=output_padding, in_channels=1)
        layer.initialize()
        assert layer(mx.nd.ones((1, 1, size, size))).shape[2] == expected


def test_transposed_output_length_upsamples_by_the_stride():
    from crepe.arithmetic import transposed_output_length

    assert transposed_output_length(4, 3, padding=1, stride=2, output_padding=1) == 8


def test_transposed_output_length_rejects_output_padding_at_least_stride():
    from crepe.arithmetic import transposed_output_length

    with pytest.raises(ValueError, match="output_padding must be smaller than stride"):
        transposed_output_length(4, 3, stride=2, output_padding=2)


def test_depthwise_separable_params_match_gluon(mx):
    from crepe.arithmetic import depthwise_separable_params

    block = mx.gluon.nn.HybridSequential()
    block.add(mx.gluon.nn.Conv2D(32, 3, groups=32, in_channels=32), mx.gluon.nn.Conv2D(64, 1, in_channels=32))
    block.initialize()
    assert sum(p.data().size for p in block.collect_params().values()) == depthwise_separable_params(32, 64, (3, 3))


def test_separable_multiply_adds_ratio_is_one_over_m_plus_one_over_k_squared():
    from crepe.arithmetic import conv_multiply_adds

    ratio = conv_multiply_adds(32, 64, (3, 3), (56, 56), separable=True) / conv_multiply_adds(32, 64, (3, 3), (56, 56))
    assert ratio == pytest.approx(1 / 64 + 1 / 9)


def test_dilated_stack_grows_exponentially_plain_stack_linearly():
    dilated = [receptive_field([(2, 1, 2 ** i) for i in range(n)]) for n in range(1, 6)]
    plain = [receptive_field([(2, 1)] * n) for n in range(1, 6)]
    assert dilated == [2, 4, 8, 16, 32] and plain == [2, 3, 4, 5, 6]
