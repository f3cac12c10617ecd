"""How many torch threads a training uses (``train.threads``), and giving the caller's number back after."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch

from lstmtext.utils.cores import default_threads

F = TypeVar("F", bound=Callable[..., Any])


def configure_threads(threads: int | None) -> int:
    """Use ``threads`` torch threads (default: :func:`default_threads`); returns the number set."""
    n = threads or default_threads()
    torch.set_num_threads(n)
    return n


def keeps_thread_count(fn: F) -> F:
    """Give the process its own torch thread count back when ``fn`` returns: a training sets ``train.threads``,
    and a library call (``TextClassifier.fit``) must not leave a notebook's or ``cross_val_score``'s workers on
    another number."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        before = torch.get_num_threads()
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(before)

    return wrapper  # type: ignore[return-value]
