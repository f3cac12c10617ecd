"""How many torch threads a training uses (``train.threads``)."""

from __future__ import annotations

import torch

from lstmtext.utils.cores import usable_cores


def configure_threads(threads: int | None) -> int:
    """Use ``threads`` torch threads (default: every core); returns the number set."""
    n = threads or usable_cores()
    torch.set_num_threads(n)
    return n
