"""The serving handler and the model archive, without a server: parsing, batching, digests, both families."""
import json
import zipfile

import numpy as np
import pytest

from crepe import handler
from crepe.archive import check_archive, load_archived_model, package
from crepe.cli import main
from crepe.errors import CheckpointError
from crepe.handler import MAX_CHARACTERS, MAX_TEXTS, RequestError, Service, parse
from crepe.inference import load_model, probabilities

TEXTS = ["Stocks rally as the central bank holds rates", "The home team wins the cup final",
         "New chip doubles battery life", "Rebels sign a ceasefire"]


def _train(folder, family):
    out = folder / family
    status = main(["train", "--dataset", "sample", "--model", family, "--epochs", "1", "--max-batches", "3",
                   "--out", str(out), "--cpu"])
    assert status == 0
    return out


@pytest.fixture(scope="module", params=["crepe", "word"])
def model(request, tmp_path_factory):
    """(model directory, unpacked archive folder, archive) of a model of each family trained in seconds."""
    folder = tmp_path_factory.mktemp(f"handler-{request.param}")
    directory = _train(folder, request.param)
    archive = package(directory, folder / f"{request.param}.mar")
    unpacked = folder / "unpacked"
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(unpacked)
    return directory, unpacked, archive


@pytest.fixture(scope="module")
def service(model):
    return Service(model[1])


def body(message):
    return {"body": bytearray(json.dumps(message).encode("utf-8"))}


def test_load_archived_model_gives_the_probabilities_of_load_model(model):
    directory, unpacked, _ = model
    served, _ = load_archived_model(unpacked)
    trained, _ = load_model(directory)
    np.testing.assert_allclose(probabilities(served, TEXTS), probabilities(trained, TEXTS), atol=1e-6)


def test_package_records_the_digest_of_every_file(model):
    description = check_archive(model[2])
    with zipfile.ZipFile(model[2]) as opened:
        names = set(opened.namelist())
    assert set(description["files"]) == names - {"serving.json", "MAR-INF/MANIFEST.json"}


def test_package_describes_family_classes_and_alphabet(model):
    description = check_archive(model[2])
    config = json.loads((model[0] / "config.json").read_text())
    assert (description["family"], description["classes"]) == (config["model"], config["classes"])
    assert description["alphabet"] == config.get("alphabet")


def test_package_keeps_examples_from_the_bundled_test_rows(model):
    assert len(check_archive(model[2])["examples"]) == 40


def test_check_archive_refuses_a_damaged_file(model, tmp_path):
    damaged = tmp_path / "damaged.mar"
    with zipfile.ZipFile(model[2]) as source, zipfile.ZipFile(damaged, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, data[:-1] + bytes([data[-1] ^ 1]) if name.endswith(".params") else data)
    with pytest.raises(CheckpointError, match=r"model-0000\.params is damaged"):
        check_archive(damaged)


def test_check_archive_refuses_a_file_that_is_no_zip(tmp_path):
    (tmp_path / "x.mar").write_text("not a zip")
    with pytest.raises(CheckpointError, match="not a model archive"):
        check_archive(tmp_path / "x.mar")


def test_load_archived_model_refuses_a_changed_config(model, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(model[1], copy)
    config = json.loads((copy / "config.json").read_text())
    config["classes"] = config["classes"][::-1]
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"config\.json is damaged"):
        load_archived_model(copy)


def test_service_answer_answers_every_request_in_order(service, model):
    trained, config = load_model(model[0])
    expected = probabilities(trained, TEXTS)
    bodies, statuses = service.answer([body({"text": text}) for text in TEXTS])
    assert statuses == [200] * len(TEXTS)
    for answer, row in zip(map(json.loads, bodies), expected):
        assert answer["predicted"] == config["classes"][int(row.argmax())]
        np.testing.assert_allclose(list(answer["probabilities"].values()), row, atol=1e-5)


