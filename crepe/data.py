"""Data sets by name (the bundled sample, AG News, Amazon product categories, any CSV) and the
dataset that feeds them to Crepe.

The files are parsed by :mod:`crepe.readers`. AG News is downloaded and checked against a pinned
SHA-256 (:mod:`crepe.download`); its text keeps the corpus's quirks (``#39;``-style entity residue,
backslashes where line breaks were), as the paper's models saw it.
"""
import os
from pathlib import Path

import numpy as np

from .download import download
from .errors import DataError
from .quantise import FRAME_LENGTH, encode
from .readers import read_amazon_reviews, read_classes, read_csv

__all__ = ["AG_NEWS_CLASSES", "AG_NEWS", "AMAZON_CATEGORIES", "SAMPLE_DIR", "drop_overlap", "load_evaluation_set",
           "default_cache", "load_dataset", "TextDataset", "data_loader", "split", "takes_two_arguments"]

#: The bundled sample's folder (written by ``scripts/make_sample.py``).
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
#: Short product reviews, negative or positive, also written by the project (scripts/make_sentiment.py).
SENTIMENT_DIR = SAMPLE_DIR.parent / "sentiment"
BUNDLED = {"sample": SAMPLE_DIR, "sentiment": SENTIMENT_DIR}
#: Where downloads are cached unless ``CREPE_DATA`` names another folder (see :func:`default_cache`).
CACHE_DIR = Path(__file__).resolve().parents[1] / "data" / "cache"

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


def default_cache():
    """The download cache: ``$CREPE_DATA`` when set (read at each call), else ``data/cache``.

    Examples
    --------
    >>> os.environ["CREPE_DATA"] = "/tmp/elsewhere"; str(default_cache())
    '/tmp/elsewhere'
    >>> del os.environ["CREPE_DATA"]; default_cache() == CACHE_DIR
    True
    """
    return Path(os.environ.get("CREPE_DATA") or CACHE_DIR)


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
        The download cache (default :func:`default_cache`).
    download_missing : bool, optional
        Fetch AG News if it is missing (default True).
    amazon_limit : int, optional
        Reviews per Amazon category (default 5000).

    Returns
    -------
    dict
        ``train`` and ``test``: (texts, labels) pairs (``test`` may be None for a lone CSV),
        ``classes``: the class names, and for ``csv:`` ``overlap`` (training rows dropped because
        the test file holds the same text) and ``source`` (the training file's path).

    Examples
    --------
    >>> data = load_dataset("sample")
    >>> data["classes"], len(data["train"][0]), len(data["test"][0])
    (('World', 'Sports', 'Business', 'Sci/Tech'), 2400, 400)
    """
    cache = Path(cache) if cache else default_cache()
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
        return {"classes": classes, "train": train, "test": test, "overlap": overlap, "source": path}
    raise DataError(f"unknown dataset {name!r}: use sample, sentiment, ag_news, amazon or csv:PATH")


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


def takes_two_arguments(function):
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
        self._seeded = transform is not None and takes_two_arguments(transform)

    #: Samples are fixed-length frames: MXNet's default stacking makes the batch.
    batchify_fn = None

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
