"""Multi-process training with DistributedDataParallel: process group, each rank's share of a batch, torchrun launcher.

Every rank builds the same global length-bucketed batches from ``(seed, epoch)`` and trains on its share of
each one (every ``world_size``-th row, starting at its rank). Its loss is weighted by that share, so the
gradient that DDP averages over ranks is the gradient of the global batch's mean loss: N processes follow
the 1-process loss curve up to float error, whatever the remainder of batch size / N. Only rank 0 writes
files. ``lstmtext train --nproc N`` calls :func:`launch`, which runs ``torchrun`` with this module as the
entry point of each process (``python -m lstmtext.training.ddp JOB.json``); see docs/distributed.md.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from lstmtext.encoding.batching import Batch
from lstmtext.errors import ConfigError

log = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.1", "localhost", "::1")


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

    def select(self, batch: Batch, objective: Any = None) -> tuple[Batch, float]:
        """Return this rank's rows of a global batch and their share of its loss (shares sum to 1 over ranks).

        The share is the rank's part of the rows, or of the class weights when the objective is a
        class-weighted cross-entropy, so ``loss * share * world_size`` averaged over ranks is the global loss.
        A rank left without rows (a batch smaller than ``world_size``) gets one row with share 0: it still
        runs forward and backward, which keeps the gradient all-reduce of every rank in step.

        Args:
            batch: The global batch, as every rank builds it.
            objective: The task's objective; its ``criterion.weight`` (class weights), if any, sets the shares.

        Returns:
            ``(local_batch, share)``.
        """
        rows = np.arange(self.rank, len(batch.index), self.world_size)
        if len(rows) == 0:
            return take_rows(batch, np.arange(1)), 0.0
        weight = getattr(getattr(objective, "criterion", None), "weight", None)
        if weight is None or batch.labels is None or batch.labels.dim() != 1:
            return take_rows(batch, rows), len(rows) / len(batch.index)
        w = weight[batch.labels]  # (B,) weight of each row's class
        return take_rows(batch, rows), float(w[torch.from_numpy(rows)].sum() / w.sum())

    def wrap(self, model: nn.Module) -> nn.Module:
        """Return ``model`` wrapped in DistributedDataParallel (the parameters stay the model's own).

        Buffers are synced once, not on every forward, so a forward pass (validation) is not a collective call.

        Args:
            model: The network, the same on every rank (DDP copies rank 0's parameters to the others).
        """
        return _DDP(model, forward_sync_buffers=False)

    def all_reduce_sum(self, values: list[float]) -> list[float]:
        """Return the element-wise sums of ``values`` over all ranks."""
        tensor = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor.tolist()

    def barrier(self) -> None:
        """Wait until every rank gets here (e.g. while rank 0 writes the data shards)."""
        dist.barrier()


def take_rows(batch: Batch, rows: np.ndarray) -> Batch:
    """Return the batch of the given row positions, its padding cut to their longest sequence."""
    index = torch.from_numpy(rows)
    lengths = batch.lengths[index]
    labels = batch.labels[index] if batch.labels is not None else None
    return Batch(batch.ids[index, : int(lengths.max())], lengths, labels, batch.index[rows])


def setup(backend: str = "gloo", timeout_minutes: float | None = None) -> Shard:
    """Join the process group torchrun described in the environment; return this process's :class:`Shard`.

    Args:
        backend: ``gloo``: lstmtext's models and batches live on the CPU, and gloo all-reduces CPU tensors
            (NCCL only reduces GPU tensors, see docs/distributed.md).
        timeout_minutes: How long a collective call waits for the other ranks (while rank 0 writes the
            shards of a streamed file, the others wait at a barrier); None: ``LSTMTEXT_DIST_TIMEOUT_MIN``
            or 180.
    """
    minutes = timeout_minutes or float(os.environ.get("LSTMTEXT_DIST_TIMEOUT_MIN", 180))
    dist.init_process_group(backend, timeout=timedelta(minutes=minutes))
    return Shard(dist.get_rank(), dist.get_world_size())


def teardown() -> None:
    """Leave the process group (safe to call when none was joined)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


@dataclass
class LaunchOptions:
    """Where the ranks run: processes on this node, nodes, and the rendezvous of the nodes.

    Args:
        nproc: Processes (ranks) on this node.
        nnodes: Nodes taking part; each runs the same command with its own ``node_rank``.
        node_rank: This node's number, 0 .. nnodes - 1 (node 0 hosts the rendezvous with master_addr).
        master_addr: Address of node 0, reachable from every node.
        master_port: Free TCP port on node 0; None: a free port of this machine (one node only).
        rdzv_endpoint: ``host:port`` of a c10d rendezvous, instead of master_addr/master_port.
    """

    nproc: int = 1
    nnodes: int = 1
    node_rank: int = 0
    master_addr: str = "127.0.0.1"
    master_port: int | None = None
    rdzv_endpoint: str | None = None


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def torchrun_command(opts: LaunchOptions, job_file: Path) -> list[str]:
    """Return the ``torchrun`` command line (as ``python -m torch.distributed.run``) that starts every rank.

    Raises:
        ConfigError: For impossible process or node counts, or a multi-node run without a rendezvous port.
    """
    if opts.nproc < 1 or opts.nnodes < 1 or not 0 <= opts.node_rank < opts.nnodes:
        raise ConfigError(f"--nproc {opts.nproc}, --nnodes {opts.nnodes}, --node-rank {opts.node_rank}: need nproc >= 1, "
                          "nnodes >= 1 and 0 <= node-rank < nnodes. Fix the counts.")
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={opts.nproc}", f"--nnodes={opts.nnodes}"]
    if opts.rdzv_endpoint:
        cmd += ["--rdzv-backend=c10d", f"--rdzv-endpoint={opts.rdzv_endpoint}", "--rdzv-id=lstmtext"]
    else:
        if opts.master_port is None and opts.nnodes > 1:
            raise ConfigError("--nnodes > 1 needs --master-port (the same free port on every node) or --rdzv-endpoint.")
        port = opts.master_port if opts.master_port is not None else free_port(opts.master_addr)
        cmd += [f"--node-rank={opts.node_rank}", f"--master-addr={opts.master_addr}", f"--master-port={port}"]
    return cmd + ["-m", "lstmtext.training.ddp", str(job_file)]


def launch(config: Any, data: str | Path | None, out_dir: str | Path, run_kwargs: dict[str, Any],
           opts: LaunchOptions) -> int:
    """Run :func:`lstmtext.pipeline.run.run` on ``opts.nproc`` processes of this node; return torchrun's exit code.

    Each process uses one torch thread unless ``train.threads`` says otherwise.

    Args:
        config: The resolved :class:`lstmtext.config.Config`.
        data: The data file (None: the bundled tweets).
        out_dir: Output folder, written by rank 0 only.
        run_kwargs: Keyword arguments of ``run`` (resume, overwrite, progress, stream, fmt, valid_path, ...).
        opts: Process counts and rendezvous.

    Raises:
        ConfigError: For aspect (absa) runs, which have their own trainer, and bad launch options.
    """
    if config.task != "classify":
        raise ConfigError(f"--nproc supports task 'classify' only. Got {config.task!r} instead. Train it with --nproc 1.")
    job = {"config": config.model_dump(mode="json"), "data": None if data is None else str(data),
           "out": str(out_dir), "run": {k: str(v) if isinstance(v, Path) else v for k, v in run_kwargs.items()},
           "launch": asdict(opts)}
    env = {"OMP_NUM_THREADS": "1", **os.environ}  # torchrun's default, stated so it does not warn about it
    if opts.nnodes == 1 and opts.master_addr in LOOPBACK and not opts.rdzv_endpoint:
        # one node: gloo must not pick an interface from the host name, which may not route to itself
        env.setdefault("GLOO_SOCKET_IFNAME", "lo0" if sys.platform == "darwin" else "lo")
    fd, name = tempfile.mkstemp(prefix="lstmtext-job-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(job, fh)
    try:
        cmd = torchrun_command(opts, Path(name))
        log.info("launching: %s", " ".join(cmd))
        return subprocess.run(cmd, env=env, check=False).returncode
    finally:
        os.unlink(name)


def worker(job_file: str | Path) -> int:
    """Entry point of one rank: join the group, run the job with this rank's shard, leave; return an exit code."""
    from lstmtext.config import Config
    from lstmtext.errors import LstmTextError
    from lstmtext.pipeline.run import run

    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    config = Config.model_validate(job["config"])
    if config.train.threads is None:  # N processes share the cores: one thread each unless asked otherwise
        config.train.threads = 1
    shard = setup()
    kwargs = dict(job["run"])
    kwargs["progress"] = kwargs.get("progress", True) and shard.rank == 0
    try:
        run(config, job["data"], job["out"], shard=shard, **kwargs)
    except LstmTextError as exc:
        if shard.rank == 0:
            log.error("%s", exc)
        return 1
    finally:
        teardown()
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(worker(sys.argv[1]))
