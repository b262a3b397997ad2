"""Data sets for Crepe: the bundled sample, AG News, Amazon product categories, any CSV.

Every reader *parses* its input (``csv``, ``json``, ``ast.literal_eval`` for the older
Python-literal review files) and never executes it. Errors name the file and the line.

Text is built as the original Crepe code builds it: the fields after the label are joined with
spaces in *reverse* order (AG News: description, then title). After quantisation keeps the last
1014 characters and writes them backwards, the network reads the title first and the title always
survives truncation. The AG News text keeps the corpus's quirks (``#39;``-style entity residue,
backslashes where line breaks were), as the paper's models saw it.
"""
import ast
import csv
import gzip
import io
import json
import os
from pathlib import Path

import numpy as np

from .download import download, sha256_of
from .errors import DataError
from .quantise import FRAME_LENGTH, encode

__all__ = ["DataError", "AG_NEWS_CLASSES", "AG_NEWS", "AMAZON_CATEGORIES", "SAMPLE_DIR", "read_csv", "read_classes",
           "drop_overlap", "load_evaluation_set", "read_inputs",
           "read_amazon_reviews", "download", "load_dataset", "TextDataset", "data_loader", "split"]

#: The bundled sample's folder (written by ``scripts/make_sample.py``).
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
#: Short product reviews, negative or positive, also written by the project (scripts/make_sentiment.py).
SENTIMENT_DIR = SAMPLE_DIR.parent / "sentiment"
BUNDLED = {"sample": SAMPLE_DIR, "sentiment": SENTIMENT_DIR}
#: Default cache for downloads; ``CREPE_DATA`` overrides it.
DEFAULT_CACHE = Path(os.environ.get("CREPE_DATA", Path(__file__).resolve().parents[1] / "data" / "cache"))

AG_NEWS_CLASSES = ("World", "Sports", "Business", "Sci/Tech")
#: AG News (Zhang et al. 2015): 120,000 training and 7,600 test rows, 4 balanced classes.
AG_NEWS = {
    "train.csv": {
        "url": "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/train.csv",
        "sha256": "76a0a2d2f92b286371fe4d4044640910a04a803fdd2538e0f3f29a5c6f6b672e",
        "md5": "b1a00f826fdfbd249f79597b59e1dc12", "rows": 120_000},
    "test.csv": {
        "url": "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/test.csv",
        "sha256": "521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699",
        "md5": "d52ea96a97a2d943681189a97654912d", "rows": 7_600},
}
#: The talk's seven Amazon categories, as McAuley's 5-core review files name them.
AMAZON_CATEGORIES = ("Books", "Clothing_Shoes_and_Jewelry", "Electronics", "Health_and_Personal_Care",
                     "Home_and_Kitchen", "Movies_and_TV", "Sports_and_Outdoors")
AMAZON_URL = "https://snap.stanford.edu/data/amazon/productGraph/categoryFiles/reviews_{}_5.json.gz"


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


