"""Dropout from a uniform mask: ``nn.Dropout``'s rule (each entry zeroed with probability p, the rest scaled by
1 / (1 - p), while training only), drawn with ``torch.rand`` instead of ``bernoulli_``, which draws slowly on the CPU.

Measured on a 2-core Xeon with AMX, 2 threads: a (64, 30, 128) embedding batch, forward and backward, 3.65 ms with
``nn.functional.dropout`` against 1.53 ms; on a 2048 x 512 weight matrix (DropConnect), 14.84 against 5.95 ms.
The masks follow the same distribution as ``nn.Dropout``'s, from another random stream: a fixed seed still gives
the same run twice, but not the numbers of a version that used ``nn.Dropout``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def dropout(x: Tensor, p: float) -> Tensor:
    """``x`` with a share ``p`` of its entries zeroed and the rest scaled by 1 / (1 - p), as
    ``nn.functional.dropout`` in training; differentiable (the gradient is the same mask times the upstream one)."""
    if p <= 0.0:
        return x
    if p >= 1.0:
        return x * 0.0
    return x * torch.rand_like(x).ge_(p).mul_(1.0 / (1.0 - p))


class Dropout(nn.Dropout):
    """``nn.Dropout`` (same arguments, repr and eval-mode identity) drawing its mask with :func:`dropout`."""

    def forward(self, x: Tensor) -> Tensor:  # noqa: D102
        return dropout(x, self.p) if self.training else x
