"""Shared-prefix deletion states: the text and its T one-token deletions in one pass give exactly what reading the
T + 1 texts gives, for every LSTM model that has the path, and nothing else takes it."""

import pytest
import torch
from torch import nn

from helpers import classify_task
from lstmtext.config import build_config
from lstmtext.encoding.batching import predict_logits
from lstmtext.models import build_model
from lstmtext.models.deletions import deletion_states
from lstmtext.models.fused_lstm import FusedLSTM
from lstmtext.tasks.absa.task import AspectSentiment


def _copies(x):
    return [torch.cat([x[:i], x[i + 1:]]) for i in range(len(x))]


@pytest.mark.parametrize("steps", [2, 3, 9])
@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("layer", [nn.LSTM, FusedLSTM])
def test_states_match_reading_each_copy_as_a_text(layer, bidirectional, steps):
    torch.manual_seed(steps)
    rnn = layer(5, 4, batch_first=True, bidirectional=bidirectional).double().eval()
    x = torch.randn(steps, 5, dtype=torch.float64)
    with torch.no_grad():
        states, h_n, mask = deletion_states(rnn, x)
        ref = nn.LSTM(5, 4, batch_first=True, bidirectional=bidirectional).double()
        ref.load_state_dict(rnn.state_dict())
        text, (text_n, _) = ref(x.unsqueeze(0))
        copies, (copies_n, _) = ref(torch.stack(_copies(x)))
    dirs = 2 if bidirectional else 1
    assert states.shape == (steps + 1, steps, 4 * dirs) and h_n.shape == (dirs, steps + 1, 4)
    assert mask.sum(1).tolist() == [steps] + [steps - 1] * steps
    assert not mask[torch.arange(1, steps + 1), torch.arange(steps)].any()  # row i + 1 lacks position i
    torch.testing.assert_close(states[0], text[0], atol=1e-12, rtol=0)
    torch.testing.assert_close(states[1:][mask[1:]].view(steps, steps - 1, -1), copies, atol=1e-12, rtol=0)
    torch.testing.assert_close(h_n, torch.cat([text_n, copies_n], 1), atol=1e-12, rtol=0)
    # the deleted slot repeats a real state of its row: a max over all positions is the max over the real ones
    torch.testing.assert_close(states[1:].max(1).values, copies.max(1).values, atol=1e-12, rtol=0)


def test_layers_without_shared_prefixes_and_one_token_texts_are_refused():
    x = torch.randn(4, 5)
    assert deletion_states(nn.LSTM(5, 4, num_layers=2, batch_first=True), x) is None  # layer 2 changes everywhere
    assert deletion_states(nn.GRU(5, 4, batch_first=True), x) is None
    assert deletion_states(nn.LSTM(5, 4, batch_first=False), x) is None
    assert deletion_states(nn.LSTM(5, 4, batch_first=True), x[:1]) is None


def _model(task, **model):
    cfg = build_config(None, extra={"task": task.name, "model": {"embedding_dim": 8, "hidden_size": 6, **model}})
    torch.manual_seed(0)
    return build_model(cfg.model, 30, task.layout, **task.model_kwargs()).eval()


@pytest.mark.parametrize("model", [
    {"name": "lstm", "pooling": "last"}, {"name": "bilstm", "pooling": "max"}, {"name": "bilstm", "pooling": "mean"},
    {"name": "lstm", "bidirectional": True, "pooling": "concat"}, {"name": "bilstm_attn"},
    {"name": "bilstm", "ensemble": 3}], ids=["last", "max", "mean", "concat", "attention", "ensemble"])
def test_model_logits_match_the_batched_copies(model):
    net = _model(classify_task(["neg", "neutral", "pos"]), **model)
    ids = [3, 7, 1, 12, 12, 29, 4]
    copies = [ids] + [ids[:i] + ids[i + 1:] for i in range(len(ids))]
    with torch.no_grad():
        got = net.deletion_logits(torch.tensor(ids))
    torch.testing.assert_close(got, predict_logits(net, copies, same_length=True), atol=1e-5, rtol=1e-5)


def test_aspect_heads_with_attention_in_an_ensemble_match():
    cfg = build_config("absa", overrides=["model.ensemble=2"])
    task = AspectSentiment({"crew": ["neg", "none", "pos"], "bag": ["neg", "none"]}, cfg)
    net = _model(task, name="bilstm", embedding={"kind": "random"}, ensemble=2)
    assert all(member.attention_size == 64 for member in net.members)  # the absa preset's per-aspect attention
    ids = [5, 2, 9, 9, 17, 3, 8, 1]
    copies = [ids] + [ids[:i] + ids[i + 1:] for i in range(len(ids))]
    with torch.no_grad():
        got = net.deletion_logits(torch.tensor(ids))
    torch.testing.assert_close(got, predict_logits(net, copies, same_length=True), atol=1e-5, rtol=1e-5)


