"""benchmarks/bench_paper_recipes.py's bookkeeping (the training runs are a benchmark, not a test)."""
import mxnet as mx
import numpy as np
import pytest

from benchmarks.bench_paper_recipes import (
    RECIPES,
    AuxiliaryLoss,
    build,
    dead_share,
    deeply_supervised,
    report,
    set_phase,
)
from crepe.model import ARCHITECTURES, Crepe

FRAMES = np.random.RandomState(0).randint(0, 70, size=(2, 1014)).astype("uint8")               # (2, 1014)


def _paper_crepe():
    mx.random.seed(0)
    net = Crepe(4, **ARCHITECTURES["paper"])
    net.initialize()
    return net


def _set_last_convolution(net, bias):
    last = net.features[7]                                   # conv, pool, conv, pool, conv x4: the sixth
    last.weight.set_data(mx.nd.zeros_like(last.weight.data()))
    last.bias.set_data(mx.nd.full(last.bias.shape, bias))


def test_recipes_keep_the_paper_initialisation_except_the_comparison():
    changed = [name for name, (_, settings) in RECIPES.items() if settings.get("init", "gaussian") != "gaussian"]
    assert changed == ["he-adam-5e-4"] and "not the paper's network" in RECIPES["he-adam-5e-4"][0]


def test_report_says_never_when_validation_stays_below_half():
    curve = [(50, 20.0, 1.39, 0.26, 0.31), (100, 40.0, 1.38, 0.27, 0.35)]
    row = report({"adam": ("Adam", curve)}).splitlines()[-1]
    assert "| never " in row and "| 0.350 " in row and "| 1.380 " in row


def test_report_gives_the_first_step_at_half():
    curve = [(50, 20.0, 1.2, 0.4, 0.45), (100, 40.0, 1.0, 0.6, 0.55), (150, 60.0, 0.9, 0.7, 0.60)]
    assert "| 100 " in report({"adam": ("Adam", curve)}).splitlines()[-1]


def test_deeply_supervised_predicts_as_the_paper_network():
    mx.random.seed(0)
    both = deeply_supervised(4)
    both.initialize()
    plain = Crepe(4, **ARCHITECTURES["paper"])
    plain.initialize()
    for source, target in zip(both.collect_params().values(), plain.collect_params().values()):
        target.set_data(source.data())                       # the paper layers come first, aux last
    frames = mx.nd.array(FRAMES, dtype="uint8")
    assert np.allclose(both(frames).asnumpy(), plain(frames).asnumpy(), atol=1e-6)


def test_deeply_supervised_leaves_the_auxiliary_logits_while_training():
    mx.random.seed(0)
    net = deeply_supervised(4)
    net.initialize()
    with mx.autograd.record():
        logits = net(mx.nd.array(FRAMES, dtype="uint8"))
        loss = AuxiliaryLoss(net, 1.0)(logits, mx.nd.array([0, 1]))
    assert net.aux_logits.shape == (2, 4) and loss.shape == (2,)


def test_build_keeps_the_paper_network_for_deep_supervision():
    net, loss = build({"lr": 1e-3, "aux": 1.0}, 4)
    assert net.architecture == ARCHITECTURES["paper"] and loss.net is net


def test_dead_share_is_one_when_the_last_convolution_outputs_zero():
    net = _paper_crepe()
    _set_last_convolution(net, bias=0.0)
    assert dead_share(net, FRAMES) == 1.0


def test_dead_share_is_zero_when_every_output_is_positive():
    net = _paper_crepe()
    _set_last_convolution(net, bias=1.0)
    assert dead_share(net, FRAMES) == 0.0


class _Trainer:
    def set_learning_rate(self, rate):
        self.rate = rate


def _phase(step):
    net, _ = build({"lr": 1e-4}, 4)
    params = list(net.collect_params().values())
    output_layer = set(net.classifier[-1].collect_params().values())
    trainer = _Trainer()
    set_phase(trainer, params, output_layer, {"lr": 1e-4, "head_first": 30, "head_lr": 1e-3}, step, 400)
    return ([p.lr_mult for p in params if p not in output_layer], [p.lr_mult for p in output_layer], trainer.rate)


def test_set_phase_freezes_all_but_the_output_layer_during_head_first():
    others, output, _ = _phase(29)
    assert set(others) == {0.0} and output == pytest.approx([10.0, 10.0])


def test_set_phase_trains_everything_at_the_recipe_rate_after_head_first():
    others, output, rate = _phase(30)
    assert set(others + output) == {1.0} and rate == pytest.approx(1e-4)


def test_recipes_warm_up_through_crepe_s_learning_rate():
    from crepe.recipes import learning_rate

    settings = RECIPES["adam-1e-3-warm"][1]
    assert learning_rate(settings, 0, 400, None, settings["lr"]) == pytest.approx(1e-3 / 50)
