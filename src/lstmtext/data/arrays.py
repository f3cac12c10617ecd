"""Texts and labels given to the Python API as lists, arrays or pandas objects, checked at that boundary: each
problem is one line naming the argument (``X``, ``y``, ``valid_texts``) and the row."""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmtext.errors import DataError


def texts_of(X: Any, what: str, blank: bool = False) -> list[str]:
    """``X`` as a list of strings (a 2-D input must have one column); ``blank``: empty strings pass (prediction
    answers them as :class:`~lstmtext.inference.predictor.Predictor` does, flagged; training has nothing to learn
    from them)."""
    arr = np.asarray(X, dtype=object)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DataError(f"{what}: expected a sequence of texts (one string per sample). Got an array of shape "
                        f"{arr.shape}; text estimators take one column of strings.")
    out = arr.tolist()
    for i, t in enumerate(out):
        if not isinstance(t, str) or not (blank or t.strip()):
            raise DataError(f"{what}: text {i} is {'not a string' if blank else 'empty or not a string'} ({t!r}). "
                            "Remove or fill it.")
    return out


def is_missing(value: Any) -> bool:
    """None, NaN or a blank string: no label (read as a class named 'nan' or 'None', it would be learnt)."""
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""


def labels_of(y: Any, n: int, what: str) -> list[Any]:
    """``y`` as a list of one label per text (``n`` texts): a 1-D sequence, or a 2-D one of one column."""
    values = np.asarray(y, dtype=object)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim == 0:
        raise DataError(f"{what}: one value ({y!r}), not one label per text. Give a list, array or Series of {n} labels.")
    if values.ndim != 1:
        raise DataError(f"{what}: shape {values.shape}, but a TextClassifier takes one label per text ({n},). For "
                        "several labels per text use MultiLabelTextClassifier; for one label per aspect, "
                        "AspectClassifier.")
    if len(values) != n:
        raise DataError(f"X/{what}: {n} texts but {len(values)} labels. Give one label per text.")
    for i, v in enumerate(values):
        if is_missing(v):
            raise DataError(f"{what}: label {i} is missing. Give every text a label.")
    return values.tolist()
