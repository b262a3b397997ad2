"""Character quantisation: alphabet, encode, one_hot, decode."""
import numpy as np
import pytest

from crepe.quantise import ALPHABET, FRAME_LENGTH, NUM_CHARS, decode, encode, one_hot


def reference_encode(text, length=FRAME_LENGTH):
    """Per-character transcription of the original Lua stringToTensor (after commit 56a2770)."""
    s = "".join(c.lower() if "A" <= c <= "Z" else c for c in text)
    out = np.zeros(length, dtype=np.uint8)
    for column, i in enumerate(range(len(s) - 1, max(len(s) - length, 0) - 1, -1)):
        position = ALPHABET.find(s[i])
        out[column] = position + 1 if position >= 0 else 0
    return out


def talk_notebook_encode(text, length=FRAME_LENGTH):
    """The talk notebook's encoder: loops over the raw text in reading order, no lower-casing."""
    out = np.zeros(length, dtype=np.uint8)
    for column, char in enumerate(text[:length]):
        position = ALPHABET.find(char)
        out[column] = position + 1 if position >= 0 else 0
    return out


def test_alphabet_has_69_distinct_characters_with_space():
    assert len(ALPHABET) == NUM_CHARS == 69
    assert len(set(ALPHABET)) == 69
    assert " " in ALPHABET and "\n" not in ALPHABET


def test_alphabet_matches_the_original_code_but_for_the_duplicate_dash():
    original = "abcdefghijklmnopqrstuvwxyz0123456789-,;.!?:'\"/\\|_@#$%^&*~`+-=<>()[]{}"
    assert len(original) == 69 and len(set(original)) == 68
    second_dash = original.index("-", original.index("-") + 1)
    assert ALPHABET == original[:second_dash] + " " + original[second_dash + 1:]


def test_frame_length_is_1014():
    assert FRAME_LENGTH == 1014


def test_encode_returns_uint8_frames_of_1014():
    frame = encode(["a", "bb", ""])
    assert frame.shape == (3, 1014) and frame.dtype == np.uint8


def test_encode_single_string_gives_one_row():
    assert encode("abc").shape == (1, 1014)


def test_encode_maps_alphabet_position_to_index_plus_one():
    frame = encode(ALPHABET[::-1])[0]
    np.testing.assert_array_equal(frame[:69], np.arange(1, 70))


def test_encode_lower_cases_ascii_capitals():
    np.testing.assert_array_equal(encode("HeLLo WORLD"), encode("hello world"))


def test_encode_writes_last_character_first():
    np.testing.assert_array_equal(encode("abc", length=5)[0], [3, 2, 1, 0, 0])


def test_encode_pads_with_zeros_at_the_end():
    frame = encode("xyz")[0]
    assert frame[:3].all() and not frame[3:].any()


def test_encode_keeps_the_last_1014_characters_of_a_long_text():
    text = "a" * 500 + "b" * 1000 + "c" * 14
    frame = encode(text)[0]
    # The tail survives: 14 'c' first, then 1000 'b'; the head of 500 'a' is cut.
    np.testing.assert_array_equal(frame[:14], 3)
    np.testing.assert_array_equal(frame[14:], 2)


def test_encode_does_not_cut_the_head_then_reverse():
    text = "".join(ALPHABET[i % 26] for i in range(2000))
    wrong = np.array([ALPHABET.find(c) + 1 for c in text[:1014][::-1]], dtype=np.uint8)
    assert not np.array_equal(encode(text)[0], wrong)


def test_encode_unknown_character_keeps_its_column():
    np.testing.assert_array_equal(encode("a\u00e9b", length=4)[0], [2, 0, 1, 0])


def test_encode_newline_is_no_character():
    np.testing.assert_array_equal(encode("a\r\nb", length=4)[0], [2, 0, 0, 1])


