"""Signals that stop a long command as Ctrl-C does: turned into ``KeyboardInterrupt`` while a block runs."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def interrupting(*names: str) -> Iterator[None]:
    """While the block runs, the signals ``names`` (e.g. ``SIGTERM``, ``SIGHUP``; those this platform lacks are
    skipped) raise ``KeyboardInterrupt``, so the code that says what Ctrl-C kept says it for them too. Outside the
    main thread, which alone receives signals, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = [getattr(signal, name) for name in names if hasattr(signal, name)]
    before = {sig: signal.signal(sig, _raise_interrupt) for sig in sigs}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
