"""The LSTM language model: what each direction predicts, the sampled softmax, weight drop, and the token stream."""

from __future__ import annotations

import math

import pytest
import torch

from lstmtext.encoding.token_stream import TokenStream, write_token_stream
from lstmtext.encoding.vocab import Vocab
from lstmtext.errors import DataError
from lstmtext.models.fused_lstm import FusedLSTM
from lstmtext.models.language_model import LanguageModel, _log_q, _log_uniform

WORDS = "the cat sat on a mat and dog ran far".split()


def test_each_direction_predicts_its_neighbour_and_never_padding():
    model = LanguageModel(20, 4, 3, bidirectional=True).eval()
    ids = torch.tensor([[5, 6, 7, 8], [9, 10, 0, 0]])
    lengths = torch.tensor([4, 2])
    (f_feat, f_tgt), (b_feat, b_tgt) = model.states(ids, lengths)
    assert f_tgt.tolist() == [6, 7, 8, 10]  # row 0: 6, 7, 8 after 5, 6, 7; row 1: 10 after 9
    assert b_tgt.tolist() == [5, 6, 7, 9]  # the reverse direction predicts the token before
    assert f_feat.shape == (4, 4) and b_feat.shape == (4, 4)
    # the forward state after "5 6" is that of the text "5 6" alone: nothing leaks from later tokens
    alone = model.states(torch.tensor([[5, 6]]), torch.tensor([2]))[0][0]
    torch.testing.assert_close(alone[0], f_feat[0])


def test_log_uniform_is_a_distribution_over_real_ids():
    vocab = 50
    q = _log_q(torch.arange(1, vocab), vocab).exp()
    assert float(q.sum()) == pytest.approx(1.0, abs=1e-5)
    assert bool((q[:-1] >= q[1:]).all())  # frequent (low) ids are drawn more often
    torch.manual_seed(0)
    ids, log_expected = _log_uniform(vocab, 20000, torch.device("cpu"))
    assert int(ids.min()) >= 1 and int(ids.max()) <= vocab - 1
    share_of_1 = float((ids == 1).float().mean())
    assert share_of_1 == pytest.approx(math.log(2) / math.log(vocab), abs=0.01)
    assert float(log_expected[ids == 1][0]) == pytest.approx(math.log(20000 * math.log(2) / math.log(vocab)), rel=1e-4)


@pytest.mark.parametrize("sampled", [0, 6])
def test_a_repeating_corpus_is_learnt_to_low_perplexity(tmp_path, sampled):
    """Full softmax, and a sampled one (6 negatives of 12 words per batch), both learn what the full softmax scores."""
    torch.manual_seed(0)
    vocab = Vocab.build([WORDS], None)
    write_token_stream([WORDS] * 60, vocab, tmp_path, valid_every=10)
    stream = TokenStream(tmp_path, "train")
    model = LanguageModel(len(vocab), 16, 16, bidirectional=True, embed_dropout=0, input_dropout=0,
                          output_dropout=0, weight_drop=0)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for epoch in range(40):
        for ids, lengths in stream.batches(64, 96, seed=0, epoch=epoch):
            loss = model.loss(ids, lengths, sampled)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    ids, lengths = next(TokenStream(tmp_path, "valid").batches(64, 96, shuffle=False))
    sums, count = model.nll(ids, lengths)
    assert [math.exp(s / count) for s in sums] == [pytest.approx(1.0, abs=0.1)] * 2  # a sentence learnt by heart


def test_weight_drop_drops_recurrent_weights_only_while_training():
    torch.manual_seed(0)
    lstm = FusedLSTM(4, 5, weight_drop=0.5)
    plain = FusedLSTM(4, 5)
    plain.load_state_dict(lstm.state_dict())  # the same parameters: weight drop adds none
    x, lengths = torch.randn(3, 6, 4), torch.tensor([6, 4, 2])
    lstm.eval(), plain.eval()
    torch.testing.assert_close(lstm(x, lengths)[0], plain(x, lengths)[0])
    lstm.train()
    assert not torch.allclose(lstm(x, lengths)[0], plain(x, lengths)[0])
    assert not torch.allclose(lstm(x, lengths)[0], lstm(x, lengths)[0])  # a new mask per call
    with pytest.raises(ValueError, match="weight_drop"):
        FusedLSTM(4, 5, weight_drop=1.0)


