"""The serving handler and the model archive, without a server: parsing, batching, digests, both families."""
import json
import zipfile

import numpy as np
import pytest

from crepe.cli import main
from crepe.errors import CheckpointError
from crepe.inference import load_model, probabilities
from crepe.serving import handler
from crepe.serving.archive import check_archive, load_archived_model, package
from crepe.serving.handler import (
    MAX_BATCH_TEXTS,
    MAX_BODY_BYTES,
    MAX_CHARACTERS,
    MAX_EXPLAIN,
    MAX_TEXTS,
    RequestError,
    Service,
    parse,
)

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


def _rewritten(source, target, change):
    """A copy of archive ``source`` at ``target`` with ``change`` ({member: bytes}) applied and added."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            new.writestr(name, change.pop(name) if name in change else old.read(name))
        for name, data in change.items():
            new.writestr(name, data)
    return target


def test_check_archive_refuses_a_member_not_listed(model, tmp_path):
    extra = _rewritten(model[2], tmp_path / "extra.mar", {"notes.txt": b"hello"})
    with pytest.raises(CheckpointError, match=r"notes\.txt is not listed in serving\.json"):
        check_archive(extra)


def test_check_archive_refuses_a_shadowing_module(model, tmp_path):
    shadow = _rewritten(model[2], tmp_path / "shadow.mar", {"json.py": b"open('/tmp/pwned', 'w')"})
    with pytest.raises(CheckpointError, match=r"json\.py is not listed"):
        check_archive(shadow)


def test_check_archive_refuses_a_manifest_naming_another_handler(model, tmp_path):
    with zipfile.ZipFile(model[2]) as opened:
        manifest = json.loads(opened.read("MAR-INF/MANIFEST.json"))
    manifest["model"]["handler"] = "config:handle"
    changed = _rewritten(model[2], tmp_path / "manifest.mar", {"MAR-INF/MANIFEST.json": json.dumps(manifest).encode()})
    with pytest.raises(CheckpointError, match="names the handler 'config:handle'"):
        check_archive(changed)


def test_check_archive_refuses_a_handler_that_is_not_the_shim(model, tmp_path):
    import hashlib

    from crepe.serving.archive import SHIM

    code = SHIM.encode() + b"import os\n"
    with zipfile.ZipFile(model[2]) as opened:
        description = json.loads(opened.read("serving.json"))
    description["files"]["crepe_handler.py"] = hashlib.sha256(code).hexdigest()
    changed = _rewritten(model[2], tmp_path / "handler.mar", {"crepe_handler.py": code,
                                                              "serving.json": json.dumps(description).encode()})
    with pytest.raises(CheckpointError, match="not the one-line handler"):
        check_archive(changed)


def test_check_archive_refuses_another_crepe_version_in_one_sentence(model, tmp_path):
    with zipfile.ZipFile(model[2]) as opened:
        description = json.loads(opened.read("serving.json"))
    description["crepe"] = "0.0.1"
    older = _rewritten(model[2], tmp_path / "older.mar", {"serving.json": json.dumps(description).encode()})
    with pytest.raises(CheckpointError, match=r"made by crepe 0\.0\.1 .*package the model again") as caught:
        check_archive(older)
    assert "\n" not in str(caught.value)


def test_check_archive_refuses_another_sha256(model):
    with pytest.raises(CheckpointError, match="not the 00ff given with --sha256"):
        check_archive(model[2], "00ff")


def test_check_archive_accepts_its_own_sha256(model):
    from crepe.files import sha256_of

    assert check_archive(model[2], sha256_of(model[2]).upper())["family"] == model[0].name


def test_handle_refuses_a_shadowing_module_at_load_before_mxnet_is_loaded(model, tmp_path):
    import shutil
    import subprocess
    import sys

    copy = tmp_path / "unpacked"
    shutil.copytree(model[1], copy)
    (copy / "numpy.py").write_text("raise SystemExit('shadowed')\n")
    code = ("import sys, types\nfrom crepe.serving import handler\n"
            f"context = types.SimpleNamespace(system_properties={{'model_dir': {str(copy)!r}}})\n"
            "try:\n    handler.handle(None, context)\nexcept Exception as error:\n"
            "    print(type(error).__name__, error, 'mxnet' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "CheckpointError" in done.stdout and "numpy.py is not listed" in done.stdout, done.stderr
    assert done.stdout.strip().endswith("False")


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


#: The block each real forward pass of a family's network goes through exactly once (the word CNN
#: answers through WordCNN.scores, which starts with its embedding).
FIRST_BLOCK = {"crepe": lambda net: net, "word": lambda net: net.embedding}


def _count_forward_passes(service):
    """A list that gets the batch size of every real forward pass of the service's network, and the hook."""
    passes = []
    block = FIRST_BLOCK[service.config["model"]](service.net)
    return passes, block.register_forward_hook(lambda block, inputs, outputs: passes.append(inputs[0].shape[0]))


