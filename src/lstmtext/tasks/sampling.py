"""Class imbalance: balanced class weights for the loss, and random oversampling of the training split only.

Both work on the targets of any output layout:

- **class weights** (``train.class_weight = "balanced"``): scikit-learn's ``n_samples / (n_classes *
  count_c)`` for each softmax group; for sigmoid outputs (multi-label) each label's positive-class weight
  ``negatives / positives``, as ``BCEWithLogitsLoss(pos_weight=...)`` expects.
- **random oversampling** (``train.oversample = "random"``): with one group, copies of randomly drawn rows of
  each minority class until every class has the majority's count. With several groups (aspects) a copied
  row adds to every group's counts at once, so the groups cannot all be balanced exactly. The rule:
  every (group, class) pair is raised to its group's majority count *before* oversampling; pairs are handled
  from the rarest up, and for each, rows that carry the pair are drawn uniformly with replacement until the
  pair reaches the target, counting the copies earlier pairs already added (a copied row often carries
  several rare pairs, so later pairs need fewer copies). Majority classes, mostly the not-mentioned one, grow
  as a side effect. Valid and test keep their real distribution; the class counts before and after are logged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch

from lstmtext.errors import ConfigError
from lstmtext.models.heads import OutputLayout

log = logging.getLogger(__name__)


def class_weights(labels: np.ndarray, num_classes: int, counts: np.ndarray | None = None) -> torch.Tensor:
    """Return ``n_samples / (n_classes * count_c)`` per class (scikit-learn's ``balanced``).

    Args:
        labels: Class ids.
        num_classes: Number of classes.
        counts: How many rows each entry of ``labels`` stands for (None: one each).
    """
    per_class = np.bincount(labels, weights=counts, minlength=num_classes).astype(np.float64)
    weights = per_class.sum() / (num_classes * np.maximum(per_class, 1))
    log.info("class weights (balanced) for class counts %s: %s", per_class.astype(int).tolist(),
             np.round(weights, 3).tolist())
    return torch.tensor(weights, dtype=torch.float32)


def balanced_weights(layout: OutputLayout, targets: np.ndarray, counts: np.ndarray | None = None) -> list[torch.Tensor]:
    """The loss weights of ``train.class_weight = "balanced"`` for every group of ``layout`` (see module doc)."""
    if layout.activation == "sigmoid":
        mult = np.ones(len(targets)) if counts is None else np.asarray(counts, dtype=np.float64)
        positives = (targets * mult[:, None]).sum(0)
        negatives = mult.sum() - positives
        weights = negatives / np.maximum(positives, 1)
        log.info("positive-class weights (balanced) for positive counts %s: %s", positives.astype(int).tolist(),
                 np.round(weights, 3).tolist())
        return [torch.tensor(weights, dtype=torch.float32)]
    columns = targets.reshape(len(targets), -1)
    return [class_weights(columns[:, j], size, counts) for j, size in enumerate(layout.sizes)]


def oversample_rows(targets: np.ndarray, layout: OutputLayout, seed: int, names: Sequence[str] = (),
                    classes: Sequence[Sequence[str]] = ()) -> np.ndarray:
    """Row indices of the oversampled training split: every row once, then the copies (see module doc). ``names``
    (a name per group) and ``classes`` (each group's class names) name the counts the log shows.

    Raises:
        ConfigError: For sigmoid (multi-label) outputs, where "the majority's count" has no meaning.
    """
    if layout.activation == "sigmoid":
        raise ConfigError("train.oversample = \"random\" needs single-label or aspect targets; for multi-label use "
                          "--class-weight balanced (positive-class weights).")
    if targets.ndim == 1:
        return _oversample_one(targets, seed, list(classes[0]) if classes else [])
    return _oversample_groups(targets, list(layout.sizes), seed, list(names), [list(c) for c in classes])


def _oversample_one(labels: np.ndarray, seed: int, classes: list[str]) -> np.ndarray:
    counts = np.bincount(labels)
    rng = np.random.default_rng(seed)
    extra = []
    for cls, count in enumerate(counts):
        if 0 < count < counts.max():
            rows = np.flatnonzero(labels == cls)
            extra.append(rng.choice(rows, counts.max() - count, replace=True))
    index = np.concatenate([np.arange(len(labels)), *extra]) if extra else np.arange(len(labels))
    after = np.bincount(labels[index], minlength=len(counts))
    log.info("random oversampling: class counts %s -> %s", _named(counts, classes), _named(after, classes))
    return index


def _counts(labels: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    return [np.bincount(labels[:, j], minlength=n) for j, n in enumerate(sizes)]


def _named(row: np.ndarray, classes: list[str]) -> str:
    """``negative=23 neutral=679 positive=108`` (class numbers where no names are given: they said 0=23 1=679)."""
    return " ".join(f"{classes[k] if k < len(classes) else k}={int(c)}" for k, c in enumerate(row))


def _describe(counts: list[np.ndarray], names: list[str], classes: list[list[str]]) -> str:
    return "; ".join(f"{names[j] if j < len(names) else j} {_named(row, classes[j] if j < len(classes) else [])}"
                     for j, row in enumerate(counts))


def _oversample_groups(labels: np.ndarray, sizes: list[int], seed: int, names: list[str],
                       classes: list[list[str]]) -> np.ndarray:
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
    log.info("oversampling of several groups: %d -> %d rows", len(labels), len(index))
    log.info("class counts before: %s", _describe(before, names, classes))
    log.info("class counts after: %s", _describe(current, names, classes))
    return index
