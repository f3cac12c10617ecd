"""Pieces every architecture shares: ``model.options`` specs and checks, the padding mask, the embedding
table with its optional initial weights, and Keras-style initialisation of dense, convolutional and
recurrent layers.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from lstmtext.config import ModelConfig
from lstmtext.errors import ConfigError


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


def keras_init_rnn(rnn: nn.Module, cell: str) -> None:
    """Initialise a recurrent layer as Keras does: Glorot-uniform input weights, orthogonal recurrent
    weights (the whole ``(gates * H, H)`` kernel, not each gate's block), zero biases, LSTM forget bias 1."""
    hidden = rnn.hidden_size
    for name, param in rnn.named_parameters():
        if name.startswith("weight_ih"):
            nn.init.xavier_uniform_(param)
        elif name.startswith("weight_hh"):
            nn.init.orthogonal_(param)
        else:
            nn.init.zeros_(param)
            if cell == "lstm" and name.startswith("bias_ih"):
                param.data[hidden : 2 * hidden] = 1.0  # forget gate (PyTorch order i, f, g, o)


def embedding_kwargs(kwargs: dict) -> dict:
    """Keep the builder kwargs every model accepts (initial weights, freezing)."""
    return {k: kwargs[k] for k in ("embedding_weights", "freeze_embedding") if k in kwargs}


def tanh_(x: torch.Tensor) -> torch.Tensor:
    """``x.tanh_()`` for a temporary ``x``; without autograd computed in place as 2 sigmoid(2 x) - 1, as torch's
    CPU tanh is the slower of the two (the aspect attention over a 256-token review's 257 deletion copies:
    8.3 ms a member with tanh). With autograd: ``torch.tanh(x)``, a new tensor."""
    if torch.is_grad_enabled() and x.requires_grad:
        return torch.tanh(x)
    return x.mul_(2).sigmoid_().mul_(2).sub_(1)