@pytest.mark.parametrize("text", ["caf\u00e9 na\u00efve", "\U0001F600 emoji", "\u4e2d\u6587\u6587\u672c", "nul\x00byte",
                                  "crlf\r\nline", "\ud800 lone surrogate", "\u05e9\u05dc\u05d5\u05dd rtl",
                                  "e\u0301 combining", "", "\U0010FFFF"])
def test_encode_accepts_any_unicode(text):
    np.testing.assert_array_equal(encode(text)[0], reference_encode(text))


def test_encode_non_ascii_capitals_are_not_folded_into_the_alphabet():
    # Python's str.lower() maps the Kelvin sign to 'k'; the original (Lua, bytes) does not.
    assert encode("\u212a", length=1)[0, 0] == 0


def test_encode_matches_the_per_character_reference_on_random_texts():
    rng = np.random.default_rng(0)
    pool = list(ALPHABET + ALPHABET.upper() + "\u00e9\u00df\n\t\u4e2d")
    texts = ["".join(rng.choice(pool, size=n)) for n in rng.integers(0, 2500, size=40)]
    expected = np.stack([reference_encode(t) for t in texts])
    np.testing.assert_array_equal(encode(texts), expected)


def test_encode_fixes_the_talk_notebooks_bug():
    # The talk's loop never lower-cases (capitals vanish) and never reverses.
    text = "Hello World"
    buggy = talk_notebook_encode(text)
    assert buggy[0] == 0                         # 'H' dropped
    assert encode(text)[0, 0] == ALPHABET.index("d") + 1
    assert encode(text)[0, 10] == ALPHABET.index("h") + 1


def test_encode_accepts_a_generator():
    np.testing.assert_array_equal(encode(t for t in ["ab", "c"]), encode(["ab", "c"]))


def test_encode_non_string_element_names_its_position():
    with pytest.raises(TypeError, match="element 2 is int"):
        encode(["a", "b", 3])


def test_encode_bytes_is_a_type_error():
    with pytest.raises(TypeError, match="bytes"):
        encode(b"abc")


def test_encode_non_iterable_is_a_type_error():
    with pytest.raises(TypeError, match="float"):
        encode(1.5)


@pytest.mark.parametrize("length", [0, -3, 2.5, True])
def test_encode_bad_length_is_a_value_error(length):
    with pytest.raises(ValueError, match="length"):
        encode("abc", length=length)


def test_encode_empty_list_gives_empty_batch():
    assert encode([]).shape == (0, 1014)


def test_one_hot_shape_and_dtype():
    x = one_hot(encode(["abc", "d"]))
    assert x.shape == (2, 69, 1014) and x.dtype == np.float32


def test_one_hot_columns_sum_to_one_or_zero():
    frame = encode("Some text, with \u00e9 and 42!")
    x = one_hot(frame)
    np.testing.assert_array_equal(x.sum(axis=1), (frame != 0).astype(np.float32))


def test_one_hot_marks_the_row_of_each_character():
    x = one_hot(encode("za", length=2))[0]
    assert x[ALPHABET.index("a"), 0] == 1 and x[ALPHABET.index("z"), 1] == 1


def test_one_hot_rejects_out_of_range_indices():
    with pytest.raises(ValueError, match=r"\[0, 69\]"):
        one_hot(np.array([[70]]))


def test_one_hot_rejects_float_input():
    with pytest.raises(TypeError, match="integer"):
        one_hot(np.zeros((1, 5)))


def test_one_hot_rejects_three_dimensional_input():
    with pytest.raises(ValueError, match="shape"):
        one_hot(np.zeros((1, 2, 3), dtype=np.uint8))


def test_decode_round_trips_lower_cased_text():
    assert decode(encode(["Hello, World!", "x"])) == ["hello, world!", "x"]


def test_decode_marks_unknown_characters():
    assert decode(encode("na\u00efve")[0]) == "na\ufffdve"


def test_decode_frame_order_is_backwards():
    assert decode(encode("abc")[0], reading_order=False) == "cba"


def test_decode_shows_truncation():
    assert decode(encode("x" * 10 + "tail", length=6)[0]) == "xxtail"
