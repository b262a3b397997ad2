"""The command line, run as a user runs it: python -m crepe ..., in a subprocess."""
import json
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
    (folder / "classes.txt").write_text("Alpha\nBeta\nGamma\n")
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
    state = json.loads((out / "state.json").read_text())
    assert (out / state["best"]).is_file() and (out / state["params"]).is_file()
    assert "test accuracy" in result.stdout and "epoch 1:" in result.stdout


def test_evaluate_prints_accuracy_and_confusion(model_dir):
    folder, out, _ = model_dir
    result = crepe("evaluate", "--model", out, "--dataset", f"csv:{folder / 'test.csv'}")
    assert result.returncode == 0, result.stderr
    assert "accuracy" in result.stdout and "on 12 rows" in result.stdout and "confusion matrix" in result.stdout


def test_evaluate_csv_scores_every_row_of_the_file(model_dir):
    folder, out, _ = model_dir
    result = crepe("evaluate", "--model", out, "--dataset", f"csv:{folder / 'train.csv'}")
    assert result.returncode == 0 and "on 36 rows" in result.stdout, result.stderr


def test_evaluate_prints_class_names_from_classes_txt(model_dir):
    folder, out, _ = model_dir
    result = crepe("evaluate", "--model", out, "--dataset", f"csv:{folder / 'test.csv'}")
    assert "Alpha" in result.stdout and "Gamma" in result.stdout


def test_predict_reads_a_text_file_one_text_per_line(model_dir):
    folder, out, _ = model_dir
    (folder / "inputs.txt").write_text("first text\nsecond text\n\nthird text\n")
    result = crepe("predict", "--model", out, "--file", folder / "inputs.txt")
    assert result.returncode == 0 and len(result.stdout.strip().splitlines()) == 3, result.stderr


def test_predict_without_texts_is_one_sentence(model_dir):
    _, out, _ = model_dir
    result = crepe("predict", "--model", out)
    assert result.returncode == 2 and "nothing to classify" in result.stderr


def test_train_word_model_then_evaluate_predict_export(model_dir, tmp_path):
    folder, _, _ = model_dir
    out = tmp_path / "word"
    trained = crepe("train", "--model", "word", "--dataset", f"csv:{folder / 'train.csv'}", "--epochs", 1,
                    "--batch-size", 8, "--out", out, "--cpu")
    assert trained.returncode == 0 and "training word CNN" in trained.stdout, trained.stderr
    evaluated = crepe("evaluate", "--model", out, "--dataset", f"csv:{folder / 'test.csv'}")
    predicted = crepe("predict", "--model", out, "words about topic 2")
    exported = crepe("export", "--model", out)
    assert [evaluated.returncode, predicted.returncode, exported.returncode] == [0, 0, 0], evaluated.stderr
    assert predicted.stdout.split("\t")[0] in ("Alpha", "Beta", "Gamma")


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
    assert result.returncode in (0, 1) and (result.returncode == 0) == ("all good" in result.stdout)


def test_amp_on_the_cpu_is_one_sentence(tmp_path):
    result = crepe("train", "--cpu", "--amp", "--out", tmp_path / "m")
    assert result.returncode == 2 and "--amp needs a GPU" in result.stderr and "Traceback" not in result.stderr


def test_train_with_thesaurus_augmentation(model_dir, tmp_path):
    folder, _, _ = model_dir
    result = crepe("train", "--dataset", f"csv:{folder / 'train.csv'}", "--epochs", 1, "--batch-size", 8,
                   "--max-batches", 1, "--out", tmp_path / "m", "--cpu", "--augment", ROOT / "data/thesaurus/sample_th.dat")
    assert result.returncode == 0, result.stderr


def test_train_records_the_workshop_default_typo_rate(model_dir):
    _, out, _ = model_dir
    config = json.loads((out / "config.json").read_text())
    assert config["run"]["typos"] == 0.1


def test_train_records_the_workshop_default_word_dropout(model_dir):
    _, out, _ = model_dir
    assert json.loads((out / "config.json").read_text())["run"]["word_dropout"] == 0.2


