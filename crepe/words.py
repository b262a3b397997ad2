"""Word-level CNN (Kim 2014) with gluonnlp: tokeniser, vocabulary, padded batches, the model.

The teaching (the 7-word sentence worked by hand, the comparison with Crepe) is in notebook 05;
this module holds what the notebook and its tests reuse.

``gluonnlp.model.ConvolutionalEncoder`` is Kim's block: parallel convolutions of several widths,
max-over-time pooling, concatenation. It takes (time, batch, channels), and a sequence shorter
than its widest filter makes MXNet fail, so :class:`WordDataset` pads every text to at least
``min_length`` tokens.

Padding a batch to its longest text adds windows of padding, and max-over-time pooling may pick one of
them: a text's answer would then depend on the other texts of its batch. Training lives with that (the
buckets keep lengths close), but answers must not: :meth:`WordCNN.scores` takes each text's maximum over
its own windows only, so a batch of any mix of lengths is still one forward pass.
"""
import re

import mxnet as mx  # noqa: F401  (the doctests use it)
import numpy as np
from mxnet import gluon

__all__ = ["tokenize", "build_vocab", "WordDataset", "word_batchify", "word_loader", "WordCNN"]

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


def tokenize(text):
    """Lower-cased words, numbers and single punctuation marks.

    Examples
    --------
    >>> tokenize("Fed's rate cut: Dow up 2%!")
    ["fed's", 'rate', 'cut', ':', 'dow', 'up', '2', '%', '!']
    """
    return _TOKEN.findall(text.lower())


def build_vocab(texts, min_freq=1, max_size=None):
    """A ``gluonnlp.Vocab`` over the tokens of ``texts`` (with ``<unk>`` and ``<pad>``).

    Examples
    --------
    >>> vocab = build_vocab(["a cat", "a dog"])
    >>> len(vocab), vocab["a"] > 0, vocab["zebra"] == vocab[vocab.unknown_token]
    (5, True, True)
    """
    import gluonnlp as nlp

    counter = None
    for text in texts:
        counter = nlp.data.count_tokens(tokenize(text), counter=counter)
    return nlp.Vocab(counter, min_freq=min_freq, max_size=max_size, bos_token=None, eos_token=None)


class WordDataset:
    """(token ids, label) pairs; every text padded to at least ``min_length`` tokens.

    Parameters
    ----------
    texts, labels : sequences
    vocab : gluonnlp.Vocab
    min_length : int, optional
        At least the widest filter of the model (default 5).
    max_length : int, optional
        Longer texts are cut (default 200 tokens).

    Examples
    --------
    >>> vocab = build_vocab(["a cat"])
    >>> ids, label = WordDataset(["a cat"], [1], vocab)[0]
    >>> ids.tolist(), label
    ([2, 3, 1, 1, 1], 1)
    """

    def __init__(self, texts, labels, vocab, min_length=5, max_length=200):
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        self.vocab = vocab
        pad = vocab[vocab.padding_token]
        self.items = []
        for text in texts:
            ids = vocab[tokenize(text)[:max_length]]
            self.items.append(np.array(ids + [pad] * (min_length - len(ids)), dtype=np.int32))
        self.labels = np.asarray(labels, dtype=np.int32)
        self.lengths = [len(ids) for ids in self.items]

    #: Token ids have no fixed length (Crepe's frames do).
    length = None

    @property
    def batchify_fn(self):
        """Pads the token ids of a batch to its longest text (see :func:`word_batchify`)."""
        return word_batchify(self.vocab)

    def set_epoch(self, epoch):
        """Nothing changes between epochs: word augmentation is drawn once, when the set is built."""

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index], self.labels[index]


def word_batchify(vocab):
    """Pad token ids to the longest in the batch and stack the labels."""
    import gluonnlp as nlp

    return nlp.data.batchify.Tuple(nlp.data.batchify.Pad(axis=0, pad_val=vocab[vocab.padding_token], ret_length=False),
                                   nlp.data.batchify.Stack())


def word_loader(dataset, vocab, batch_size, shuffle=False, num_buckets=5):
    """A DataLoader whose batches group texts of similar length (``FixedBucketSampler``).

    Examples
    --------
    >>> vocab = build_vocab(["a b c d e f g h"])
    >>> data = WordDataset(["a", "a b c d e f g h"] * 4, [0, 1] * 4, vocab)
    >>> sorted(x.shape[1] for x, _ in word_loader(data, vocab, batch_size=4, num_buckets=2))
    [5, 8]
    """
    import gluonnlp as nlp

    sampler = nlp.data.FixedBucketSampler(dataset.lengths, batch_size=batch_size, num_buckets=num_buckets,
                                          shuffle=shuffle)
    return gluon.data.DataLoader(dataset, batch_sampler=sampler, batchify_fn=word_batchify(vocab))


