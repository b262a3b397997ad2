"""The shipped model (models/workshop-crepe-ag-news) and crepe.release, which writes such a directory."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crepe import checkpoint
from crepe.errors import CheckpointError
from crepe.inference import load_model, predict
from crepe.release import is_release, release, verify_release
from tests.helpers import quiet_fit, seeded_crepe
from tests.test_checkpoint import small_sets

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / "workshop-crepe-ag-news"

#: Headlines written for this test, three per class; none is copied from AG News.
FRESH_HEADLINES = [
    ("Ceasefire talks collapse as shelling resumes near the border town", "World"),
    ("Prime minister calls a snap election after her coalition partner quits", "World"),
    ("United Nations envoy meets rebel leaders to discuss a prisoner exchange", "World"),
    ("The striker scored twice as the home side won the derby", "Sports"),
    ("Veteran goalkeeper saves two penalties to send his club into the cup final", "Sports"),
    ("Sprinter breaks the national record in the 100 metres heats", "Sports"),
    ("Shares of the carmaker slump after quarterly profit misses forecasts", "Business"),
    ("Central bank raises interest rates again to curb inflation", "Business"),
    ("Retail chain agrees to buy its rival in a 2 billion dollar deal", "Business"),
    ("Astronomers find water on a moon of Saturn", "Sci/Tech"),
    ("Software update patches a security flaw in millions of phones", "Sci/Tech"),
    ("Researchers unveil a faster chip for artificial intelligence", "Sci/Tech"),
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "model"
    quiet_fit(seeded_crepe(5), *small_sets(), epochs=2, batch_size=8, max_batches=2, out_dir=out)
    return out


@pytest.fixture(scope="module")
def released(run_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("released") / "model"
    release(run_dir, out, {"seed": 5})
    return out


@pytest.fixture(scope="module")
def shipped():
    net, config = load_model(SHIPPED)
    return net, config


def test_verify_release_shipped_model_matches_every_digest():
    state = verify_release(SHIPPED)
    assert state["params"] in state["sha256"] and "config.json" in state["sha256"]


def test_verify_release_shipped_model_records_its_provenance():
    record = checkpoint.read_state(SHIPPED)["release"]
    assert record["data"]["train"]["rows"] == 3978 and record["data"]["test"]["rows"] == 994
    assert len(record["data"]["train"]["sha256"]) == 64 and record["seed"] == 0
    assert 0.80 <= record["test_accuracy"] <= 1 and "research and teaching" in record["terms"]


def test_load_model_shipped_model_reads_fresh_headlines(shipped):
    net, config = shipped
    texts = [text for text, _ in FRESH_HEADLINES]
    answers = predict(net, texts, config["classes"])
    right = [answer.label == truth for answer, (_, truth) in zip(answers, FRESH_HEADLINES)]
    assert sum(right) >= 9, [(text, answer.label) for (text, _), answer in zip(FRESH_HEADLINES, answers)]


def test_predict_command_shipped_model_answers_sci_tech_and_sports():
    result = subprocess.run([sys.executable, "-m", "crepe", "predict", "--model", str(SHIPPED), "--json",
                             "Astronomers find water on a moon of Saturn",
                             "The striker scored twice as the home side won the derby"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [answer["predicted"] for answer in answers] == ["Sci/Tech", "Sports"]


def test_verify_release_changed_weights_refused(tmp_path):
    copy = shutil.copytree(SHIPPED, tmp_path / "copy")
    params = copy / checkpoint.read_state(copy)["params"]
    data = bytearray(params.read_bytes())
    data[-1] ^= 1                                        # one bit of the last weight
    params.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="damaged"):
        verify_release(copy)


def test_verify_release_unnamed_weights_refused(released, tmp_path):
    copy = shutil.copytree(released, tmp_path / "copy")
    shutil.copyfile(copy / checkpoint.read_state(copy)["params"], copy / "epoch-0009.params")
    with pytest.raises(CheckpointError, match="not named in state.json"):
        verify_release(copy)


def test_release_keeps_only_the_best_weights(run_dir, released):
    best = checkpoint.read_state(run_dir)["best"]
    assert sorted(path.name for path in released.iterdir()) == ["config.json", best, "state.json"]


def test_release_loads_with_the_run_s_answers(run_dir, released):
    texts = ["Shares fell on Wall Street", "A late goal won the cup"]
    before = predict(load_model(run_dir)[0], texts, ["0", "1", "2", "3"])
    after = predict(load_model(released)[0], texts, ["0", "1", "2", "3"])
    assert [a.probabilities for a in before] == [b.probabilities for b in after]


def test_release_replaces_an_earlier_release(run_dir, tmp_path):
    out = tmp_path / "model"
    release(run_dir, out, {"seed": 1})
    release(run_dir, out, {"seed": 2})
    assert checkpoint.read_state(out)["release"] == {"seed": 2}
    assert [path.name for path in tmp_path.iterdir()] == ["model"]     # nothing left beside it


def test_is_release_released_directory(released, run_dir):
    assert is_release(checkpoint.read_state(released)) and not is_release(checkpoint.read_state(run_dir))


def test_train_resume_released_directory_refused(released, tmp_path):
    copy = shutil.copytree(released, tmp_path / "copy")
    result = subprocess.run([sys.executable, "-m", "crepe", "train", "--resume", "--out", str(copy), "--epochs", "3",
                             "--batch-size", "8", "--max-batches", "2", "--cpu"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "cannot be resumed" in result.stderr and "Traceback" not in result.stderr
