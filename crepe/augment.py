"""Thesaurus augmentation, the paper's "Th." models: replace some words by synonyms.

Zhang et al. (2015) drew the number of words to replace, *r*, and for each word the rank *s* of the
synonym to use from geometric distributions, P[r] ~ p^r and P[s] ~ q^s, with p = q = 0.5: usually one
or two words change, usually to the first-ranked synonym. The paper ranks a word's synonyms by how
close in meaning they are to its most frequently seen meaning; MyThes lists the meanings in that
order, and :func:`load_mythes` keeps the file's order. Their thesaurus came from LibreOffice's
MyThes files; :func:`load_mythes` reads that format, including a full ``th_en_US_v2.dat`` (Debian's
``mythes-en-us`` package installs one under ``/usr/share/mythes/``).

MyThes ``.dat`` layout: the first line names the encoding; then for each entry a line
``word|number of meanings`` followed by that many lines ``(part of speech)|synonym|synonym|...``.
LibreOffice's files annotate some entries, e.g. ``fast (similar term)`` or ``slow (antonym)``: the
annotation is dropped, and antonyms are left out altogether.
"""
import re
from pathlib import Path

import numpy as np

from .data import DataError

__all__ = ["load_mythes", "Augmenter", "Typos", "WordDropout", "Chain", "augmentation", "from_settings",
           "default_augmentation", "SAMPLE_THESAURUS", "WORKSHOP_TYPO_RATE", "WORKSHOP_WORD_DROPOUT"]

#: A small thesaurus written for the bundled sample (news words), in MyThes format.
SAMPLE_THESAURUS = Path(__file__).resolve().parents[1] / "data" / "thesaurus" / "sample_th.dat"
#: Typo rate of the workshop Crepe's training data (``--typos``), measured in benchmarks/README.md.
WORKSHOP_TYPO_RATE = 0.1
#: Share of words the workshop Crepe's training data leaves out (``--word-dropout``), measured likewise.
WORKSHOP_WORD_DROPOUT = 0.2
_ANNOTATION = re.compile(r"\s*\([^)]*\)\s*$")
_WORD = re.compile(r"[^\W_]+")          # letters and digits, as Lua's %w+ in the original


