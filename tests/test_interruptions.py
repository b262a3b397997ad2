"""Training that loses nothing: interrupted runs, resumed runs, damaged checkpoints, unwritable folders."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from crepe.checkpoint import save_config
from crepe.data import TextDataset, load_dataset
from crepe.errors import CheckpointError
from crepe.inference import load_model
from crepe.model import Crepe
from tests.helpers import quiet_fit, seeded_crepe

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def csv_data(tmp_path_factory):
    """A CSV data set big enough that an epoch lasts a few seconds (batch 8: 101 steps)."""
    folder = tmp_path_factory.mktemp("interrupt")
    texts, labels = load_dataset("sample")["train"]
    rows = [f'"{label + 1}","{text}"' for text, label in zip(texts[:940], labels[:940])]
    (folder / "train.csv").write_text("\n".join(rows[:900]) + "\n")
    (folder / "test.csv").write_text("\n".join(rows[900:]) + "\n")
    return folder


#: `python -m crepe`, with a PositionFile callback added to training when a path is given first.
TRAIN_WATCHED = ("import sys; from tests.helpers import PositionFile; from crepe.cli import main; "
                 "sys.exit(main(sys.argv[2:], [PositionFile(sys.argv[1])] if sys.argv[1] else []))")


def start_training(csv_data, out, *extra, progress_file=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # A shell without job control starts background commands with SIGINT ignored, and Python then never
    # turns SIGINT into KeyboardInterrupt: give the child the default disposition, as a terminal would.
    return subprocess.Popen([sys.executable, "-c", TRAIN_WATCHED, str(progress_file or ""), "train", "--dataset",
                             f"csv:{csv_data / 'train.csv'}", "--batch-size", "8", "--out", str(out), "--cpu", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for_epoch(out, epoch, process, limit=240):
    start = time.time()
    while time.time() - start < limit:
        state = out / "state.json"
        if state.is_file() and json.loads(state.read_text())["epoch"] >= epoch:
            return
        if process.poll() is not None:
            raise AssertionError(f"training ended early: {process.communicate()}")
        time.sleep(0.2)
    raise AssertionError("no checkpoint in time")


def wait_for_position(path, wanted, process, limit=240):
    """Wait until fit reports (epoch, step) at least ``wanted`` within that epoch, in its progress file."""
    start = time.time()
    while time.time() - start < limit:
        fields = path.read_text().split() if path.is_file() else []
        if len(fields) == 2 and int(fields[0]) == wanted[0] and int(fields[1]) >= wanted[1]:
            return
        if process.poll() is not None:
            raise AssertionError(f"training ended early: {process.communicate()}")
        time.sleep(0.01)                                      # polling only: the event is the file's content
    raise AssertionError(f"fit never reported position {wanted}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_mid_epoch_keeps_the_last_epoch_and_resume_continues(csv_data, tmp_path, signum):
    out, position = tmp_path / "model", tmp_path / "position"
    process = start_training(csv_data, out, "--epochs", "3", progress_file=position)
    wait_for_position(position, (2, 3), process)              # epoch 2 has taken 3 of its 101 steps
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted during epoch 2: the last completed epoch is saved in" in stdout
    assert "Traceback" not in stderr
    state = json.loads((out / "state.json").read_text())
    assert state["epoch"] == 1 and not [p for p in out.iterdir() if ".tmp" in p.name]
    load_model(out, which="last")                             # intact and loadable
    resumed = start_training(csv_data, out, "--epochs", "2", "--resume")
    stdout, stderr = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, stderr
    assert "resuming from" in stdout and json.loads((out / "state.json").read_text())["epoch"] == 2


def small_sets():
    texts, labels = load_dataset("sample")["train"]
    return TextDataset(texts[:64], labels[:64]), TextDataset(texts[64:96], labels[64:96])


def fresh_net():
    return seeded_crepe(11)


def test_resumed_run_reaches_the_same_weights_as_an_unbroken_one(tmp_path):
    train, val = small_sets()
    options = dict(batch_size=8, max_batches=3, seed=5)
    unbroken = fresh_net()
    quiet_fit(unbroken, train, val, epochs=2, out_dir=tmp_path / "a", **options)

    def stop_after_epoch_1(line):
        if line.startswith("epoch 1:"):
            raise KeyboardInterrupt                       # as Ctrl-C right after epoch 1 was committed
    with pytest.raises(KeyboardInterrupt):
        quiet_fit(fresh_net(), train, val, epochs=2, out_dir=tmp_path / "b", **{**options, "log": stop_after_epoch_1})
    resumed = Crepe(4)
    resumed.initialize()
    quiet_fit(resumed, train, val, epochs=2, out_dir=tmp_path / "b", resume=True, **options)
    for (name, a), b in zip(unbroken.collect_params().items(), resumed.collect_params().values()):
        np.testing.assert_allclose(a.data().asnumpy(), b.data().asnumpy(), rtol=1e-4, atol=1e-6, err_msg=name)


def test_a_truncated_checkpoint_is_detected_and_the_previous_epoch_survives(tmp_path):
    train, val = small_sets()
    quiet_fit(fresh_net(), train, val, epochs=2, batch_size=8, max_batches=1, out_dir=tmp_path)
    last = tmp_path / "epoch-0002.params"
    last.write_bytes(last.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="epoch-0002.params: damaged"):
        load_model(tmp_path, which="last")
    with pytest.raises(CheckpointError, match="damaged"):
        quiet_fit(fresh_net(), train, val, epochs=3, batch_size=8, max_batches=1, out_dir=tmp_path, resume=True)
    net = Crepe(4)
    net.load_parameters(str(tmp_path / "epoch-0001.params"))    # the previous good one is still there


def test_a_damaged_state_file_is_a_clear_error(tmp_path):
    train, val = small_sets()
    quiet_fit(fresh_net(), train, val, epochs=1, batch_size=8, max_batches=1, out_dir=tmp_path)
    (tmp_path / "state.json").write_text('{"epoch": 1, "par')
    with pytest.raises(CheckpointError, match="state.json: damaged"):
        load_model(tmp_path)


def test_an_unwritable_model_directory_fails_before_training(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    train, val = small_sets()
    with pytest.raises(CheckpointError, match="cannot write checkpoints to"):
        quiet_fit(fresh_net(), train, val, epochs=1, out_dir=blocker / "model")


def test_a_full_disk_fails_before_training(tmp_path, monkeypatch):
    def no_space(self, data):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(Path, "write_bytes", no_space)
    train, val = small_sets()
    with pytest.raises(CheckpointError, match="No space left on device"):
        quiet_fit(fresh_net(), train, val, epochs=1, out_dir=tmp_path / "model")


# ------------------------------------------------------------------ command-line errors, one sentence each

def crepe(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "crepe", *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=300)


def one_sentence(result):
    lines = result.stderr.strip().splitlines()
    return result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("errors") / "model"
    train, val = small_sets()
    quiet_fit(fresh_net(), train, val, epochs=1, batch_size=8, max_batches=1, out_dir=out,
        classes=("World", "Sports", "Business", "Sci/Tech"))
    return out


def test_cli_missing_csv_file(tmp_path):
    result = crepe("train", "--dataset", f"csv:{tmp_path / 'nope.csv'}", "--out", tmp_path / "m")
    assert one_sentence(result) and "no such file" in result.stderr


def test_cli_directory_that_is_not_a_model(tmp_path):
    result = crepe("evaluate", "--model", tmp_path)
    assert one_sentence(result) and "config.json: missing" in result.stderr


def test_cli_class_count_mismatch(model_dir, tmp_path):
    (tmp_path / "train.csv").write_text('"1","a"\n"2","b"\n')
    (tmp_path / "test.csv").write_text('"1","a"\n"2","b"\n')
    result = crepe("evaluate", "--model", model_dir, "--dataset", f"csv:{tmp_path / 'train.csv'}")
    assert one_sentence(result) and "has 2 classes but the model has 4" in result.stderr


def test_cli_checkpoint_from_a_newer_format(model_dir, tmp_path):
    for path in model_dir.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "format": 99}))
    result = crepe("predict", "--model", tmp_path, "text")
    assert one_sentence(result) and "newer version" in result.stderr


def test_cli_weights_that_do_not_fit_the_configuration(model_dir, tmp_path):
    for path in model_dir.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    save_config(tmp_path, Crepe(3), ["a", "b", "c"])
    result = crepe("predict", "--model", tmp_path, "text")
    assert one_sentence(result) and "does not fit this model" in result.stderr


def test_cli_bad_validation_fraction(tmp_path):
    result = crepe("train", "--val-fraction", "1.5", "--out", tmp_path / "m")
    assert one_sentence(result) and "--val-fraction" in result.stderr


def test_cli_weights_that_are_not_an_ndarray_file(model_dir, tmp_path):
    for path in model_dir.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    state = json.loads((tmp_path / "state.json").read_text())
    weights = tmp_path / state["best"]
    weights.write_bytes(b"these are not MXNet weights\n" * 10)
    state["sha256"][state["best"]] = hashlib.sha256(weights.read_bytes()).hexdigest()    # digest agrees
    (tmp_path / "state.json").write_text(json.dumps(state))
    result = crepe("predict", "--model", tmp_path, "text")
    assert one_sentence(result) and f"{weights}: not a weights file of this workshop" in result.stderr
