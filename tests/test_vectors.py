"""The shared test vectors (tests/vectors/quantise.json): every encoder of a text for Crepe gives their frames.

Python (crepe.quantise), the serving handler's path (its parser, then the family's input encoding) and the
page's own encoder (crepe/serving/page/encode.js) in headless Chromium read the same file.
"""
import json
import shutil

import numpy as np
import pytest

from crepe.families import FAMILIES
from crepe.quantise import FRAME_LENGTH, encode
from crepe.serving.handler import RequestError, parse
from crepe.serving.page_server import PAGE_DIRECTORY
from tests.browser import browser  # noqa: F401  (a fixture)
from tests.static import static_server
from tests.vectors.build import PATH, build

VECTORS = json.loads(PATH.read_text(encoding="utf-8"))
IDS = [vector["name"] for vector in VECTORS["vectors"]]
PAGE = ('<!doctype html><html><head><meta charset="utf-8"><script src="encode.js"></script></head>'
        '<body>vectors</body></html>')


def expected(vector):
    """The vector's full frame: its indices, then padding up to the frame length."""
    frame = np.zeros(VECTORS["frame_length"], dtype=np.int64)
    frame[:len(vector["frame"])] = vector["frame"]
    return frame


def test_vectors_file_is_what_build_writes():
    assert VECTORS == build(), "tests/vectors/quantise.json is stale: run python -m tests.vectors.build"


def test_vectors_include_hostile_texts():
    texts = [vector["text"] for vector in VECTORS["vectors"]]
    assert any(len(text) > FRAME_LENGTH for text in texts) and any(not text.isascii() for text in texts)
    assert any(any(ord(c) < 32 for c in text) for text in texts) and any(text.isupper() for text in texts)


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=IDS)
def test_encode_gives_each_vector_its_frame(vector):
    assert (encode(vector["text"])[0] == expected(vector)).all()


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=IDS)
@pytest.mark.parametrize("as_json", [True, False], ids=["json", "plain"])
def test_handler_encodes_each_vector_as_its_frame(vector, as_json):
    body, kind = ((json.dumps({"text": vector["text"]}), "application/json") if as_json
                  else (vector["text"], "text/plain; charset=utf-8"))
    if vector["refused_by_handler"]:
        with pytest.raises(RequestError, match="empty"):
            parse(body.encode("utf-8", "surrogatepass"), kind)
        return
    if not as_json and "\ud800" in vector["text"]:       # not UTF-8: only a JSON escape carries it
        with pytest.raises(RequestError, match="UTF-8"):
            parse(body.encode("utf-8", "surrogatepass"), kind)
        return
    texts, _, _ = parse(body.encode("utf-8"), kind)
    frames = FAMILIES["crepe"].inputs(None, texts).asnumpy()                  # (1, 1014)
    assert (frames[0] == expected(vector)).all()


def test_page_encoder_gives_each_vector_its_frame(browser, tmp_path):  # noqa: F811
    shutil.copy(PAGE_DIRECTORY / "encode.js", tmp_path)
    shutil.copy(PATH, tmp_path)
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")
    with static_server(tmp_path) as url:
        browser.get(url + "index.html")
        wrong = browser.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch("quantise.json").then((r) => r.json()).then((vectors) => {
              const wrong = [];
              for (const vector of vectors.vectors) {
                const frame = Array.from(CrepeEncode.encode(vector.text, vectors.alphabet, vectors.frame_length));
                const want = vector.frame.concat(new Array(vectors.frame_length - vector.frame.length).fill(0));
                if (frame.join(",") !== want.join(",")) wrong.push(vector.name);
              }
              done({checked: vectors.vectors.length, wrong});
            }).catch((error) => done({checked: 0, wrong: [String(error)]}));""")
    assert wrong == {"checked": len(VECTORS["vectors"]), "wrong": []}
