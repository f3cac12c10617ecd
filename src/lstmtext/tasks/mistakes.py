"""The report's most confident mistakes, one per wrong decision, for every task.

A decision is a text's class, an aspect's label, or one label of a multi-label text chosen or not (at its tuned
threshold). Each wrong one is listed with the probability the model gave it (for a missed label, 1 - p: how sure
it was that the label is absent) and the output column whose explanation shows which words pushed it there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def confident_mistakes(task: Any, texts: Sequence[str], labels: Sequence[Any], proba: np.ndarray,
                       n: int) -> list[dict[str, Any]]:
    """The ``n`` wrong decisions the model was surest of, surest first: ``{"text", "true", "predicted",
    "probability", "output", "sign"}``; ``sign`` is -1 where the wrong decision is a label's absence (the words
    that pushed it lowered the label's probability)."""
    targets, names = task.targets(labels), task.output_names()
    found: list[dict[str, Any]] = []
    if task.layout.activation == "sigmoid":
        cuts = task.decision_cuts()
        chosen = proba >= (cuts if cuts is not None else 0.5)
        for i, k in zip(*np.nonzero(chosen != (targets > 0.5))):
            extra = bool(chosen[i, k])  # chosen but not given; else given but missed
            found.append({"text": texts[i], "true": f"not {names[k]}" if extra else names[k],
                          "predicted": names[k] if extra else f"not {names[k]}",
                          "probability": float(proba[i, k] if extra else 1 - proba[i, k]), "output": int(k),
                          "sign": 1 if extra else -1})
    else:
        y = targets.reshape(len(targets), -1)
        grouped = len(task.layout.sizes) > 1
        for j, s in enumerate(task.layout.slices()):
            guess = proba[:, s].argmax(1)

            def name(c: int, s: slice = s, j: int = j) -> str:  # "aspect=label" for aspect models
                group = task.group_names()[j]  # an output is named "aspect:label", and either may hold a ':'
                return f"{group}={names[s.start + c].removeprefix(group + ':')}" if grouped else names[c]

            for i in np.flatnonzero(guess != y[:, j]):
                found.append({"text": texts[i], "true": name(int(y[i, j])), "predicted": name(int(guess[i])),
                              "probability": float(proba[i, s.start + guess[i]]), "output": s.start + int(guess[i]),
                              "sign": 1})
    found.sort(key=lambda r: -r["probability"])
    return found[:n]
