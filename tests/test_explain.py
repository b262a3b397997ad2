"""Saliency: scores aligned with the text, zero where the network sees no character."""
import mxnet as mx
import numpy as np
import pytest

from crepe.explain import explain, plot_saliency
from crepe.model import Crepe
from crepe.quantise import FRAME_LENGTH


@pytest.fixture(scope="module")
def net():
    mx.random.seed(3)
    model = Crepe(4)
    model.initialize()
    return model


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


def test_explain_matches_a_finite_difference(net):
    """Removing a character (zeroing its one-hot column) changes the score by about its saliency."""
    from crepe.quantise import encode, one_hot

    text = "Mars rover launched"
    pairs, label = explain(net, text, target=1)
    x = one_hot(encode(text))
    score = lambda inp: net.classifier(net.features(mx.nd.array(inp)))[0, 1].asscalar()
    column = len(text) - 1                                 # the first character, 'M', sits in the last used column
    removed = x.copy()
    removed[0, :, column] = 0
    assert score(x) - score(removed) == pytest.approx(pairs[0][1], rel=0.2, abs=1e-3)


def test_explain_rejects_a_list(net):
    with pytest.raises(TypeError, match="one str"):
        explain(net, ["a", "b"])


def test_plot_saliency_draws_every_character(net):
    import matplotlib
    matplotlib.use("Agg")
    pairs, _ = explain(net, "short text")
    ax = plot_saliency(pairs)
    assert len(ax.texts) == len("short text")
