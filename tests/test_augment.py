"""Thesaurus augmentation: the MyThes reader and the paper's geometric replacement scheme."""
from collections import Counter

import numpy as np
import pytest

from crepe.augment import (
    SAMPLE_THESAURUS,
    WORKSHOP_TYPO_RATE,
    WORKSHOP_WORD_DROPOUT,
    Augmenter,
    Chain,
    Typos,
    WordDropout,
    default_augmentation,
    load_mythes,
)
from crepe.data import TextDataset
from crepe.errors import DataError
from tests.helpers import require


def test_load_mythes_flattens_meanings_in_order():
    assert load_mythes(SAMPLE_THESAURUS)["won"] == ["defeated", "beat", "triumphed", "secured", "claimed"]


def test_load_mythes_reads_latin1_files(tmp_path):
    path = tmp_path / "th.dat"
    path.write_bytes("ISO8859-1\ncaf\u00e9|1\n(noun)|bistro|brasserie\n".encode("latin-1"))
    assert load_mythes(path) == {"caf\u00e9": ["bistro", "brasserie"]}


def test_load_mythes_malformed_entry_names_the_line(tmp_path):
    path = tmp_path / "th.dat"
    path.write_text("UTF-8\nword|1\n(noun)|syn\nbroken line\n")
    with pytest.raises(DataError, match="line 4: expected 'word|number of meanings'"):
        load_mythes(path)


def test_load_mythes_file_ending_inside_an_entry(tmp_path):
    path = tmp_path / "th.dat"
    path.write_text("UTF-8\nword|2\n(noun)|syn\n")
    with pytest.raises(DataError, match="ends inside the entry for 'word'"):
        load_mythes(path)


def test_load_mythes_unknown_encoding(tmp_path):
    path = tmp_path / "th.dat"
    path.write_text("KLINGON-8\nword|1\n(noun)|syn\n")
    with pytest.raises(DataError, match="line 1: unknown encoding"):
        load_mythes(path)


def test_augmenter_is_reproducible_from_its_seed():
    thesaurus = load_mythes(SAMPLE_THESAURUS)
    text = "Investors cut news after researchers discovered the quick brown dog"
    first = [Augmenter(thesaurus, seed=7)(text) for _ in range(3)]
    second = [Augmenter(thesaurus, seed=7)(text) for _ in range(3)]
    assert first == second


def test_augmenter_only_uses_synonyms_and_keeps_capitals():
    augment = Augmenter({"quick": ["fast"], "dog": ["hound"]}, seed=0)
    outputs = {augment("Quick dog") for _ in range(50)}
    assert outputs <= {"Fast dog", "Quick hound", "Fast hound"} and len(outputs) > 1


def test_augmenter_replaces_a_geometric_number_of_words():
    thesaurus = {f"w{i}": ["x"] for i in range(30)}
    augment = Augmenter(thesaurus, p=0.5, seed=1)
    text = " ".join(thesaurus)
    counts = Counter(augment(text).split().count("x") for _ in range(2000))
    assert counts[1] / 2000 == pytest.approx(0.5, abs=0.05)        # P[r = 1] = p
    assert counts[2] / 2000 == pytest.approx(0.25, abs=0.05)       # P[r = 2] = p (1 - p)


def test_augmenter_prefers_the_first_synonym_geometrically():
    augment = Augmenter({"a": ["s0", "s1", "s2", "s3", "s4", "s5"]}, q=0.5, seed=2)
    counts = Counter(augment("a") for _ in range(2000))
    assert counts["s0"] / 2000 == pytest.approx(0.5, abs=0.05) and counts["s1"] > counts["s2"]


def test_augmenter_leaves_text_without_known_words_alone():
    assert Augmenter({"quick": ["fast"]})("Nothing to change here.") == "Nothing to change here."


def test_augmenter_bad_parameter():
    with pytest.raises(ValueError, match="p must be in"):
        Augmenter({}, p=0)


