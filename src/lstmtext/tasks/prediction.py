"""The prediction record every task hands out (:class:`Prediction`), and the single-label one built from a row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np


class ExplainedOutput(NamedTuple):
    """One target an explanation weighs the tokens for: its ``name`` (``negative``, ``service=neg``), the model
    output ``column`` of its probability, and a ``note`` on why it is explained (empty when it is the prediction)."""

    name: str
    column: int
    note: str = ""


@dataclass
class Prediction:
    """One text's prediction: the same record from the CLI (JSON lines / CSV), the Python API and the server.

    Attributes:
        label: The predicted class (single-label), or None.
        score: Its probability.
        labels: The labels at or above their thresholds (multi-label), possibly empty.
        top_k: The best classes, best first: ``[{"label", "score"}]``.
        probabilities: Every class's probability, in the model's label order.
        aspects: Aspect models: one prediction per aspect.
        abstained: True when the best class's probability is below the asked ``min_confidence``.
        unsure: Multi-label with ``min_confidence``: the labels not decided surely enough.
        no_known_word: True when the text holds no word the model knows after cleaning: the answer is then the
            model's guess for an empty text, not a reading of this one.
        truncated: True when the text held more tokens than the model reads (``vocab.max_len``): the answer is a
            reading of its last (``vocab.truncating = "pre"``) or first ``max_len`` tokens.
    """

    label: str | None = None
    score: float | None = None
    labels: list[str] | None = None
    top_k: list[dict[str, Any]] = field(default_factory=list)
    probabilities: dict[str, float] = field(default_factory=dict)
    aspects: dict[str, Prediction] | None = None
    abstained: bool = False
    unsure: list[str] | None = None
    no_known_word: bool = False
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready record; fields a task does not use are left out. An abstention keeps ``label``
        as None (with ``abstained: true``) and still lists ``score``, ``top_k`` and ``probabilities``; a text with no
        known word gets ``no_known_word: true``, one longer than the model reads ``truncated: true``."""
        flag = {key: True for key, on in (("no_known_word", self.no_known_word), ("truncated", self.truncated)) if on}
        if self.aspects is not None:
            return {"aspects": {name: p.to_dict() for name, p in self.aspects.items()}, **flag}
        out: dict[str, Any] = {}
        if self.labels is not None:
            out["labels"] = list(self.labels)
            if self.unsure is not None:
                out["unsure"] = list(self.unsure)
        else:
            out.update(label=self.label, score=self.score)
            if self.abstained:
                out["abstained"] = True
        out.update(top_k=self.top_k, probabilities=self.probabilities, **flag)
        return out


def class_prediction(names: Sequence[str], row: np.ndarray, top_k: int | None,
                     min_confidence: float | None = None) -> Prediction:
    """The single-label record of one probability row: best class, its score, the ``top_k`` best and all;
    with ``min_confidence``, an abstention (``label`` None) when the best class's probability is below it."""
    order = np.argsort(-row, kind="stable")
    best = [{"label": names[i], "score": float(row[i])} for i in order[: top_k or None]]
    score = float(row[order[0]])
    unsure = min_confidence is not None and score < min_confidence
    return Prediction(label=None if unsure else names[int(order[0])], score=score, top_k=best,
                      probabilities={name: float(p) for name, p in zip(names, row)}, abstained=unsure)