class WordCNN(gluon.HybridBlock):
    """Kim's sentence CNN: embedding, parallel convolutions, max-over-time, dropout, dense.

    Parameters
    ----------
    vocab_size : int
    num_classes : int
    embed_size : int, optional
        Word vector size (default 100).
    widths : tuple of int, optional
        Filter widths in words (default (3, 4, 5)).
    filters : int, optional
        Filters per width (default 100).
    dropout : float, optional
        Before the classifier (default 0.5).
    vocab : gluonnlp.Vocab, optional
        The vocabulary whose ids the network reads; training, prediction and the model directory
        need it (:func:`crepe.make_dataset`, :func:`crepe.predict`).

    Examples
    --------
    >>> net = WordCNN(50, 4); net.initialize()
    >>> net(mx.nd.ones((2, 9))).shape
    (2, 4)
    """

    #: The registry entry that builds, feeds and keeps this network (crepe.families).
    family = "word"
    #: Pooling takes at least this for a window of another text's padding, so that it never wins.
    MASKED = -1e30

    def __init__(self, vocab_size, num_classes, embed_size=100, widths=(3, 4, 5), filters=100, dropout=0.5,
                 vocab=None, **kwargs):
        import gluonnlp as nlp

        super().__init__(**kwargs)
        if vocab is not None and len(vocab) != vocab_size:
            raise ValueError(f"vocab_size is {vocab_size} but the vocabulary has {len(vocab)} entries")
        self.num_classes, self.embed_size, self.vocab = num_classes, embed_size, vocab
        with self.name_scope():
            self.embedding = gluon.nn.Embedding(vocab_size, embed_size)
            self.encoder = nlp.model.ConvolutionalEncoder(
                embed_size=embed_size, num_filters=(filters,) * len(widths), ngram_filter_sizes=tuple(widths),
                conv_layer_activation="relu", num_highway=0, output_size=None)
            self.dropout = gluon.nn.Dropout(dropout)
            self.output = gluon.nn.Dense(num_classes, in_units=filters * len(widths))

    def hybrid_forward(self, F, tokens):
        x = self.embedding(tokens)                              # (N, T, E)
        x = self.encoder(F.transpose(x, axes=(1, 0, 2)))        # encoder wants (T, N, E) -> (N, filters * widths)
        return self.output(self.dropout(x))                     # (N, classes)

    def scores(self, tokens, lengths):
        """Class scores (N, classes), each text pooled over its own ``lengths[i]`` tokens only.

        The same numbers as ``self(tokens[i:i+1, :lengths[i]])`` for each text alone, in one forward pass
        (prediction only: no dropout, no graph of its own).

        Parameters
        ----------
        tokens : NDArray
            (N, T) token ids, each row padded to the batch's longest.
        lengths : sequence of int
            Each text's own length, at least the widest filter (:class:`WordDataset` pads to that).

        Examples
        --------
        >>> net = WordCNN(50, 3); net.initialize()
        >>> short, long = mx.nd.array([[4, 5, 6, 7, 8]]), mx.nd.array([[9] * 12])
        >>> both = mx.nd.concat(mx.nd.concat(short, mx.nd.ones((1, 7)), dim=1), long, dim=0)   # (2, 12)
        >>> bool(abs(net.scores(both, [5, 12])[0] - net(short)[0]).max() < 1e-5)
        True
        """
        x = self.embedding(tokens).transpose((0, 2, 1))                         # (N, E, T)
        windows_of = mx.nd.array(lengths, ctx=tokens.context)                    # (N,)
        pooled = []
        for branch in self.encoder._convs._children.values():                   # one per filter width
            conv, activation = branch[0], branch[2]
            y = conv(x).transpose((2, 0, 1))                                     # (T - width + 1, N, filters)
            windows = windows_of - (conv._kwargs["kernel"][0] - 1)               # (N,) windows inside each text
            y = mx.nd.SequenceMask(y, sequence_length=windows, use_sequence_length=True, value=self.MASKED)
            pooled.append(activation(y.max(axis=0)))                             # (N, filters)
        return self.output(mx.nd.concat(*pooled, dim=1))                         # (N, classes)
