"""Training, checkpoints, evaluation, prediction, export: all kept tiny (a few small batches)."""
import json

import mxnet as mx
import numpy as np
import pytest

from crepe.checkpoint import save_config
from crepe.data import TextDataset, load_dataset
from crepe.errors import CheckpointError
from crepe.inference import evaluate, export, load_exported, load_model, predict
from crepe.model import Crepe
from crepe.recipes import RECIPES, learning_rate
from crepe.settings import TrainSettings
from crepe.train import fit, train_step
from tests.helpers import quiet_fit, seeded_crepe

CLASSES = ("World", "Sports", "Business", "Sci/Tech")


@pytest.fixture(scope="module")
def tiny_sets():
    texts, labels = load_dataset("sample")["train"]
    return TextDataset(texts[:48], labels[:48]), TextDataset(texts[48:85], labels[48:85])


def new_net(seed=0, dropout=0.5):
    return seeded_crepe(seed, dropout=dropout)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_sets):
    out = tmp_path_factory.mktemp("model")
    net = new_net()
    history = quiet_fit(net, *tiny_sets, epochs=2, batch_size=16, out_dir=out, classes=CLASSES, max_batches=2)
    return net, out, history


def test_fit_returns_one_history_entry_per_epoch(trained):
    _, _, history = trained
    assert [h["epoch"] for h in history] == [1, 2]
    assert all(np.isfinite(h["train_loss"]) and 0 <= h["val_accuracy"] <= 1 for h in history)


def test_fit_writes_a_checkpoint_every_epoch(trained):
    _, out, _ = trained
    state = json.loads((out / "state.json").read_text())
    assert state["epoch"] == 2 and state["params"] == "epoch-0002.params"
    assert {p.name for p in out.iterdir()} >= {"config.json", "state.json", "epoch-0001.params",
                                              "epoch-0002.params", "epoch-0002.states", state["best"]}


def test_fit_leaves_no_temporary_files(trained):
    _, out, _ = trained
    assert not [p for p in out.iterdir() if ".tmp" in p.name]


def test_fit_resume_continues_after_the_last_epoch(trained, tiny_sets, tmp_path):
    _, out, _ = trained
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in out.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    history = quiet_fit(new_net(5), *tiny_sets, epochs=3, batch_size=16, out_dir=copy, resume=True, max_batches=2)
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert json.loads((copy / "state.json").read_text())["epoch"] == 3


def test_fit_resume_without_a_checkpoint_is_an_error(tiny_sets, tmp_path):
    with pytest.raises(CheckpointError, match="nothing to resume"):
        quiet_fit(new_net(), *tiny_sets, epochs=1, out_dir=tmp_path, resume=True)


def test_fit_unknown_recipe(tiny_sets):
    with pytest.raises(ValueError, match="unknown recipe"):
        quiet_fit(new_net(), *tiny_sets, recipe="magic")


def test_training_steps_lower_the_loss_on_a_batch():
    net = new_net(3, dropout=0.0)
    texts, labels = load_dataset("sample")["train"]
    data = mx.nd.array(np.stack([TextDataset(texts[:32], labels[:32])[i][0] for i in range(32)]), dtype="uint8")
    label = mx.nd.array(labels[:32])
    trainer = mx.gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 1e-3})
    loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    losses = [train_step(net, trainer, loss_fn, data, label, [mx.cpu()])[0].asscalar() for _ in range(6)]
    assert losses[-1] < losses[0]


def test_train_step_on_two_devices_matches_one_device():
    texts, labels = load_dataset("sample")["train"]
    data = mx.nd.array(np.stack([TextDataset(texts[:8], labels[:8])[i][0] for i in range(8)]), dtype="uint8")
    label = mx.nd.array(labels[:8])
    weights = []
    for ctx in ([mx.cpu(0)], [mx.cpu(0), mx.cpu(1)]):
        net = new_net(7, dropout=0.0)
        net.collect_params().reset_ctx(ctx)
        trainer = mx.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9},
                                   kvstore="device" if len(ctx) > 1 else None)
        train_step(net, trainer, mx.gluon.loss.SoftmaxCrossEntropyLoss(), data, label, ctx)
        weights.append([p.data(ctx[0]).asnumpy() for p in net.collect_params().values()])
    for one, two in zip(*weights):
        np.testing.assert_allclose(one, two, rtol=1e-4, atol=1e-6)