def test_service_answer_uses_one_forward_pass_per_batch(service, monkeypatch):
    calls = []
    original = handler.probabilities
    monkeypatch.setattr(handler, "probabilities", lambda net, texts, ctx=None: calls.append(len(texts))
                        or original(net, texts, ctx))
    service.answer([body({"text": TEXTS[0]}), body({"texts": TEXTS[1:]}), {"body": bytearray(b"plain text")}])
    assert calls == [len(TEXTS) + 1]


def test_service_answer_answers_texts_as_a_list(service):
    bodies, _ = service.answer([body({"texts": TEXTS[:2]})])
    assert [set(answer) for answer in json.loads(bodies[0])] == [{"predicted", "probabilities"}] * 2


def test_service_answer_answers_the_others_of_a_batch_with_a_bad_request(service):
    bodies, statuses = service.answer([body({"text": TEXTS[0]}), {"body": bytearray(b"\xff")}, body({"text": "x"})])
    assert statuses == [200, 400, 200]
    assert "UTF-8" in json.loads(bodies[1])["error"]


def test_service_answer_gives_saliency_in_reading_order_for_crepe(service):
    bodies, _ = service.answer([body({"text": "Hi, Ada!", "explain": True})])
    answer = json.loads(bodies[0])
    if service.config["model"] == "crepe":
        assert "".join(character for character, _ in answer["saliency"]) == "Hi, Ada!"
    else:
        assert "saliency" not in answer


def test_parse_reads_a_json_text_and_explain():
    assert parse(b'{"text": "abc", "explain": true}', "application/json") == (["abc"], True, True)


def test_parse_reads_a_plain_body_as_one_text():
    assert parse('{"not json" ü'.encode(), "text/plain") == (['{"not json" ü'], True, False)


def test_parse_reads_form_field_text():
    assert handler._body({"text": "from a form"}) == b"from a form"


@pytest.mark.parametrize("raw, content_type, status, words", [
    (b"", None, 400, "empty"),
    (b"   \n", "text/plain", 400, "empty"),
    (b"\xc3\x28", "text/plain", 400, "not valid UTF-8 (byte 0 is 0xc3)"),
    (b'{"text": "a"', "application/json", 400, "not valid JSON"),
    (b'["a"]', "application/json", 400, "must be a JSON object, not a list"),
    (b'{"txt": "a"}', "application/json", 400, "unknown field 'txt'"),
    (b'{"text": "a", "texts": ["b"]}', "application/json", 400, "exactly one of"),
    (b'{"text": ["a"]}', "application/json", 400, "'text' must be a string, not list"),
    (b'{"texts": []}', "application/json", 400, "non-empty list of strings"),
    (b'{"text": "a", "explain": "yes"}', "application/json", 400, "'explain' must be true or false"),
    (json.dumps({"texts": ["a"] * (MAX_TEXTS + 1)}).encode(), "application/json", 413, f"at most {MAX_TEXTS}"),
    (json.dumps({"text": "a" * (MAX_CHARACTERS + 1)}).encode(), "application/json", 413, "the limit is"),
])
def test_parse_refuses_bad_input_in_one_sentence(raw, content_type, status, words):
    with pytest.raises(RequestError, match=words.replace("(", r"\(").replace(")", r"\)")) as caught:
        parse(raw, content_type)
    assert caught.value.status == status
    assert "\n" not in str(caught.value)


def test_predict_json_prints_what_the_handler_answers(service, model, capsys):
    main(["predict", "--model", str(model[0]), "--json", *TEXTS])
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    bodies, _ = service.answer([body({"text": text}) for text in TEXTS])
    for line, served in zip(printed, map(json.loads, bodies)):
        assert line["predicted"] == served["predicted"]
        np.testing.assert_allclose(list(line["probabilities"].values()), list(served["probabilities"].values()),
                                   atol=1e-5)


def test_probabilities_of_a_text_do_not_depend_on_its_batch(model):
    net, _ = load_model(model[0])
    alone = np.stack([probabilities(net, [text])[0] for text in TEXTS])
    np.testing.assert_allclose(probabilities(net, TEXTS), alone, atol=1e-5)
