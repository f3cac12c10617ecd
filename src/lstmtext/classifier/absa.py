"""``AspectClassifier``: one label per aspect, ``y`` a 2-D array with a column per aspect."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin

from lstmtext.classifier.base import TextEstimator
from lstmtext.config.presets import task_preset
from lstmtext.data.arrays import class_labels, is_missing
from lstmtext.errors import DataError


class AspectClassifier(ClassifierMixin, TextEstimator):
    """One label per aspect: ``y`` is 2-D ``(n, A)`` (a DataFrame's columns name the aspects, else ``aspects``).
    ``predict`` returns the labels ``(n, A)``; ``predict_proba`` a list of ``(n, C_j)`` arrays, one per aspect
    (scikit-learn's multi-output form); ``score`` the share of texts with every aspect right.

    Args:
        aspects: Aspect names when ``y`` has none (default ``aspect0``, ``aspect1``, ...).
        preset: Default ``absa`` (the aspect preset); the other arguments as :class:`TextClassifier`'s.
    """

    _task = "absa"

    def __init__(self, preset: str | None = task_preset("absa"), *, aspects: Sequence[str] | None = None,
                 model: str | None = None,
                 epochs: int | None = None, batch_size: int | None = None, lr: float | None = None,
                 embedding_dim: int | None = None, hidden_size: int | None = None, max_len: int | None = None,
                 preprocess: str | None = None, class_weight: str | None = None, valid_size: float | None = None,
                 random_state: int | None = None, overrides: dict[str, Any] | None = None,
                 config: str | Path | None = None, progress: bool = False) -> None:
        super().__init__(preset, model=model, epochs=epochs, batch_size=batch_size, lr=lr,
                         embedding_dim=embedding_dim, hidden_size=hidden_size, max_len=max_len,
                         preprocess=preprocess, class_weight=class_weight, valid_size=valid_size,
                         random_state=random_state, overrides=overrides, config=config, progress=progress)
        self.aspects = aspects

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags

    def _labels(self, y: Any, n: int) -> tuple[list[Any], dict[str, Any]]:
        names = [str(c) for c in y.columns] if hasattr(y, "columns") else None
        matrix = np.asarray(y, dtype=object)
        if matrix.ndim != 2 or len(matrix) != n:
            raise DataError(f"y: expected one row of aspect labels per text ({n} rows, one column per aspect). "
                            f"Got shape {matrix.shape}.")
        aspects = list(self.aspects or names or [f"aspect{j}" for j in range(matrix.shape[1])])
        if len(aspects) != matrix.shape[1]:
            raise DataError(f"aspects: {len(aspects)} names for {matrix.shape[1]} columns of y. Give one per column.")
        twice = next((a for a in aspects if aspects.count(a) > 1), None)
        if twice is not None:  # an IndexError traceback in the task
            raise DataError(f"{'aspects' if self.aspects else 'y'}: the aspect {twice!r} is named twice. Name each "
                            "aspect once.")
        from lstmtext.tasks.absa.data import not_mentioned_label

        gap = next(((i, j) for i, row in enumerate(matrix) for j, v in enumerate(row) if is_missing(v)), None)
        if gap is not None:
            raise DataError(f"y: row {gap[0]}, aspect {aspects[gap[1]]!r} is missing. Give every aspect a label (the "
                            "label of an aspect a text does not mention, e.g. 'neutral', where it has none).")
        matrix = matrix.copy()
        for j, aspect in enumerate(aspects):  # one kind per aspect: 1 and '1' refused, 1 and 1.0 one class
            matrix[:, j] = class_labels(matrix[:, j].tolist(), f"y (aspect {aspect!r})")
        self._label_values = {str(v): v for v in matrix.ravel().tolist()}  # -1, 0, 1 come back as ints, not '-1'
        labels = [tuple(str(v) for v in row) for row in matrix]
        nm = not_mentioned_label({v for row in labels for v in row}, self.resolve_config(warn=False).absa.not_mentioned)
        return labels, {"aspects": aspects, "not_mentioned": nm}

    def _fitted_from_labels(self) -> None:
        originals = getattr(self, "_label_values", {})
        values = [np.asarray([originals.get(name, name) for name in v]) for v in self.predictor_.task.labels.values()]
        # each aspect's classes sorted as TextClassifier's and np.unique's are (the task's order is its names': '10'
        # before '2'); predict_proba's columns follow
        self._orders = [np.argsort(v, kind="stable") for v in values]
        self.classes_ = [v[order] for v, order in zip(values, self._orders)]
        self.aspects_ = list(self.predictor_.task.labels)

    def _outputs(self, proba: np.ndarray) -> list[np.ndarray]:
        return [proba[:, s][:, order] for s, order in zip(self.predictor_.task.layout.slices(), self._orders)]

    def _decide(self, proba: np.ndarray) -> np.ndarray:
        parts = self._outputs(proba)
        return np.stack([c[p.argmax(1)] for c, p in zip(self.classes_, parts)], 1)

    def _aligned(self, y: Any, info: dict[str, Any]) -> Any:
        """A DataFrame whose columns are the aspects by name, in another order, put in the order of
        ``info["aspects"]`` (read by position, it would score or stop early on the wrong aspects); any other ``y``
        is read by position, as ``fit`` reads columns its ``aspects=`` argument renames."""
        if not hasattr(y, "columns"):
            return y
        names, aspects = [str(c) for c in y.columns], list(info["aspects"])
        if names != aspects and sorted(names) == sorted(aspects) and len(set(names)) == len(names):
            y = y[[y.columns[names.index(a)] for a in aspects]]
        return y

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """The share of texts whose every aspect is predicted right (a DataFrame's columns matched by name)."""
        self._predictor()  # not fitted: scikit-learn's NotFittedError, before aspects_ is read
        y = self._aligned(y, {"aspects": self.aspects_})
        right = (np.asarray(self.predict(X), dtype=object).astype(str) == np.asarray(y, dtype=object).astype(str)).all(1)
        return float(np.average(right, weights=sample_weight))
