"""Evaluation batches: longest first, every row once, and a padded-position budget so one long text cannot
make a batch of 1,024 rows that wide."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from lstmtext.encoding.batching import eval_batches, predict_logits


def test_rows_are_capped_by_padded_positions_and_each_row_comes_once():
    lengths = np.array([5] * 100 + [2048] + [40] * 50)
    batches = eval_batches(lengths, batch_size=1024, max_tokens=4096)
    assert [len(b) for b in batches] == [2, 102, 47]  # 4096 // 2048 rows; then 4096 // 40; then the rest
    assert all(len(b) * lengths[b].max() <= 4096 for b in batches)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    assert (np.diff(lengths[flat]) <= 0).all()  # longest first


def test_a_row_longer_than_the_budget_still_gets_its_own_batch():
    assert [b.tolist() for b in eval_batches(np.array([10, 9000]), 64, max_tokens=100)] == [[1], [0]]


def test_logits_do_not_depend_on_how_rows_are_batched():
    class Mean(nn.Module):  # a model whose output is each row's mean id over its real tokens
        def forward(self, ids, lengths):
            mask = torch.arange(ids.shape[1])[None, :] < lengths[:, None]
            return ((ids * mask).sum(1) / lengths).unsqueeze(1).float()

    rng = np.random.default_rng(0)
    seqs = [rng.integers(2, 50, size=n).tolist() for n in rng.integers(1, 300, size=200)]
    expected = torch.tensor([[np.mean(s)] for s in seqs], dtype=torch.float32)
    torch.testing.assert_close(predict_logits(Mean(), seqs, batch_size=1024), expected)