def test_train_records_the_512_column_training_frame(model_dir):
    _, out, _ = model_dir
    assert json.loads((out / "config.json").read_text())["run"]["train_length"] == 512


def test_train_settings_workshop_crepe_trains_40_epochs():
    from crepe.cli import build_parser, train_settings

    assert train_settings(build_parser().parse_args(["train"])).epochs == 40


def test_train_settings_large_workshop_crepe_trains_10_epochs():
    from crepe.cli import build_parser, train_settings

    assert train_settings(build_parser().parse_args(["train", "--size", "large"])).epochs == 10


def test_train_settings_keeps_what_the_user_asked_for():
    from crepe.cli import build_parser, train_settings

    settings = train_settings(build_parser().parse_args(["train", "--epochs", "3", "--typos", "0",
                                                         "--word-dropout", "0.5"]))
    assert (settings.epochs, settings.typos, settings.word_dropout) == (3, 0.0, 0.5)


def test_build_parser_choices_are_the_registries_keys():
    from crepe.architectures import ARCHITECTURES
    from crepe.cli import build_parser
    from crepe.families import FAMILIES
    from crepe.recipes import RECIPES

    train = build_parser()._subparsers._group_actions[0].choices["train"]
    choices = {action.dest: action.choices for action in train._actions if action.choices}
    assert (choices["model"], choices["arch"], choices["recipe"]) == (tuple(FAMILIES), tuple(ARCHITECTURES),
                                                                     tuple(RECIPES))


def test_train_word_dropout_of_one_is_refused(tmp_path):
    result = crepe("train", "--word-dropout", "1", "--out", tmp_path / "m")
    assert result.returncode == 2 and "expected a number from 0 up to (not including) 1" in result.stderr


def test_train_paper_arch_defaults_to_no_typos(model_dir, tmp_path):
    folder, _, _ = model_dir
    result = crepe("train", "--dataset", f"csv:{folder / 'train.csv'}", "--epochs", 1, "--batch-size", 8,
                   "--max-batches", 1, "--out", tmp_path / "m", "--cpu", "--arch", "paper")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "m" / "config.json").read_text())["run"]["typos"] == 0.0


def test_train_typos_outside_zero_to_one_is_refused(tmp_path):
    result = crepe("train", "--typos", "1.5", "--out", tmp_path / "m")
    assert result.returncode == 2 and "expected a number between 0 and 1" in result.stderr


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


def doctor_with_gpus(tmp_path, listing):
    """`crepe doctor` with a fake nvidia-smi that prints ``listing`` (index, name, compute capability)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "nvidia-smi").write_text(f"#!/bin/sh\nprintf '%s' '{listing}'\n")
    (folder / "nvidia-smi").chmod(0o755)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PATH": f"{folder}:{os.environ['PATH']}"}
    return subprocess.run([sys.executable, "-m", "crepe", "doctor"], capture_output=True, text=True, env=env,
                          timeout=300)


def test_doctor_exit_status_is_1_on_an_h200(tmp_path):
    result = doctor_with_gpus(tmp_path, "0, NVIDIA H200, 9.0\n")
    assert result.returncode == 1
    assert "!!  GPU 0: NVIDIA H200, compute capability 9.0: MXNet 1.9.1 has NO kernels" in result.stdout


def test_doctor_exit_status_is_0_without_a_gpu(tmp_path):
    result = doctor_with_gpus(tmp_path, "")
    assert "no NVIDIA GPU found" in result.stdout
    assert result.returncode == 0, result.stdout


def test_doctor_asks_for_the_gpu_stack_on_an_a100_with_the_cpu_build(tmp_path):
    import mxnet as mx

    if mx.runtime.Features().is_enabled("CUDA"):
        pytest.skip("this MXNet is a CUDA build")
    result = doctor_with_gpus(tmp_path, "0, NVIDIA A100-SXM4-40GB, 8.0\n")
    assert result.returncode == 1 and "run `make setup GPU=1`" in result.stdout