def test_evaluate_counts_every_row(trained, tiny_sets):
    net, _, _ = trained
    result = evaluate(net, tiny_sets[1], batch_size=16)
    assert result["count"] == 37 and result["confusion"].sum() == 37
    assert result["accuracy"] == pytest.approx(np.trace(result["confusion"]) / 37)


def test_predict_gives_a_class_and_probabilities(trained):
    net, _, _ = trained
    result = predict(net, "Stocks rallied on Wall Street", CLASSES)
    assert result.label in CLASSES and sum(result.probabilities.values()) == pytest.approx(1, abs=1e-5)


def test_predict_many_texts_gives_a_list(trained):
    net, _, _ = trained
    assert len(predict(net, ["a", "b", "c"], CLASSES)) == 3


def test_load_model_gives_the_trained_outputs(trained):
    net, out, _ = trained
    loaded, config = load_model(out, which="last")
    x = mx.nd.zeros((2, 1014), dtype="uint8")
    assert tuple(config["classes"]) == CLASSES
    np.testing.assert_allclose(loaded(x).asnumpy(), net(x).asnumpy(), rtol=1e-5, atol=1e-6)


def test_export_round_trip_gives_the_same_outputs(trained, tmp_path):
    net, _, _ = trained
    export(net, tmp_path / "crepe")
    block = load_exported(tmp_path / "crepe")
    x = mx.nd.array(np.random.RandomState(0).randint(0, 70, (3, 1014)), dtype="uint8")
    np.testing.assert_allclose(block(x).asnumpy(), net(x).asnumpy(), rtol=1e-5, atol=1e-6)


def test_load_exported_missing_files(tmp_path):
    with pytest.raises(CheckpointError, match="export the model first"):
        load_exported(tmp_path / "nothing")


def test_load_model_class_count_mismatch_is_a_clear_error(trained, tmp_path):
    _, out, _ = trained
    for path in out.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    save_config(tmp_path, Crepe(5), [str(i) for i in range(5)])
    with pytest.raises(CheckpointError, match=r"does not fit this model \(Crepe small \(paper\), 5 classes\)"):
        load_model(tmp_path)


def test_load_model_not_a_model_directory(tmp_path):
    with pytest.raises(CheckpointError, match="config.json: missing"):
        load_model(tmp_path)


def test_load_model_newer_format_is_refused(trained, tmp_path):
    _, out, _ = trained
    config = json.loads((out / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "format": 99}))
    with pytest.raises(CheckpointError, match="newer version"):
        load_model(tmp_path)


@pytest.mark.parametrize("change, problem", [({"filters": -3}, r"filters must be a positive integer, got -3"),
                                             ({"width": 3}, r"unknown field 'width'")])
def test_load_model_bad_architecture_names_the_problem(trained, tmp_path, change, problem):
    _, out, _ = trained
    config = json.loads((out / "config.json").read_text())
    config["architecture"] = {**config["architecture"], **change}
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"cannot build \(" + problem):
        load_model(tmp_path)


def test_load_model_reads_an_architecture_without_filters(trained, tmp_path):
    from crepe.checkpoint import read_config
    from crepe.families import FAMILIES

    _, out, _ = trained
    config = json.loads((out / "config.json").read_text())
    config["architecture"] = {"head": "max", "norm": None, "init": "he", "dropout": 0.2}   # before "filters"
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert FAMILIES["crepe"].rebuild(read_config(tmp_path), tmp_path).architecture == config["architecture"]


def test_load_model_detects_a_damaged_checkpoint(trained, tmp_path):
    _, out, _ = trained
    for path in out.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    best = tmp_path / json.loads((tmp_path / "state.json").read_text())["best"]
    best.write_bytes(best.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="damaged"):
        load_model(tmp_path)


