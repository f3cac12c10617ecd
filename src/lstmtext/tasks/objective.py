"""The training objective of any output layout: the loss, its share on one DDP rank, and the monitoring summary.

- one softmax group (single-label): cross-entropy, optionally class-weighted;
- several softmax groups (aspects): the mean over groups of each group's (weighted) cross-entropy;
- sigmoid outputs (multi-label): binary cross-entropy per label, mean over every (text, label), with
  positive-class weights for ``train.class_weight = "balanced"``.

The summary adds the task's own monitoring scores (``accuracy``, ``macro_f1``, ...) to the loss, so
``train.monitor`` can pick the best epoch by the score the task is judged on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from lstmtext.models.heads import OutputLayout


class LayoutObjective:
    """Loss and summary for the logits of ``layout``.

    Args:
        layout: How the logits are read.
        weights: Softmax groups: one class-weight tensor ``(C_j,)`` per group; sigmoid outputs: one tensor
            ``(L,)`` of positive-class weights. None: unweighted.
        monitor: ``(logits, targets) -> {score: value}``, the task's monitoring scores.
    """

    def __init__(self, layout: OutputLayout, weights: Sequence[torch.Tensor | None] | None,
                 monitor: Callable[[torch.Tensor, torch.Tensor], dict[str, float]]) -> None:
        self.layout = layout
        self.slices = layout.slices()
        self.weights = list(weights) if weights is not None else [None] * len(self.slices)
        self.monitor = monitor

    def _group_losses(self, logits: torch.Tensor, targets: torch.Tensor) -> list[torch.Tensor]:
        if self.layout.activation == "sigmoid":
            return [F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), pos_weight=self.weights[0])]
        if len(self.slices) == 1:
            return [F.cross_entropy(logits, targets.reshape(-1), weight=self.weights[0])]  # (B,) or one aspect's (B, 1)
        return [F.cross_entropy(logits[:, s], targets[:, j], weight=self.weights[j]) for j, s in enumerate(self.slices)]

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The batch's mean loss (the mean over groups of each group's loss)."""
        losses = self._group_losses(logits, targets)
        return losses[0] if len(losses) == 1 else torch.stack(losses).mean()

    def shares(self, rows: torch.Tensor, targets: torch.Tensor) -> list[float]:
        """Each group's share of a batch's loss normaliser that the rows at ``rows`` carry (one DDP rank's part).

        Unweighted and sigmoid losses are means over rows, so the share is the share of rows; a weighted
        cross-entropy divides by the sum of its rows' class weights, so the share is the share of that sum.
        """
        n = len(rows) / max(len(targets), 1)
        if self.layout.activation == "sigmoid":
            return [n]
        out = []
        for j, w in enumerate(self.weights):
            if w is None:
                out.append(n)
                continue
            y = targets if targets.dim() == 1 else targets[:, j]
            row_w = w[y]
            out.append(float(row_w[rows].sum() / row_w.sum()))
        return out

    def shard_loss(self, logits: torch.Tensor, targets: torch.Tensor, shares: Sequence[float],
                   world_size: int) -> torch.Tensor:
        """The rank's loss scaled so that DDP's mean gradient over ranks is the global batch's mean loss's."""
        losses = self._group_losses(logits, targets)
        if len(losses) == 1:
            return losses[0] * (shares[0] * world_size)
        return torch.stack([loss * share for loss, share in zip(losses, shares)]).mean() * world_size

    def correct(self, logits: torch.Tensor, targets: torch.Tensor) -> float:
        """Rows predicted right (a share of a row per group with several groups; every label for sigmoids)."""
        with torch.no_grad():
            if self.layout.activation == "sigmoid":
                return float(((logits > 0) == (targets > 0.5)).all(1).sum())
            if len(self.slices) == 1:  # one aspect's targets are (B, 1): compared with (B,) they broadcast to B x B
                return float((logits.argmax(1) == targets.reshape(-1)).sum())
            right = sum((logits[:, s].argmax(1) == targets[:, j]).float().mean() for j, s in enumerate(self.slices))
            return float(right / len(self.slices) * len(targets))

    def summarize(self, logits: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        """``loss`` and the task's monitoring scores of a whole split's logits."""
        return {"loss": float(self.loss(logits, targets)), **self.monitor(logits, targets)}
