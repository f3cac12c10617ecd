"""Length-bucketed mini-batches: texts of similar length travel together, so little padding is made.

Training batches: shuffle, cut into chunks of ``bucket_chunks`` batches, sort each chunk by length, cut
into batches, shuffle the batch order. The shuffle depends only on (seed, epoch), so an interrupted run
resumes with the same batches. Evaluation batches are sorted by length and their outputs put back in order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lstmtext.encoding.vocab import PAD_ID


@dataclass
class Batch:
    """One mini-batch: post-padded ids, true lengths, labels and row indices into the data set."""

    ids: torch.Tensor  # (B, T) int64, padded after each sequence
    lengths: torch.Tensor  # (B,) int64, on CPU
    labels: torch.Tensor | None  # (B,) int64 or (B, A) for several heads
    index: np.ndarray  # (B,) positions in the input order


def collate(sequences: Sequence[Sequence[int]], index: np.ndarray, labels: np.ndarray | None = None) -> Batch:
    """Pad the sequences at ``index`` to the batch's longest and stack them."""
    lengths = np.fromiter((len(sequences[i]) for i in index), dtype=np.int64, count=len(index))
    ids = np.full((len(index), int(lengths.max())), PAD_ID, dtype=np.int64)
    for row, i in enumerate(index):
        ids[row, : lengths[row]] = sequences[i]
    y = torch.from_numpy(labels[index]) if labels is not None else None
    return Batch(torch.from_numpy(ids), torch.from_numpy(lengths), y, index)


def train_batches(
    lengths: np.ndarray, batch_size: int, seed: int, epoch: int, bucket: bool = True, bucket_chunks: int = 8
) -> list[np.ndarray]:
    """Return the row indices of each training batch of one epoch (deterministic in seed and epoch)."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    if bucket:
        chunk = batch_size * bucket_chunks
        parts = []
        for start in range(0, len(order), chunk):
            piece = order[start : start + chunk]
            parts.append(piece[np.argsort(-lengths[piece], kind="stable")])
        order = np.concatenate(parts)
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if bucket:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def eval_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Return batches of row indices sorted by length (longest first); outputs are re-ordered by ``index``."""
    order = np.argsort(-lengths, kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def iterate(
    sequences: Sequence[Sequence[int]], batches: list[np.ndarray], labels: np.ndarray | None = None
) -> Iterator[Batch]:
    """Yield collated batches."""
    for index in batches:
        yield collate(sequences, index, labels)