def test_service_answer_runs_one_forward_pass_per_chunk(service, monkeypatch):
    monkeypatch.setattr(handler, "CHUNK", 2)
    passes, hook = _count_forward_passes(service)
    try:            # the texts have 8, 7, 5, 4 and 2 tokens: the word CNN too needs one pass per chunk
        service.answer([body({"text": TEXTS[0]}), body({"texts": TEXTS[1:]}), {"body": bytearray(b"plain text")}])
    finally:
        hook.detach()
    assert passes == [2, 2, 1]


def test_service_answer_answers_every_good_request_of_a_batch_with_hostile_ones(service):
    hostile = [b'{"text": ' + b"1" * 5000 + b"}", b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
               b'{"text": "\xff\xfe"}']
    requests = [body({"text": TEXTS[0]}), *({"body": bytearray(raw)} for raw in hostile), body({"text": TEXTS[1]})]
    bodies, statuses = service.answer(requests, ["application/json"] * len(requests))
    assert statuses == [200, 400, 400, 400, 200]
    alone, _ = service.answer([body({"text": TEXTS[0]}), body({"text": TEXTS[1]})])
    assert [bodies[0], bodies[-1]] == alone
    assert all(len(json.loads(text)["error"].splitlines()) == 1 for text in bodies[1:4])


def test_service_answer_gives_500_to_the_one_request_whose_answer_fails(service, monkeypatch):
    def fail_on_rebels(item, rows, original=service._reply):
        if "Rebels" in item[0][0]:
            raise RuntimeError("boom")
        return original(item, rows)

    monkeypatch.setattr(service, "_reply", fail_on_rebels)
    bodies, statuses = service.answer([body({"text": TEXTS[0]}), body({"text": TEXTS[3]}), body({"text": TEXTS[1]})])
    assert statuses == [200, 500, 200]
    assert "boom" not in bodies[1] and len(json.loads(bodies[1])["error"].splitlines()) == 1


def test_service_answer_refuses_texts_beyond_the_batch_cap_with_503(service):
    full = body({"texts": ["headline"] * MAX_TEXTS})
    requests = [full] * (MAX_BATCH_TEXTS // MAX_TEXTS) + [body({"text": TEXTS[0]})]
    _, statuses = service.answer(requests)
    assert statuses == [200] * (MAX_BATCH_TEXTS // MAX_TEXTS) + [503]


def test_service_answer_explains_at_most_max_explain_requests_per_batch(service, monkeypatch):
    monkeypatch.setattr(service, "_saliency", lambda text, predicted: [])
    _, statuses = service.answer([body({"text": TEXTS[0], "explain": True})] * (MAX_EXPLAIN + 1))
    assert statuses == [200] * MAX_EXPLAIN + [503]


def test_service_answer_explains_the_predicted_class(service, monkeypatch):
    import crepe.explain

    if not service.explains:                    # the word CNN: no saliency, and no explain call at all
        monkeypatch.setattr(crepe.explain, "explain", lambda *args, **kwargs: pytest.fail("explain was called"))
        bodies, statuses = service.answer([body({"text": TEXTS[2], "explain": True})])
        assert statuses == [200] and "saliency" not in json.loads(bodies[0])
        return
    targets = []
    original = crepe.explain.explain
    monkeypatch.setattr(crepe.explain, "explain", lambda net, text, ctx=None, target=None: targets.append(target)
                        or original(net, text, ctx, target))
    bodies, _ = service.answer([body({"text": TEXTS[2], "explain": True})])
    assert targets == [service.classes.index(json.loads(bodies[0])["predicted"])]


def test_handle_answers_500_to_every_request_when_the_batch_fails(service, monkeypatch):
    class Context:
        statuses = {}

        def get_request_header(self, index, name):
            return None

        def set_response_status(self, code, phrase, index):
            self.statuses[index] = code

    monkeypatch.setattr(handler, "_service", service)
    monkeypatch.setattr(service, "answer", lambda *args: 1 / 0)
    context = Context()
    bodies = handler.handle([body({"text": "a"}), body({"text": "b"})], context)
    assert context.statuses == {0: 500, 1: 500} and all("error" in json.loads(text) for text in bodies)


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


def test_parse_gives_a_plain_body_the_text_predict_file_reads(tmp_path):
    from crepe.readers import read_inputs

    (tmp_path / "line.txt").write_bytes(b"Stocks rally as rates hold\r\n")
    assert parse(b"Stocks rally as rates hold\r\n", "text/plain")[0] == read_inputs(tmp_path / "line.txt")


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
    (b" " * (MAX_BODY_BYTES + 1), "text/plain", 413, f"the limit is {MAX_BODY_BYTES}"),
    (b'{"text": ""}', "application/json", 400, "the text is empty"),
    (b'{"texts": ["a", " "]}', "application/json", 400, "text 1 is empty"),
    (b'{"texts": ["a"], "explain": true}', "application/json", 400, "for a single 'text'"),
    (b'{"text": ' + b"9" * 4301 + b"}", "application/json", 400, "a number in it is too long"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "nested too deeply"),
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