def test_models_without_the_path_say_so():
    task = classify_task(["neg", "pos"])
    assert _model(task, name="lstm", num_layers=2).deletion_logits(torch.tensor([1, 2, 3])) is None
    assert _model(task, name="gru").deletion_logits(torch.tensor([1, 2, 3])) is None
    assert _model(task, name="bilstm", ensemble=2).train().deletion_logits(torch.tensor([1, 2, 3])) is None


@pytest.mark.parametrize("steps", [6, 7, 12])  # the widest kernel is 5: a copy of 5 tokens is the shortest taken
@pytest.mark.parametrize("wrap", [{}, {"ensemble": 2}], ids=["plain", "ensemble"])
def test_cnn_windows_across_the_deleted_token_match_the_batched_copies(steps, wrap):
    net = _model(classify_task(["neg", "neutral", "pos"]), name="cnn", **wrap)
    ids = [(7 * j) % 29 + 1 for j in range(steps)]
    copies = [ids] + [ids[:i] + ids[i + 1:] for i in range(len(ids))]
    with torch.no_grad():
        got = net.deletion_logits(torch.tensor(ids))
    torch.testing.assert_close(got, predict_logits(net, copies, same_length=True), atol=1e-5, rtol=1e-5)


def test_cnn_copies_shorter_than_the_widest_kernel_are_read_as_texts():
    net = _model(classify_task(["neg", "pos"]), name="cnn")
    assert net.deletion_logits(torch.tensor([1, 2, 3, 4, 5])) is None  # copies of 4 tokens < kernel 5


def test_texts_whose_states_exceed_the_memory_budget_are_read_as_texts(monkeypatch):
    import lstmtext.models.deletions as deletions

    rnn, x = nn.LSTM(5, 4, batch_first=True, bidirectional=True), torch.randn(9, 5)
    need = 2 * 2 * 9 * 10 * 4 * 4  # (1 layer + its assembled states) x 2 directions x T x (T + 1) x H x 4 bytes
    monkeypatch.setattr(deletions, "MAX_BYTES", need)
    assert deletion_states(rnn, x) is not None
    monkeypatch.setattr(deletions, "MAX_BYTES", need - 1)
    assert deletion_states(rnn, x) is None  # the caller then reads the copies in bounded batches


@pytest.mark.parametrize("model", [
    {"name": "bilstm", "pooling": "concat", "ngram_bag": 2, "ngram_fit": "after"},
    {"name": "cnn", "ngram_bag": 2}, {"name": "lstm", "pooling": "last", "ngram_bag": 3},
    {"name": "bilstm", "pooling": "max", "ngram_bag": 1}],
    ids=["ulmfit-like", "cnn-bag", "trigrams", "unigrams"])
def test_a_bag_of_ngrams_adds_each_copys_bag_to_the_bases_shared_pass(model):
    """A model with an n-gram bag read its T copies as T + 1 texts (`ulmfit` on a 256-token review: 983 ms)."""
    net = _model(classify_task(["neg", "neutral", "pos"]), **model)
    torch.manual_seed(1)
    with torch.no_grad():  # a fitted bag: weights, and for TF-IDF the idf and the blend
        net.bag.weight.normal_()
        if net.weighting == "tfidf":
            net.idf.uniform_(0.5, 2.0)
            net.bias.normal_()
            net.blend(0.4)
    for ids in ([3, 7, 1, 12, 12, 29, 4, 9], [3, 7, 1, 12, 12, 29]):  # the CNN's copies need 5 tokens (its widest kernel)
        copies = [ids] + [ids[:i] + ids[i + 1:] for i in range(len(ids))]
        with torch.no_grad():
            got = net.deletion_logits(torch.tensor(ids))
        assert got is not None
        torch.testing.assert_close(got, predict_logits(net, copies, same_length=True), atol=1e-5, rtol=1e-5)
    assert _model(classify_task(["neg", "pos"]), name="gru", ngram_bag=2).deletion_logits(torch.tensor(ids)) is None


def test_a_two_token_text_with_a_bag_matches_its_copies():
    net = _model(classify_task(["neg", "pos"]), name="bilstm", pooling="concat", ngram_bag=2)
    with torch.no_grad():
        net.bag.weight.normal_()
        got = net.deletion_logits(torch.tensor([4, 9]))
    torch.testing.assert_close(got, predict_logits(net, [[4, 9], [9], [4]], same_length=True), atol=1e-5, rtol=1e-5)


def test_a_bag_too_large_for_its_byte_budget_reads_the_copies_as_texts(monkeypatch):
    from lstmtext.models import ngram_bag

    net = _model(classify_task(["neg", "pos"]), name="bilstm", pooling="max", ngram_bag=2)
    ids = torch.tensor([3, 7, 1, 12, 9])
    assert net.deletion_logits(ids) is not None
    monkeypatch.setattr(ngram_bag, "BAG_DELETION_BYTES", 6 * 5 * 2 * 7 * 4 - 1)  # one byte under this text's bags
    assert net.deletion_logits(ids) is None
