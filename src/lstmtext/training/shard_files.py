"""The shards on disk: writing one (:func:`save_shard`), dealing the training rows of many chunks into shards that
are each a random sample of the file (:class:`Dealer`), and reading them back (:class:`ShardSequences`,
:func:`load_split`, :class:`ShardedBatches`). :mod:`lstmtext.training.shards` prepares them from a file.

A shard ``<name>`` is three files: ``<name>.tokens.npy`` (int32 ids of its rows, end to end), ``.offsets.npy``
(int64 row starts plus the end) and ``.targets.npy`` (the task's targets).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import chain
from pathlib import Path

import numpy as np

from lstmtext.config import TrainConfig
from lstmtext.encoding.batching import Batch, EncodedSplit, iterate, train_batches


def save_shard(folder: Path, name: str, tokens: np.ndarray, lengths: np.ndarray, targets: np.ndarray) -> None:
    """Write one shard: its rows' ids end to end, their offsets (row starts plus the end) and their targets."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    np.save(folder / f"{name}.tokens.npy", tokens)
    np.save(folder / f"{name}.offsets.npy", offsets)
    np.save(folder / f"{name}.targets.npy", targets)


#: Files the training rows are dealt into before they are cut into shards: their handles stay open through the
#: second pass (opening every shard's files for every chunk cost O(chunks^2): 11 s at 400 chunks, hours at 10,000).
BUCKETS = 64


