"""Class imbalance: balanced class weights for the loss, and random oversampling of the training split only."""

from __future__ import annotations

import logging

import numpy as np
import torch

log = logging.getLogger(__name__)


def class_weights(labels: np.ndarray, num_classes: int) -> torch.Tensor:
    """Return ``n_samples / (n_classes * count_c)`` per class (scikit-learn's ``balanced``)."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    weights = len(labels) / (num_classes * np.maximum(counts, 1))
    log.info("class weights (balanced) for class counts %s: %s", counts.astype(int).tolist(), np.round(weights, 3).tolist())
    return torch.tensor(weights, dtype=torch.float32)


def random_oversample(split, seed: int):
    """Duplicate randomly chosen rows of each minority class until every class has the majority's count.

    Only the training split is ever passed here; valid and test keep their real distribution.
    """
    from lstmtext.training.loop import EncodedSplit

    labels = split.labels
    counts = np.bincount(labels)
    rng = np.random.default_rng(seed)
    extra = []
    for cls, count in enumerate(counts):
        if 0 < count < counts.max():
            rows = np.flatnonzero(labels == cls)
            extra.append(rng.choice(rows, counts.max() - count, replace=True))
    index = np.concatenate([np.arange(len(labels)), *extra]) if extra else np.arange(len(labels))
    after = np.bincount(labels[index], minlength=len(counts))
    log.info("random oversampling: class counts %s -> %s", counts.tolist(), after.tolist())
    return EncodedSplit([split.sequences[i] for i in index], labels[index])
