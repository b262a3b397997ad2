"""Property-based tests: any Unicode encodes; any file either parses or fails with one clear DataError.

The number of generated cases per property is set by ``EXAMPLES`` (the profile below).
"""
import csv
import io
import re
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crepe.errors import DataError
from crepe.quantise import ALPHABET, FRAME_LENGTH, NUM_CHARS, decode, encode
from crepe.readers import read_csv

EXAMPLES = 300
settings.register_profile("workshop", max_examples=EXAMPLES, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile("workshop")

# Every code point, surrogates included (Hypothesis leaves them out by default).
ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=())
ANY_TEXT = st.text(alphabet=ANY_CHAR, max_size=3000)
ROOT = Path(__file__).resolve().parents[1]


def reference(text, length=FRAME_LENGTH):
    out = np.zeros(length, dtype=np.uint8)
    for column, char in enumerate(reversed(text[-length:])):
        char = char.lower() if "A" <= char <= "Z" else char
        out[column] = ALPHABET.find(char) + 1
    return out


@given(ANY_TEXT)
@example("\ud800\udfff lone surrogates")
@example("e\u0301\u0327 combining marks")
@example("\u202eright-to-left override \u05e9\u05dc\u05d5\u05dd")
@example("\x00" * 2000)
def test_encode_any_unicode_gives_a_valid_frame(text):
    frame = encode(text)
    assert frame.shape == (1, FRAME_LENGTH) and frame.dtype == np.uint8
    assert frame.max(initial=0) <= NUM_CHARS
    np.testing.assert_array_equal(frame[0], reference(text))


@given(st.lists(ANY_TEXT, max_size=8))
def test_encode_a_batch_equals_encoding_one_by_one(texts):
    batch = encode(texts)
    assert batch.shape == (len(texts), FRAME_LENGTH)
    for row, text in zip(batch, texts):
        np.testing.assert_array_equal(row, encode(text)[0])


@given(st.text(alphabet=st.sampled_from(ALPHABET), max_size=FRAME_LENGTH))
def test_decode_inverts_encode_on_the_alphabet(text):
    assert decode(encode(text))[0] == text


def test_encode_a_one_megabyte_string():
    rng = np.random.default_rng(0)
    text = "".join(map(chr, rng.integers(0, 0x10FFFF, size=1 << 20)))
    np.testing.assert_array_equal(encode(text)[0], reference(text))


# ------------------------------------------------------------------ CSV reader

FIELD = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(st.lists(st.tuples(st.integers(1, 4), st.lists(FIELD, min_size=1, max_size=3)), min_size=1, max_size=12),
       st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_read_csv_round_trips_what_csv_writes(tmp_path_factory, rows, newline, bom):
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator=newline)
    for label, fields in rows:
        writer.writerow([str(label)] + fields)
    path = tmp_path_factory.mktemp("csv") / "data.csv"
    path.write_bytes(("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8"))
    expected = [(label - 1, " ".join(reversed(fields))) for label, fields in rows]
    texts, labels, skipped = read_csv(path, num_classes=4)
    assert list(zip(labels.tolist(), texts)) == expected and skipped == 0


@given(st.binary(max_size=600))
def test_read_csv_random_bytes_parse_or_fail_clearly(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("bytes") / "random.csv"
    path.write_bytes(raw)
    try:
        texts, labels, _ = read_csv(path, num_classes=4)
    except DataError as error:
        assert str(error).startswith(str(path))
        assert re.search(r"line \d+|empty|no usable rows", str(error))
    else:
        assert len(texts) == len(labels) > 0 and labels.min() >= 0 and labels.max() <= 3


@given(st.sampled_from([";", "\t", "|"]), st.integers(1, 4))
def test_read_csv_wrong_delimiter_names_the_line(tmp_path_factory, delimiter, label):
    path = tmp_path_factory.mktemp("delim") / "data.csv"
    path.write_text(f"{label}{delimiter}title{delimiter}text\n", encoding="utf-8")
    try:
        read_csv(path, num_classes=4)
    except DataError as error:
        assert "line 1" in str(error)
    else:
        raise AssertionError("a row with the wrong delimiter was accepted")


@given(st.text(alphabet="0123456789-+.eE x", min_size=1, max_size=6))
def test_read_csv_odd_labels_are_rejected_or_in_range(tmp_path_factory, label):
    path = tmp_path_factory.mktemp("label") / "data.csv"
    path.write_text(f'"{label}","title","text"\n', encoding="utf-8")
    try:
        _, labels, _ = read_csv(path, num_classes=4)
    except DataError as error:
        assert "line 1" in str(error)
    else:
        assert 0 <= labels[0] <= 3


# ------------------------------------------------------------------ security

def test_the_package_never_executes_or_unpickles_data():
    # load_states: MXNet's Trainer.load_states unpickles its file.
    pattern = re.compile(r"(^|[^.\w])(eval|exec)\(|import c?pickle|c?pickle\.|load_states\(|read_pickle|"
                         r"allow_pickle\s*=\s*True|yaml\.load\(|shelve|marshal\.load")
    hits = [f"{path.name}:{number}: {line.strip()}"
            for path in sorted((ROOT / "crepe").glob("*.py"))
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
            if pattern.search(line) and not line.lstrip().startswith("#")]
    assert hits == []
