"""The registry of model families: Crepe and the word CNN, and how each is built, fed and kept.

Everything that differs between the families goes through one :class:`Family` entry of
:data:`FAMILIES`: building a new network, what ``config.json`` records about it and rebuilding it
from there, the dataset and input encoding it reads, the files it keeps beside its weights, how it
is hybridised and exported, and its default epochs and augmentation. A network names its family in
the class attribute ``family``. Adding a third family means a new module for the network and one
entry here.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import CheckpointError

__all__ = ["Family", "ModelSpec", "FAMILIES", "WORKSHOP_EPOCHS", "family_of", "make_dataset", "hybridize"]

#: Default epochs of the small workshop Crepe: 40 epochs of ag_dev's 3,580 rows take about 9 minutes on
#: 2 cores (a step costs little); every other network defaults to 10.
WORKSHOP_EPOCHS = 40


@dataclass(frozen=True)
class ModelSpec:
    """Which network to build: a family, and for Crepe the architecture and size."""
    family: str = "crepe"
    arch: str = "workshop"
    size: str = "small"


@dataclass(frozen=True)
class Family:
    """One kind of network the workshop trains (see the module docstring)."""
    name: str
    new: Callable            # (spec, classes, training texts) -> untrained network
    describe: Callable       # network -> "Crepe small (workshop)"
    config: Callable         # network -> the family's fields of config.json
    check_config: Callable   # (directory, config) -> None, or CheckpointError naming the field
    rebuild: Callable        # (config, directory) -> untrained network
    save_extra: Callable     # (network, directory) -> None: files kept beside the weights
    dataset: Callable        # (network, texts, labels, transform, seed, training) -> dataset
    check_dataset: Callable  # (network, dataset) -> None, or ValueError in one sentence
    inputs: Callable         # (network, texts) -> NDArray batch the network reads
    scores: Callable         # (network, texts, context) -> NDArray (N, classes): one forward pass, each
                             # text's scores independent of the others in its batch
    example: Callable        # context -> an input batch of one, to build the graph for export
    defaults: Callable       # spec -> {"epochs", "typos", "word_dropout"}
    static_shape: bool       # every input has the same shape (fixed frames), so hybridise statically
    files: tuple = ()        # extra files a run writes, removed by --overwrite


# ----------------------------------------------------------------------------- Crepe


def _crepe_new(spec, classes, texts):
    from .model import ARCHITECTURES, Crepe

    architecture = dict(ARCHITECTURES[spec.arch])
    if spec.size == "large":
        architecture.pop("filters", None)          # the workshop's narrower maps are for the small network
    return Crepe(len(classes), size=spec.size, **architecture)


def _crepe_describe(net):
    from .architectures import ARCHITECTURES

    name = next((key for key, value in ARCHITECTURES.items() if value == net.architecture), "custom")
    return f"Crepe {net.size} ({name})"


def _crepe_config(net):
    from .quantise import ALPHABET, FRAME_LENGTH

    return {"size": net.size, "architecture": net.architecture, "frame_length": FRAME_LENGTH, "alphabet": ALPHABET}


def _crepe_check_config(directory, config):
    from .architectures import ARCHITECTURES, architecture_problem
    from .quantise import ALPHABET, FRAME_LENGTH

    if config.get("alphabet") != ALPHABET or config.get("frame_length") != FRAME_LENGTH:
        raise CheckpointError(f"{directory} was trained with a different alphabet or frame length")
    if config.get("size") not in ("small", "large"):
        raise CheckpointError(f"{directory}/config.json: unknown size {config.get('size')!r}")
    problem = architecture_problem(config.setdefault("architecture", ARCHITECTURES["paper"]))
    if problem:
        raise CheckpointError(f"{directory}/config.json: an architecture this version cannot build ({problem})")


def _crepe_rebuild(config, directory):
    from .model import Crepe

    return Crepe(len(config["classes"]), size=config["size"], **config["architecture"])


def _crepe_dataset(net, texts, labels, transform, seed, training):
    from .data import TextDataset
    from .model import training_length
    from .quantise import FRAME_LENGTH

    length = training_length(net) if training else FRAME_LENGTH
    return TextDataset(texts, labels, transform=transform, seed=seed, length=length)


def _crepe_check_dataset(net, dataset):
    from .data import TextDataset
    from .model import reads_length

    if not isinstance(dataset, TextDataset):
        raise ValueError(f"Crepe reads character frames, not {type(dataset).__name__}; build the data with "
                         "crepe.make_dataset(net, texts, labels)")
    if not reads_length(net, dataset.length):
        raise ValueError(f"this dataset has {dataset.length}-column frames, but {_crepe_describe(net)} reads "
                         f"only 1014; build it for this network with crepe.make_dataset(net, texts, labels)")


def _crepe_inputs(net, texts):
    import mxnet as mx

    from .quantise import encode

    return mx.nd.array(encode(texts), dtype="uint8")                      # (N, 1014)


def _crepe_scores(net, texts, ctx):
    return net(_crepe_inputs(net, texts).as_in_context(ctx))                # (N, classes)


def _crepe_example(ctx):
    import mxnet as mx

    from .quantise import FRAME_LENGTH

    return mx.nd.zeros((1, FRAME_LENGTH), ctx=ctx, dtype="uint8")


def _crepe_defaults(spec):
    from .augment import WORKSHOP_TYPO_RATE, WORKSHOP_WORD_DROPOUT

    workshop = spec.arch == "workshop"
    return {"epochs": WORKSHOP_EPOCHS if workshop and spec.size == "small" else 10,
            "typos": WORKSHOP_TYPO_RATE if workshop else 0.0,
            "word_dropout": WORKSHOP_WORD_DROPOUT if workshop else 0.0}


# ----------------------------------------------------------------------------- the word CNN

VOCABULARY = "vocab.json"


def _word_new(spec, classes, texts):
    from .words import WordCNN, build_vocab

    vocab = build_vocab(texts)
    return WordCNN(len(vocab), len(classes), vocab=vocab)


def _word_rebuild(config, directory):
    import gluonnlp as nlp

    from .words import WordCNN

    path = Path(directory) / VOCABULARY
    try:
        vocab = nlp.Vocab.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing (a word model needs its vocabulary)") from None
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path}: not a vocabulary file ({str(error)[:120]})") from None
    return WordCNN(len(vocab), len(config["classes"]), embed_size=int(config.get("embed_size", 100)), vocab=vocab)


def _word_save_extra(net, directory):
    from .files import atomic_write

    atomic_write(Path(directory) / VOCABULARY,
                 lambda temporary: Path(temporary).write_text(net.vocab.to_json(), encoding="utf-8"))


def _word_dataset(net, texts, labels, transform, seed, training):
    import numpy as np

    from .data import takes_two_arguments
    from .words import WordDataset

    if transform is not None:        # words: augmented once, each row with its own seeded draw
        seeded = takes_two_arguments(transform)
        texts = [transform(text, np.random.RandomState([seed, 0, i])) if seeded else transform(text)
                 for i, text in enumerate(texts)]
    return WordDataset(texts, labels, net.vocab)


def _word_check_dataset(net, dataset):
    from .words import WordDataset

    if net.vocab is None:
        raise ValueError("this word CNN has no vocabulary: build it with WordCNN(len(vocab), classes, vocab=vocab)")
    same = isinstance(dataset, WordDataset) and (dataset.vocab is net.vocab
                                                 or dataset.vocab.idx_to_token == net.vocab.idx_to_token)
    if not same:
        raise ValueError("the word CNN reads token ids of its own vocabulary; build the data with "
                         "crepe.make_dataset(net, texts, labels)")


def _word_inputs(net, texts):
    from .words import WordDataset

    dataset = WordDataset(texts, [0] * len(texts), net.vocab)
    ids, _ = dataset.batchify_fn([dataset[i] for i in range(len(texts))])
    return ids                                                              # (N, tokens)


def _word_scores(net, texts, ctx):
    from .words import WordDataset

    dataset = WordDataset(texts, [0] * len(texts), net.vocab)
    ids, _ = dataset.batchify_fn([dataset[i] for i in range(len(texts))])  # (N, longest)
    return net.scores(ids.as_in_context(ctx), dataset.lengths)              # (N, classes)


def _word_example(ctx):
    import mxnet as mx

    return mx.nd.ones((1, 8), ctx=ctx)


FAMILIES = {
    "crepe": Family("crepe", _crepe_new, _crepe_describe, _crepe_config, _crepe_check_config, _crepe_rebuild,
                    lambda net, directory: None, _crepe_dataset, _crepe_check_dataset, _crepe_inputs,
                    _crepe_scores, _crepe_example, _crepe_defaults, static_shape=True),
    "word": Family("word", _word_new, lambda net: "word CNN",
                   lambda net: {"embed_size": net.embed_size, "vocabulary": VOCABULARY},
                   lambda directory, config: None, _word_rebuild, _word_save_extra, _word_dataset,
                   _word_check_dataset, _word_inputs, _word_scores, _word_example,
                   lambda spec: {"epochs": 10, "typos": 0.0, "word_dropout": 0.0}, static_shape=False,
                   files=(VOCABULARY,)),
}


def family_of(net):
    """The :class:`Family` entry of a network, by its class attribute ``family``.

    Examples
    --------
    >>> from crepe.model import Crepe
    >>> family_of(Crepe(4)).name
    'crepe'
    """
    name = getattr(type(net), "family", None)
    if name not in FAMILIES:
        raise TypeError(f"{type(net).__name__} is not a model family of this workshop ({', '.join(FAMILIES)}); "
                        "give its class a `family` attribute and an entry in crepe.families.FAMILIES")
    return FAMILIES[name]


def make_dataset(net, texts, labels, transform=None, seed=0, training=False):
    """The dataset that feeds ``net``: index frames for Crepe, token ids for the word CNN.

    Parameters
    ----------
    net : Crepe or WordCNN
    texts, labels : sequences
    transform : callable, optional
        Training augmentation (see :class:`crepe.data.TextDataset`).
    seed : int, optional
        The run's seed, for ``transform``.
    training : bool, optional
        A training set: Crepe then gets frames of ``crepe.model.training_length(net)`` columns (512
        for the max-over-time head, which reads any length); otherwise, and for evaluation, 1014.

    Returns
    -------
    TextDataset or WordDataset
        Its ``batchify_fn`` says how its samples become a batch.

    Examples
    --------
    >>> from crepe.model import ARCHITECTURES, Crepe
    >>> make_dataset(Crepe(4, **ARCHITECTURES["workshop"]), ["a text"], [0], training=True).length
    512
    """
    return family_of(net).dataset(net, texts, labels, transform, seed, training)


def hybridize(net):
    """Hybridise ``net`` for speed: statically for fixed-shape frames, dynamically for token ids."""
    net.hybridize(static_alloc=True, static_shape=family_of(net).static_shape)
    return net
