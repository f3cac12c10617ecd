"""The several-head wrapper: any registered encoder, shared by one linear softmax head per aspect.

:func:`lstmtext.models.build_model` builds it when ``num_classes`` is a list: the base architecture is
built as usual (with the first head's size) and its ``encode`` gives the features every head reads. The
base's own ``fc`` stays in place but unused (so base methods that touch it, such as max-norm constraints,
keep working); the state dict holds ``base.*`` and ``heads.<j>.*``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class MultiHeadClassifier(nn.Module):
    """One shared text encoder, one classifier head per aspect.

    Args:
        base: A registered model with ``encode(ids, lengths) -> (B, F)`` and a final linear ``fc``.
        num_classes: Classes of each head, in aspect order.
        head_names: The aspect of each head (for reading and error messages).
        init: ``keras`` (Glorot-uniform weights, zero bias, as the recurrent models' heads) or ``torch``.
    """

    def __init__(self, base: nn.Module, num_classes: Sequence[int], head_names: Sequence[str] | None = None,
                 init: str = "keras") -> None:
        super().__init__()
        features = base.fc.in_features
        self.base = base
        self.head_names = list(head_names) if head_names is not None else [f"head{j}" for j in range(len(num_classes))]
        assert len(self.head_names) == len(num_classes), "one name per head"
        self.heads = nn.ModuleList(nn.Linear(features, n) for n in num_classes)
        if init == "keras":
            for head in self.heads:
                nn.init.xavier_uniform_(head.weight)
                nn.init.zeros_(head.bias)

    @property
    def embedding(self) -> nn.Module:
        """The base model's embedding table (for tools that inspect or replace it)."""
        return self.base.embedding

    def apply_constraints(self) -> None:
        """Apply the base model's weight constraints after an update, if it has any."""
        if hasattr(self.base, "apply_constraints"):
            self.base.apply_constraints()

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Return the shared features ``(B, F)``."""
        return self.base.encode(ids, lengths)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        """Return one logits tensor ``(B, C_j)`` per aspect j."""
        features = self.encode(ids, lengths)  # (B, F)
        return [head(features) for head in self.heads]
