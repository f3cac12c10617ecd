"""Scores of an aspect model: per aspect, the mean of the aspects, and IndoNLU's flattened score.

Names, so that the two summary figures are never confused:

- ``mean_aspect_macro_f1``: each aspect's macro-F1, averaged over the aspects (every aspect counts alike).
- ``flat_macro_f1``: every (text, aspect) prediction in one list, then one macro-F1 over the label names
  (IndoNLU's ABSA score; frequent aspects weigh more, and a label spelt alike in two aspects is one class).

Each macro-F1 averages over the labels found in the truth or the predictions (scikit-learn's default,
as IndoNLU), so a label that training knows but a test file lacks (HoASA's ``neg_pos``) is not counted as
an F1 of 0 unless the model predicts it. ``macro_f1``, ``accuracy`` and ``weighted_f1`` at the top of a
split's dict repeat the flattened figures for tools written for single-label runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmtext.tasks.metrics import classification_metrics, macro_f1


def _names(ids: np.ndarray, label_sets: dict[str, list[str]]) -> np.ndarray:
    """Class ids ``(N, A)`` -> label names ``(N, A)``."""
    return np.stack([np.asarray(labels, dtype=object)[ids[:, j]] for j, labels in enumerate(label_sets.values())], 1)


def summary_scores(y_true: np.ndarray, y_pred: np.ndarray, label_sets: dict[str, list[str]]) -> dict[str, float]:
    """Return ``accuracy`` (over all aspect predictions), ``flat_macro_f1`` and ``mean_aspect_macro_f1``.

    Args:
        y_true: True class ids ``(N, A)``.
        y_pred: Predicted class ids ``(N, A)``.
        label_sets: ``{aspect: labels}`` numbering each aspect's class ids.
    """
    true_names, pred_names = _names(y_true, label_sets), _names(y_pred, label_sets)
    return {
        "accuracy": float((y_true == y_pred).mean()),
        "flat_macro_f1": macro_f1(true_names.ravel(), pred_names.ravel()),
        "mean_aspect_macro_f1": float(np.mean([macro_f1(y_true[:, j], y_pred[:, j]) for j in range(y_true.shape[1])])),
    }


def aspect_metrics(y_true: np.ndarray, y_pred: np.ndarray, label_sets: dict[str, list[str]]) -> dict[str, Any]:
    """Return every score of one split as a JSON-ready dict.

    Args:
        y_true: True class ids ``(N, A)``.
        y_pred: Predicted class ids ``(N, A)``.
        label_sets: ``{aspect: labels}`` numbering each aspect's class ids.

    Returns:
        ``{"n", "n_aspects", "flat_macro_f1", "mean_aspect_macro_f1", "accuracy", "exact_match", "macro_f1",
        "weighted_f1", "flat": {...}, "aspects": {aspect: {...}}}``; ``flat`` and each aspect hold accuracy,
        macro-F1, per-class precision/recall/F1/support and the confusion matrix (rows true, columns predicted).
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    aspects = {}
    for j, (aspect, labels) in enumerate(label_sets.items()):
        aspects[aspect] = classification_metrics(y_true[:, j], y_pred[:, j], labels)  # macro-F1 over present classes
    true_names, pred_names = _names(y_true, label_sets).ravel(), _names(y_pred, label_sets).ravel()
    flat_labels = sorted({label for labels in label_sets.values() for label in labels})
    index = {label: i for i, label in enumerate(flat_labels)}
    flat = classification_metrics([index[v] for v in true_names], [index[v] for v in pred_names], flat_labels)
    summary = summary_scores(y_true, y_pred, label_sets)
    return {
        "n": int(y_true.shape[0]),
        "n_aspects": int(y_true.shape[1]),
        "flat_macro_f1": summary["flat_macro_f1"],
        "mean_aspect_macro_f1": summary["mean_aspect_macro_f1"],
        "accuracy": summary["accuracy"],
        "exact_match": float((y_true == y_pred).all(axis=1).mean()),
        "macro_f1": flat["macro_f1"],
        "weighted_f1": flat["weighted_f1"],
        "flat": flat,
        "aspects": aspects,
    }
