"""Reading the project's input files: training CSVs, class lists, review dumps, texts to classify.

Every reader *parses* its input (``csv``, ``json``, ``ast.literal_eval`` for the older
Python-literal review files) and never executes it. Errors are one sentence naming the file and,
where known, the line.

Text is built as the original Crepe code builds it: the fields after the label are joined with
spaces in *reverse* order (AG News: description, then title). After quantisation keeps the last
1014 characters and writes them backwards, the network reads the title first and the title always
survives truncation.
"""
import ast
import csv
import gzip
import io
import json
from pathlib import Path

import numpy as np

from .errors import DataError

__all__ = ["read_csv", "read_classes", "read_amazon_reviews", "read_inputs"]


def _decode(path, raw):
    """Decode bytes as UTF-8 (a BOM is dropped), naming the line of the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: not valid UTF-8 (byte {raw[error.start]:#04x} at offset "
                        f"{error.start}); save the file as UTF-8") from error


def _read_bytes(path):
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    return path.read_bytes()


def read_csv(path, num_classes=None, skip_bad=False):
    """Read a CSV in the AG News layout: a 1-based class, then one or more text fields.

    Parameters
    ----------
    path : str or Path
        The file. UTF-8, with or without a BOM; LF or CRLF; quoted fields may hold newlines.
    num_classes : int, optional
        Labels must lie in ``1..num_classes``; if None, any positive label is accepted.
    skip_bad : bool, optional
        Skip malformed rows and count them, instead of stopping at the first (default False).

    Returns
    -------
    texts : list of str
        The text fields joined with spaces in reverse order.
    labels : numpy.ndarray
        ``int32`` 0-based class indices.
    skipped : int
        Rows skipped (always 0 unless ``skip_bad``).

    Raises
    ------
    DataError
        A missing or empty file, undecodable bytes, or a bad row (when not skipping), naming the
        file and line.

    Examples
    --------
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "news.csv")
    >>> _ = open(path, "w").write('"3","Title","The description."\\n')
    >>> read_csv(path)
    (['The description. Title'], array([2], dtype=int32), 0)
    """
    text = _decode(path, _read_bytes(path))
    if not text.strip():
        raise DataError(f"{path}: the file is empty")
    texts, labels, skipped = [], [], 0
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise DataError(f"{path}, line {line}: malformed CSV ({error})") from error
        if not row or all(not field.strip() for field in row):
            continue
        problem = None
        if len(row) < 2:
            problem = f"expected a label and at least one text field, got {len(row)} field(s)"
        else:
            try:
                label = int(row[0].strip())
            except ValueError:
                problem = f"the label {row[0]!r:.40} is not a whole number"
            else:
                if label < 1 or (num_classes is not None and label > num_classes):
                    bound = f"1..{num_classes}" if num_classes else "1 or more"
                    problem = f"label {label} is out of range (expected {bound}; labels are 1-based)"
        if problem:
            if skip_bad:
                skipped += 1
                continue
            raise DataError(f"{path}, line {line}: {problem}")
        texts.append(" ".join(field for field in reversed(row[1:])))
        labels.append(label - 1)
    if not texts:
        raise DataError(f"{path}: no usable rows" + (f" ({skipped} skipped)" if skipped else ""))
    return texts, np.asarray(labels, dtype=np.int32), skipped


def read_amazon_reviews(path, limit=None):
    """Read one of McAuley's review files (``reviews_<Category>_5.json.gz``, or plain JSON lines).

    Parameters
    ----------
    path : str or Path
        The file; gzip is detected from its first bytes.
    limit : int, optional
        Stop after this many reviews (the per-category cap).

    Returns
    -------
    list of str
        ``summary + " | " + reviewText`` for each review.

    Notes
    -----
    Each line is parsed with :func:`json.loads`. Older dumps hold Python literals (single quotes);
    those are read with :func:`ast.literal_eval`, which accepts only literals. Nothing is executed.
    """
    raw = _read_bytes(path)
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise DataError(f"{path}: damaged gzip file ({error}); delete it and download it again") from error
    texts = []
    for number, line in enumerate(_decode(path, raw).splitlines(), start=1):
        if limit is not None and len(texts) >= limit:
            break
        if not line.strip():
            continue
        try:
            review = json.loads(line)
        except json.JSONDecodeError:
            try:
                review = ast.literal_eval(line)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                raise DataError(f"{path}, line {number}: neither JSON nor a Python literal") from None
        if not isinstance(review, dict) or not isinstance(review.get("reviewText", ""), str):
            raise DataError(f"{path}, line {number}: expected an object with 'summary' and 'reviewText'")
        texts.append(f"{review.get('summary', '')} | {review.get('reviewText', '')}")
    return texts


def read_classes(path, count):
    """Class names from a ``classes.txt`` (one per line, line N naming label N), if the file exists.

    Parameters
    ----------
    path : Path
        The file; when it does not exist the names are "class 1" ... "class <count>".
    count : int
        How many classes the labels need at least (the highest 1-based label).

    Returns
    -------
    tuple of str

    Raises
    ------
    DataError
        A blank line between names, a repeated name, or fewer names than the labels need.

    Examples
    --------
    >>> read_classes(Path("no-such-folder/classes.txt"), 2)
    ('class 1', 'class 2')
    """
    path = Path(path)
    if not path.is_file():
        return tuple(f"class {i + 1}" for i in range(count))
    names = _decode(path, _read_bytes(path)).rstrip("\n").splitlines()
    for line, name in enumerate(names, start=1):
        if not name.strip():
            raise DataError(f"{path}, line {line}: an empty class name (line N names label N)")
        if name in names[:line - 1]:
            raise DataError(f"{path}, line {line}: the class name {name!r} appears twice")
    if len(names) < count:
        raise DataError(f"{path} names {len(names)} classes, but the data has label {count}")
    return tuple(name.strip() for name in names)


def read_inputs(path):
    """Texts to classify from a file: the text fields of a CSV (``.csv``), else one text per line.

    Blank lines are skipped. A CSV may be in the training layout (label first) or hold only text.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "inputs.txt")
    >>> _ = open(path, "w").write("First headline\\n\\nSecond headline\\n")
    >>> read_inputs(path)
    ['First headline', 'Second headline']
    """
    path = Path(path)
    text = _decode(path, _read_bytes(path))
    if path.suffix.lower() == ".csv":
        try:
            rows = [row for row in csv.reader(io.StringIO(text, newline=""), strict=True)
                    if any(field.strip() for field in row)]
        except csv.Error as error:
            raise DataError(f"{path}: malformed CSV ({error})") from error
        labelled = all(len(row) >= 2 and row[0].strip().isdigit() for row in rows)
        texts = [" ".join(reversed(row[1:] if labelled else row)) for row in rows]
    else:
        texts = [line for line in text.splitlines() if line.strip()]
    if not texts:
        raise DataError(f"{path}: no texts to classify")
    return texts
