"""``TextClassifier``: one label per text, as scikit-learn's classifiers."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin

from lstmtext.classifier.base import TextEstimator
from lstmtext.data.arrays import class_labels, labels_of


class TextClassifier(ClassifierMixin, TextEstimator):
    """One label per text. ``predict`` returns labels; ``predict_proba`` ``(n, n_classes)`` in ``classes_`` order.

    Args:
        preset: A model preset (``default``, ``bilstm``, ``cnn-bag-long``, ...); None: the built-in defaults.
        model: The architecture (``model.name``).
        epochs, batch_size, lr: Training (``train.*``).
        embedding_dim, hidden_size: Sizes (``model.*``).
        max_len: Longest text kept, in tokens (``vocab.max_len``).
        preprocess: A cleaning preset (``preprocess.preset``).
        class_weight: ``"balanced"``: weight the loss by inverse class frequency.
        valid_size: Share held out for early stopping when ``fit`` gets no valid set (None: the config's
            ``data.valid_size``, 0.1 unless a preset or config file says otherwise).
        random_state: Seed of training (the classifier's and a language model's: ``train.seed`` and ``lm.seed``)
            and of the held-out split: an int from 0 to 2**32 - 1, or a numpy
            RandomState to draw one from (None: the config's, 42 unless a config says otherwise, so that two fits
            of the same data repeat either way).
        overrides: Any other config keys, e.g. ``{"model.pooling": "max", "train.patience": 2}``.
        config: A TOML config file applied after the preset, or a saved model's folder or ``config.json`` (its whole
            config).
        progress: Show progress bars while fitting.
    """

    _task = "classify"

    def _labels(self, y: Any, n: int) -> tuple[list[Any], dict[str, Any]]:
        values = class_labels(labels_of(y, n, "y"), "y")
        self._label_values = {str(v): v for v in values}
        return [str(v) for v in values], {}

    def _fitted_from_labels(self) -> None:
        names = list(self.predictor_.task.labels)
        originals = getattr(self, "_label_values", {})
        values = [originals.get(name, name) for name in names]
        order = np.argsort(np.asarray(values), kind="stable")
        self.classes_ = np.asarray(values)[order]
        self._order = order  # task's column order -> classes_ order

    def _outputs(self, proba: np.ndarray) -> np.ndarray:
        return proba[:, self._order]

    def _decide(self, proba: np.ndarray) -> np.ndarray:
        return self.classes_[self._outputs(proba).argmax(1)]
