"""Multi-process training with DistributedDataParallel: the process group and each rank's share of a batch.

Every rank builds the same global length-bucketed batches from ``(seed, epoch)`` and trains on its share of
each one (every ``world_size``-th row, starting at its rank). Its loss is weighted by that share, so the
gradient that DDP averages over ranks is the gradient of the global batch's mean loss: N processes follow
the 1-process loss curve up to float error, whatever the remainder of batch size / N. Only rank 0 writes
files. The launcher (``lstmtext train --nproc N``) is :mod:`lstmtext.pipeline.launch`; see docs/distributed.md.
"""

from __future__ import annotations

import inspect
import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from lstmtext.encoding.batching import Batch
from lstmtext.errors import ConfigError

log = logging.getLogger(__name__)


class _DDP(DistributedDataParallel):
    """DDP that reads and writes the wrapped model's own state dict (no ``module.`` prefix) and exposes its methods.

    Checkpoints written by a distributed run then resume in one process and the other way round, and the
    trainer's ``hasattr(model, "apply_constraints")`` still finds the model's hook.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        return self.module.load_state_dict(state_dict, strict=strict, assign=assign)


@dataclass
class Shard:
    """This process's place among the ranks of a distributed run.

    Args:
        rank: 0 .. world_size - 1; rank 0 writes every output.
        world_size: Number of processes over all nodes.
    """

    rank: int = 0
    world_size: int = 1

    def select(self, batch: Batch, objective: Any) -> tuple[Batch, list[float], float]:
        """Return this rank's rows of a global batch, their share of each output group's loss, and of the rows.

        The shares sum to 1 over ranks (:meth:`lstmtext.tasks.objective.LayoutObjective.shares`: the part of
        the rows, or of the class weights of a class-weighted cross-entropy), so the objective's
        ``shard_loss`` averaged over ranks is the global batch's loss. A rank left without rows (a batch
        smaller than ``world_size``) gets one row with share 0: it still runs forward and backward, which
        keeps the gradient all-reduce of every rank in step.

        Args:
            batch: The global batch, as every rank builds it.
            objective: The task's objective.

        Returns:
            ``(local_batch, shares, row_share)``.
        """
        rows = np.arange(self.rank, len(batch.index), self.world_size)
        if len(rows) == 0:
            none = [0.0] * len(objective.shares(torch.arange(1), batch.targets))
            return take_rows(batch, np.arange(1)), none, 0.0
        return (take_rows(batch, rows), objective.shares(torch.from_numpy(rows), batch.targets),
                len(rows) / len(batch.index))

    def wrap(self, model: nn.Module) -> nn.Module:
        """Return ``model`` wrapped in DistributedDataParallel (the parameters stay the model's own).

        Buffers are synced once, not on every forward, so a forward pass (validation) is not a collective call.

        Args:
            model: The network, the same on every rank (DDP copies rank 0's parameters to the others).
        """
        if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters:
            return _DDP(model, forward_sync_buffers=False)
        # torch < 2.13 has no forward_sync_buffers. broadcast_buffers=False there would also skip syncing buffers from
        # rank 0 at construction, which forward_sync_buffers=False still does; so construct with the default and turn
        # off only the per-forward sync (the attribute forward() reads)
        ddp = _DDP(model)
        ddp.broadcast_buffers = False
        return ddp

    def all_reduce_sum(self, values: list[float]) -> list[float]:
        """Return the element-wise sums of ``values`` over all ranks."""
        tensor = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor.tolist()

    def rng_states(self) -> list[torch.Tensor]:
        """Every rank's torch RNG state, in rank order (each rank draws its own dropout masks, so they differ)."""
        state = torch.get_rng_state()
        states = [torch.empty_like(state) for _ in range(self.world_size)]
        dist.all_gather(states, state)
        return states

    def barrier(self) -> None:
        """Wait until every rank gets here (e.g. while rank 0 writes the data shards)."""
        dist.barrier()


def take_rows(batch: Batch, rows: np.ndarray) -> Batch:
    """Return the batch of the given row positions, its padding cut to their longest sequence."""
    index = torch.from_numpy(rows)
    lengths = batch.lengths[index]
    targets = batch.targets[index] if batch.targets is not None else None
    return Batch(batch.ids[index, : int(lengths.max())], lengths, targets, batch.index[rows])


def timeout_minutes_from_env() -> float:
    """``LSTMTEXT_DIST_TIMEOUT_MIN``, or 180: how long a collective call waits for the other ranks.

    Raises:
        ConfigError: For a value that is not a positive number (every rank had ended in a traceback of its own).
    """
    raw = os.environ.get("LSTMTEXT_DIST_TIMEOUT_MIN", "180")
    try:
        minutes = float(raw)
    except ValueError:
        minutes = float("nan")
    if not 0 < minutes < float("inf"):
        raise ConfigError(f"LSTMTEXT_DIST_TIMEOUT_MIN={raw!r}: give the minutes a rank waits for the others as a "
                          "number above 0 (default 180), or unset it.")
    return minutes


def setup(backend: str = "gloo", timeout_minutes: float | None = None) -> Shard:
    """Join the process group torchrun described in the environment; return this process's :class:`Shard`.

    Args:
        backend: ``gloo``: lstmtext's models and batches live on the CPU, and gloo all-reduces CPU tensors
            (NCCL only reduces GPU tensors, see docs/distributed.md).
        timeout_minutes: How long a collective call waits for the other ranks (while rank 0 writes the
            shards of a streamed file, the others wait at a barrier); None: ``LSTMTEXT_DIST_TIMEOUT_MIN``
            or 180.
    """
    minutes = timeout_minutes or timeout_minutes_from_env()
    dist.init_process_group(backend, timeout=timedelta(minutes=minutes))
    return Shard(dist.get_rank(), dist.get_world_size())


def teardown() -> None:
    """Leave the process group (safe to call when none was joined)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
