"""C-LSTM of the Indonesian news paper: Conv1D (300 filters, ReLU) -> LSTM (128) -> Dense (128, ReLU) -> Dropout (0.6).

The paper's Tabel I also puts a max-norm constraint of 1 on the weights and an L2 regulariser of 0.001.
Here both are options of the model, so the trainer stays generic:

- ``options.max_norm``: after every optimizer step the trainer calls :meth:`CLSTM.apply_constraints`,
  which rescales each filter of the convolution and each unit of the dense and output layers to an L2
  norm of at most ``max_norm`` (Keras' ``max_norm`` applied per output unit).
- ``options.l2``: adds ``2 * l2 * W`` to the gradients of the same three kernels, which is exactly the
  gradient of Keras' ``kernel_regularizer=l2(l2)`` term ``l2 * sum(W**2)`` (biases, the embedding and
  the LSTM are not penalised). ``train.weight_decay`` still works on top of it, for every parameter.

The convolution is "same"-width (zeros beyond both ends of the text), so the LSTM reads exactly one
feature vector per token and can pack the sequences: padding never reaches it. The LSTM dropout of
Tabel I (0.9, Keras' ``LSTM(dropout=...)``) is ``model.rnn_input_dropout``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lstmtext.config import ModelConfig
from lstmtext.models.dropout import Dropout
from lstmtext.models.layers import (
    embedding_kwargs,
    keras_init,
    keras_init_rnn,
    make_embedding,
    non_negative,
    padding_mask,
    positive_int,
    rate,
    read_options,
)
from lstmtext.models.registry import register_model

CLSTM_OPTIONS = {
    "num_filters": positive_int(300, "filters of the convolution (Tabel I: 300)"),
    "kernel_size": positive_int(3, "width of the convolution window (not given in the paper)"),
    "dense_size": positive_int(128, "units of the ReLU dense layer after the LSTM (Tabel I: 128)"),
    "head_dropout": rate(0.6, "dropout after the dense layer (Tabel I: 0.6)"),
    "max_norm": non_negative(1.0, "max L2 norm per filter/unit of conv, dense and output kernels; none: off",
                             allow_none=True, strict=True),
    "l2": non_negative(0.001, "L2 penalty on the conv, dense and output kernels (Keras' l2); 0: off"),
}


class _AddL2Grad(torch.autograd.Function):
    """Identity on a weight whose backward adds ``2 * l2 * W``: the gradient of ``l2 * sum(W**2)``."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor, l2: float) -> torch.Tensor:  # noqa: D102
        ctx.save_for_backward(weight)
        ctx.l2 = l2
        return weight.view_as(weight)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: D102
        (weight,) = ctx.saved_tensors
        return grad + 2.0 * ctx.l2 * weight, None


