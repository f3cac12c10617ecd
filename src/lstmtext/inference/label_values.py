"""The label values a Python estimator's saved model keeps beside it (``estimator.json``): labels given as numbers
or booleans come back as numbers or booleans after ``load``, where the bundle itself names every label as a string."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from lstmtext.errors import BundleError

ESTIMATOR_FILE = "estimator.json"  # what only the Python estimators need: the original types of the labels


def json_values(values: dict[str, Any]) -> list[list[Any]]:
    """``[[name, value], ...]`` for labels whose values are JSON numbers or booleans (numpy's included); [] when
    every value is its own string name."""
    out = [[name, v.item() if isinstance(v, np.generic) else v] for name, v in values.items()]
    keep = all(isinstance(v, (bool, int, float, str)) for _, v in out)
    return out if keep and any(not isinstance(v, str) for _, v in out) else []


def read_label_values(path: Path) -> tuple[dict[str, Any], bool]:
    """The label values ``estimator.json`` keeps (see :func:`json_values`), and whether the labels were a matrix's
    columns (``"columns": true``: their order is the columns', not sorted).

    Raises:
        BundleError: For a file that is not what the estimators' ``save`` writes.
    """
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        pairs, columns = kept["label_values"], kept.get("columns", False)
        if not isinstance(columns, bool):
            raise TypeError
        if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise TypeError
        values = {name: value for name, value in pairs}
        if not all(isinstance(n, str) and isinstance(v, (bool, int, float, str)) for n, v in values.items()):
            raise TypeError
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError):
        raise BundleError(f"{path}: not the label values lstmtext writes (corrupt or edited). Re-save the model, or "
                          "delete the file to read the labels as strings.") from None
    return values, columns
