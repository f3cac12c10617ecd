"""Checks of what a task tuned and a saved model carries in ``task.json``, before anything is predicted with it."""

from __future__ import annotations

import math
from typing import Any

from lstmtext.models.heads import OutputLayout


def check_state(state: dict[str, Any], layout: OutputLayout) -> None:
    """Raise ``ValueError`` (one line) when ``state``'s temperatures or thresholds do not fit ``layout``.

    Temperatures: one per softmax group (one per sigmoid output), each finite and above 0 (dividing the logits
    by 0 gave NaN scores). Thresholds: one per sigmoid output, each a finite number (tuning may set one just above
    1, the next float after a probability of 1, for "never").
    """
    groups = layout.total if layout.activation == "sigmoid" else len(layout.sizes)
    temperatures = state.get("temperatures")
    if temperatures is not None:
        if not isinstance(temperatures, list) or len(temperatures) != groups:
            raise ValueError(f"temperatures: {groups} expected (one per {'label' if layout.activation == 'sigmoid' else 'output group'}), "
                             f"got {temperatures!r}")
        if not all(isinstance(t, (int, float)) and math.isfinite(t) and t > 0 for t in temperatures):
            raise ValueError(f"temperatures must be finite numbers above 0, got {temperatures!r}")
    thresholds = state.get("thresholds")
    if thresholds is not None:
        if not isinstance(thresholds, list) or len(thresholds) != layout.total:
            raise ValueError(f"thresholds: {layout.total} expected (one per label), got {thresholds!r}")
        if not all(isinstance(t, (int, float)) and math.isfinite(t) for t in thresholds):
            raise ValueError(f"thresholds must be finite numbers, got {thresholds!r}")
