"""Checks specific to the zoo's architectures (cnn, clstm, bilstm_attn) beyond the common ones in test_models.py."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import classify_objective
from lstmtext.config import ModelConfig, build_config
from lstmtext.encoding.batching import EncodedSplit
from lstmtext.errors import ConfigError
from lstmtext.models import build_model
from lstmtext.training.loop import fit

CONVENTION = ["rnn", "gru", "lstm", "bilstm", "cnn", "clstm", "bilstm_attn"]


def _cfg(name: str, **options) -> ModelConfig:
    return ModelConfig(name=name, embedding_dim=6, hidden_size=5, embed_dropout=0.0, options=options)


@pytest.mark.parametrize("name", CONVENTION)
def test_forward_is_fc_of_encode(name):
    torch.manual_seed(0)
    model = build_model(_cfg(name), 30, 4).eval()
    ids, lengths = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]]), torch.tensor([4, 2])
    with torch.no_grad():
        feats = model.encode(ids, lengths)
        assert isinstance(model.fc, nn.Linear) and model.fc.out_features == 4
        assert feats.shape == (2, model.fc.in_features)
        assert torch.allclose(model(ids, lengths), model.fc(feats), atol=1e-6)


def test_cnn_pools_only_windows_inside_the_text():
    torch.manual_seed(0)
    model = build_model(_cfg("cnn", kernel_sizes=[2], num_filters=3, head_dropout=0.0), 30, 2).eval()
    ids, lengths = torch.tensor([[3, 4, 5, 0, 0, 0]]), torch.tensor([3])
    emb = model.embedding(ids[:, :3]).transpose(1, 2)  # (1, E, 3): only the real tokens
    expected = torch.relu(model.convs[0](emb)).amax(dim=2)  # windows (3,4) and (4,5)
    with torch.no_grad():
        assert torch.allclose(model.encode(ids, lengths), expected, atol=1e-6)


def test_cnn_text_shorter_than_kernel_sees_zeros_after_it():
    torch.manual_seed(0)
    model = build_model(_cfg("cnn", kernel_sizes=[4], num_filters=3, head_dropout=0.0), 30, 2).eval()
    ids = torch.tensor([[3, 4]])
    emb = F.pad(model.embedding(ids).transpose(1, 2), (0, 2))  # (1, E, 4)
    expected = torch.relu(model.convs[0](emb)).squeeze(2)
    with torch.no_grad():
        assert torch.allclose(model.encode(ids, torch.tensor([2])), expected, atol=1e-6)


@pytest.mark.parametrize("name, options, match", [
    ("cnn", {"kernel_sizes": []}, r"model.options.kernel_sizes of 'cnn' must be a non-empty list"),
    ("cnn", {"kernel_sizes": [3, 0]}, r"kernel_sizes .* Got \[3, 0\] instead"),
    ("cnn", {"num_filter": 10}, r"model.options.num_filter: not an option of architecture 'cnn'. Did you mean 'num_filters'"),
    ("clstm", {"head_dropout": 1.5}, r"head_dropout of 'clstm' must be a number in \[0, 1\). Got 1.5"),
    ("clstm", {"max_norm": 0}, r"max_norm of 'clstm' must be a number > 0 or none"),
    ("clstm", {"l2": -1}, r"l2 of 'clstm' must be a number >= 0"),
    ("bilstm_attn", {"attention_size": True}, r"attention_size of 'bilstm_attn' must be an int >= 1 or none"),
])
def test_bad_options_are_config_errors(name, options, match):
    with pytest.raises(ConfigError, match=match):
        build_model(_cfg(name, **options), 30, 2)


def test_options_from_toml_text_none_disables_max_norm():
    cfg = build_config(None, overrides=['model.name="clstm"', 'model.options.max_norm="none"'])
    assert build_model(cfg.model, 30, 2).max_norm is None


def test_clstm_max_norm_rescales_only_rows_over_the_limit():
    model = build_model(_cfg("clstm", max_norm=1.0, num_filters=4, dense_size=3), 30, 2)
    with torch.no_grad():
        model.dense.weight.copy_(torch.tensor([[3.0, 4.0, 0, 0, 0], [0.3, 0.4, 0, 0, 0], [0, 0, 0, 0, 2.0]]))
    model.apply_constraints()
    assert torch.allclose(model.dense.weight[:, :2], torch.tensor([[0.6, 0.8], [0.3, 0.4], [0.0, 0.0]]), atol=1e-4)
    assert model.dense.weight[2, 4].item() == pytest.approx(1.0, abs=1e-4)
    for layer in (model.conv, model.fc):
        norms = layer.weight.detach().flatten(1).norm(dim=1)
        assert (norms <= 1.0 + 1e-4).all()


def test_clstm_l2_adds_twice_l2_times_weight_to_kernel_gradients():
    torch.manual_seed(0)
    model = build_model(_cfg("clstm", l2=0.01, head_dropout=0.0), 30, 2).train()
    out = model(torch.tensor([[3, 4, 5]]), torch.tensor([3]))
    (out.sum() * 0.0).backward()  # no data gradient: only the penalty's
    for layer in (model.conv, model.dense, model.fc):
        assert torch.allclose(layer.weight.grad, 2 * 0.01 * layer.weight.detach(), atol=1e-7)
    assert torch.count_nonzero(model.conv.bias.grad) == 0  # biases are not penalised


def test_trainer_calls_apply_constraints_after_each_step():
    torch.manual_seed(0)
    cfg = build_config(None, overrides=['model.name="clstm"', "model.embedding_dim=8", "model.hidden_size=8",
                                        "model.options.max_norm=0.5", "train.epochs=2", "train.lr=0.5",
                                        "train.batch_size=2"])
    model = build_model(cfg.model, 20, 2)
    split = EncodedSplit([[2, 3], [4, 5, 6], [7], [8, 9]], torch.tensor([0, 1, 0, 1]).numpy())
    fit(model, split, split, cfg.train, classify_objective(2), progress=False)
    for layer in (model.conv, model.dense, model.fc):
        assert (layer.weight.detach().flatten(1).norm(dim=1) <= 0.5 + 1e-4).all()


def test_attention_weights_sum_to_one_and_skip_padding():
    torch.manual_seed(0)
    model = build_model(_cfg("bilstm_attn"), 30, 3).eval()
    ids, lengths = torch.tensor([[3, 4, 5, 6], [7, 0, 0, 0]]), torch.tensor([4, 1])
    with torch.no_grad():
        w = model.attention_weights(ids, lengths)
    assert w.shape == (2, 4)
    assert torch.allclose(w.sum(1), torch.ones(2))
    assert torch.equal(w[1], torch.tensor([1.0, 0.0, 0.0, 0.0]))  # one token: all the weight
    assert (w[0] > 0).all()


ZOO_PRESETS = ["bilstm", "lstm", "gru", "rnn", "bilstm_attn", "cnn", "clstm"]


@pytest.mark.parametrize("preset", ZOO_PRESETS)
def test_zoo_presets_build_their_architecture(preset):
    cfg = build_config(preset)
    assert cfg.model.name == preset and cfg.model.embedding.kind == "word2vec"
    assert cfg.model.embedding.algo == "skipgram" and cfg.train.lr == 1e-3
    model = build_model(cfg.model, 50, 3).eval()
    with torch.no_grad():
        assert model(torch.tensor([[2, 3, 4]]), torch.tensor([3])).shape == (1, 3)


def test_lstm_preset_is_unidirectional_and_clstm_uses_the_papers_batch():
    assert build_config("lstm").model.bidirectional is False
    assert build_config("clstm").train.batch_size == 16
