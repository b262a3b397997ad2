"""Word-level CNN plumbing: tokeniser, vocabulary, padded and bucketed batches, Kim's block."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import nd

from crepe.filters import corr1d
from crepe.words import WordCNN, WordDataset, build_vocab, tokenize, word_batchify, word_loader


def seven_word_example():
    """The sentence and filters of notebook 05, section 1."""
    rng = np.random.RandomState(1)
    sentence = rng.randint(-2, 3, size=(7, 5))
    filters = {w: rng.randint(-1, 2, size=(2, w, 5)) for w in (4, 3, 2)}
    return sentence, filters


def test_seven_word_sentence_gives_4_5_6_values_and_six_maxima():
    sentence, filters = seven_word_example()
    maps = [corr1d(sentence, kernel) for bank in filters.values() for kernel in bank]
    assert [len(m) for m in maps] == [4, 4, 5, 5, 6, 6]
    assert [int(m.max()) for m in maps] == [5, 8, 8, 5, 3, 6]


def test_convolutional_encoder_reproduces_the_seven_word_example():
    import gluonnlp as nlp

    sentence, filters = seven_word_example()
    encoder = nlp.model.ConvolutionalEncoder(embed_size=5, num_filters=(2, 2, 2), ngram_filter_sizes=(4, 3, 2),
                                             conv_layer_activation=None, num_highway=0, output_size=None)
    encoder.initialize()
    weights = [p for n, p in encoder.collect_params().items() if n.endswith("weight")]
    for parameter, bank in zip(weights, filters.values()):
        parameter.set_data(nd.array(bank.transpose(0, 2, 1)))
    for name, parameter in encoder.collect_params().items():
        if name.endswith("bias"):
            parameter.set_data(nd.zeros(parameter.shape))
    out = encoder(nd.array(sentence[:, np.newaxis, :])).asnumpy()[0]         # (time, batch, channels) in
    np.testing.assert_array_equal(out, [5, 8, 8, 5, 3, 6])


def test_tokenize_lower_cases_and_splits_punctuation():
    assert tokenize("Hello, World's END!") == ["hello", ",", "world's", "end", "!"]


def test_vocab_maps_unseen_words_to_unk():
    vocab = build_vocab(["the cat sat"])
    assert vocab["dog"] == vocab[vocab.unknown_token] == 0 and vocab["cat"] > 1


def test_word_dataset_pads_short_texts_to_the_widest_filter():
    vocab = build_vocab(["a b"])
    ids, _ = WordDataset(["a"], [0], vocab, min_length=5)[0]
    assert len(ids) == 5 and (ids[1:] == vocab[vocab.padding_token]).all()


def test_word_dataset_cuts_long_texts():
    vocab = build_vocab(["a"])
    assert len(WordDataset(["a " * 500], [0], vocab, max_length=50)[0][0]) == 50


def test_word_batchify_pads_to_the_longest():
    vocab = build_vocab(["a b c d e f g"])
    data = WordDataset(["a", "a b c d e f g"], [0, 1], vocab)
    tokens, labels = word_batchify(vocab)([data[0], data[1]])
    assert tokens.shape == (2, 7) and labels.asnumpy().tolist() == [0, 1]


def test_word_loader_buckets_by_length():
    vocab = build_vocab(["w " * 40])
    data = WordDataset(["w"] * 8 + ["w " * 40] * 8, [0] * 16, vocab)
    shapes = sorted(tokens.shape[1] for tokens, _ in word_loader(data, vocab, batch_size=8, num_buckets=2))
    assert shapes == [5, 40]


def test_word_cnn_classifies_a_padded_one_word_text():
    mx.random.seed(0)
    vocab = build_vocab(["a"])
    net = WordCNN(len(vocab), 3)
    net.initialize()
    ids, _ = WordDataset(["a"], [0], vocab)[0]
    assert net(nd.array(ids[np.newaxis])).shape == (1, 3)


def test_word_dataset_length_mismatch():
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        WordDataset(["a", "b"], [0], build_vocab(["a"]))


def test_word_cnn_scores_give_each_text_its_answer_alone():
    mx.random.seed(0)
    net = WordCNN(40, 4, embed_size=8, filters=6)
    net.initialize(mx.init.Uniform(1.0))
    texts = [[3, 4, 5, 6, 7], [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19], [20, 21, 22, 23, 24, 25, 26]]
    padded = nd.array([row + [1] * (12 - len(row)) for row in texts])              # (3, 12), 1 is <pad>
    alone = np.concatenate([net(nd.array([row])).asnumpy() for row in texts])      # (3, 4)
    np.testing.assert_allclose(net.scores(padded, [len(row) for row in texts]).asnumpy(), alone, atol=1e-5)


def test_word_cnn_scores_are_one_forward_pass_of_a_hybridised_network():
    net = WordCNN(40, 4, embed_size=8, filters=6)
    net.initialize()
    net.hybridize()
    passes = []
    net.embedding.register_forward_hook(lambda block, inputs, outputs: passes.append(inputs[0].shape[0]))
    assert net.scores(nd.ones((3, 9)), [5, 9, 7]).shape == (3, 4) and passes == [3]