def test_token_stream_splits_cuts_and_batches_every_token_once(tmp_path):
    vocab = Vocab.build([WORDS], None)
    texts = [WORDS[: 2 + i % 9] for i in range(100)] + [["the"], []]  # the last two are too short to predict
    counts = write_token_stream(texts, vocab, tmp_path, valid_every=10)
    assert counts["valid"]["texts"] == 10 and counts["train"]["texts"] == 90  # every 10th text held out
    train = TokenStream(tmp_path, "train")
    assert train.tokens == counts["train"]["tokens"]
    seen, widths = [], []
    for ids, lengths in train.batches(batch_tokens=24, bptt=4, seed=1, epoch=1):
        assert ids.shape[1] == int(lengths.max()) <= 4  # pieces of at most bptt tokens
        assert int(lengths.min()) >= 2
        assert ids.shape[0] * ids.shape[1] <= 24 or ids.shape[0] == 1
        widths.append(ids.shape[1])
        seen.extend(int(v) for row, n in zip(ids, lengths) for v in row[:n])
    expected = []  # every token once, except a lone last token of a text cut into pieces (a piece needs 2)
    for a, b in zip(train.offsets[:-1], train.offsets[1:]):
        for s in range(int(a), int(b), 4):
            if min(int(b), s + 4) - s >= 2:
                expected.extend(int(v) for v in train.ids[s : min(int(b), s + 4)])
    assert sorted(seen) == sorted(expected) and len(expected) > 0.9 * train.tokens
    assert len(set(widths)) > 1  # similar lengths batched together: not one width for all
    first = [ids.tolist() for ids, _ in train.batches(24, 4, seed=1, epoch=1)]
    assert first == [ids.tolist() for ids, _ in train.batches(24, 4, seed=1, epoch=1)]  # reproducible
    assert first != [ids.tolist() for ids, _ in train.batches(24, 4, seed=1, epoch=2)]  # reshuffled each epoch
    # the progress bar's total: exact for an unshuffled epoch, within a few batches of a shuffled one
    assert train.count_batches(24, 4) == sum(1 for _ in train.batches(24, 4, shuffle=False))
    assert abs(train.count_batches(24, 4) - len(first)) <= 2


def test_token_stream_refuses_a_corpus_without_text(tmp_path):
    with pytest.raises(DataError, match="two tokens"):
        write_token_stream([["a"], []], Vocab.build([["a"]], None), tmp_path)
    with pytest.raises(DataError, match="no train token stream"):
        TokenStream(tmp_path / "missing")


def test_the_sampled_softmax_gradients_are_the_same_on_every_run():
    """The rows of the output embedding are picked so that their gradients add up in one order: with several
    threads, weight[idx]'s backward added repeated rows in a thread-dependent order (runs differed by ~1e-6)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = LanguageModel(3000, 32, 32, bidirectional=True).train()
    ids = torch.randint(1, 60, (64, 40))  # few distinct words: each row of the embedding is picked many times
    lengths = torch.full((64,), 40)

    def grads():
        model.zero_grad()
        torch.manual_seed(1)  # the same dropout masks and negatives
        model.loss(ids, lengths, sampled=512).backward()
        return [p.grad.clone() for p in model.parameters()]

    try:
        first = grads()
        for _ in range(3):
            assert all(torch.equal(a, b) for a, b in zip(first, grads()))
    finally:
        torch.set_num_threads(threads)


def test_token_stream_batches_are_mostly_of_one_length(tmp_path):
    """A window holds many batches' worth of pieces, sorted by length: most batches then have no padding at all,
    and the LSTM trains those with torch's fused kernel."""
    vocab = Vocab.build([WORDS], None)
    write_token_stream([WORDS[: 2 + i % 4] for i in range(400)], vocab, tmp_path, valid_every=None)  # 2-5 tokens
    batches = [lengths.tolist() for _, lengths in TokenStream(tmp_path).batches(24, 8, seed=0, epoch=1)]
    mixed = [row for row in batches if len(set(row)) > 1]
    assert len(mixed) <= 3  # only where one length ends and the next begins
    assert sorted(n for row in batches for n in row) == sorted(2 + i % 4 for i in range(400))
