"""Training batches: every row once an epoch, reproducible, reshuffled each epoch, mostly of one length."""

from __future__ import annotations

import numpy as np

from lstmtext.encoding.batching import train_batches


def test_every_row_once_reproducible_and_reshuffled_each_epoch():
    lengths = np.random.default_rng(0).integers(1, 30, 1000)
    first = train_batches(lengths, 32, seed=3, epoch=1)
    assert sorted(np.concatenate(first).tolist()) == list(range(1000))
    assert all(len(b) <= 32 for b in first)
    assert [b.tolist() for b in first] == [b.tolist() for b in train_batches(lengths, 32, seed=3, epoch=1)]
    assert [b.tolist() for b in first] != [b.tolist() for b in train_batches(lengths, 32, seed=3, epoch=2)]


def test_256_chunks_make_most_batches_one_length_so_an_lstm_skips_padding():
    lengths = np.random.default_rng(0).integers(1, 31, 3000)  # 30 lengths, about 100 rows each
    batches = train_batches(lengths, 32, seed=0, epoch=1, bucket_chunks=256)  # the whole epoch sorted
    mixed = [b for b in batches if len(set(lengths[b].tolist())) > 1]
    assert len(mixed) <= 29  # at most where one length ends and the next begins
    assert len(mixed) < len(batches) / 2
    starts = [int(lengths[b].max()) for b in batches[:10]]
    assert starts != sorted(starts, reverse=True)  # the batch order is shuffled, not longest first
    eight = train_batches(lengths, 32, seed=0, epoch=1)  # the default: 256 rows sorted at a time, 30 lengths in each
    assert sum(len(set(lengths[b].tolist())) > 1 for b in eight) > 0.9 * len(eight)
    unbucketed = train_batches(lengths, 32, seed=0, epoch=1, bucket=False)
    assert sum(len(set(lengths[b].tolist())) > 1 for b in unbucketed) == len(unbucketed)  # random: all mixed
