"""Prediction with aspect models: every aspect of every text, with its label and class probabilities.

``Predictor(bundle)`` (and ``Predictor.from_bundle``) return an :class:`AspectPredictor` for an aspect
bundle, so callers use one API. ``only_mentioned`` leaves out the aspects predicted as not mentioned
(any label in the bundle's ``absa.not_mentioned``, e.g. ``neutral``/``neut``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
import torch

from lstmtext.inference.bundle import Bundle
from lstmtext.errors import DataError
from lstmtext.inference.predictor import Prediction, Predictor
from lstmtext.training.loop import predict_logits


@dataclass
class AspectPrediction:
    """One text's predictions: ``{aspect: Prediction(label, score, scores)}`` in the model's aspect order."""

    aspects: dict[str, Prediction] = field(default_factory=dict)

    def to_dict(self, top_k: int | None = None) -> dict[str, Any]:
        """Return ``{"aspects": {aspect: {"label", "score", "scores"}}}``."""
        return {"aspects": {a: p.to_dict(top_k) for a, p in self.aspects.items()}}


class AspectPredictor(Predictor):
    """Predict every aspect of raw texts with a loaded aspect bundle.

    Args:
        bundle: A loaded bundle whose ``labels`` are ``{aspect: [labels]}``.
        batch_size: Texts per forward pass.
    """

    is_aspect = True

    def __init__(self, bundle: Bundle, batch_size: int = 1024) -> None:
        super().__init__(bundle, batch_size)
        self.aspects = list(bundle.labels)
        self.not_mentioned = set(bundle.config.absa.not_mentioned)

    def predict_proba(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Return ``{aspect: probabilities (n_texts, n_classes of the aspect)}`` in each aspect's label order."""
        if len(texts) == 0:
            return {a: np.zeros((0, len(labels)), dtype=np.float32) for a, labels in self.labels.items()}
        logits = predict_logits(self.model, self.encoder.encode(list(texts)), self.batch_size)
        return {a: torch.softmax(lg, dim=1).numpy() for a, lg in zip(self.aspects, logits)}

    def predict(self, texts: Sequence[str], top_k: int | None = None,
                only_mentioned: bool = False) -> list[AspectPrediction]:
        """Return one :class:`AspectPrediction` per text.

        Args:
            texts: Raw texts.
            top_k: Classes listed in each aspect's ``scores`` (best first); None: all.
            only_mentioned: Leave out aspects whose predicted label means "not mentioned".
        """
        proba = self.predict_proba(texts)
        out = [AspectPrediction() for _ in texts]
        for aspect, labels in self.labels.items():
            for item, row in zip(out, proba[aspect]):
                order = np.argsort(-row, kind="stable")
                label = labels[int(order[0])]
                if only_mentioned and label in self.not_mentioned:
                    continue
                scores = {labels[i]: float(row[i]) for i in order[: top_k or None]}
                item.aspects[aspect] = Prediction(label, float(row[order[0]]), scores)
        return out


def write_aspect_predictions(out: IO[str], texts: Sequence[str], predictions: Sequence[AspectPrediction],
                             aspects: Sequence[str], top_k: int | None, fmt: str) -> None:
    """Write one record per text: JSON lines (``text``, ``aspects``) or CSV (text, then label and score per aspect).

    Raises:
        DataError: If ``fmt`` is neither json nor csv.
    """
    if fmt == "json":
        for text, p in zip(texts, predictions):
            out.write(json.dumps({"text": text, **p.to_dict(top_k)}, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(["text", *[f"{a}{suffix}" for a in aspects for suffix in ("", "_score")]])
        for text, p in zip(texts, predictions):
            cells = [[p.aspects[a].label, f"{p.aspects[a].score:.6f}"] if a in p.aspects else ["", ""] for a in aspects]
            writer.writerow([text, *[c for pair in cells for c in pair]])
    else:
        raise DataError(f"--format {fmt!r}: use json or csv.")
