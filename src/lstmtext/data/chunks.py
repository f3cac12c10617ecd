"""Where a chunk of a file's rows ends: at ``chunk_size`` rows, or once they hold ``max_chars`` characters.

Prediction, embedding and pretraining read files a chunk at a time and clean and tokenise each chunk at once;
a count of rows alone let 10,000 lines of 20,000 characters into one chunk (4.6 GB to predict a 200 MB file).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def capped(items: Iterable[T], chunk_size: int, max_chars: int | None, chars: Callable[[T], int]
           ) -> Iterator[list[T]]:
    """``items`` in lists of at most ``chunk_size``, each ended too once ``chars`` of its items add up to
    ``max_chars`` (None: by count alone)."""
    chunk: list[T] = []
    total = 0
    for item in items:
        chunk.append(item)
        if max_chars is not None:
            total += chars(item)
        if len(chunk) == chunk_size or (max_chars is not None and total >= max_chars):
            yield chunk
            chunk, total = [], 0
    if chunk:
        yield chunk
