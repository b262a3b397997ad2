"""The model directory (crepe.checkpoint): nothing executed, commits that never contradict themselves,
runs that never mix."""
import hashlib
import json
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import mxnet as mx
import numpy as np
import pytest

from crepe import checkpoint
from crepe.data import TextDataset, load_dataset
from crepe.errors import CheckpointError
from crepe.files import sha256_of
from crepe.inference import load_model
from tests.helpers import quiet_fit, seeded_crepe

ROOT = Path(__file__).resolve().parents[1]


def small_sets():
    texts, labels = load_dataset("sample")["train"]
    return TextDataset(texts[:48], labels[:48]), TextDataset(texts[48:72], labels[48:72])


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("trusted") / "model"
    quiet_fit(seeded_crepe(21), *small_sets(), epochs=2, batch_size=8, max_batches=2, out_dir=out)
    return out


def copy_of(directory, target):
    target.mkdir()
    for path in directory.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


class _Payload:
    """Unpickling this runs a command that leaves a marker file: what an attacker would plant."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def planted(model_dir, tmp_path):
    """A copy of a model directory whose optimiser file is a pickle payload, with state.json's digest updated."""
    target = copy_of(model_dir, tmp_path / "planted")
    marker = tmp_path / "payload-ran"
    state = json.loads((target / "state.json").read_text())
    payload = pickle.dumps(_Payload(marker))
    (target / state["states"]).write_bytes(payload)
    state["sha256"][state["states"]] = hashlib.sha256(payload).hexdigest()
    (target / "state.json").write_text(json.dumps(state))
    return target, marker


def crepe(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "crepe", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)


def test_resume_planted_pickle_runs_nothing_and_says_so(planted):
    target, marker = planted
    with pytest.raises(CheckpointError, match=r"\.states: not an optimiser-state file"):
        quiet_fit(seeded_crepe(0), *small_sets(), epochs=3, batch_size=8, max_batches=2, out_dir=target, resume=True)
    assert not marker.exists()


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "export"])
def test_cli_planted_pickle_runs_nothing(planted, command, tmp_path):
    target, marker = planted
    arguments = {"train": ["train", "--out", target, "--resume", "--epochs", 3, "--batch-size", 8, "--max-batches", 2,
                           "--cpu", "--arch", "paper"],
                 "evaluate": ["evaluate", "--model", target],
                 "predict": ["predict", "--model", target, "some text"],
                 "export": ["export", "--model", target, "--out", tmp_path / "exported"]}[command]
    result = crepe(*arguments)
    assert not marker.exists()
    assert "Traceback" not in result.stderr
    if command == "train":
        assert result.returncode == 2 and result.stderr.startswith("error: ")


def test_load_optimizer_refuses_a_shape_that_does_not_fit(model_dir, tmp_path):
    target = copy_of(model_dir, tmp_path / "shapes")
    state = json.loads((target / "state.json").read_text())
    arrays = mx.nd.load(str(target / state["states"]))
    key = next(iter(arrays))
    arrays[key] = mx.nd.zeros((3, 3))
    mx.nd.save(str(target / state["states"]), arrays)
    state["sha256"][state["states"]] = sha256_of(target / state["states"])
    (target / "state.json").write_text(json.dumps(state))
    with pytest.raises(CheckpointError, match=f"entry '{key}' has shape"):
        quiet_fit(seeded_crepe(0), *small_sets(), epochs=3, batch_size=8, max_batches=2, out_dir=target, resume=True)


def test_commit_epoch_interrupted_before_state_json_is_committed_then_resumes(tmp_path, monkeypatch):
    out = tmp_path / "model"
    save_optimizer = checkpoint.save_optimizer

    def interrupted(trainer, path):                  # SIGINT while the epoch is being committed
        os.kill(os.getpid(), signal.SIGINT)
        return save_optimizer(trainer, path)
    monkeypatch.setattr(checkpoint, "save_optimizer", interrupted)
    lines = []
    with pytest.raises(KeyboardInterrupt):
        quiet_fit(seeded_crepe(22), *small_sets(), epochs=2, batch_size=8, max_batches=2, out_dir=out, log=lines.append)
    state = json.loads((out / "state.json").read_text())
    assert state["epoch"] == 1 and lines[-1] == f"interrupted after epoch 1: it is saved in {out}"
    load_model(out, which="last")
    monkeypatch.setattr(checkpoint, "save_optimizer", save_optimizer)
    history = quiet_fit(seeded_crepe(0), *small_sets(), epochs=2, batch_size=8, max_batches=2, out_dir=out, resume=True)
    assert [h["epoch"] for h in history] == [1, 2]


def test_commit_epoch_records_the_best_by_name_with_its_digest(model_dir):
    state = json.loads((model_dir / "state.json").read_text())
    assert state["best"].startswith("epoch-") and not (model_dir / "best.params").exists()
    assert sha256_of(model_dir / state["best"]) == state["sha256"][state["best"]]


def test_commit_epoch_keeps_the_best_epoch_when_pruning(tmp_path):
    out = tmp_path / "model"
    net = seeded_crepe(23)
    train, val = small_sets()
    quiet_fit(net, train, val, epochs=1, batch_size=8, max_batches=1, out_dir=out)
    state = json.loads((out / "state.json").read_text())
    state["best_accuracy"] = 2.0                     # no later epoch can beat it
    (out / "state.json").write_text(json.dumps(state))
    quiet_fit(seeded_crepe(0), train, val, epochs=4, batch_size=8, max_batches=1, out_dir=out, resume=True)
    state = json.loads((out / "state.json").read_text())
    assert state["best"] == "epoch-0001.params" and (out / "epoch-0001.params").is_file()
    assert not (out / "epoch-0002.params").exists()


