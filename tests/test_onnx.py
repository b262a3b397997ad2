"""ONNX export and ONNX Runtime: the same answers as ``predict --json``, for both families."""
import json
from pathlib import Path
from unittest import mock

import numpy as np
import onnx
import pytest

from crepe.cli import main
from crepe.data import load_evaluation_set
from crepe.inference import load_model, probabilities
from crepe.model import Crepe
from crepe.onnx_export import OUTPUT, description_path, to_onnx, write_onnx
from crepe.onnx_runtime import load_onnx
from tests.helpers import seeded_crepe

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "workshop-crepe-ag-news"
#: ONNX Runtime against predict --json, largest absolute difference of a probability.
TOLERANCE = 1e-5


def predict_json(directory, texts, folder, capsys):
    """``predict --json`` of ``texts`` (through a file, one per line) as a list of answers."""
    path = folder / "texts.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", "--model", str(directory), "--json", "--file", str(path)]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def largest_difference(answers, model, texts):
    """Largest |p_onnx - p_predict| over every text and class, matched by class *name*."""
    rows = model.probabilities(texts)                                           # (N, classes)
    return max(abs(row[model.classes.index(name)] - p)
               for row, answer in zip(rows, answers) for name, p in answer["probabilities"].items())


@pytest.fixture(scope="module")
def sample_texts():
    texts = load_evaluation_set("sample")["rows"][0]
    assert len(texts) == 400 and not any("\n" in text for text in texts)
    return list(texts)


@pytest.fixture(scope="module")
def word_model(tmp_path_factory):
    """A word CNN trained for three batches of the sample, and its export."""
    out = tmp_path_factory.mktemp("onnx-word") / "word"
    assert main(["train", "--dataset", "sample", "--model", "word", "--epochs", "1", "--max-batches", "3",
                 "--out", str(out), "--cpu"]) == 0
    assert main(["export", "--model", str(out), "--format", "onnx"]) == 0
    return out


@pytest.fixture(scope="module")
def shipped_onnx(tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx-shipped") / "crepe.onnx"
    assert main(["export", "--model", str(SHIPPED), "--format", "onnx", "--out", str(path)]) == 0
    return path


def test_export_onnx_shipped_crepe_agrees_with_predict_json(shipped_onnx, sample_texts, tmp_path, capsys):
    answers = predict_json(SHIPPED, sample_texts, tmp_path, capsys)
    assert largest_difference(answers, load_onnx(shipped_onnx), sample_texts) < TOLERANCE


def test_export_onnx_word_cnn_agrees_with_predict_json(word_model, sample_texts, tmp_path, capsys):
    answers = predict_json(word_model, sample_texts, tmp_path, capsys)
    assert largest_difference(answers, load_onnx(word_model / "exported" / "word.onnx"), sample_texts) < TOLERANCE


def test_to_onnx_paper_crepe_agrees_with_probabilities(tmp_path):
    net = seeded_crepe(1)                                # the paper's flatten head and Gaussian weights
    path, _ = write_onnx(net, {"classes": list("abcd")}, tmp_path / "paper.onnx")
    texts = ["Short.", "A RATHER longer headline, with punctuation!", "é" * 1200]
    assert np.abs(load_onnx(path).probabilities(texts) - probabilities(net, texts)).max() < TOLERANCE


def test_to_onnx_weights_are_initializers_not_inputs():
    model = to_onnx(seeded_crepe(2))
    assert [value.name for value in model.graph.input] == ["data"]
    assert len(model.graph.initializer) >= 14           # six convolutions, three dense layers: weights and biases


def test_to_onnx_batch_axis_is_dynamic(tmp_path):
    net = seeded_crepe(3)
    path, _ = write_onnx(net, {"classes": list("abcd")}, tmp_path / "m.onnx")
    model = onnx.load(path)
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    runtime = load_onnx(path)
    for count in (1, 7):
        assert runtime.probabilities(["a headline"] * count).shape == (count, 4)


def test_to_onnx_without_the_layout_repair_is_refused_by_mx2onnx():
    """The guard: without strip_layout, mx2onnx meets layout=NCW and refuses."""
    with mock.patch("crepe.onnx_export.strip_layout", side_effect=lambda graph: graph):
        with pytest.raises(NotImplementedError, match="layout"):
            to_onnx(seeded_crepe(4))


def test_to_onnx_output_is_probabilities():
    net = Crepe(3, head="max", init="he", filters=8)
    net.initialize()
    model = to_onnx(net)
    assert [value.name for value in model.graph.output] == [OUTPUT]
    assert model.graph.node[-1].op_type == "Softmax"


def test_export_onnx_description_has_what_a_crepe_runtime_needs(shipped_onnx):
    description = json.loads(description_path(shipped_onnx).read_text(encoding="utf-8"))
    config = json.loads((SHIPPED / "config.json").read_text(encoding="utf-8"))
    assert (description["classes"], description["alphabet"], description["frame_length"]) == (
        config["classes"], config["alphabet"], config["frame_length"])


def test_export_onnx_description_holds_the_word_vocabulary(word_model):
    description = json.loads((word_model / "exported" / "word.json").read_text(encoding="utf-8"))
    net, _ = load_model(word_model)
    assert description["vocabulary"] == list(net.vocab.idx_to_token)


def test_export_web_without_out_says_so_in_one_sentence(capsys):
    assert main(["export", "--model", str(SHIPPED), "--format", "web"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --format web needs --out SITE, the folder to write the static demo into")


def test_load_onnx_without_description_says_so_in_one_sentence(shipped_onnx, tmp_path):
    lone = tmp_path / "lone.onnx"
    lone.write_bytes(shipped_onnx.read_bytes())
    with pytest.raises(Exception, match=r"lone\.json: missing"):
        load_onnx(lone)
