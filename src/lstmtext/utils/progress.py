"""Progress on long work: a bar on a terminal, one line per epoch wherever the output goes.

A bar redraws itself with carriage returns; written to a file or a pipe (a job log, ``| tee``) every redraw
becomes text, so there the bar is left out and only the epoch lines are written.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm

log = logging.getLogger("lstmtext.training")


def seconds(value: float) -> str:
    """A duration for a person: ``"0.4 s"`` under 10 seconds (a tiny run was ``"0 s"``), ``"93 s"`` above."""
    return f"{value:.1f} s" if value < 9.95 else f"{value:.0f} s"


def time_left(elapsed: float, done: int, total: int) -> str:
    """The rest of a run of ``total`` epochs after ``done`` of them took ``elapsed`` seconds, for an epoch line:
    ``"; 8 epochs left, about 41 s"`` (early stopping may end it sooner), ``""`` after the last epoch. A bar shows
    its own epoch's time left; this is the whole run's."""
    left = total - done if done > 0 else 0
    if left <= 0:
        return ""
    return f"; {left} epoch{'s' if left != 1 else ''} left, about {seconds(elapsed / done * left)}"


def on_terminal() -> bool:
    """Whether standard error is a terminal (where a redrawn bar reads as one line)."""
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress_bar(iterable: Iterable[Any], total: int | None, desc: str, enabled: bool, **kwargs: Any) -> tqdm:
    """A tqdm bar over ``iterable`` (``total`` None: a count and a rate), cleared when done; silent when not
    ``enabled`` or not on a terminal."""
    return tqdm(iterable, total=total, desc=desc, disable=not (enabled and on_terminal()), leave=False,
                dynamic_ncols=True, **kwargs)


def epoch_line(message: str, enabled: bool) -> None:
    """Show one epoch's summary: above the bars when ``enabled`` (standard error), else in the log only."""
    if enabled:
        tqdm.write(message, file=sys.stderr)
    else:
        log.info(message)
