"""BiLSTM with attention pooling: a learnt, masked weighted average of the states replaces the last state.

Additive attention (Bahdanau-style scoring, as in Yang et al.'s hierarchical attention networks):
``score_t = v . tanh(W h_t + b)``, a softmax over the real time steps only (padding gets weight 0), and
the features are ``sum_t a_t h_t``. The encoder (embedding, dropouts, Keras-style init, packed BiLSTM) is
the ``bilstm`` model's.
"""

from __future__ import annotations

import torch
from torch import nn

from lstmtext.config import ModelConfig
from lstmtext.models.dropout import Dropout
from lstmtext.models.layers import embedding_kwargs, positive_int, rate, read_options, tanh_
from lstmtext.models.recurrent import RecurrentClassifier
from lstmtext.models.registry import register_model

ATTENTION_OPTIONS = {
    "attention_size": positive_int(None, "units of the scoring layer; none: model.hidden_size", allow_none=True),
    "head_dropout": rate(0.0, "dropout on the pooled features before the output layer"),
}


class AttentionClassifier(RecurrentClassifier):
    """Embedding -> packed BiLSTM -> masked additive attention over time -> Dropout -> Linear.

    Args:
        cfg: Model section (``bidirectional`` is forced on, ``pooling`` is replaced by attention);
            extras in ``cfg.options`` (see ``ATTENTION_OPTIONS``).
        vocab_size: Rows of the embedding table.
        num_classes: Number of output classes.
        embedding_weights: Optional initial embedding matrix ``(vocab_size, embedding_dim)``.
        freeze_embedding: Keep the embedding fixed during training.
    """

    def __init__(self, cfg: ModelConfig, vocab_size: int, num_classes: int,
                 embedding_weights: torch.Tensor | None = None, freeze_embedding: bool = False) -> None:
        opts = read_options("bilstm_attn", cfg, ATTENTION_OPTIONS)
        super().__init__(cfg.model_copy(update={"bidirectional": True}), vocab_size, num_classes, "lstm",
                         embedding_weights, freeze_embedding)
        features = 2 * cfg.hidden_size
        self.attn_proj = nn.Linear(features, opts["attention_size"] or cfg.hidden_size)
        self.attn_score = nn.Linear(self.attn_proj.out_features, 1, bias=False)
        self.head_dropout = Dropout(opts["head_dropout"])
        if cfg.init == "keras":
            nn.init.xavier_uniform_(self.attn_proj.weight)
            nn.init.zeros_(self.attn_proj.bias)
            nn.init.xavier_uniform_(self.attn_score.weight)

    def _weights(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.attn_score(tanh_(self.attn_proj(states))).squeeze(-1)  # (B, T)
        return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)  # 0 on padding

    def attention_weights(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Return the attention over time ``(B, T)`` (rows sum to 1, zeros on padding), e.g. to explain."""
        states, mask = self.token_states(ids, lengths)  # (B, T, 2H), (B, T)
        weights = self._weights(states, mask)
        return nn.functional.pad(weights, (0, ids.shape[1] - weights.shape[1]))

    def _pool(self, padded: torch.Tensor, h_n: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor,
              max_reads_all: bool = False) -> torch.Tensor:
        """The attention-pooled states ``(B, 2H)`` (what :meth:`encode_with_states` returns first)."""
        weights = self._weights(padded, mask)  # (B, T)
        return self.head_dropout(torch.bmm(weights.unsqueeze(1), padded).squeeze(1))  # (B, 2H)

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Return the attention-pooled states ``(B, 2H)``."""
        return self.encode_with_states(ids, lengths)[0]


@register_model("bilstm_attn")
def build_bilstm_attn(cfg: ModelConfig, vocab_size: int, num_classes: int, **kwargs) -> nn.Module:
    """BiLSTM with masked additive attention pooling over time (options: attention_size, head_dropout)."""
    return AttentionClassifier(cfg, vocab_size, num_classes, **embedding_kwargs(kwargs))


build_bilstm_attn.ignores = ("bidirectional", "pooling")  # type: ignore[attr-defined]
build_bilstm_attn.forces = {"bidirectional": True}  # type: ignore[attr-defined]


build_bilstm_attn.options = ATTENTION_OPTIONS  # type: ignore[attr-defined]
