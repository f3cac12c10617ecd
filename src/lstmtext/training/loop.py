"""The training loop: Adam, the task's loss, clipping, validation each epoch, early stopping, checkpoints.

It knows no task: a model maps ``(ids, lengths)`` to logits and an *objective* turns logits and targets
into a loss and a score summary. The batches come from an in-memory split or any :class:`BatchSource`
(streamed shards); under DDP each rank trains on its share of every batch.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch
from torch import nn

from lstmtext.config import TrainConfig
from lstmtext.encoding.batching import Batch, EncodedSplit, iterate, predict_logits, train_batches
from lstmtext.errors import BundleError, ConfigError
from lstmtext.models.onednn import release_workspace
from lstmtext.training.checkpoint import restore_checkpoint, save_checkpoint
from lstmtext.training.precision import apply_precision, set_precision
from lstmtext.training.schedule import adam, lr_factor, param_groups, unfreeze
from lstmtext.utils.progress import epoch_line, progress_bar, time_left

if TYPE_CHECKING:
    from lstmtext.training.ddp import Shard

log = logging.getLogger(__name__)


class BatchSource(Protocol):
    """Training batches made elsewhere than from an in-memory split (e.g. :mod:`lstmtext.training.shards`)."""

    def __len__(self) -> int: ...  # batches per epoch

    def epoch_batches(self, epoch: int) -> Iterator[Batch]: ...


class Objective(Protocol):
    """What the trainer needs to know about the task (:class:`lstmtext.tasks.objective.LayoutObjective`)."""

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor: ...

    def shares(self, rows: torch.Tensor, targets: torch.Tensor) -> list[float]: ...

    def shard_loss(self, logits: torch.Tensor, targets: torch.Tensor, shares: Sequence[float],
                   world_size: int) -> torch.Tensor: ...

    def correct(self, logits: torch.Tensor, targets: torch.Tensor) -> float: ...

    def summarize(self, logits: torch.Tensor, targets: torch.Tensor) -> dict[str, float]: ...


@dataclass
class TrainResult:
    """History per epoch (train and valid loss/accuracy/...), the best epoch and how training ended."""

    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = -math.inf
    stopped_early: bool = False
    seconds: float = 0.0  # the classifier's training
    lm_seconds: float = 0.0  # the language-model stage before it, in this process (ULMFiT's second stage)
    members: list[dict[str, Any]] = field(default_factory=list)  # seed ensembles: one record per member
    precision: str = "fp32"  # what training ran in (lstmtext.training.precision)
    ngram_fit: dict[str, Any] | None = None  # model.ngram_fit = "after": the C and blend chosen on valid
    self_training: dict[str, Any] | None = None  # train.self_training: what the teacher added, which model was kept

    @property
    def total_seconds(self) -> float:
        """What the run cost: the language-model stage and the classifier (what compare, cv and reports show)."""
        return self.seconds + self.lm_seconds


def monitored(summary: dict[str, float], monitor: str) -> float:
    """The value of ``train.monitor`` in a valid summary, higher is better (the loss negated)."""
    key = monitor.removeprefix("valid_")
    return -summary["loss"] if key == "loss" else summary[key]


def fit(
    model: nn.Module,
    train: EncodedSplit | BatchSource,
    valid: EncodedSplit,
    cfg: TrainConfig,
    objective: Objective,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    progress: bool = True,
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
    shard: Shard | None = None,
    settings: dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``model`` in place; return the history. Ends with the best weights when ``cfg.restore_best``.

    Args:
        model: The network; its parameters are updated in place.
        train: Training sequences and labels, or a source of training batches (shards on disk).
        valid: Validation sequences and labels (scored every epoch).
        cfg: The train section of the config.
        objective: Loss and score summary of the task.
        checkpoint_dir: Where to write a checkpoint after every epoch (None: no checkpoints).
        resume: Continue from the checkpoint in ``checkpoint_dir``.
        progress: Show a progress bar per epoch.
        on_epoch_end: Called with each epoch's history record (raise to interrupt).
        shard: Distributed training (:mod:`lstmtext.training.ddp`; ``model`` is then DDP-wrapped): each rank
            trains on its share of every batch and only rank 0 writes checkpoints. None: one process.
        settings: The run's whole config (``Config.model_dump(mode="json")``), kept in each checkpoint so that
            ``resume`` refuses a command that asks for other settings (``checkpoint.check_resumed_settings``).
    """
    import time

    start = time.perf_counter()
    params = [p for p in model.parameters() if p.requires_grad]
    # Learning rates per part: the model's own (e.g. the n-gram bag's larger one), then per layer group.
    inner = getattr(model, "module", model)  # under DDP, the wrapped model
    groups = param_groups(inner, cfg)
    optimizer = adam(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    for group in optimizer.param_groups:
        group["base_lr"] = group["lr"]
    result, best_state, bad_epochs, first_epoch, earlier = TrainResult(), None, 0, 1, 0.0
    if resume:
        if checkpoint_dir is None:
            raise BundleError("--resume needs the output folder of the interrupted run (its checkpoint/ folder).")
        st, best_state = restore_checkpoint(checkpoint_dir, model, optimizer, shard.rank if shard is not None else 0,
                                            settings)
        result.history, result.best_epoch, result.best_score = st["history"], st["best_epoch"], st["best_score"]
        bad_epochs, first_epoch = st["bad_epochs"], st["epoch"] + 1
        earlier = st.get("seconds", 0.0)  # the interrupted run's training time (absent in older checkpoints)
        if st["epoch"] > cfg.epochs:  # it had saved a model of more epochs than the run now says it has
            raise ConfigError(f"{checkpoint_dir}: the checkpoint is after epoch {st['epoch']}, but train.epochs is "
                              f"{cfg.epochs}. Resume with train.epochs of {st['epoch']} or more.")
        if cfg.patience is not None and bad_epochs >= cfg.patience and st["epoch"] < cfg.epochs:  # it had stopped
            # early (patience run out before the last epoch): nothing is left to train
            result.stopped_early, first_epoch = True, cfg.epochs + 1
            log.info("resuming a run that had stopped early after epoch %d", st["epoch"])
        else:
            log.info("resuming after epoch %d of %d", st["epoch"], cfg.epochs)
    else:
        torch.manual_seed(cfg.seed)
    result.precision = apply_precision(model, cfg.precision)
    log.info("training in %s", result.precision)
    lengths = train.lengths if isinstance(train, EncodedSplit) else None
    for epoch in range(first_epoch, cfg.epochs + 1):
        unfreeze(optimizer.param_groups, cfg, epoch)
        record = _run_epoch(model, train, lengths, cfg, objective, optimizer, params, epoch, progress, shard)
        valid_summary = objective.summarize(predict_logits(model, valid.sequences, cfg.eval_batch_size),
                                            torch.from_numpy(valid.targets))
        _check_finite(record["train_loss"], valid_summary.get("loss", 0.0), epoch, cfg)
        record.update({f"valid_{k}": v for k, v in valid_summary.items()})
        result.history.append(record)
        score = monitored(valid_summary, cfg.monitor)
        if score > result.best_score:
            result.best_score, result.best_epoch, bad_epochs = score, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad_epochs += 1
        stop = cfg.patience is not None and bad_epochs >= cfg.patience and epoch < cfg.epochs  # at the last: no stop
        epoch_line(f"epoch {epoch}/{cfg.epochs}: " + ", ".join(f"{k} {v:.4f}" for k, v in record.items() if k != "epoch")
                   + (" (best)" if result.best_epoch == epoch else "")
                   + ("" if stop else time_left(time.perf_counter() - start, epoch - first_epoch + 1,
                                                cfg.epochs - first_epoch + 1)),
                   progress and (shard is None or shard.rank == 0))
        rank_rng = shard.rng_states() if checkpoint_dir is not None and shard is not None else None  # every rank
        if checkpoint_dir is not None and (shard is None or shard.rank == 0):
            state = {"epoch": epoch, "history": result.history, "best_epoch": result.best_epoch,
                     "best_score": result.best_score, "bad_epochs": bad_epochs,
                     "seconds": earlier + time.perf_counter() - start, "settings": settings}
            save_checkpoint(checkpoint_dir, model.state_dict(), best_state, optimizer, state, rank_rng)
        if on_epoch_end is not None:
            on_epoch_end(record)
        if stop:
            result.stopped_early = True
            log.info("early stop after epoch %d: no better %s for %d epochs", epoch, cfg.monitor, cfg.patience)
            break
    set_precision(model, "fp32")  # the precision is the training's: the trained model predicts in fp32
    release_workspace()  # the backward's scratch buffers (about 35 MB each at seed001's shapes) are not kept
    if cfg.restore_best and best_state is not None:
        model.load_state_dict(best_state)
    result.seconds = earlier + time.perf_counter() - start
    return result


def _check_finite(train_loss: float, valid_loss: float, epoch: int, cfg: TrainConfig) -> None:
    """Stop a diverged run in one line: with a loss of nan or inf every later epoch, and the reports (whose
    confidence cuts failed on nan probabilities, in a traceback), would be nan too."""
    if math.isfinite(train_loss) and math.isfinite(valid_loss):
        return
    clip = f"train.clip_grad_norm = {cfg.clip_grad_norm}" if cfg.clip_grad_norm else "no train.clip_grad_norm"
    raise ConfigError(f"training diverged: after epoch {epoch} the training loss is {train_loss:g} and the valid loss "
                      f"{valid_loss:g} (train.lr = {cfg.lr:g}, {clip}). Lower train.lr, or clip the gradients (--set "
                      "train.clip_grad_norm=1.0).")


def _run_epoch(
    model: nn.Module,
    train: EncodedSplit | BatchSource,
    lengths: np.ndarray | None,
    cfg: TrainConfig,
    objective: Objective,
    optimizer: torch.optim.Optimizer,
    params: list[torch.Tensor],
    epoch: int,
    progress: bool,
    shard: Shard | None = None,
) -> dict[str, Any]:
    model.train()
    if isinstance(train, EncodedSplit):
        batches = train_batches(lengths, cfg.batch_size, cfg.seed, epoch, cfg.bucket, cfg.bucket_chunks)
        source, n_batches = iterate(train.sequences, batches, train.targets), len(batches)
    else:
        source, n_batches = train.epoch_batches(epoch), len(train)
    total_loss, total_right, total_n = 0.0, 0.0, 0
    bar = progress_bar(source, n_batches, f"epoch {epoch}/{cfg.epochs}", progress)
    for step, batch in enumerate(bar, start=(epoch - 1) * n_batches):
        if cfg.schedule != "constant":
            factor = lr_factor(cfg, min(step, cfg.epochs * n_batches - 1), cfg.epochs * n_batches)
            for group in optimizer.param_groups:
                group["lr"] = group["base_lr"] * factor
        n = len(batch.index)
        if shard is None:
            logits = model(batch.ids, batch.lengths)
            step_loss = objective.loss(logits, batch.targets)
            summed = step_loss.item() * n
        else:  # this rank's rows, scaled by their share: DDP's mean gradient is then the global batch's
            batch, shares, row_share = shard.select(batch, objective)
            logits = model(batch.ids, batch.lengths)
            step_loss = objective.shard_loss(logits, batch.targets, shares, shard.world_size)
            # the ranks' step losses average to the global batch's loss: its share of the epoch's sum is this
            # (the rank's own mean loss times its rows was not, with class weights: 1.0921 alone, 1.0718 on 3)
            summed = step_loss.item() / shard.world_size * n
            n = n * row_share
        optimizer.zero_grad(set_to_none=True)
        step_loss.backward()
        if cfg.clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, cfg.clip_grad_norm)
        optimizer.step()
        if hasattr(model, "apply_constraints"):  # e.g. clstm's max-norm, enforced after every update
            model.apply_constraints()
        total_loss += summed
        total_n += n
        total_right += objective.correct(logits, batch.targets) if n else 0.0
        if not bar.disable:
            bar.set_postfix(loss=f"{total_loss / total_n:.4f}", acc=f"{total_right / total_n:.4f}")
    if shard is not None:  # the epoch's totals over all ranks
        total_loss, total_right, total_n = shard.all_reduce_sum([total_loss, total_right, total_n])
    return {"epoch": epoch, "train_loss": total_loss / total_n, "train_accuracy": total_right / total_n}
