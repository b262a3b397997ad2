"""Saliency: scores aligned with the text, zero where the network sees no character."""
import mxnet as mx
import numpy as np
import pytest

from crepe.explain import explain, filter_weights, first_layer, plot_filters, plot_saliency, top_windows
from crepe.model import ARCHITECTURES, Crepe
from crepe.quantise import FRAME_LENGTH, encode, one_hot
from tests.helpers import seeded_crepe


@pytest.fixture(scope="module")
def net():
    return seeded_crepe(3)


def test_explain_gives_one_score_per_character_in_reading_order(net):
    pairs, label = explain(net, "Stocks rallied, Fed says")
    assert "".join(c for c, _ in pairs) == "Stocks rallied, Fed says" and 0 <= label < 4


def test_explain_scores_characters_of_the_alphabet(net):
    pairs, _ = explain(net, "abc xyz")
    assert all(score != 0 for _, score in pairs)


def test_explain_character_outside_the_alphabet_scores_zero(net):
    pairs, _ = explain(net, "caf\u00e9 \u6771\u4eac")
    assert dict(pairs)["\u00e9"] == 0 and dict(pairs)["\u6771"] == 0 and dict(pairs)["c"] != 0


def test_explain_keeps_only_the_characters_that_survive_truncation(net):
    text = "x" * 100 + "y" * FRAME_LENGTH
    pairs, _ = explain(net, text)
    assert len(pairs) == FRAME_LENGTH and {c for c, _ in pairs} == {"y"}


@pytest.fixture(scope="module")
def workshop_net():
    from crepe.model import ARCHITECTURES

    return seeded_crepe(4, **ARCHITECTURES["workshop"])


@pytest.mark.parametrize("which", ["paper", "workshop"])
def test_explain_matches_a_finite_difference(net, workshop_net, which):
    """Scaling a character's one-hot entry down by eps changes the score by about eps times its saliency."""
    from crepe.quantise import encode, one_hot

    net = net if which == "paper" else workshop_net
    text = "Mars rover launched"
    pairs, _ = explain(net, text, target=1)
    x = one_hot(encode(text))
    score = lambda inp: float(net.classifier(net.feature_vector(mx.nd.array(inp)))[0, 1].asscalar())
    eps, differences = 0.05, []
    for position in range(len(text)):
        column = len(text) - 1 - position                 # frames hold the text backwards
        nudged = x.copy()
        nudged[0, :, column] *= 1 - eps
        differences.append((score(x) - score(nudged)) / eps)
    # Single positions are noisy in float32 and near ReLU kinks; the profile as a whole must agree.
    assert np.corrcoef(differences, [s for _, s in pairs])[0, 1] > 0.9


def test_explain_is_the_same_when_asked_twice(net):
    first, _ = explain(net, "Stocks rallied", target=2)
    second, _ = explain(net, "Stocks rallied", target=2)
    np.testing.assert_allclose([s for _, s in first], [s for _, s in second], rtol=1e-5)


def test_explain_rejects_a_list(net):
    with pytest.raises(TypeError, match="one str"):
        explain(net, ["a", "b"])


def test_plot_saliency_draws_every_character(net):
    import matplotlib
    matplotlib.use("Agg")
    pairs, _ = explain(net, "short text")
    ax = plot_saliency(pairs)
    assert len(ax.texts) == len("short text")


def test_saliency_frame_is_zero_on_padding_columns(net):
    from crepe.explain import saliency_frame
    from crepe.quantise import encode

    scores, _ = saliency_frame(net, encode("short text")[0])
    assert scores.shape == (FRAME_LENGTH,) and (scores[len("short text"):] == 0).all() and scores[0] != 0


def test_explain_batch_normalised_crepe_is_refused():
    with pytest.raises(ValueError, match="without batch normalisation"):
        explain(seeded_crepe(5, head="max", norm="batch", init="he"), "text")


# --------------------------------------------------------------------------- what the first layer learned


def _planted_filter_net():
    """A workshop Crepe whose filter 0 matches exactly the 7 characters "goalie!" and nothing else."""
    from crepe.quantise import ALPHABET

    net = Crepe(4, **ARCHITECTURES["workshop"])
    net.initialize()
    conv = net.features[0].conv
    weight = np.zeros(conv.weight.shape, dtype=np.float32)             # (256, 69, 7)
    for position, char in enumerate("goalie!"):
        weight[0, ALPHABET.index(char), 6 - position] = 1.0              # kernel column 0 meets the last character
    conv.weight.set_data(mx.nd.array(weight))
    return net


def test_top_windows_finds_a_planted_seven_gram():
    found = top_windows(_planted_filter_net(), ["The GOALIE! saved it", "goal is near", "no"], k=2)
    assert found[0][0] == ("goalie!", 7.0)


def test_top_windows_skips_windows_that_reach_into_padding():
    found = top_windows(_planted_filter_net(), ["lie!", "abcdefgh"], k=5)
    assert all(len(window) == 7 for window, _ in found[0]) and [w for w, _ in found[0]] != []


def test_first_layer_matches_a_numpy_correlation(net):
    frames = encode(["Markets fell", "Goal!"])
    x = one_hot(frames)                                                 # (2, 69, 1014)
    w = net.features[0].weight.data().asnumpy()                         # (256, 69, 7)
    b = net.features[0].bias.data().asnumpy()
    by_hand = np.maximum(0, np.einsum("ncj,fcj->nf", x[:, :, 10:17], w) + b)   # output position 10
    assert np.allclose(first_layer(net, frames)[:, :, 10], by_hand, atol=1e-5)


def test_filter_weights_reads_the_planted_filter_in_reading_order():
    from crepe.quantise import ALPHABET

    weights = filter_weights(_planted_filter_net())[0]                  # (69, 7)
    assert "".join(ALPHABET[i] for i in weights.argmax(axis=0)) == "goalie!"


def test_plot_filters_labels_every_character():
    import matplotlib
    matplotlib.use("Agg")
    from crepe.quantise import ALPHABET

    axes = plot_filters(_planted_filter_net(), [0, 1])
    assert len(axes[0].get_yticklabels()) == len(ALPHABET)