def most_chunks(shards: int) -> int:
    """The most chunks whose training rows :class:`Dealer` cuts into at most ``shards`` shards: as many as chunks up to
    :data:`BUCKETS`, then :data:`BUCKETS` times the chunks over it, rounded up (70 chunks make 128 shards)."""
    return min(shards, BUCKETS) if shards < 2 * BUCKETS else BUCKETS * (shards // BUCKETS)


class Dealer:
    """Deals the training rows of each chunk out at random to :data:`BUCKETS` (at most) bucket files; :meth:`finish`
    shuffles each bucket and cuts it into shards, one bucket in memory at a time (a bucket holds a 64th of the
    training tokens, as int32 ids).

    Row ``j`` of the rows dealt so far, in a random order per chunk, goes to bucket ``j mod B``, so buckets differ by
    at most one row, and each bucket is cut into the same number of shards: as many shards as chunks (B of them, or
    a multiple of B), each a random sample of the file, so the shards of a file sorted by label hold every label in
    proportion (a streamed run had trained such a file on one-label batches: valid macro-F1 0.49 against 0.73
    shuffled, in a review). Seeded by ``data.split_seed``: the shards are a cache of the data.
    """

    KINDS = ("tokens", "lengths", "targets")

    def __init__(self, folder: Path, chunks: int, seed: int) -> None:
        self.folder, self.rng, self.dealt = folder, np.random.default_rng(seed), 0
        self.buckets = min(chunks, BUCKETS)
        self.per = -(-chunks // self.buckets)  # shards cut from each bucket
        self.files = {(b, what): open(folder / f"bucket-{b:03d}.{what}.part", "ab")  # noqa: SIM115 - closed in finish
                      for b in range(self.buckets) for what in self.KINDS}
        self.targets: tuple[np.dtype, tuple[int, ...]] | None = None  # the targets' dtype and shape past the rows

    def deal(self, ids: list[list[int]], lengths: np.ndarray, targets: np.ndarray) -> None:
        n = self.buckets
        dest = (self.dealt + self.rng.permutation(len(ids))) % n
        self.dealt += len(ids)
        self.targets = (targets.dtype, targets.shape[1:])
        order = np.argsort(dest, kind="stable")  # each bucket's rows, in the chunk's order
        for b, pick in zip(range(n), np.split(order, np.cumsum(np.bincount(dest, minlength=n))[:-1])):
            if len(pick):  # file.write(bytes), not ndarray.tofile: a Ctrl-C inside tofile came out as a TypeError
                self.files[b, "tokens"].write(np.fromiter(chain.from_iterable(ids[i] for i in pick), np.int32,
                                                          int(lengths[pick].sum())).tobytes())
                self.files[b, "lengths"].write(np.ascontiguousarray(lengths[pick], dtype=np.int64).tobytes())
                self.files[b, "targets"].write(np.ascontiguousarray(targets[pick]).tobytes())

    def close(self) -> None:
        """Close the bucket files (also when the pass fails: the folder is then removed)."""
        for fh in self.files.values():
            fh.close()

    def finish(self) -> tuple[list[str], list[int]]:
        """Write the shards from the buckets (and delete them); return the shards' names and rows."""
        assert self.targets is not None, "deal() first"
        self.close()
        dtype, shape = self.targets
        kinds = {"tokens": np.int32, "lengths": np.int64, "targets": dtype}
        names, rows = [], []
        for b in range(self.buckets):  # every bucket got rows: each chunk has one at least, and they are dealt evenly
            part = {what: self.folder / f"bucket-{b:03d}.{what}.part" for what in self.KINDS}
            read = {what: np.fromfile(path, kinds[what]) for what, path in part.items()}
            starts = np.concatenate([[0], np.cumsum(read["lengths"])])
            targets = read["targets"].reshape(-1, *shape)
            for pick in np.array_split(self.rng.permutation(len(read["lengths"])), self.per):
                if not len(pick):
                    continue
                tokens = np.concatenate([read["tokens"][starts[i]:starts[i + 1]] for i in pick])
                names.append(f"train-{len(names):05d}")
                save_shard(self.folder, names[-1], tokens, read["lengths"][pick], targets[pick])
                rows.append(len(pick))
            for path in part.values():
                path.unlink()
        return names, rows


class ShardSequences(Sequence):
    """The rows of one or more shards as a read-only sequence of int32 id arrays.

    Args:
        folder: The shards folder.
        names: Shard names (``train-00000``, ...).
        mmap: Memory-map the token arrays instead of reading them.
    """

    def __init__(self, folder: Path, names: Sequence[str], mmap: bool = False) -> None:
        self._tokens = [np.load(folder / f"{n}.tokens.npy", mmap_mode="r" if mmap else None) for n in names]
        self._offsets = [np.load(folder / f"{n}.offsets.npy") for n in names]
        self._starts = np.cumsum([0] + [len(o) - 1 for o in self._offsets])

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, i: int) -> np.ndarray:  # type: ignore[override]
        k = 0 if len(self._tokens) == 1 else int(np.searchsorted(self._starts, i, side="right")) - 1
        j = i - int(self._starts[k])
        return self._tokens[k][self._offsets[k][j] : self._offsets[k][j + 1]]

    @property
    def lengths(self) -> np.ndarray:
        """``(N,)`` int64 row lengths."""
        return np.concatenate([np.diff(o) for o in self._offsets])


def load_split(folder: Path, names: Sequence[str]) -> EncodedSplit:
    """Return the shards of a split as an :class:`~lstmtext.encoding.batching.EncodedSplit` (ids memory-mapped)."""
    targets = np.concatenate([np.load(folder / f"{n}.targets.npy") for n in names])
    return EncodedSplit(ShardSequences(folder, names, mmap=True), targets)


class ShardedBatches:
    """Training batches from shards: shards in an order drawn from ``(seed, epoch)``, bucketed within each.

    Shard ``k`` uses seed ``train.seed + k``: a single shard gives the batches of an in-memory run.

    Args:
        folder: The shards folder.
        names: Training shard names.
        rows: Rows of each shard.
        cfg: The train section (batch_size, seed, bucket).
    """

    def __init__(self, folder: Path, names: Sequence[str], rows: Sequence[int], cfg: TrainConfig) -> None:
        self.folder, self.names, self.rows, self.cfg = folder, list(names), list(rows), cfg

    def __len__(self) -> int:
        return sum(-(-r // self.cfg.batch_size) for r in self.rows)

    def epoch_batches(self, epoch: int) -> Iterator[Batch]:
        """Yield the batches of one epoch, reading one shard at a time."""
        order = np.random.default_rng([self.cfg.seed, epoch]).permutation(len(self.names))
        for k in order:
            sequences = ShardSequences(self.folder, [self.names[k]])
            targets = np.load(self.folder / f"{self.names[k]}.targets.npy")
            batches = train_batches(sequences.lengths, self.cfg.batch_size, self.cfg.seed + int(k), epoch,
                                    self.cfg.bucket, self.cfg.bucket_chunks)
            yield from iterate(sequences, batches, targets)
