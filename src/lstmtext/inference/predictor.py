"""Prediction from raw text: clean, encode, run length-bucketed batches without gradients, softmax."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lstmtext.inference.bundle import Bundle, load_bundle
from lstmtext.training.loop import predict_logits


@dataclass
class Prediction:
    """The predicted label, its probability, and every class's probability (best first)."""

    label: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self, top_k: int | None = None) -> dict[str, Any]:
        items = list(self.scores.items())[: top_k or None]
        return {"label": self.label, "score": self.score, "scores": dict(items)}


class Predictor:
    """Predict labels for raw texts with a loaded bundle (an aspect bundle gives an ``AspectPredictor``).

    Args:
        bundle: A loaded bundle (see :func:`lstmtext.inference.bundle.load_bundle`).
        batch_size: Texts per forward pass.
    """

    def __new__(cls, bundle: Bundle, *args: Any, **kwargs: Any) -> Predictor:
        if cls is Predictor and isinstance(bundle.labels, dict):  # an aspect model: one head per aspect
            from lstmtext.tasks.absa.predict import AspectPredictor

            cls = AspectPredictor
        return super().__new__(cls)

    def __init__(self, bundle: Bundle, batch_size: int = 1024) -> None:
        self.bundle = bundle
        self.encoder = bundle.encoder
        self.model = bundle.model.eval()
        self.labels = bundle.labels
        self.batch_size = batch_size

    @classmethod
    def from_bundle(cls, path: str | Path, **kwargs: Any) -> Predictor:
        """Load the bundle at ``path`` (a bundle folder or a training output folder)."""
        return cls(load_bundle(path), **kwargs)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Return class probabilities ``(n_texts, n_classes)`` in the order of :attr:`labels`."""
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        logits = predict_logits(self.model, self.encoder.encode(list(texts)), self.batch_size)
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, texts: Sequence[str], top_k: int | None = None) -> list[Prediction]:
        """Return one :class:`Prediction` per text; ``scores`` holds the ``top_k`` best classes (all if None)."""
        proba = self.predict_proba(texts)
        out = []
        for row in proba:
            order = np.argsort(-row, kind="stable")[: top_k or None]
            scores = {self.labels[i]: float(row[i]) for i in order}
            out.append(Prediction(self.labels[int(order[0])], float(row[order[0]]), scores))
        return out
