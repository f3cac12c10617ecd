"""TextCNN: parallel convolutions of several widths, ReLU and max-over-time pooling, with padding masked.

Padding never changes a prediction: padded embeddings are zeroed, a text shorter than the widest kernel
is zero-extended exactly as it would be alone, and only windows that start inside the text (at least one
per text) take part in the max.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lstmtext.config import ModelConfig
from lstmtext.models.dropout import Dropout
from lstmtext.models.layers import (
    embedding_kwargs,
    int_list,
    keras_init,
    make_embedding,
    padding_mask,
    positive_int,
    rate,
    read_options,
)
from lstmtext.models.registry import register_model

CNN_OPTIONS = {
    "kernel_sizes": int_list([3, 4, 5], "widths of the convolution windows, one bank of filters each"),
    "num_filters": positive_int(100, "filters per width"),
    "head_dropout": rate(0.5, "dropout on the pooled features before the output layer"),
}


class TextCNN(nn.Module):
    """Embedding -> Conv1d per width -> ReLU -> max over time -> concat -> Dropout -> Linear.

    Args:
        cfg: Model section; sizes in ``cfg.options`` (see ``CNN_OPTIONS``).
        vocab_size: Rows of the embedding table.
        num_classes: Number of output classes.
        embedding_weights: Optional initial embedding matrix ``(vocab_size, embedding_dim)``.
        freeze_embedding: Keep the embedding fixed during training.
    """

    def __init__(self, cfg: ModelConfig, vocab_size: int, num_classes: int,
                 embedding_weights: torch.Tensor | None = None, freeze_embedding: bool = False) -> None:
        super().__init__()
        opts = read_options("cnn", cfg, CNN_OPTIONS)
        self.kernel_sizes = list(opts["kernel_sizes"])
        self.max_kernel = max(self.kernel_sizes)
        self.embed_dropout = Dropout(cfg.embed_dropout)
        self.convs = nn.ModuleList(nn.Conv1d(cfg.embedding_dim, opts["num_filters"], k) for k in self.kernel_sizes)
        self.head_dropout = Dropout(opts["head_dropout"])
        self.fc = nn.Linear(opts["num_filters"] * len(self.kernel_sizes), num_classes)
        if cfg.init == "keras":
            keras_init(*self.convs, self.fc)
        self.embedding = make_embedding(cfg, vocab_size, embedding_weights, freeze_embedding)

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Return the pooled features ``(B, num_filters * len(kernel_sizes))``."""
        lengths = lengths.to(ids.device)
        x = self.embed_dropout(self.embedding(ids))  # (B, T, E)
        x = x * padding_mask(lengths, x.shape[1]).unsqueeze(-1).to(x.dtype)  # padding contributes exact zeros
        if x.shape[1] < self.max_kernel:  # a short batch gets the zeros a lone short text would get
            x = F.pad(x, (0, 0, 0, self.max_kernel - x.shape[1]))
        x = x.transpose(1, 2)  # (B, E, T')
        pooled = []
        for k, conv in zip(self.kernel_sizes, self.convs):
            h = torch.relu(conv(x))  # (B, F, T' - k + 1)
            starts = torch.clamp(lengths - k + 1, min=1)  # windows starting inside the text; at least one
            keep = padding_mask(starts, h.shape[2]).unsqueeze(1)  # (B, 1, T' - k + 1)
            pooled.append(h.masked_fill(~keep, 0.0).amax(dim=2))  # ReLU outputs are >= 0, so 0 never wins wrongly
        return self.head_dropout(torch.cat(pooled, dim=1))  # (B, F * widths)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Return logits ``(B, C)`` for post-padded ``ids (B, T)`` with true ``lengths (B,)``."""
        return self.fc(self.encode(ids, lengths))

    def deletion_encode(self, ids: torch.Tensor, found: None = None) -> tuple[torch.Tensor, None, None] | None:
        """The pooled features of the text ``ids (T,)`` (row 0) and of each copy without token i (row i + 1),
        computing only the windows that cross a deleted token: in copy i every other window is one of the text's,
        so its max is the text's windows' max before i (a running max), after i (a running max from the end) and
        over the k - 1 new windows (a batch of T spliced snippets of 2k - 2 tokens). T x (k - 1) windows per width
        instead of T x T. None in training mode or when a copy is shorter than the widest kernel (then the
        model zero-extends it: read the copies as texts)."""
        steps = len(ids)
        if self.training or steps - 1 < self.max_kernel:
            return None
        x = self.embedding(ids)  # (T, E); eval: no dropout, no padding
        padded = torch.cat([x, x.new_zeros(1, x.shape[1])])  # row T: zeros, for snippet positions off the text
        pooled = []
        for k, conv in zip(self.kernel_sizes, self.convs):
            h = torch.relu(conv(x.t().unsqueeze(0)))[0]  # (F, W): the text's W = T - k + 1 windows
            floor = h.new_zeros(h.shape[0], 1)  # ReLU outputs are >= 0: 0 is the max of no window
            before = torch.cat([floor, h.cummax(1).values], 1)  # (F, W + 1): max of windows 0..j-1
            after = torch.cat([h.flip(1).cummax(1).values.flip(1), floor], 1)  # (F, W + 1): max of windows j..W-1
            i = torch.arange(steps)
            kept_before = before[:, torch.clamp(i - k + 1, 0, h.shape[1])]  # windows ending before i: starts <= i-k
            kept_after = after[:, torch.clamp(i + 1, max=h.shape[1])]  # windows starting after i (shifted by one)
            offsets = torch.cat([torch.arange(-k + 1, 0), torch.arange(1, k)])  # (2k - 2,) around the deleted token
            where = i.unsqueeze(1) + offsets  # (T, 2k - 2) text positions of each copy's snippet
            snippets = padded[torch.where((where >= 0) & (where < steps), where, steps)]  # (T, 2k - 2, E)
            new = torch.relu(conv(snippets.transpose(1, 2)))  # (T, F, k - 1): copy starts i - k + 1 .. i - 1
            start = i.unsqueeze(1) + torch.arange(-k + 1, 0)  # (T, k - 1) in the copy's positions
            valid = (start >= 0) & (start <= steps - 1 - k)  # windows that start and end inside the copy
            new = new.masked_fill(~valid.unsqueeze(1), 0.0).amax(2)  # (T, F)
            copies = torch.maximum(torch.maximum(kept_before, kept_after).t(), new)  # (T, F)
            pooled.append(torch.cat([h.amax(1, keepdim=True).t(), copies]))  # (T + 1, F)
        return self.head_dropout(torch.cat(pooled, 1)), None, None

    def deletion_logits(self, ids: torch.Tensor) -> torch.Tensor | None:
        """Logits ``(T + 1, C)`` of the text ``ids (T,)`` and its T one-token deletions (see :meth:`deletion_encode`)."""
        encoded = self.deletion_encode(ids)
        return None if encoded is None else self.fc(encoded[0])


@register_model("cnn")
def build_cnn(cfg: ModelConfig, vocab_size: int, num_classes: int, **kwargs) -> nn.Module:
    """TextCNN: convolutions of several widths, ReLU, max-over-time pooling (options: kernel_sizes, num_filters, head_dropout)."""
    return TextCNN(cfg, vocab_size, num_classes, **embedding_kwargs(kwargs))


build_cnn.options = CNN_OPTIONS  # type: ignore[attr-defined]
build_cnn.ignores = ("hidden_size", "num_layers", "bidirectional", "pooling", "dropout",  # type: ignore[attr-defined]
                     "rnn_input_dropout")