def test_augmenter_works_as_a_dataset_transform():
    dataset = TextDataset(["the quick dog"] * 4, [0] * 4, transform=Augmenter({"quick": ["fast"]}, seed=0))
    frames = [dataset[i][0] for i in range(4)]
    assert all(frame.shape == (1014,) for frame in frames)


def test_augmenter_matches_accented_words_whole():
    assert Augmenter({"caf\u00e9": ["bistro"]}, seed=0)("Un caf\u00e9 noir") == "Un bistro noir"


FULL_MYTHES = __import__("pathlib").Path("/usr/share/mythes/th_en_US_v2.dat")


def test_load_mythes_reads_a_full_libreoffice_thesaurus():
    require(FULL_MYTHES.is_file(), "Debian's mythes-en-us is not installed (apt install mythes-en-us)")
    thesaurus = load_mythes(FULL_MYTHES)
    assert len(thesaurus) > 10_000 and "quick" in thesaurus


def test_load_mythes_strips_annotations_and_drops_antonyms(tmp_path):
    path = tmp_path / "th.dat"
    path.write_text("UTF-8\nquick|1\n(adj)|fast (similar term)|speedy|slow (antonym)|agile (related term)\n")
    assert load_mythes(path) == {"quick": ["fast", "speedy", "agile"]}


def test_typos_zero_rate_leaves_text_alone():
    assert Typos(0.0)("Stocks fell on Monday") == "Stocks fell on Monday"


def test_typos_touches_about_rate_of_the_characters():
    text = "a" * 20000
    noisy = Typos(0.1)(text, np.random.RandomState(0))
    deleted = len(text) - len(noisy)
    replaced = sum(c != "a" for c in noisy)             # a replacement by "a" itself is invisible
    assert abs(deleted - 1000) < 150 and abs(replaced - 1000 * 25 / 26) < 150


def test_typos_is_the_same_for_the_same_rng_seed():
    text = "Shares of the chip maker rose"
    assert Typos(0.3)(text, np.random.RandomState(5)) == Typos(0.3)(text, np.random.RandomState(5))


def test_typos_bad_rate():
    with pytest.raises(ValueError, match="rate"):
        Typos(1.5)


def test_word_dropout_zero_rate_leaves_text_alone():
    assert WordDropout(0.0)("Stocks fell on Monday") == "Stocks fell on Monday"


def test_word_dropout_leaves_out_about_rate_of_the_words():
    words = [f"w{i}" for i in range(5000)]
    kept = WordDropout(0.2)(" ".join(words), np.random.RandomState(0)).split(" ")
    assert abs(len(kept) - 4000) < 120 and set(kept) <= set(words)


def test_word_dropout_keeps_the_order_of_the_words_it_keeps():
    kept = WordDropout(0.5)("a b c d e f g h", np.random.RandomState(3)).split(" ")
    assert kept == sorted(kept)


def test_word_dropout_always_keeps_one_word():
    assert all(WordDropout(0.99)("one two three", np.random.RandomState(seed)) for seed in range(50))


def test_word_dropout_never_keeps_an_empty_word():
    assert all(WordDropout(0.99)("  a  ", np.random.RandomState(seed)) == "a" for seed in range(20))


def test_word_dropout_bad_rate():
    with pytest.raises(ValueError, match="rate"):
        WordDropout(1.0)


def test_default_augmentation_leaves_out_words_then_makes_typos():
    words, typos = default_augmentation().transforms
    assert (type(words), words.rate, type(typos), typos.rate) == (WordDropout, WORKSHOP_WORD_DROPOUT, Typos,
                                                                 WORKSHOP_TYPO_RATE)


def test_chain_applies_synonyms_then_typos_with_one_rng():
    chain = Chain(Augmenter({"won": ["beat"]}), Typos(0.0))
    assert chain("Ann won the final", np.random.RandomState(1)) == "Ann beat the final"
