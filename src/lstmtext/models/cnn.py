"""TextCNN: parallel convolutions of several widths, ReLU and max-over-time pooling, with padding masked.

Also home of the small helpers the convolutional and attention models share: reading and checking
``model.options``, zeroing padded positions, the embedding table with its optional initial weights,
and Keras-style initialisation.

Padding never changes a prediction: padded embeddings are zeroed, a text shorter than the widest kernel
is zero-extended exactly as it would be alone, and only windows that start inside the text (at least one
per text) take part in the max.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lstmtext.config import ModelConfig
from lstmtext.errors import ConfigError
from lstmtext.models import register_model


@dataclass(frozen=True)
class Option:
    """One entry of ``model.options``: default, meaning, and the check its value must pass."""

    default: Any
    help: str
    check: Callable[[Any], bool]
    expected: str


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def positive_int(default: int | None, help: str, allow_none: bool = False) -> Option:
    """An option holding an int >= 1 (or None when ``allow_none``)."""
    expected = "an int >= 1" + (" or none" if allow_none else "")
    return Option(default, help, lambda v: (allow_none and v is None) or (_is_int(v) and v >= 1), expected)


def int_list(default: list[int], help: str) -> Option:
    """An option holding a non-empty list of ints >= 1."""
    ok = lambda v: isinstance(v, list) and len(v) > 0 and all(_is_int(x) and x >= 1 for x in v)  # noqa: E731
    return Option(default, help, ok, "a non-empty list of ints >= 1, e.g. [3, 4, 5]")


def rate(default: float, help: str) -> Option:
    """An option holding a probability in [0, 1)."""
    return Option(default, help, lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1,
                  "a number in [0, 1)")


def non_negative(default: float | None, help: str, allow_none: bool = False, strict: bool = False) -> Option:
    """An option holding a number >= 0 (> 0 when ``strict``), or None when ``allow_none``."""
    def ok(v: Any) -> bool:
        if v is None:
            return allow_none
        return isinstance(v, (int, float)) and not isinstance(v, bool) and (v > 0 if strict else v >= 0)

    return Option(default, help, ok, ("a number > 0" if strict else "a number >= 0") + (" or none" if allow_none else ""))


def read_options(name: str, cfg: ModelConfig, spec: dict[str, Option]) -> dict[str, Any]:
    """Return ``cfg.options`` completed with defaults, after checking every key and value.

    Raises:
        ConfigError: For an option the architecture does not have, or a value of the wrong kind.
    """
    for key in cfg.options:
        if key not in spec:
            close = difflib.get_close_matches(key, list(spec), n=1)
            hint = f"Did you mean {close[0]!r}?" if close else f"Options of {name!r}: {', '.join(spec) or 'none'}."
            raise ConfigError(f"model.options.{key}: not an option of architecture {name!r}. {hint}")
    out = {}
    for key, opt in spec.items():
        value = cfg.options.get(key, opt.default)
        if isinstance(value, str) and value.lower() == "none":  # TOML has no null
            value = None
        if not opt.check(value):
            raise ConfigError(f"model.options.{key} of {name!r} must be {opt.expected}. Got {value!r} instead.")
        out[key] = value
    return out


def padding_mask(lengths: torch.Tensor, width: int) -> torch.Tensor:
    """Return a ``(B, width)`` bool mask, True at real tokens of post-padded sequences."""
    return torch.arange(width, device=lengths.device)[None, :] < lengths[:, None]


def make_embedding(cfg: ModelConfig, vocab_size: int, embedding_weights: torch.Tensor | None,
                   freeze: bool) -> nn.Embedding:
    """Build the embedding table: Keras-style uniform(+-0.05) or PyTorch init, then the given weights."""
    embedding = nn.Embedding(vocab_size, cfg.embedding_dim, padding_idx=0)
    with torch.no_grad():
        if cfg.init == "keras":
            nn.init.uniform_(embedding.weight, -0.05, 0.05)
        embedding.weight[0].zero_()
        if embedding_weights is not None:
            embedding.weight.copy_(embedding_weights)
    embedding.weight.requires_grad_(not freeze)
    return embedding


def keras_init(*layers: nn.Module) -> None:
    """Glorot-uniform kernels and zero biases, as Keras' Conv1D and Dense layers start."""
    for layer in layers:
        nn.init.xavier_uniform_(layer.weight)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)


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
        self.embed_dropout = nn.Dropout(cfg.embed_dropout)
        self.convs = nn.ModuleList(nn.Conv1d(cfg.embedding_dim, opts["num_filters"], k) for k in self.kernel_sizes)
        self.head_dropout = nn.Dropout(opts["head_dropout"])
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


def embedding_kwargs(kwargs: dict) -> dict:
    """Keep the builder kwargs every model accepts (initial weights, freezing)."""
    return {k: kwargs[k] for k in ("embedding_weights", "freeze_embedding") if k in kwargs}


@register_model("cnn")
def build_cnn(cfg: ModelConfig, vocab_size: int, num_classes: int, **kwargs) -> nn.Module:
    """TextCNN: convolutions of several widths, ReLU, max-over-time pooling (options: kernel_sizes, num_filters, head_dropout)."""
    return TextCNN(cfg, vocab_size, num_classes, **embedding_kwargs(kwargs))


build_cnn.options = CNN_OPTIONS  # type: ignore[attr-defined]
