"""The Crepe model: sizes, shapes, parameter counts, initialisation, hybridisation."""
import mxnet as mx
import numpy as np
import pytest

from crepe.arithmetic import crepe_shape_walk
from crepe.model import Crepe, parameter_count, summary
from crepe.quantise import encode, one_hot
from tests.helpers import seeded_crepe


@pytest.fixture(scope="module")
def small():
    return seeded_crepe(1)


def test_crepe_small_has_11337988_parameters(small):
    assert parameter_count(small) == 11_337_988


def test_crepe_large_has_95933444_parameters():
    net = Crepe(4, size="large")
    net.initialize()
    assert parameter_count(net) == 95_933_444


def test_summary_walks_the_talks_shapes(small):
    lengths = [shape[1] for name, shape, _ in summary(small) if name in ("conv1d", "maxpool1d")]
    assert lengths == [1008, 336, 330, 110, 108, 106, 104, 102, 34]


def test_summary_flattens_to_8704(small):
    assert ("flatten", (8704,), 0) in summary(small)


def test_large_flattens_to_34816():
    assert Crepe(4, size="large").classifier[0]._in_units == 34816 == crepe_shape_walk(filters=1024)[-1][1]


def test_summary_parameter_total_matches_count(small):
    assert sum(params for _, _, params in summary(small)) == parameter_count(small)


def test_forward_gives_one_logit_per_class(small):
    assert small(mx.nd.zeros((3, 1014), dtype="uint8")).shape == (3, 4)


def test_one_hot_inside_the_network_equals_numpy_one_hot(small):
    frames = encode(["Hello, world!", "Zhang, Zhao & LeCun (2015)"])
    inside = small(mx.nd.array(frames, dtype="uint8"))
    outside = small.classifier(small.features(mx.nd.array(one_hot(frames))))
    np.testing.assert_allclose(inside.asnumpy(), outside.asnumpy(), rtol=1e-5, atol=1e-6)


def test_hybridised_outputs_equal_imperative():
    mx.random.seed(2)
    net = Crepe(3)
    net.initialize()
    x = mx.nd.array(encode(["one", "two texts", "three"]), dtype="uint8")
    before = net(x).asnumpy()
    net.hybridize(static_alloc=True, static_shape=True)
    np.testing.assert_allclose(net(x).asnumpy(), before, rtol=1e-5, atol=1e-6)


def test_biases_start_gaussian_like_the_weights(small):
    bias = small.classifier[0].bias.data().asnumpy()
    weight = small.classifier[0].weight.data().asnumpy()
    assert abs(bias.std() - 0.05) < 0.005 and abs(weight.std() - 0.05) < 0.001


def test_large_initialises_with_std_002():
    net = Crepe(2, size="large")
    net.initialize()
    assert abs(net.features[0].weight.data().asnumpy().std() - 0.02) < 0.001


def test_unknown_size_is_a_value_error():
    with pytest.raises(ValueError, match="size must be one of"):
        Crepe(4, size="medium")


def test_one_class_is_a_value_error():
    with pytest.raises(ValueError, match="num_classes"):
        Crepe(1)


@pytest.fixture(scope="module")
def workshop():
    from crepe.model import ARCHITECTURES

    return seeded_crepe(3, **ARCHITECTURES["workshop"])


def test_crepe_workshop_has_376964_parameters(workshop):
    assert parameter_count(workshop) == 376_964


def test_summary_workshop_keeps_the_six_convolutions_and_three_poolings(workshop):
    lengths = [shape[1] for name, shape, _ in summary(workshop) if name in ("convblock", "maxpool1d")]
    assert lengths == [1008, 336, 330, 110, 108, 106, 104, 102, 34]


def test_summary_workshop_pools_six_maxima_of_128(workshop):
    assert ("max over time", (768,), 0) in summary(workshop)


def test_summary_workshop_parameter_total_matches_count(workshop):
    assert sum(params for _, _, params in summary(workshop)) == parameter_count(workshop)


def test_crepe_workshop_head_is_the_maximum_over_time_of_each_convolution(workshop):
    frames = mx.nd.array(encode(["max over time", "of every convolution"]), dtype="uint8")
    x = mx.nd.one_hot(frames, 70)[:, :, 1:].transpose((0, 2, 1))
    pooled = []
    for layer in workshop.features:
        x = layer(x)
        if type(layer).__name__ == "ConvBlock":
            pooled.append(x.max(axis=2))
    expected = workshop.classifier(mx.nd.concat(*pooled, dim=1))
    np.testing.assert_allclose(workshop(frames).asnumpy(), expected.asnumpy(), rtol=1e-5, atol=1e-6)


def test_crepe_he_init_gives_zero_convolution_biases(workshop):
    assert not workshop.features[0].conv.bias.data().asnumpy().any()


def test_crepe_he_init_scales_weights_by_fan_in(workshop):
    weight = workshop.features[0].conv.weight.data().asnumpy()          # (256, 69, 7): fan-in 483
    assert abs(weight.std() - np.sqrt(2 / 483)) < 0.003


def test_crepe_batch_norm_block_hybridises_on_the_cpu():
    mx.random.seed(4)
    net = Crepe(2, head="max", norm="batch", init="he")
    net.initialize()
    x = mx.nd.array(encode(["batch", "norm"]), dtype="uint8")
    before = net(x).asnumpy()
    net.hybridize(static_alloc=True, static_shape=True)
    np.testing.assert_allclose(net(x).asnumpy(), before, rtol=1e-4, atol=1e-5)


def test_crepe_unknown_head_is_a_value_error():
    with pytest.raises(ValueError, match="head must be one of"):
        Crepe(4, head="average")


def test_crepe_filters_overrides_the_size(workshop):
    assert summary(workshop)[1][1] == (128, 1008)


def test_crepe_bad_filters_is_refused():
    with pytest.raises(ValueError, match="filters must be a positive integer"):
        Crepe(4, filters=0)


def test_crepe_max_head_reads_a_512_column_frame(workshop):
    assert workshop(mx.nd.zeros((2, 512), dtype="uint8")).shape == workshop(mx.nd.zeros((2, 1014), dtype="uint8")).shape


def test_training_length_is_512_for_the_max_head_only(workshop):
    from crepe.model import training_length

    assert (training_length(workshop), training_length(Crepe(4))) == (512, 1014)
