"""Word index and encoding: frequency order, the num_words cap, <pad>/<unk>, truncation and padding."""

import numpy as np

from lstmtext.config import VocabConfig
from lstmtext.encoding.encoder import TextEncoder
from lstmtext.encoding.vocab import PAD_ID, UNK_ID, Vocab
from lstmtext.preprocess import Pipeline


def test_vocab_orders_by_frequency_then_first_seen():
    vocab = Vocab.build([["b", "a", "a"], ["c", "b", "d"]])
    assert vocab.itos == ["<pad>", "<unk>", "b", "a", "c", "d"]


def test_num_words_counts_pad_and_unk():
    vocab = Vocab.build([["a", "a", "b", "c"]], num_words=3)
    assert vocab.itos == ["<pad>", "<unk>", "a"]
    assert vocab.encode(["a", "b"]) == [2, UNK_ID]


def test_min_freq():
    assert Vocab.build([["a", "a", "b"]], min_freq=2).itos == ["<pad>", "<unk>", "a"]


def test_vocab_round_trip():
    vocab = Vocab.build([["x", "y", "x"]])
    again = Vocab.from_dict(vocab.to_dict())
    assert again.itos == vocab.itos and again.counts == vocab.counts


def _encoder(**kw):
    cfg = VocabConfig(**{"num_words": None, **kw})
    return TextEncoder.fit(Pipeline(["lowercase"]), ["a b c d", "a b", "e"], cfg)


def test_max_len_defaults_to_longest_training_text():
    assert _encoder().max_len == 4


def test_truncating_pre_keeps_the_end():
    enc = _encoder(max_len=2, truncating="pre")
    assert enc.vocab.decode(enc.encode(["A B C D"])[0]) == ["c", "d"]
    enc = _encoder(max_len=2, truncating="post")
    assert enc.vocab.decode(enc.encode(["A B C D"])[0]) == ["a", "b"]


def test_padding_sides():
    enc = _encoder(padding="pre")
    ids = enc.encode(["a b"])
    assert enc.pad(ids).tolist() == [[PAD_ID, PAD_ID] + ids[0]]
    enc.padding = "post"
    assert enc.pad(ids).tolist() == [ids[0] + [PAD_ID, PAD_ID]]


def test_empty_text_is_one_unknown_token():
    enc = _encoder()
    assert enc.encode(["", "zzz"]) == [[UNK_ID], [UNK_ID]]


def test_a_literal_pad_token_in_a_text_is_unknown_not_padding():
    enc = _encoder()
    vocab = enc.vocab
    assert vocab.encode(["<pad>", "a", "<unk>"]) == [UNK_ID, vocab.stoi["a"], UNK_ID]
    assert enc.encode_cleaned(["<pad> a"]) == [[UNK_ID, vocab.stoi["a"]]]
    assert "<pad>" not in vocab and vocab.itos[PAD_ID] == "<pad>"


def test_encoder_round_trip():
    enc = _encoder(max_len=3)
    again = TextEncoder.from_dict(enc.to_dict(), Vocab.from_dict(enc.vocab.to_dict()))
    assert again.encode(["a b c d e"]) == enc.encode(["a b c d e"])
    assert isinstance(again.pad(again.encode(["a"])), np.ndarray)


def test_encode_equals_encode_tokens_of_each_cleaned_text():
    texts = ["A B C D", "", "   ", "b\tzzz a", "a " * 7, "e"]
    for truncating in ("pre", "post"):
        enc = _encoder(max_len=3, truncating=truncating)
        expected = [enc.encode_tokens(enc.pipeline(t).split()) for t in texts]
        assert enc.encode(texts) == expected
