"""ULMFiT's fine-tuning switches: learning rates per layer group, gradual unfreezing, the slanted triangular schedule."""

from __future__ import annotations

import pytest

from lstmtext.config import ModelConfig, TrainConfig
from lstmtext.models import build_model
from lstmtext.training.schedule import depth, lr_factor, param_groups, slanted_triangular, unfreeze


def test_parameters_are_grouped_by_layer_whatever_wraps_them():
    assert depth("embedding.weight") == 2 and depth("members.3.base.embedding.weight") == 2
    assert depth("rnn.weight_hh_l0") == 1 and depth("model.rnn.bias_ih_l0_reverse") == 1
    assert depth("fc.weight") == 0 and depth("bag.weight") == 0 and depth("heads.1.weight") == 0


def test_each_group_learns_at_lr_over_decay_to_its_depth():
    model = build_model(ModelConfig(name="bilstm", embedding_dim=4, hidden_size=3, ngram_bag=1, ngram_lr=10), 20, 2)
    cfg = TrainConfig(lr=0.01, layer_lr_decay=2.0)
    groups = param_groups(model, cfg)
    by_lr = {(g["depth"], round(g["lr"], 6)) for g in groups}
    # the n-gram bag keeps its own rate (10x), at depth 0; embedding lr / 4, LSTM lr / 2, output layer lr
    assert by_lr == {(2, 0.0025), (1, 0.005), (0, 0.01), (0, 0.1)}
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))


def test_gradual_unfreezing_adds_a_group_per_epoch():
    model = build_model(ModelConfig(name="bilstm", embedding_dim=4, hidden_size=3), 20, 2)
    cfg = TrainConfig(unfreeze="gradual")
    groups = param_groups(model, cfg)
    trained = []
    for epoch in (1, 2, 3, 4):
        unfreeze(groups, cfg, epoch)
        trained.append({depth(n) for n, p in model.named_parameters() if p.requires_grad})
    assert trained == [{0}, {0, 1}, {0, 1, 2}, {0, 1, 2}]
    unfreeze(groups, TrainConfig(), 1)
    assert all(p.requires_grad for p in model.parameters())


def test_a_frozen_embedding_stays_frozen():
    model = build_model(ModelConfig(name="bilstm", embedding_dim=4, hidden_size=3), 20, 2)
    model.embedding.weight.requires_grad_(False)
    groups = param_groups(model, TrainConfig())
    unfreeze(groups, TrainConfig(), 3)
    assert not model.embedding.weight.requires_grad


def test_slanted_triangular_rises_then_falls():
    total = 100
    values = [slanted_triangular(s, total) for s in range(total)]
    assert values[0] == pytest.approx(1 / 32) and values[10] == pytest.approx(1.0)  # the peak after 10% of steps
    assert max(values) == values[10] and values[-1] == pytest.approx(1 / 32 + (31 / 32) / 90, rel=1e-6)
    assert all(a <= b for a, b in zip(values[:10], values[1:11])) and all(a >= b for a, b in zip(values[10:], values[11:]))
    assert lr_factor(TrainConfig(), 5, total) == 1.0 and lr_factor(TrainConfig(schedule="slanted"), 10, total) == 1.0
