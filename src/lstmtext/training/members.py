"""Training a seed ensemble (``model.ensemble = N``): N members with seeds ``seed .. seed+N-1``, one after another.

Each member checkpoints into ``checkpoint_dir/member<i>``, so ``--resume`` continues the member that was
interrupted and skips the finished ones' epochs. See :mod:`lstmtext.models.ensemble` for the model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn

from lstmtext.config import Config
from lstmtext.models.ensemble import EnsembleClassifier
from lstmtext.models.heads import OutputLayout

log = logging.getLogger(__name__)


def run_seed(seed: int, run: int, ensemble: int = 1) -> int:
    """The seed of run ``run`` (0, 1, ...) of runs that start at ``seed``: ``seed + run * ensemble`` (the runs of an
    ensemble of n members n apart, so that no two share a member), modulo 2**64, torch's seeds: a seed at the top
    of the range wraps around instead of overflowing. Ensemble members and experiments' seeds both count so."""
    return (seed + run * ensemble) % 2**64


def member_config(config: Config, index: int) -> Config:
    """The config of member ``index``: one model (``model.ensemble = 1``) with seed ``train.seed + index``
    (:func:`run_seed`)."""
    return config.model_copy(update={
        "model": config.model.model_copy(update={"ensemble": 1}),
        "train": config.train.model_copy(update={"seed": run_seed(config.train.seed, index)}),
    }, deep=True)


def fit_members(config: Config, layout: OutputLayout, train_one: Callable[[Config, Path | None], tuple[nn.Module, Any]],
                checkpoint_dir: Path | None = None) -> tuple[nn.Module, Any]:
    """Train one model, or ``model.ensemble`` members, with ``train_one(member_config, checkpoint_dir)``.

    Returns ``(model, train_result)``; for an ensemble the result is the first member's, with the summed
    training seconds and ``members`` (each member's seed, best epoch, best score, epochs and seconds).
    """
    n = config.model.ensemble
    if n == 1:
        return train_one(config, checkpoint_dir)
    models, results, seeds = [], [], []
    for i in range(n):
        cfg = member_config(config, i)
        log.info("ensemble member %d of %d (seed %d)", i + 1, n, cfg.train.seed)
        model, result = train_one(cfg, checkpoint_dir / f"member{i}" if checkpoint_dir is not None else None)
        models.append(model)
        results.append(result)
        seeds.append(cfg.train.seed)
    # what training fixed in the members' model section (one-hot sets embedding_dim to the vocabulary
    # size) must reach the saved config, or the bundle would not rebuild
    config.model.embedding_dim = cfg.model.embedding_dim
    first = results[0]
    first.members = [{"seed": seed, "best_epoch": r.best_epoch, "best_score": r.best_score,
                      "epochs_run": len(r.history), "seconds": r.seconds} for seed, r in zip(seeds, results)]
    first.seconds = sum(r.seconds for r in results)
    return EnsembleClassifier(models, layout), first