def test_mixed_precision_is_refused_on_the_cpu(tiny_sets):
    with pytest.raises(ValueError, match="mixed precision needs a GPU"):
        quiet_fit(new_net(), *tiny_sets, epochs=1, amp=True)


def test_learning_rate_workshop_warms_up_linearly():
    assert learning_rate(RECIPES["workshop"], 9, 1000, 100, 4e-3) == pytest.approx(4e-3 * 10 / 20)


def test_learning_rate_workshop_reaches_half_midway_through_the_decay():
    assert learning_rate(RECIPES["workshop"], 510, 1000, 100, 4e-3) == pytest.approx(2e-3)


def test_learning_rate_paper_halves_every_three_epochs():
    assert [learning_rate(RECIPES["paper"], s, 10 ** 6, 10, 0.01) for s in (29, 30, 60)] == [0.01, 0.005, 0.0025]


def test_evaluate_precision_of_a_never_predicted_class_is_zero(tiny_sets):
    result = evaluate(new_net(), tiny_sets[1])
    never = result["confusion"].sum(axis=0) == 0
    assert never.any() and not np.isnan(result["precision"]).any() and (result["precision"][never] == 0).all()


@pytest.fixture(scope="module")
def word_model(tmp_path_factory):
    from crepe.families import make_dataset
    from crepe.words import WordCNN, build_vocab

    texts, labels = load_dataset("sample")["train"]
    mx.random.seed(0)
    vocab = build_vocab(texts[:64])
    net = WordCNN(len(vocab), 4, vocab=vocab)
    net.initialize()
    train_set = make_dataset(net, texts[:64], labels[:64])
    out = tmp_path_factory.mktemp("word")
    quiet_fit(net, train_set, None, epochs=1, batch_size=16, out_dir=out, classes=CLASSES)
    return net, out, texts[64:70]


def test_load_model_word_gives_the_trained_outputs(word_model):
    net, out, texts = word_model
    loaded, config = load_model(out, which="last")
    assert config["model"] == "word"
    expected = [p.probabilities for p in predict(net, texts, CLASSES)]
    got = [p.probabilities for p in predict(loaded, texts, CLASSES)]
    for e, g in zip(expected, got):
        assert list(e) == list(g) and np.allclose(list(e.values()), list(g.values()), atol=1e-5)


def test_save_config_word_keeps_the_vocabulary_as_json(word_model):
    net, out, _ = word_model
    assert json.loads((out / "vocab.json").read_text())["idx_to_token"] == net.vocab.idx_to_token


def test_export_word_model_reloads_with_the_same_logits(word_model, tmp_path):
    from crepe.words import WordDataset, word_batchify

    net, _, texts = word_model
    export(net, tmp_path / "word")
    reloaded = load_exported(tmp_path / "word")
    ids, _ = word_batchify(net.vocab)([WordDataset([t], [0], net.vocab)[0] for t in texts])
    ids = ids.as_in_context(mx.cpu())                       # batchify returns shared-memory arrays
    np.testing.assert_allclose(reloaded(ids).asnumpy(), net(ids).asnumpy(), rtol=1e-5, atol=1e-6)


def test_fit_eval_every_records_a_curve_per_step(tiny_sets):
    history = quiet_fit(new_net(), *tiny_sets, epochs=2, batch_size=8, max_batches=3, eval_every=2)
    assert [step for entry in history for step, _ in entry["curve"]] == [2, 4, 6]


def test_fit_time_budget_shortens_the_run(tiny_sets):
    history = quiet_fit(new_net(), *tiny_sets, epochs=50, batch_size=8,
                  time_budget=1e-6)
    assert len(history) == 2 and sum(h["seconds"] for h in history) > 0      # 11 steps of 6 per epoch


def test_fit_workshop_recipe_ends_at_a_zero_learning_rate(tiny_sets):
    history = quiet_fit(new_net(), *tiny_sets, epochs=2, batch_size=8, max_batches=3)
    assert history[-1]["lr"] == pytest.approx(4e-3 * 0.5 * (1 + np.cos(np.pi * 4 / 5)))    # warm-up: 1 step


