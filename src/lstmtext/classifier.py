"""``TextClassifier``: the scikit-learn-style Python API (fit / predict / predict_proba / score / save / load)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lstmtext.config import Config, build_config
from lstmtext.data.dataset import LabelledData, Split, random_split
from lstmtext.errors import DataError, NotFittedError
from lstmtext.inference.bundle import Bundle, load_bundle, save_bundle
from lstmtext.inference.predictor import Predictor
from lstmtext.pipeline import run
from lstmtext.pipeline.outputs import card
from lstmtext.tasks import get_task


class TextClassifier:
    """Train and use an RNN/LSTM text classifier from Python.

    Args:
        preset: A model preset (``default``, ``seed001``, ...); None: built-in defaults.
        config: A :class:`~lstmtext.config.Config` or a TOML file path, applied after the preset.
        progress: Show progress bars while fitting.
        **params: Config overrides with ``__`` for the dot, e.g. ``model__hidden_size=64, train__epochs=5``.

    Example:
        >>> clf = TextClassifier(preset="default", train__epochs=3).fit(texts, labels)
        >>> clf.predict(["what a lovely flight"])
    """

    def __init__(self, preset: str | None = "default", config: Config | str | Path | None = None,
                 progress: bool = False, **params: Any) -> None:
        self.preset = preset
        self.config = config
        self.progress = progress
        self.params = params

    def _resolve_config(self) -> Config:
        overrides = [f"{k.replace('__', '.')}={_toml(v)}" for k, v in self.params.items()]
        if isinstance(self.config, Config):
            extra = self.config.model_dump(mode="json")
            return build_config(self.preset, extra=extra, overrides=overrides)
        return build_config(self.preset, self.config, overrides)

    def fit(self, texts: Sequence[str], labels: Sequence[str], valid_texts: Sequence[str] | None = None,
            valid_labels: Sequence[str] | None = None) -> TextClassifier:
        """Fit on ``texts``/``labels``; without a valid set, a stratified share is held out for early stopping.

        Raises:
            DataError: If lengths differ, a text is empty, or there are fewer than two classes.
        """
        config = self._resolve_config()
        texts, labels = _check_xy(texts, labels, "texts/labels")
        if valid_texts is None:
            splits = random_split(Split(texts, labels), config.data, get_task(config.task).stratum(), test=False)
        else:
            splits = {"train": Split(texts, labels), "valid": Split(*_check_xy(valid_texts, valid_labels, "valid"))}
        result = run(config, LabelledData(splits, source="fit() arguments"), progress=self.progress)
        self.config_, self.classes_, self.history_ = config, np.array(result.task.labels), result.history
        self.summary_ = result.summary
        self.bundle_ = Bundle(config, result.encoder, result.task, result.model.eval(), result.metrics, {})
        self._predictor = Predictor(self.bundle_)
        return self

    def _check_fitted(self) -> Predictor:
        if not hasattr(self, "_predictor"):
            raise NotFittedError(
                "This TextClassifier instance is not fitted yet. Call 'fit' or 'TextClassifier.load(path)' first."
            )
        return self._predictor

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities ``(n_texts, n_classes)``, columns in the order of ``classes_``."""
        return self._check_fitted().predict_proba(list(texts))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The most probable label of each text."""
        proba = self.predict_proba(texts)  # checks fitted before classes_ is read
        return self.classes_[proba.argmax(1)]

    def score(self, texts: Sequence[str], labels: Sequence[str]) -> float:
        """Accuracy on ``texts``/``labels``."""
        return float((self.predict(texts) == np.asarray(labels)).mean())

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Save as a bundle folder (JSON + safetensors), atomically."""
        predictor = self._check_fitted()
        b = predictor.bundle
        text = card(self.summary_, b.task, b.metrics) if hasattr(self, "summary_") else ""
        return save_bundle(path, b.config, b.encoder, b.task, b.model, b.metrics, text, overwrite)

    @classmethod
    def load(cls, path: str | Path) -> TextClassifier:
        """Load a bundle folder saved by :meth:`save` or ``lstmtext train``."""
        bundle = load_bundle(path)
        clf = cls(preset=None, config=bundle.config)
        clf.config_, clf.classes_, clf.bundle_ = bundle.config, np.array(bundle.labels), bundle
        clf._predictor = Predictor(bundle)
        return clf


def _toml(value: Any) -> str:
    import json

    if value is None:
        return '"none"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def _check_xy(texts: Sequence[str], labels: Sequence[str] | None, what: str) -> tuple[list[str], list[str]]:
    texts, labels = list(texts), list(labels or [])
    if len(texts) != len(labels):
        raise DataError(f"{what}: {len(texts)} texts but {len(labels)} labels. Give one label per text.")
    for i, (t, y) in enumerate(zip(texts, labels)):
        if not isinstance(t, str) or not t.strip():
            raise DataError(f"{what}: text {i} is empty or not a string ({t!r}). Remove or fill it.")
        if y is None or (isinstance(y, float) and np.isnan(y)) or str(y).strip() == "":
            raise DataError(f"{what}: label {i} is missing. Give every text a label.")
    return texts, [str(y) for y in labels]
