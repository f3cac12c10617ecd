"""Classification metrics as plain JSON-ready dicts (scikit-learn does the arithmetic)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


def macro_f1(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray) -> float:
    """Mean F1 over the classes the split holds or the model predicts (scikit-learn's own default): a class with
    no text in a split and never predicted there has no F1 to count, rather than an F1 of 0."""
    present = np.union1d(np.asarray(y_true), np.asarray(y_pred))
    return float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)) if len(present) else 0.0


def label_macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean F1 over the labels of 0/1 matrices ``(N, L)`` that a split holds or the model predicts there, as
    :func:`macro_f1` counts classes: a label no text has and nothing predicts has no F1, rather than an F1 of 0."""
    present = np.flatnonzero((np.asarray(y_true).sum(0) > 0) | (np.asarray(y_pred).sum(0) > 0))
    if not len(present):
        return 0.0
    return float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    """Return accuracy, macro/weighted F1, per-class precision/recall/F1/support and the confusion matrix.

    Args:
        y_true: True class ids.
        y_pred: Predicted class ids.
        labels: Class names by id.

    Returns:
        ``{"accuracy", "macro_f1", "weighted_f1", "per_class": {label: {...}}, "confusion_matrix", "labels", "n"}``
        (each class: precision, recall, F1, support and how many texts were predicted as it);
        ``confusion_matrix[i][j]`` counts texts of class ``labels[i]`` predicted as ``labels[j]``.
    """
    ids = list(range(len(labels)))
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=ids, zero_division=0)
    predicted = np.bincount(y_pred.astype(np.int64), minlength=len(labels)) if len(y_pred) else np.zeros(len(labels), int)
    return {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": macro_f1(y_true, y_pred),
        "weighted_f1": float(f1_score(y_true, y_pred, labels=ids, average="weighted", zero_division=0)),
        "per_class": {
            label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i]),
                    "predicted": int(predicted[i])}
            for i, label in enumerate(labels)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=ids).tolist(),
        "labels": list(labels),
    }


def multilabel_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str],
                       thresholds: list[float] | None = None) -> dict[str, Any]:
    """Micro, macro and samples F1, subset accuracy, Hamming loss and per-label scores of 0/1 matrices ``(N, L)``.

    ``accuracy`` is the subset accuracy (every label of a text right); ``macro_f1`` averages the labels' F1.
    """
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0,
                                                 labels=list(range(len(labels))))
    per = {label: {"precision": float(p[j]), "recall": float(r[j]), "f1": float(f[j]), "support": int(s[j]),
                   "predicted": int(y_pred[:, j].sum())} for j, label in enumerate(labels)}
    if thresholds is not None:
        for label, t in zip(labels, thresholds):
            per[label]["threshold"] = float(t)
    return {
        "n": int(len(y_true)),
        "accuracy": float((y_true == y_pred).all(1).mean()) if len(y_true) else 0.0,
        "subset_accuracy": float((y_true == y_pred).all(1).mean()) if len(y_true) else 0.0,
        "hamming_loss": float((y_true != y_pred).mean()) if y_true.size else 0.0,
        "micro_f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "macro_f1": label_macro_f1(y_true, y_pred),
        "weighted_f1": float(f1_score(y_true, y_pred, average="weighted", zero_division=0)),
        "samples_f1": float(f1_score(y_true, y_pred, average="samples", zero_division=1.0)),
        "per_class": per,
        "labels": list(labels),
        "texts_without_label": int((y_true.sum(1) == 0).sum()),
    }