def test_fit_refuses_frames_built_for_another_network(tiny_sets):
    from crepe.model import ARCHITECTURES
    from crepe.families import make_dataset

    texts, labels = load_dataset("sample")["train"]
    workshop = seeded_crepe(0, **ARCHITECTURES["workshop"])
    short_frames = make_dataset(workshop, texts[:48], labels[:48], training=True)            # 512 columns
    with pytest.raises(ValueError, match="512-column frames, but Crepe small \\(paper\\) reads only 1014"):
        quiet_fit(new_net(), short_frames, None, epochs=1)


def test_fit_calls_every_callback_moment_in_order(tiny_sets):
    from crepe.callbacks import Callback

    class Recorder(Callback):
        def __init__(self):
            self.moments = []

        def __getattribute__(self, name):
            if name.startswith("on_"):
                object.__getattribute__(self, "moments").append(name)
            return object.__getattribute__(self, name)

    recorder = Recorder()
    fit(new_net(), *tiny_sets, TrainSettings(epochs=1, batch_size=16, max_batches=1), [recorder])
    assert recorder.moments == ["on_train_begin", "on_epoch_begin", "on_step_begin", "on_gradients", "on_step_end",
                                "on_epoch_end", "on_train_end"]


def test_fit_a_callback_can_stop_the_run(tiny_sets):
    from crepe.callbacks import Callback

    class StopAfterTwoSteps(Callback):
        def on_step_end(self, loop, loss_sum, correct):
            loop.stop = loop.step >= 2

    history = fit(new_net(), *tiny_sets, TrainSettings(epochs=5, batch_size=8), [StopAfterTwoSteps()])
    assert len(history) == 1 and history[0]["samples_per_s"] > 0


def test_fit_without_callbacks_prints_nothing(tiny_sets, capsys):
    fit(new_net(), *tiny_sets, TrainSettings(epochs=1, batch_size=16, max_batches=1), callbacks=())
    assert capsys.readouterr().out == ""


def test_fit_by_default_prints_one_line_per_epoch(tiny_sets, capsys):
    fit(new_net(), *tiny_sets, TrainSettings(epochs=2, batch_size=16, max_batches=1))
    lines = [line for line in capsys.readouterr().out.replace("\r", "\n").splitlines() if line.startswith("epoch ")
             and ": loss" in line]
    assert [line.split(":")[0] for line in lines] == ["epoch 1", "epoch 2"]


def test_fit_of_an_uninitialised_network_says_what_to_do(tiny_sets):
    with pytest.raises(ValueError, match="initialise the network before training it"):
        quiet_fit(Crepe(4), *tiny_sets, epochs=1)


def test_family_of_a_foreign_network_names_the_registry():
    from crepe.families import family_of

    with pytest.raises(TypeError, match="is not a model family of this workshop"):
        family_of(mx.gluon.nn.Dense(2))


def test_time_budget_plans_from_the_steps_after_the_first(tiny_sets):
    from crepe.callbacks import TimeBudget

    class Loop:                      # what TimeBudget reads of crepe.train.Loop, with a clock of our own
        first_step, step, total_steps = 0, 0, 1000

        def training_seconds(self):
            return 5.0 + 0.5 * (self.step - 1)           # a slow first step (5 s), then 0.5 s a step

    loop, budget, done = Loop(), TimeBudget(30.0, probe_steps=10), mx.nd.zeros(1)
    for _ in range(11):
        loop.step += 1
        budget.on_step_end(loop, done, done)
    assert loop.total_steps == 11 + 40            # 30 s - 10 s spent = 20 s left at 0.5 s a step


def test_time_budget_ends_a_run_whose_steps_slow_down():
    from crepe.callbacks import TimeBudget

    class Loop:
        first_step, step, total_steps = 0, 0, 1000

        def training_seconds(self):                      # 1 s a step for 11 steps, then 10 s a step
            return float(min(self.step, 11) + 10 * max(self.step - 11, 0))

    loop, budget, done = Loop(), TimeBudget(30.0, probe_steps=10), mx.nd.zeros(1)
    while loop.step < loop.total_steps:
        loop.step += 1
        budget.on_step_end(loop, done, done)
    assert loop.step == 21                               # planned to 30, checked at step 21: 111 s, over