class CLSTM(nn.Module):
    """Embedding -> Conv1d (same width) -> ReLU -> packed LSTM -> Dense + ReLU -> Dropout -> Linear.

    Args:
        cfg: Model section: ``hidden_size`` is the LSTM size, ``pooling`` how its states become one vector;
            the rest in ``cfg.options`` (see ``CLSTM_OPTIONS``).
        vocab_size: Rows of the embedding table.
        num_classes: Number of output classes.
        embedding_weights: Optional initial embedding matrix ``(vocab_size, embedding_dim)``.
        freeze_embedding: Keep the embedding fixed during training.
    """

    def __init__(self, cfg: ModelConfig, vocab_size: int, num_classes: int,
                 embedding_weights: torch.Tensor | None = None, freeze_embedding: bool = False) -> None:
        super().__init__()
        opts = read_options("clstm", cfg, CLSTM_OPTIONS)
        self.max_norm, self.l2, self.pooling = opts["max_norm"], float(opts["l2"]), cfg.pooling
        k = opts["kernel_size"]
        self.pad = ((k - 1) // 2, k // 2)  # "same" width for odd and even kernels
        self.embed_dropout = Dropout(cfg.embed_dropout)
        self.conv = nn.Conv1d(cfg.embedding_dim, opts["num_filters"], k)
        self.rnn_input_dropout = cfg.rnn_input_dropout
        # torch's packed LSTM, not FusedLSTM: at this preset's batch of 16, FusedLSTM's Python step loop measured
        # slower (1 epoch on the airline tweets: 15.9 s against 11.0).
        self.rnn = nn.LSTM(opts["num_filters"], cfg.hidden_size, num_layers=cfg.num_layers, batch_first=True,
                           dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        self.dense = nn.Linear(cfg.hidden_size, opts["dense_size"])
        self.head_dropout = Dropout(opts["head_dropout"])
        self.fc = nn.Linear(opts["dense_size"], num_classes)
        if cfg.init == "keras":
            keras_init(self.conv, self.dense, self.fc)
            keras_init_rnn(self.rnn, "lstm")
        self.embedding = make_embedding(cfg, vocab_size, embedding_weights, freeze_embedding)

    def _kernel(self, layer: nn.Module) -> torch.Tensor:
        if self.training and self.l2 > 0 and torch.is_grad_enabled():
            return _AddL2Grad.apply(layer.weight, self.l2)
        return layer.weight

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Return the dense layer's features ``(B, dense_size)``."""
        x = self.embed_dropout(self.embedding(ids))  # (B, T, E)
        mask = padding_mask(lengths.to(ids.device), x.shape[1]).unsqueeze(-1)  # (B, T, 1)
        x = (x * mask.to(x.dtype)).transpose(1, 2)  # (B, E, T); padding is exact zeros, as beyond a lone text
        h = torch.relu(F.conv1d(F.pad(x, self.pad), self._kernel(self.conv), self.conv.bias))  # (B, F, T)
        h = h.transpose(1, 2)  # (B, T, F)
        if self.training and self.rnn_input_dropout > 0:
            keep = 1.0 - self.rnn_input_dropout
            h = h * torch.bernoulli(h.new_full((h.shape[0], 1, h.shape[2]), keep)) / keep  # one mask per text
        packed = pack_padded_sequence(h, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, (h_n, _) = self.rnn(packed)
        if self.pooling == "last":
            state = h_n[-1]  # (B, H)
        else:
            padded, _ = pad_packed_sequence(out, batch_first=True)  # (B, T, H)
            valid = mask[:, : padded.shape[1]].to(padded.device)  # (B, T, 1)
            if self.pooling == "mean":
                state = (padded * valid).sum(1) / lengths.to(padded.device, padded.dtype).unsqueeze(1)
            else:
                state = padded.masked_fill(~valid, float("-inf")).amax(1)
        dense = torch.relu(F.linear(state, self._kernel(self.dense), self.dense.bias))  # (B, D)
        return self.head_dropout(dense)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Return logits ``(B, C)`` for post-padded ``ids (B, T)`` with true ``lengths (B,)``."""
        return F.linear(self.encode(ids, lengths), self._kernel(self.fc), self.fc.bias)

    @torch.no_grad()
    def apply_constraints(self) -> None:
        """Rescale each conv filter and dense/output unit to an L2 norm <= ``max_norm`` (after each step)."""
        if self.max_norm is None:
            return
        for layer in (self.conv, self.dense, self.fc):
            layer.weight.copy_(torch.renorm(layer.weight, p=2, dim=0, maxnorm=self.max_norm))


@register_model("clstm")
def build_clstm(cfg: ModelConfig, vocab_size: int, num_classes: int, **kwargs) -> nn.Module:
    """C-LSTM (Indonesian news paper): Conv1D -> LSTM -> Dense(ReLU) -> Dropout, max-norm and L2 (see options)."""
    return CLSTM(cfg, vocab_size, num_classes, **embedding_kwargs(kwargs))


build_clstm.ignores = ("bidirectional",)  # type: ignore[attr-defined]


build_clstm.options = CLSTM_OPTIONS  # type: ignore[attr-defined]
