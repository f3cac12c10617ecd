"""How many torch threads a training uses (``train.threads``)."""

from __future__ import annotations

import os

import torch


def configure_threads(threads: int | None) -> int:
    """Use ``threads`` torch threads (default: every core); returns the number set."""
    n = threads or os.cpu_count() or 1
    torch.set_num_threads(n)
    return n