def load_dataset(name, cache=None, download_missing=True, amazon_limit=5000):
    """Load a data set by name, as the command line names them.

    Parameters
    ----------
    name : str
        ``"sample"`` (bundled news, the default everywhere), ``"sentiment"`` (bundled reviews,
        negative/positive), ``"ag_news"`` (downloaded and verified into
        the cache), ``"amazon"`` (McAuley files placed in ``<cache>/amazon/``), or ``"csv:PATH"``
        (a training CSV in the AG News layout; a ``test.csv`` beside a ``train.csv`` is used too,
        and training rows whose text also appears there are dropped; class names come from a
        ``classes.txt`` beside the file when there is one).
    cache : str or Path, optional
        The download cache (default ``data/cache``, or ``$CREPE_DATA``).
    download_missing : bool, optional
        Fetch AG News if it is missing (default True).
    amazon_limit : int, optional
        Reviews per Amazon category (default 5000).

    Returns
    -------
    dict
        ``train`` and ``test``: (texts, labels) pairs (``test`` may be None for a lone CSV),
        ``classes``: the class names, and for ``csv:`` ``overlap``: training rows dropped because
        the test file holds the same text.

    Examples
    --------
    >>> data = load_dataset("sample")
    >>> data["classes"], len(data["train"][0]), len(data["test"][0])
    (('World', 'Sports', 'Business', 'Sci/Tech'), 2400, 400)
    """
    cache = Path(cache) if cache else DEFAULT_CACHE
    if name in BUNDLED:
        folder = BUNDLED[name]
        classes = tuple((folder / "classes.txt").read_text(encoding="utf-8").splitlines())
        return {"classes": classes,
                **{part: read_csv(folder / f"{part}.csv", len(classes))[:2] for part in ("train", "test")}}
    if name == "ag_news":
        folder = cache / "ag_news"
        splits = {}
        for filename, source in AG_NEWS.items():
            target = folder / filename
            if not target.is_file() and not download_missing:
                raise DataError(f"{target} is missing; fetch {source['url']} and save it there")
            download(source["url"], target, source["sha256"])
            splits[filename[:-4]] = read_csv(target, len(AG_NEWS_CLASSES))[:2]
        return {"classes": AG_NEWS_CLASSES, **splits}
    if name == "amazon":
        return _load_amazon(cache / "amazon", amazon_limit)
    if name.startswith("csv:"):
        path = Path(name[4:])
        train = read_csv(path)[:2]
        test_path = path.with_name("test.csv") if path.name == "train.csv" else None
        test = read_csv(test_path)[:2] if test_path and test_path.is_file() else None
        count = int(max(train[1].max(), test[1].max() if test else 0)) + 1
        classes = read_classes(path.with_name("classes.txt"), count)
        overlap = 0
        if test is not None:
            train, overlap = drop_overlap(train, test[0])
            if not train[0]:
                raise DataError(f"{path}: every training row also appears in {test_path}; nothing is left to train on")
        return {"classes": classes, "train": train, "test": test, "overlap": overlap}
    raise DataError(f"unknown dataset {name!r}: use sample, sentiment, ag_news, amazon or csv:PATH")


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


def drop_overlap(train, test_texts):
    """Remove training rows whose text also appears in the test set.

    A test row that was trained on measures memory, not reading; real corpora (and hand-made
    splits) do contain such duplicates.

    Returns
    -------
    ((list of str, numpy.ndarray), int)
        The remaining training rows and how many were dropped.

    Examples
    --------
    >>> (texts, labels), dropped = drop_overlap((["a", "b", "c"], np.array([0, 1, 0])), ["b"])
    >>> texts, labels.tolist(), dropped
    (['a', 'c'], [0, 0], 1)
    """
    seen = set(test_texts)
    keep = [i for i, text in enumerate(train[0]) if text not in seen]
    return ([train[0][i] for i in keep], np.asarray(train[1])[keep]), len(train[0]) - len(keep)


def load_evaluation_set(name, cache=None):
    """The rows to score for ``name``: every row of the file for ``csv:FILE``, else the test split.

    Returns
    -------
    dict
        ``classes`` and ``rows`` (texts, labels).

    Examples
    --------
    >>> data = load_evaluation_set("sample")
    >>> len(data["rows"][0]), data["classes"][0]
    (400, 'World')
    """
    if name.startswith("csv:"):
        path = Path(name[4:])
        texts, labels, _ = read_csv(path)
        return {"classes": read_classes(path.with_name("classes.txt"), int(labels.max()) + 1), "rows": (texts, labels)}
    data = load_dataset(name, cache=cache)
    if data.get("test") is None:
        raise DataError(f"{name} has no test split")
    return {"classes": data["classes"], "rows": data["test"]}


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
            rows = [row for row in csv.reader(io.StringIO(text, newline=""), strict=True) if any(f.strip() for f in row)]
        except csv.Error as error:
            raise DataError(f"{path}: malformed CSV ({error})") from error
        labelled = all(len(row) >= 2 and row[0].strip().isdigit() for row in rows)
        texts = [" ".join(reversed(row[1:] if labelled else row)) for row in rows]
    else:
        texts = [line for line in text.splitlines() if line.strip()]
    if not texts:
        raise DataError(f"{path}: no texts to classify")
    return texts


