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
import hashlib
import io
import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from .quantise import FRAME_LENGTH, encode

__all__ = ["DataError", "AG_NEWS_CLASSES", "AG_NEWS", "AMAZON_CATEGORIES", "SAMPLE_DIR", "read_csv",
           "read_amazon_reviews", "download", "load_dataset", "TextDataset", "data_loader", "split"]

#: The bundled sample's folder (written by ``scripts/make_sample.py``).
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
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


class DataError(ValueError):
    """Input data that cannot be used; the message names the file and, where known, the line."""


def _decode(path, raw):
    """Decode bytes as UTF-8 (a BOM is dropped), naming the line of the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: not valid UTF-8 (byte {raw[error.start]:#04x} at offset "
                        f"{error.start}); save the file as UTF-8") from None


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
            raise DataError(f"{path}, line {line}: malformed CSV ({error})") from None
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
            raise DataError(f"{path}: damaged gzip file ({error}); delete it and download it again") from None
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


def sha256_of(path):
    """The SHA-256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url, path, sha256, timeout=30, progress=True, ssl_context=None):
    """Download ``url`` to ``path`` if it is not there yet, verified against ``sha256``.

    The transfer goes to a temporary file in the same folder, which is renamed to ``path`` only
    once its checksum matches: an interrupted or corrupt download never leaves a file that looks
    complete. An existing file is checked too, and replaced if it does not match.

    Parameters
    ----------
    url : str
        An ``https://`` address.
    path : str or Path
        Where the file belongs.
    sha256 : str
        The expected SHA-256 hex digest.
    timeout : float, optional
        Seconds without data before giving up (default 30).
    progress : bool, optional
        Show a tqdm progress bar (default True).
    ssl_context : ssl.SSLContext, optional
        Certificate checking to use instead of the system's (tests use a local server).

    Returns
    -------
    Path
        ``path``, verified.

    Raises
    ------
    DataError
        Not HTTPS, unreachable, an HTTP error, a timeout, or a checksum mismatch; the message says
        which URL to fetch by hand and where to put the file.
    """
    from tqdm import tqdm

    path = Path(path)
    if not url.startswith("https://"):
        raise DataError(f"refusing to download over an unencrypted connection: {url}")
    if path.is_file():
        if sha256_of(path) == sha256:
            return path
        raise DataError(f"{path} exists but its SHA-256 does not match the pinned checksum; delete it "
                        f"and run again, or fetch {url} by hand")
    by_hand = f"fetch {url} by hand (e.g. in a browser) and save it as {path}"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            try:
                response = urllib.request.urlopen(url, timeout=timeout, context=ssl_context)
            except urllib.error.HTTPError as error:
                raise DataError(f"{url}: HTTP {error.code} {error.reason}; {by_hand}") from None
            except (urllib.error.URLError, OSError) as error:
                reason = getattr(error, "reason", error)
                raise DataError(f"could not reach {url} ({reason}); {by_hand}") from None
            with response:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=path.name, disable=not progress) as bar:
                    while True:
                        try:
                            block = response.read(1 << 16)
                        except (OSError, ValueError) as error:
                            raise DataError(f"{url}: the transfer broke off ({error}); run again, or {by_hand}") from None
                        if not block:
                            break
                        out.write(block)
                        bar.update(len(block))
            if total is not None and out.tell() != total:
                raise DataError(f"{url}: the transfer was cut short ({out.tell()} of {total} bytes); run "
                                f"again, or {by_hand}")
        got = sha256_of(temporary)
        if got != sha256:
            raise DataError(f"{url}: the download's SHA-256 is {got}, expected {sha256}; the file was "
                            f"discarded. Run again, or {by_hand}")
        os.replace(temporary, path)
        return path
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def load_dataset(name, cache=None, download_missing=True, amazon_limit=5000):
    """Load a data set by name, as the command line names them.

    Parameters
    ----------
    name : str
        ``"sample"`` (bundled, the default everywhere), ``"ag_news"`` (downloaded and verified into
        the cache), ``"amazon"`` (McAuley files placed in ``<cache>/amazon/``), or ``"csv:PATH"``
        (a training CSV in the AG News layout; a ``test.csv`` beside a ``train.csv`` is used too).
    cache : str or Path, optional
        The download cache (default ``data/cache``, or ``$CREPE_DATA``).
    download_missing : bool, optional
        Fetch AG News if it is missing (default True).
    amazon_limit : int, optional
        Reviews per Amazon category (default 5000).

    Returns
    -------
    dict
        ``train`` and ``test``: (texts, labels) pairs (``test`` may be None for a lone CSV), and
        ``classes``: the class names.

    Examples
    --------
    >>> data = load_dataset("sample")
    >>> data["classes"], len(data["train"][0]), len(data["test"][0])
    (('World', 'Sports', 'Business', 'Sci/Tech'), 2400, 400)
    """
    cache = Path(cache) if cache else DEFAULT_CACHE
    if name == "sample":
        classes = tuple((SAMPLE_DIR / "classes.txt").read_text(encoding="utf-8").splitlines())
        return {"classes": classes,
                **{part: read_csv(SAMPLE_DIR / f"{part}.csv", len(classes))[:2] for part in ("train", "test")}}
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
        return {"classes": tuple(f"class {i + 1}" for i in range(count)), "train": train, "test": test}
    raise DataError(f"unknown dataset {name!r}: use sample, ag_news, amazon or csv:PATH")


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


class TextDataset:
    """A Gluon-compatible dataset of (index frame, label) pairs, encoded on access.

    Parameters
    ----------
    texts : sequence of str
    labels : sequence of int
        0-based classes.
    transform : callable, optional
        Applied to each text before encoding (e.g. thesaurus augmentation).
    length : int, optional
        Frame length (default 1014).

    Examples
    --------
    >>> ds = TextDataset(["Hello", "world"], [0, 1])
    >>> frame, label = ds[1]
    >>> frame.shape, frame.dtype, label
    ((1014,), dtype('uint8'), 1)
    """

    def __init__(self, texts, labels, transform=None, length=FRAME_LENGTH):
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        self.texts, self.labels = list(texts), np.asarray(labels, dtype=np.int32)
        self.transform, self.length = transform, length

    def __len__(self):
        return len(self.texts)

    def __getitem__(self, index):
        text = self.texts[index]
        if self.transform is not None:
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