def load_mythes(path):
    """Read a MyThes ``.dat`` thesaurus.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    dict
        Lower-case word -> list of synonyms, meanings flattened in file order, with annotations
        stripped, antonyms, duplicates and the word itself removed.

    Raises
    ------
    DataError
        A missing file, an unknown encoding, or a malformed entry, naming the file and line.

    Examples
    --------
    >>> thesaurus = load_mythes(SAMPLE_THESAURUS)
    >>> thesaurus["won"][:2]
    ['defeated', 'beat']
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    raw = path.read_bytes()
    header, _, body = raw.partition(b"\n")
    encoding = header.decode("ascii", "replace").strip() or "utf-8"
    try:
        lines = body.decode(encoding).splitlines()
    except LookupError:
        raise DataError(f"{path}, line 1: unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as error:
        line = body[:error.start].count(b"\n") + 2
        raise DataError(f"{path}, line {line}: not valid {encoding}") from error
    thesaurus, number = {}, 0
    while number < len(lines):
        line = lines[number]
        number += 1
        if not line.strip():
            continue
        word, _, count = line.rpartition("|")
        if not word or not count.strip().isdigit():
            raise DataError(f"{path}, line {number + 1}: expected 'word|number of meanings', got {line[:60]!r}")
        synonyms = []
        for _ in range(int(count)):
            if number >= len(lines):
                raise DataError(f"{path}, line {number + 1}: the file ends inside the entry for {word!r}")
            fields = lines[number].split("|")
            number += 1
            for synonym in fields[1:]:
                if "(antonym)" in synonym:                    # LibreOffice lists opposites too: never use them
                    continue
                synonym = _ANNOTATION.sub("", synonym).strip()  # "fast (similar term)" -> "fast"
                if synonym:
                    synonyms.append(synonym)
        key = word.strip().lower()
        seen = {key}
        thesaurus[key] = [s for s in synonyms if not (s.lower() in seen or seen.add(s.lower()))]
    return thesaurus


class Augmenter:
    """Replace words by synonyms with the paper's geometric scheme; use as ``TextDataset(transform=...)``.

    Parameters
    ----------
    thesaurus : dict
        Lower-case word -> synonyms, ranked: the closest to the word's most frequent meaning first
        (see :func:`load_mythes`).
    p : float, optional
        Parameter of the geometric number of replacements (default 0.5).
    q : float, optional
        Parameter of the geometric synonym rank (default 0.5).
    seed : int, optional
        Makes the sequence of augmented texts reproducible when no ``rng`` is passed.

    Examples
    --------
    >>> augment = Augmenter({"quick": ["fast", "swift"], "dog": ["hound"]}, seed=1)
    >>> augment("The quick brown fox jumps over the lazy dog")
    'The quick brown fox jumps over the lazy hound'
    """

    def __init__(self, thesaurus, p=0.5, q=0.5, seed=0):
        for name, value in (("p", p), ("q", q)):
            if not 0 < value <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {value}")
        self.thesaurus = {k: v for k, v in thesaurus.items() if v}
        self.p, self.q = p, q
        self.random = np.random.RandomState(seed)

    def __call__(self, text, rng=None):
        """``text`` with synonyms; ``rng`` (a RandomState) makes the draw depend on it alone.

        ``TextDataset`` passes one seeded by (seed, epoch, row), so augmentation is the same with
        or without worker processes and after a resume.
        """
        random = rng if rng is not None else self.random
        spans = [m for m in _WORD.finditer(text) if m.group().lower() in self.thesaurus]
        if not spans:
            return text
        count = min(int(random.geometric(self.p)), len(spans))
        chosen = sorted(random.choice(len(spans), size=count, replace=False))
        pieces, last = [], 0
        for index in chosen:
            match = spans[index]
            synonyms = self.thesaurus[match.group().lower()]
            rank = min(int(random.geometric(self.q)) - 1, len(synonyms) - 1)
            replacement = synonyms[rank]
            if match.group()[0].isupper():
                replacement = replacement[0].upper() + replacement[1:]
            pieces += [text[last:match.start()], replacement]
            last = match.end()
        return "".join(pieces) + text[last:]


class Typos:
    """Character noise: delete or replace a small share of characters; use as ``TextDataset(transform=...)``.

    Each character is deleted with probability ``rate / 2`` and replaced by a random lower-case letter
    with probability ``rate / 2``. A character CNN trained on a few thousand rows learns them by heart;
    seeing every text slightly misspelled in each epoch makes that harder (measured in
    ``benchmarks/README.md``), and it is the kind of noise real text has.

    Parameters
    ----------
    rate : float, optional
        Share of characters touched (default 0.05; the workshop Crepe trains with ``WORKSHOP_TYPO_RATE``).
    seed : int, optional
        Makes the sequence reproducible when no ``rng`` is passed.

    Examples
    --------
    >>> Typos(0.2, seed=3)("the quick brown fox")
    'the qulc rown ox'
    """

    LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))

    def __init__(self, rate=0.05, seed=0):
        if not 0 <= rate <= 1:
            raise ValueError(f"rate must be in [0, 1], got {rate}")
        self.rate = rate
        self.random = np.random.RandomState(seed)

    def __repr__(self):
        return f"Typos({self.rate:g})"

    def __call__(self, text, rng=None):
        """``text`` with typos; ``rng`` (a RandomState) makes the draw depend on it alone."""
        random = rng if rng is not None else self.random
        draws = random.rand(len(text))
        letters = self.LETTERS[random.randint(len(self.LETTERS), size=len(text))]
        chars = np.array(list(text), dtype=object)
        replace = (draws >= self.rate / 2) & (draws < self.rate)
        chars[replace] = letters[replace]
        return "".join(chars[draws >= self.rate / 2])


class WordDropout:
    """Word noise: leave out each word (a run of characters between spaces) with probability ``rate``.

    A headline still reads as its topic with a word or two missing, but the network can no longer
    rely on any single word being there. At least one word is always kept.

    Parameters
    ----------
    rate : float, optional
        Share of words left out (default 0.1; the workshop Crepe trains with ``WORKSHOP_WORD_DROPOUT``).
    seed : int, optional
        Makes the sequence reproducible when no ``rng`` is passed.

    Examples
    --------
    >>> WordDropout(0.2, seed=2)("stocks fell sharply on wall street today")
    'stocks sharply on wall street today'
    """

    def __init__(self, rate=0.1, seed=0):
        if not 0 <= rate < 1:
            raise ValueError(f"rate must be in [0, 1), got {rate}")
        self.rate = rate
        self.random = np.random.RandomState(seed)

    def __repr__(self):
        return f"WordDropout({self.rate:g})"

    def __call__(self, text, rng=None):
        """``text`` with some words left out; ``rng`` (a RandomState) makes the draw depend on it alone."""
        random = rng if rng is not None else self.random
        words = [word for word in text.split(" ") if word]       # runs of spaces count as one
        if not words:
            return text
        keep = random.rand(len(words)) >= self.rate
        if not keep.any():
            keep[random.randint(len(words))] = True
        return " ".join(word for word, kept in zip(words, keep) if kept)


class Chain:
    """Apply several transforms in turn, passing each the same ``rng``.

    Examples
    --------
    >>> chain = Chain(Augmenter({"won": ["beat"]}), Typos(0.0))
    >>> chain("Ann won", np.random.RandomState(0))
    'Ann beat'
    """

    def __init__(self, *transforms):
        self.transforms = transforms

    def __repr__(self):
        return f"Chain({', '.join(map(repr, self.transforms))})"

    def __call__(self, text, rng=None):
        for transform in self.transforms:
            text = transform(text, rng)
        return text


def augmentation(thesaurus=None, word_dropout=0.0, typos=0.0, seed=0):
    """The training transform: synonyms from ``thesaurus`` (a MyThes ``.dat`` path), then words left out,
    then typos; each part only when asked for, None when nothing is.

    Examples
    --------
    >>> augmentation(word_dropout=0.2, typos=0.1)
    Chain(WordDropout(0.2), Typos(0.1))
    >>> augmentation() is None
    True
    """
    transforms = [Augmenter(load_mythes(thesaurus), seed=seed)] if thesaurus else []
    transforms += [WordDropout(word_dropout, seed=seed)] if word_dropout else []
    transforms += [Typos(typos, seed=seed + 1)] if typos else []
    return Chain(*transforms) if transforms else None


def from_settings(settings):
    """The transform a :class:`crepe.settings.TrainSettings` asks for (see :func:`augmentation`)."""
    return augmentation(settings.thesaurus, settings.word_dropout, settings.typos, settings.seed)


def default_augmentation(seed=0):
    """The workshop Crepe's training transform: words left out, then typos.

    ``augmentation(word_dropout=WORKSHOP_WORD_DROPOUT, typos=WORKSHOP_TYPO_RATE)``: what ``python -m
    crepe train`` uses for the workshop Crepe unless told otherwise.

    Examples
    --------
    >>> default_augmentation()
    Chain(WordDropout(0.2), Typos(0.1))
    >>> default_augmentation()("Oil prices rose again on Monday", np.random.RandomState(0))
    'Oil pricbhrose again on Monay'
    """
    return augmentation(word_dropout=WORKSHOP_WORD_DROPOUT, typos=WORKSHOP_TYPO_RATE, seed=seed)