def test_fit_into_a_directory_holding_a_run_is_refused(model_dir, tmp_path):
    target = copy_of(model_dir, tmp_path / "taken")
    with pytest.raises(CheckpointError, match="already holds a training run"):
        quiet_fit(seeded_crepe(1), *small_sets(), epochs=1, batch_size=8, max_batches=1, out_dir=target)


def test_fit_overwrite_replaces_the_old_run(model_dir, tmp_path):
    target = copy_of(model_dir, tmp_path / "replaced")
    quiet_fit(seeded_crepe(1), *small_sets(), epochs=1, batch_size=8, max_batches=1, out_dir=target, overwrite=True)
    assert json.loads((target / "state.json").read_text())["epoch"] == 1
    assert not (target / "epoch-0002.params").exists()


def test_fit_resume_with_other_settings_names_them(model_dir, tmp_path):
    target = copy_of(model_dir, tmp_path / "other")
    with pytest.raises(CheckpointError, match=r"seed: 0 -> 3"):
        quiet_fit(seeded_crepe(0), *small_sets(), epochs=3, batch_size=8, max_batches=2, out_dir=target, resume=True, seed=3)


def test_fit_resume_of_a_run_recorded_before_word_dropout_and_train_length(model_dir, tmp_path):
    target = copy_of(model_dir, tmp_path / "older")
    config = json.loads((target / "config.json").read_text())
    for key in ("word_dropout", "train_length"):                 # as a run recorded before they existed
        del config["run"][key]
    (target / "config.json").write_text(json.dumps(config))
    quiet_fit(seeded_crepe(0), *small_sets(), epochs=3, batch_size=8, max_batches=2, out_dir=target, resume=True)
    assert json.loads((target / "state.json").read_text())["epoch"] == 3


def test_cli_records_the_whole_run_configuration(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "train.csv").write_text("".join(f'"{1 + i % 2}","row {i} about {i % 2}"\n' for i in range(40)))
    out = tmp_path / "model"
    result = crepe("train", "--dataset", f"csv:{folder / 'train.csv'}", "--epochs", 1, "--batch-size", 8,
                   "--max-batches", 1, "--out", out, "--cpu", "--seed", 4)
    assert result.returncode == 0, result.stderr
    run = json.loads((out / "config.json").read_text())["run"]
    assert run["seed"] == 4 and run["val_fraction"] == 0.1 and run["batch_size"] == 8 and run["recipe"] == "workshop"
    assert run["dataset_sha256"] == sha256_of(folder / "train.csv") and run["lr"] == 4e-3
    again = crepe("train", "--dataset", f"csv:{folder / 'train.csv'}", "--epochs", 2, "--batch-size", 8,
                  "--max-batches", 1, "--out", out, "--cpu", "--seed", 4, "--val-fraction", 0.2, "--resume")
    assert again.returncode == 2 and "val_fraction: 0.1 -> 0.2" in again.stderr
    fresh = crepe("train", "--dataset", f"csv:{folder / 'train.csv'}", "--epochs", 1, "--batch-size", 8,
                  "--max-batches", 1, "--out", out, "--cpu")
    assert fresh.returncode == 2 and "--overwrite" in fresh.stderr


def test_cli_empty_classes_are_named_and_classes_n_accepts_them(tmp_path):
    (tmp_path / "train.csv").write_text("".join(f'"{1 if i % 2 else 9}","text {i}"\n' for i in range(40)))
    refused = crepe("train", "--dataset", f"csv:{tmp_path / 'train.csv'}", "--out", tmp_path / "m", "--cpu")
    assert refused.returncode == 2 and f"{tmp_path / 'train.csv'} has no training rows for 7 of its 9 classes (class 2, class 3" in refused.stderr
    accepted = crepe("train", "--dataset", f"csv:{tmp_path / 'train.csv'}", "--out", tmp_path / "m", "--cpu",
                     "--classes", 9, "--epochs", 1, "--max-batches", 1, "--batch-size", 8)
    assert accepted.returncode == 0, accepted.stderr


class _SignalProbe:
    """A dataset whose items say whether the process serving them has the default SIGTERM handler."""

    def __len__(self):
        return 16

    def __getitem__(self, index):
        return np.zeros(3, dtype=np.float32), int(signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)


def test_plain_signals_workers_inherit_no_handlers():
    from mxnet import gluon

    from crepe.signals import plain_signals

    previous = signal.signal(signal.SIGTERM, lambda *args: None)
    try:
        with plain_signals():
            loader = gluon.data.DataLoader(_SignalProbe(), batch_size=8, num_workers=2, thread_pool=False)
        labels = np.concatenate([label.asnumpy() for _, label in loader])
        assert (labels == 1).all() and signal.getsignal(signal.SIGTERM) != signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, previous)


def _augmented_epoch(num_workers, epoch):
    from mxnet import gluon

    from crepe.augment import Augmenter

    texts = ["the quick dog and the quick cat"] * 12
    dataset = TextDataset(texts, [0] * 12, transform=Augmenter({"quick": ["fast", "swift"], "dog": ["hound"]}), seed=5)
    dataset.set_epoch(epoch)
    loader = gluon.data.DataLoader(dataset, batch_size=4, num_workers=num_workers, thread_pool=False)
    return np.concatenate([frames.asnumpy() for frames, _ in loader])


def test_text_dataset_augmentation_is_the_same_with_workers():
    assert (_augmented_epoch(0, 1) == _augmented_epoch(2, 1)).all()


def test_text_dataset_augmentation_changes_with_the_epoch():
    assert (_augmented_epoch(0, 1) != _augmented_epoch(0, 2)).any()
