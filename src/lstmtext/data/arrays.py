"""Texts and labels given to the Python API as lists, arrays or pandas objects, checked at that boundary: each
problem is one line naming the argument (``X``, ``y``, ``valid_texts``) and the row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from lstmtext.errors import DataError


def text_list(X: Any, what: str) -> list[Any]:
    """``X`` as a list, one item per text: a list, tuple, array, Series, one-column DataFrame or 2-D array, or an
    iterator (a generator is read once). One string, a dict or a table of several columns is refused: read as a
    sequence, they would give their characters, keys or column names as the texts."""
    if type(X) is list and (not X or isinstance(X[0], str)):  # the common case, as it is (one text through the
        return X  # predictor in a fraction of a ms); a list of one-item rows goes on to be flattened
    if isinstance(X, (str, bytes)):
        raise DataError(f"{what}: one string ({X[:40]!r}), not a sequence of texts: pass [text] (a string is a sequence "
                        "of characters, each of which would be a text).")
    if isinstance(X, Mapping):
        raise DataError(f"{what}: a {type(X).__name__}, whose keys would be read as the texts. Give a list, array or "
                        "Series of texts (a table's column: df['text']).")
    if not hasattr(X, "__getitem__") and not hasattr(X, "shape"):
        X = list(X)  # a generator, a set, a dict's values()
    arr = np.asarray(X, dtype=object)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        columns = f" (columns {', '.join(map(str, X.columns[:5]))})" if isinstance(X, pd.DataFrame) else ""
        raise DataError(f"{what}: expected a sequence of texts (one string per sample). Got {type(X).__name__} of "
                        f"shape {arr.shape}{columns}; give one column of strings.")
    return arr.tolist()


def texts_of(X: Any, what: str, blank: bool = False) -> list[str]:
    """``X`` as a list of strings (:func:`text_list`); ``blank``: empty strings pass (prediction answers them as
    :class:`~lstmtext.inference.predictor.Predictor` does, flagged; training has nothing to learn from them)."""
    out = text_list(X, what)
    for i, t in enumerate(out):
        if not isinstance(t, str) or not (blank or t.strip()):
            raise DataError(f"{what}: text {i} is {'not a string' if blank else 'empty or not a string'} ({t!r}). "
                            "Remove or fill it.")
    return out


def is_missing(value: Any) -> bool:
    """None, NaN, pandas' NA or NaT, or a blank string: no label (read as a class named 'nan', 'None' or '<NA>',
    it would be learnt)."""
    return (value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value))
            or str(value).strip() == "")


def class_labels(values: list[Any], what: str) -> list[Any]:
    """Check that ``values`` are class labels of one kind, as scikit-learn's classifiers take them: all strings
    or all numbers (booleans included; 1 and 1.0 are one class, as in numpy), no fractional number.

    Raises:
        DataError: For strings mixed with numbers (1 and '1' would be one class or two, depending on the tool) or
            continuous values such as 0.5 (a regression target).
    """
    numeric = [isinstance(v, (bool, int, float, np.number, np.bool_)) for v in values]
    if not any(numeric):
        return values
    if not all(numeric):
        i, j = numeric.index(True), numeric.index(False)
        raise DataError(f"{what}: labels mix numbers and strings (label {i} is {values[i]!r}, label {j} is "
                        f"{values[j]!r}). Give every label as the same type.")
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        frac = np.flatnonzero((arr != np.round(arr)) | ~np.isfinite(arr))
        if len(frac):
            raise DataError(f"{what}: label {frac[0]} is {values[frac[0]]!r}: continuous values are a regression target, "
                            "not classes. Give class labels (round or bin the values).")
    return arr.tolist()


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
