"""Class imbalance per aspect: balanced class weights per head, and random oversampling of whole texts.

A text carries a label for every aspect, so a copied row adds to every aspect's counts at once and the
aspects cannot all be balanced exactly. The rule (random oversampling, generalised from one label to
several): every (aspect, label) pair is raised to its aspect's majority count *before* oversampling.
Pairs are handled from the rarest up; for each, rows that carry the pair are drawn uniformly with
replacement until the pair reaches the target, counting the copies earlier pairs already added (a copied
row often carries several rare pairs, so later pairs need fewer copies). Majority labels, mostly the
not-mentioned one, grow as a side effect; minority pairs end at (or, through other pairs' copies, above)
their target. Only the training split is oversampled; the class counts before and after are logged.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from lstmtext.tasks.sampling import class_weights
from lstmtext.training.loop import EncodedSplit

log = logging.getLogger(__name__)


def aspect_class_weights(labels: np.ndarray, label_sets: dict[str, list[str]]) -> list[torch.Tensor]:
    """Return scikit-learn's ``balanced`` weights for each head, from the class ids ``labels (N, A)``."""
    return [class_weights(labels[:, j], len(names)) for j, names in enumerate(label_sets.values())]


def _counts(labels: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    return [np.bincount(labels[:, j], minlength=n) for j, n in enumerate(sizes)]


def _describe(counts: list[np.ndarray], label_sets: dict[str, list[str]]) -> str:
    return "; ".join(f"{a} " + " ".join(f"{name}={int(c)}" for name, c in zip(names, counts[j]))
                     for j, (a, names) in enumerate(label_sets.items()))


def oversample_aspects(split: EncodedSplit, label_sets: dict[str, list[str]], seed: int) -> EncodedSplit:
    """Copy training rows so every (aspect, label) pair reaches its aspect's majority count (see module doc).

    Args:
        split: Training sequences with class ids ``(N, A)``.
        label_sets: ``{aspect: labels}`` in head order.
        seed: Seed of the row draws.

    Returns:
        The original rows followed by the copies.
    """
    labels = split.labels
    sizes = [len(names) for names in label_sets.values()]
    before = _counts(labels, sizes)
    targets = [int(c.max()) for c in before]
    current = [c.copy() for c in before]
    pairs = sorted((int(c[k]), j, k) for j, c in enumerate(before) for k in range(len(c)) if 0 < c[k] < targets[j])
    rng = np.random.default_rng(seed)
    extra = []
    for _, j, k in pairs:
        deficit = targets[j] - int(current[j][k])
        if deficit <= 0:
            continue
        picks = rng.choice(np.flatnonzero(labels[:, j] == k), deficit, replace=True)
        extra.append(picks)
        for i, c in enumerate(_counts(labels[picks], sizes)):
            current[i] += c
    index = np.concatenate([np.arange(len(labels)), *extra])
    log.info("aspect oversampling: %d -> %d rows", len(labels), len(index))
    log.info("class counts before: %s", _describe(before, label_sets))
    log.info("class counts after: %s", _describe(current, label_sets))
    return EncodedSplit([split.sequences[i] for i in index], labels[index])
