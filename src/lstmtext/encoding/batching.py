"""Length-bucketed mini-batches: texts of similar length travel together, so little padding is made.

Training batches: shuffle, cut into chunks of ``bucket_chunks`` batches, sort each chunk by length, cut
into batches, shuffle the batch order. The shuffle depends only on (seed, epoch), so an interrupted run
resumes with the same batches. With chunks of 256 batches (``train.bucket_chunks``; the whole epoch, for
most data sets) most batches hold texts of one length, and an LSTM trains a batch without padding through
torch's fused kernel (:class:`~lstmtext.models.fused_lstm.FusedLSTM`): 1.4-1.7x faster for the LSTM presets
(``lstmtext.config.presets`` has the runs), at a valid score that held for some presets and not others.
Evaluation batches are sorted by length and their outputs put back in order (:func:`predict_logits`, the one
forward pass without gradients that evaluation, prediction and reports use).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lstmtext.encoding.vocab import PAD_ID


@dataclass
class EncodedSplit:
    """Id sequences with their targets: ``(N,)`` class ids, ``(N, G)`` one class id per group, or ``(N, L)`` 0/1."""

    sequences: Sequence[Sequence[int]]
    targets: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(s) for s in self.sequences), dtype=np.int64, count=len(self.sequences))

    def take(self, index: np.ndarray) -> EncodedSplit:
        """The rows at ``index`` (copies of the id lists' references, targets indexed)."""
        return EncodedSplit([self.sequences[i] for i in index], self.targets[index])


@dataclass
class Batch:
    """One mini-batch: post-padded ids, true lengths, labels and row indices into the data set."""

    ids: torch.Tensor  # (B, T) int64, padded after each sequence
    lengths: torch.Tensor  # (B,) int64, on CPU
    targets: torch.Tensor | None  # (B,) int64, (B, G) int64 or (B, L) float32
    index: np.ndarray  # (B,) positions in the input order


def collate(sequences: Sequence[Sequence[int]], index: np.ndarray, targets: np.ndarray | None = None) -> Batch:
    """Pad the sequences at ``index`` to the batch's longest and stack them."""
    lengths = np.fromiter((len(sequences[i]) for i in index), dtype=np.int64, count=len(index))
    ids = np.full((len(index), int(lengths.max())), PAD_ID, dtype=np.int64)
    for row, i in enumerate(index):
        ids[row, : lengths[row]] = sequences[i]
    y = torch.from_numpy(targets[index]) if targets is not None else None
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


#: Padded positions (rows x longest row) one evaluation batch may hold: a batch of long texts gets fewer rows,
#: so memory follows this budget, not ``batch_size`` x the longest text. Smaller batches keep the padded
#: per-token outputs (pooling reads them) in the cache: the airline valid split (1,449 tweets, 2 threads) with
#: 131,072 -> 16,384 took 113 -> 63 ms (``rnn`` preset), 116 -> 87 (``lstm``), 138 -> 132 (``default``), 191 -> 159
#: (``bilstm``), 451 -> 151 (``cnn``), the same logits.
MAX_BATCH_TOKENS = 16_384


def eval_batches(lengths: np.ndarray, batch_size: int, max_tokens: int = MAX_BATCH_TOKENS,
                 same_length: bool = False) -> list[np.ndarray]:
    """Return batches of row indices sorted by length (longest first), each at most ``batch_size`` rows and
    ``max_tokens`` padded positions (but at least one row); outputs are re-ordered by ``index``. With
    ``same_length`` a batch also ends where the length changes: no batch holds padding."""
    order = np.argsort(-lengths, kind="stable")
    batches, start = [], 0
    while start < len(order):
        longest = int(lengths[order[start]])
        stop = start + max(1, min(batch_size, max_tokens // max(1, longest)))
        if same_length:  # the rows of this length among the next ones (sorted, so a prefix)
            stop = start + int(np.searchsorted(-lengths[order[start:stop]], -longest, side="right"))
        batches.append(order[start:stop])
        start = stop
    return batches


def iterate(
    sequences: Sequence[Sequence[int]], batches: list[np.ndarray], targets: np.ndarray | None = None
) -> Iterator[Batch]:
    """Yield collated batches."""
    for index in batches:
        yield collate(sequences, index, targets)


def predict_logits(model: nn.Module, sequences: Sequence[Sequence[int]], batch_size: int = 1024,
                   same_length: bool = False) -> torch.Tensor:
    """Run the model in eval mode without gradients over length-sorted batches; logits ``(N, K)`` in input order.
    ``same_length``: batches of one length only (see :func:`eval_batches`)."""
    model.eval()
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    parts, order = [], []
    with torch.no_grad():
        for batch in iterate(sequences, eval_batches(lengths, batch_size, same_length=same_length)):
            parts.append(model(batch.ids, batch.lengths))
            order.append(batch.index)
    if not parts:
        return torch.zeros(0, 0)
    inverse = np.argsort(np.concatenate(order))
    return torch.cat(parts)[torch.from_numpy(inverse)]
