"""What a model's outputs mean (:class:`OutputLayout`), and the several-head wrapper.

Every model returns one logits tensor ``(B, K)``. An :class:`OutputLayout` says how to read it: consecutive
groups of logits, each a softmax over its classes (one group: single-label classification; one group per
aspect: aspect sentiment) or, with ``activation = "sigmoid"``, one independent probability per logit
(multi-label classification). Models, ensembles, exports and the training objective read only the layout,
never the task.

:class:`MultiHeadClassifier` is what :func:`lstmtext.models.build_model` builds for several groups: the base
architecture is built as usual (with the first group's size) and its ``encode`` gives the features every
head reads. The base's own ``fc`` stays in place but unused (so base methods that touch it, such as
max-norm constraints, keep working); the state dict holds ``base.*`` and ``heads.<j>.*``; the heads' logits
are concatenated in group order.

With ``attention_size`` set (``absa.head = "attention"``), each group also gets its own view of the text:
a query vector per group scores every real time step of the encoder's states (``score_tj = q_j . tanh(W
h_t + b)``, softmax over the real steps, so padding gets weight 0), and head j reads the group's weighted
average of the states next to the shared pooled vector. One sentence can praise the fuel use and blame the
engine; the shared vector has to carry both, the aspect's attention can look at its own words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from lstmtext.models.layers import tanh_


@dataclass(frozen=True)
class OutputLayout:
    """How the ``K = sum(sizes)`` logits of a model are read.

    Args:
        sizes: Logits per group, in output order.
        activation: ``softmax``: each group is one distribution over its classes; ``sigmoid``: every logit
            is its own probability (a multi-label model has one sigmoid group).
    """

    sizes: tuple[int, ...]
    activation: Literal["softmax", "sigmoid"] = "softmax"

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", tuple(int(s) for s in self.sizes))
        if not self.sizes or min(self.sizes) < 1:
            raise ValueError(f"an output layout needs groups of at least one logit, got {self.sizes}")

    @property
    def total(self) -> int:
        """``K``, the number of logits."""
        return sum(self.sizes)

    def slices(self) -> list[slice]:
        """Each group's columns."""
        starts = [0, *_running_sums(self.sizes)]
        return [slice(a, b) for a, b in zip(starts, starts[1:])]

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """``(B, K)`` probabilities: a softmax within each group, or a sigmoid per logit."""
        if self.activation == "sigmoid":
            return torch.sigmoid(logits)
        if len(self.sizes) == 1:
            return torch.softmax(logits, dim=-1)
        return torch.cat([torch.softmax(logits[..., s], dim=-1) for s in self.slices()], dim=-1)

    def mean_logits(self, member_logits: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits whose probabilities are the mean of the members' probabilities (seed ensembles)."""
        n = len(member_logits)
        if self.activation == "sigmoid":
            p = torch.stack([torch.sigmoid(lg) for lg in member_logits]).mean(0)
            p = p.clamp(1e-7, 1 - 1e-7)
            return torch.log(p) - torch.log1p(-p)
        parts = []
        for s in self.slices():
            stacked = torch.stack([lg[..., s].log_softmax(-1) for lg in member_logits])  # (N, B, C)
            parts.append(torch.logsumexp(stacked, 0) - math.log(n))  # log of the mean probability
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"sizes": list(self.sizes), "activation": self.activation}


def _running_sums(sizes: Sequence[int]) -> list[int]:
    """Running sums of ``sizes``."""
    out, total = [], 0
    for s in sizes:
        total += s
        out.append(total)
    return out




class MultiHeadClassifier(nn.Module):
    """One shared text encoder, one classifier head per aspect.

    Args:
        base: A registered model with ``encode(ids, lengths) -> (B, F)`` and a final linear ``fc``.
        num_classes: Classes of each head, in aspect order.
        head_names: The aspect of each head (for reading and error messages).
        init: ``keras`` (Glorot-uniform weights, zero bias, as the recurrent models' heads) or ``torch``.
        attention_size: Units of the per-aspect attention's scoring layer; None: no attention, every head
            reads the shared features only. Needs a base with ``token_states`` and ``encode_with_states``
            (the recurrent models).
    """

    def __init__(self, base: nn.Module, num_classes: Sequence[int], head_names: Sequence[str] | None = None,
                 init: str = "keras", attention_size: int | None = None) -> None:
        super().__init__()
        features = base.fc.in_features
        self.base = base
        self.head_names = list(head_names) if head_names is not None else [f"head{j}" for j in range(len(num_classes))]
        assert len(self.head_names) == len(num_classes), "one name per head"
        self.attention_size = attention_size
        if attention_size is not None:
            states = base.num_directions * base.rnn.hidden_size  # the width of token_states
            self.attn_proj = nn.Linear(states, attention_size)
            self.attn_queries = nn.Parameter(torch.empty(len(num_classes), attention_size))  # (K, A)
            nn.init.xavier_uniform_(self.attn_queries)
            if init == "keras":
                nn.init.xavier_uniform_(self.attn_proj.weight)
                nn.init.zeros_(self.attn_proj.bias)
            features += states
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

    def _aspect_weights(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = tanh_(self.attn_proj(states)) @ self.attn_queries.T  # (B, T', K)
        return torch.softmax(scores.masked_fill(~mask.unsqueeze(-1), float("-inf")), dim=1)

    def aspect_attention(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Return each aspect's weights over time ``(B, T', K)``: summing to 1 over the real steps, 0 on padding."""
        return self._aspect_weights(*self.base.token_states(ids, lengths))

    def _head_logits(self, features: torch.Tensor, states: torch.Tensor | None, mask: torch.Tensor | None
                     ) -> torch.Tensor:
        """The heads' logits side by side from the shared features (and, with attention, the states and mask)."""
        if self.attention_size is None:
            return torch.cat([head(features) for head in self.heads], 1)
        pooled = torch.einsum("btk,bts->bks", self._aspect_weights(states, mask), states)  # (B, K, S)
        return torch.cat([head(torch.cat([features, pooled[:, j]], 1)) for j, head in enumerate(self.heads)], 1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Return the heads' logits side by side, ``(B, sum_j C_j)`` in head order."""
        if self.attention_size is None:
            return self._head_logits(self.encode(ids, lengths), None, None)
        return self._head_logits(*self.base.encode_with_states(ids, lengths))  # one pass over the text

    def deletion_input(self, ids: torch.Tensor) -> tuple[nn.Module, torch.Tensor] | None:
        """The base's ``deletion_input`` (what :mod:`lstmtext.models.deletions` reads), or None."""
        return self.base.deletion_input(ids) if hasattr(self.base, "deletion_input") else None

    def deletion_logits(self, ids: torch.Tensor, found: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
                        ) -> torch.Tensor | None:
        """Logits of the text ``ids (T,)`` and its T one-token deletions, when the base shares their prefixes
        (``deletion_encode``; ``found``: the deletion states, already computed); None otherwise."""
        encoded = self.base.deletion_encode(ids, found) if hasattr(self.base, "deletion_encode") else None
        return None if encoded is None else self._head_logits(*encoded)
