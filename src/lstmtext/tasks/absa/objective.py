"""The training objective of aspect models: the mean of the aspects' cross-entropies, and what to monitor.

``summarize`` reports ``loss``, ``accuracy`` (over every aspect prediction), ``macro_f1`` and
``mean_aspect_macro_f1``. ``macro_f1`` is the flattened IndoNLU score (``flat_macro_f1``), so
``train.monitor = "valid_macro_f1"`` selects the epoch by the score the task is judged on.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lstmtext.tasks.absa.metrics import summary_scores


class AspectObjective:
    """Average of one (optionally class-weighted) cross-entropy per aspect head.

    Args:
        label_sets: ``{aspect: labels}`` in head order.
        class_weights: One weight tensor per head (``(C_j,)``), or None for unweighted losses.
    """

    def __init__(self, label_sets: dict[str, list[str]], class_weights: Sequence[torch.Tensor] | None = None) -> None:
        self.label_sets = label_sets
        weights = list(class_weights) if class_weights is not None else [None] * len(label_sets)
        self.criteria = [nn.CrossEntropyLoss(weight=w) for w in weights]

    def loss(self, logits: Sequence[torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
        """Mean over aspects of the cross-entropy of head j's ``(B, C_j)`` logits against ``labels[:, j]``."""
        losses = [criterion(lg, labels[:, j]) for j, (criterion, lg) in enumerate(zip(self.criteria, logits))]
        return torch.stack(losses).mean()

    def summarize(self, logits: Sequence[torch.Tensor], labels: torch.Tensor) -> dict[str, float]:
        """Return loss, accuracy, ``macro_f1`` (flattened, IndoNLU) and ``mean_aspect_macro_f1``."""
        pred = torch.stack([lg.argmax(1) for lg in logits], 1).numpy()  # (N, A)
        scores = summary_scores(labels.numpy(), pred, self.label_sets)
        return {
            "loss": float(self.loss(logits, labels)),
            "accuracy": scores["accuracy"],
            "macro_f1": scores["flat_macro_f1"],
            "mean_aspect_macro_f1": scores["mean_aspect_macro_f1"],
        }