def _load_amazon(folder, limit):
    """The seven categories' reviews, split 90/10 into train and test with a fixed seed."""
    texts, labels = [], []
    for label, category in enumerate(AMAZON_CATEGORIES):
        path = folder / f"reviews_{category}_5.json.gz"
        if not path.is_file():
            raise DataError(f"{path} is missing: fetch {AMAZON_URL.format(category)} by hand and save it "
                            f"there (the files carry no published checksum, so they are not fetched automatically)")
        reviews = read_amazon_reviews(path, limit)
        texts += reviews
        labels += [label] * len(reviews)
    labels = np.asarray(labels, dtype=np.int32)
    train, test = split(len(texts), 0.1, seed=0)
    pick = lambda idx: ([texts[i] for i in idx], labels[idx])
    names = tuple(c.replace("_and_", " & ").replace("_", " ") for c in AMAZON_CATEGORIES)
    return {"classes": names, "train": pick(train), "test": pick(test)}


def split(count, fraction, seed=0):
    """Shuffle ``range(count)`` with ``seed`` and cut off ``fraction`` of it.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The kept indices and the cut-off ones (e.g. training and validation), each sorted.

    Examples
    --------
    >>> keep, held = split(10, 0.2, seed=1)
    >>> len(keep), len(held), sorted(set(keep) | set(held)) == list(range(10))
    (8, 2, True)
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"fraction must be in [0, 1), got {fraction}")
    order = np.random.RandomState(seed).permutation(count)
    cut = int(round(count * fraction))
    return np.sort(order[cut:]), np.sort(order[:cut])


def _takes_two_arguments(function):
    """Whether ``function`` can be called with two positional arguments."""
    import inspect

    try:
        inspect.signature(function).bind("text", None)
    except TypeError:
        return False
    except ValueError:                       # no signature (some builtins): call it with the text only
        return False
    return True


class TextDataset:
    """A Gluon-compatible dataset of (index frame, label) pairs, encoded on access.

    Parameters
    ----------
    texts : sequence of str
    labels : sequence of int
        0-based classes.
    transform : callable, optional
        Applied to each text before encoding (e.g. thesaurus augmentation). One that takes two
        arguments is called as ``transform(text, rng)`` with a ``numpy.random.RandomState`` seeded
        by (``seed``, epoch, row): the same draw with or without worker processes, and after a
        resume. One that takes one argument is called as ``transform(text)``.
    length : int, optional
        Frame length (default 1014).
    seed : int, optional
        The run's seed, for ``transform``.

    Examples
    --------
    >>> ds = TextDataset(["Hello", "world"], [0, 1])
    >>> frame, label = ds[1]
    >>> frame.shape, frame.dtype, label
    ((1014,), dtype('uint8'), 1)
    """

    def __init__(self, texts, labels, transform=None, length=FRAME_LENGTH, seed=0):
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        self.texts, self.labels = list(texts), np.asarray(labels, dtype=np.int32)
        self.transform, self.length, self.seed, self.epoch = transform, length, seed, 0
        self._seeded = transform is not None and _takes_two_arguments(transform)

    def set_epoch(self, epoch):
        """Which epoch the next items are for (``fit`` calls it before each epoch)."""
        self.epoch = epoch

    def __len__(self):
        return len(self.texts)

    def __getitem__(self, index):
        text = self.texts[index]
        if self._seeded:
            text = self.transform(text, np.random.RandomState([self.seed, self.epoch, int(index)]))
        elif self.transform is not None:
            text = self.transform(text)
        return encode(text, self.length)[0], self.labels[index]


def data_loader(dataset, batch_size, shuffle=False, num_workers=0, last_batch="keep", batchify_fn=None):
    """A Gluon ``DataLoader`` over a :class:`TextDataset`, optionally with worker processes.

    Parameters
    ----------
    dataset : TextDataset
    batch_size : int
    shuffle : bool, optional
    num_workers : int, optional
        Worker processes that encode batches while the model trains (default 0: in-process).
    last_batch : {"keep", "discard", "rollover"}, optional
        ``"keep"`` (default) so that evaluation counts every row.
    batchify_fn : callable, optional
        How samples become a batch (default: stack, as for fixed-length frames).

    Returns
    -------
    mxnet.gluon.data.DataLoader
        Yields ``(indices, labels)``: ``uint8`` (batch, 1014) and ``int32`` (batch,).
    """
    from mxnet import gluon

    return gluon.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, last_batch=last_batch,
                                 num_workers=num_workers, thread_pool=False, batchify_fn=batchify_fn)
