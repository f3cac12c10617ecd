"""The several-head wrapper: any registered encoder, shared by one linear softmax head per aspect.

:func:`lstmtext.models.build_model` builds it when ``num_classes`` is a list: the base architecture is
built as usual (with the first head's size) and its ``encode`` gives the features every head reads. The
base's own ``fc`` stays in place but unused (so base methods that touch it, such as max-norm constraints,
keep working); the state dict holds ``base.*`` and ``heads.<j>.*``.

With ``attention_size`` set (``absa.head = "attention"``), each aspect also gets its own view of the text:
a query vector per aspect scores every real time step of the encoder's states (``score_tj = q_j . tanh(W
h_t + b)``, softmax over the real steps, so padding gets weight 0), and head j reads the aspect's weighted
average of the states next to the shared pooled vector. One sentence can praise the fuel use and blame the
engine; the shared vector has to carry both, the aspect's attention can look at its own words.
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
        scores = torch.tanh(self.attn_proj(states)) @ self.attn_queries.T  # (B, T', K)
        return torch.softmax(scores.masked_fill(~mask.unsqueeze(-1), float("-inf")), dim=1)

    def aspect_attention(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Return each aspect's weights over time ``(B, T', K)``: summing to 1 over the real steps, 0 on padding."""
        return self._aspect_weights(*self.base.token_states(ids, lengths))

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        """Return one logits tensor ``(B, C_j)`` per aspect j."""
        if self.attention_size is None:
            features = self.encode(ids, lengths)  # (B, F)
            return [head(features) for head in self.heads]
        features, states, mask = self.base.encode_with_states(ids, lengths)  # one pass over the text
        pooled = torch.einsum("btk,bts->bks", self._aspect_weights(states, mask), states)  # (B, K, S)
        return [head(torch.cat([features, pooled[:, j]], 1)) for j, head in enumerate(self.heads)]
