"""The command line, run as a user runs it: python -m crepe ..., in a subprocess."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def crepe(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "crepe", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A model trained by the CLI on a tiny CSV data set (one epoch, two batches)."""
    folder = tmp_path_factory.mktemp("cli")
    rows = [f'"{1 + i % 3}","title {i}","words about topic {i % 3} number {i}"' for i in range(48)]
    (folder / "train.csv").write_text("\n".join(rows[:36]) + "\n")
    (folder / "test.csv").write_text("\n".join(rows[36:]) + "\n")
    out = folder / "model"
    result = crepe("train", "--dataset", f"csv:{folder / 'train.csv'}", "--epochs", 1, "--batch-size", 8,
                   "--max-batches", 2, "--out", out, "--cpu")
    assert result.returncode == 0, result.stderr
    return folder, out, result


def test_help_lists_every_command():
    result = crepe("--help")
    assert result.returncode == 0
    for command in ("train", "evaluate", "predict", "export", "doctor"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "export", "doctor"])
def test_each_command_has_help(command):
    assert crepe(command, "--help").returncode == 0


def test_train_writes_a_checkpoint_and_reports_test_accuracy(model_dir):
    _, out, result = model_dir
    assert (out / "state.json").is_file() and (out / "best.params").is_file()
    assert "test accuracy" in result.stdout and "epoch 1:" in result.stdout


def test_evaluate_prints_accuracy_and_confusion(model_dir):
    folder, out, _ = model_dir
    result = crepe("evaluate", "--model", out, "--dataset", f"csv:{folder / 'train.csv'}")
    assert result.returncode == 0, result.stderr
    assert "accuracy" in result.stdout and "on 12 rows" in result.stdout and "confusion matrix" in result.stdout


def test_predict_prints_a_class_per_text(model_dir):
    _, out, _ = model_dir
    result = crepe("predict", "--model", out, "first text", "second text")
    assert result.returncode == 0 and len(result.stdout.strip().splitlines()) == 2


def test_export_writes_symbol_and_params(model_dir):
    _, out, _ = model_dir
    result = crepe("export", "--model", out)
    assert result.returncode == 0 and (out / "exported" / "crepe-symbol.json").is_file()


def test_unknown_dataset_is_one_line_without_traceback(tmp_path):
    result = crepe("train", "--dataset", "imdb", "--out", tmp_path / "m")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: unknown dataset") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_model_directory_is_one_line(tmp_path):
    result = crepe("predict", "--model", tmp_path / "nothing", "text")
    assert result.returncode == 2 and "no such model directory" in result.stderr and "Traceback" not in result.stderr


def test_debug_shows_the_traceback(tmp_path):
    result = crepe("--debug", "predict", "--model", tmp_path / "nothing", "text")
    assert result.returncode == 2 and "Traceback" in result.stderr


def test_bad_size_is_rejected_by_the_parser():
    result = crepe("train", "--size", "huge")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_doctor_reports_versions_and_devices():
    result = crepe("doctor")
    assert "mxnet" in result.stdout and "numpy 1.23.5" in result.stdout and "CPU throughput" in result.stdout
    assert result.returncode == 0, result.stdout


def test_amp_on_the_cpu_is_one_sentence(tmp_path):
    result = crepe("train", "--cpu", "--amp", "--out", tmp_path / "m")
    assert result.returncode == 2 and "--amp needs a GPU" in result.stderr and "Traceback" not in result.stderr


def test_train_with_thesaurus_augmentation(model_dir, tmp_path):
    folder, _, _ = model_dir
    result = crepe("train", "--dataset", f"csv:{folder / 'train.csv'}", "--epochs", 1, "--batch-size", 8,
                   "--max-batches", 1, "--out", tmp_path / "m", "--cpu", "--augment", ROOT / "data/thesaurus/sample_th.dat")
    assert result.returncode == 0, result.stderr


def test_train_with_a_missing_thesaurus_is_one_sentence(tmp_path):
    result = crepe("train", "--augment", tmp_path / "none.dat", "--out", tmp_path / "m")
    assert result.returncode == 2 and "none.dat: no such file" in result.stderr


def test_output_piped_into_a_closed_reader_ends_quietly(model_dir):
    folder, out, _ = model_dir
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "crepe", "evaluate", "--model", str(out), "--dataset",
                                f"csv:{folder / 'train.csv'}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    process.stdout.close()                         # the reader goes away before anything is written
    stderr = process.stderr.read()
    assert process.wait(timeout=300) == 0
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
