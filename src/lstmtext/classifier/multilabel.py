"""``MultiLabelTextClassifier``: any number of labels per text, ``y`` a 0/1 indicator matrix or label lists."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin

from lstmtext.classifier.base import TextEstimator
from lstmtext.config.presets import task_preset
from lstmtext.data.arrays import is_missing
from lstmtext.errors import DataError

log = logging.getLogger(__name__)


class MultiLabelTextClassifier(ClassifierMixin, TextEstimator):
    """Any number of labels per text: ``y`` is a 0/1 indicator matrix ``(n, L)`` (scikit-learn's multi-label form,
    e.g. from ``MultiLabelBinarizer``; a DataFrame's columns name the labels, else they are 0 .. L - 1) or a list
    of label lists. ``predict`` returns the indicator matrix at the
    thresholds tuned on the valid split, ``predict_proba`` each label's probability ``(n, L)``, both in
    ``classes_`` order. Same arguments as :class:`TextClassifier`; ``preset`` defaults to ``multilabel``, the preset
    ``lstmtext train --task multilabel`` starts from.
    """

    _task = "multilabel"

    def __init__(self, preset: str | None = task_preset("multilabel"), *, model: str | None = None,
                 epochs: int | None = None, batch_size: int | None = None, lr: float | None = None,
                 embedding_dim: int | None = None, hidden_size: int | None = None, max_len: int | None = None,
                 preprocess: str | None = None, class_weight: str | None = None, valid_size: float | None = None,
                 random_state: int | None = None, overrides: dict[str, Any] | None = None,
                 config: str | Path | None = None, progress: bool = False) -> None:
        super().__init__(preset, model=model, epochs=epochs, batch_size=batch_size, lr=lr,
                         embedding_dim=embedding_dim, hidden_size=hidden_size, max_len=max_len,
                         preprocess=preprocess, class_weight=class_weight, valid_size=valid_size,
                         random_state=random_state, overrides=overrides, config=config, progress=progress)

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.classifier_tags.multi_label = True
        return tags

    @staticmethod
    def _is_matrix(y: Any) -> bool:
        """Whether ``y`` is an indicator matrix: an array, a 2-D table, or a list of 0/1 rows of one length (two or
        more), as scikit-learn's ``type_of_target`` reads one (as label lists, ``[[0, 1, 0], ...]`` was learnt as
        the labels 0 and 1); any other list holds label lists."""
        if isinstance(y, np.ndarray) or len(getattr(y, "shape", ())) == 2:
            return True
        if not isinstance(y, (list, tuple)) or not y or not isinstance(y[0], (list, tuple, np.ndarray)):
            return False
        width = len(y[0])
        return width >= 2 and all(isinstance(row, (list, tuple, np.ndarray)) and len(row) == width and
                                  all(isinstance(v, (int, float, np.number, np.bool_)) and v in (0, 1) for v in row)
                                  for row in y)  # 0/1 as ints, floats (df.values.tolist()) or booleans

    def _labels(self, y: Any, n: int) -> tuple[list[Any], dict[str, Any]]:
        if self._is_matrix(y):
            matrix = y.toarray() if hasattr(y, "toarray") else np.asarray(y)  # MultiLabelBinarizer(sparse_output=True)
            if matrix.ndim != 2 or len(matrix) != n:
                raise DataError(f"y: expected a 0/1 matrix of {n} rows (one per text). Got shape {matrix.shape}.")
            if not np.isin(matrix, (0, 1)).all():
                raise DataError("y: a multi-label indicator matrix holds only 0 and 1. Use MultiLabelBinarizer.")
            # a table's columns name the labels (the saved model, predict and the server answer them); else 0, 1, ...
            columns = list(y.columns) if hasattr(y, "columns") else list(range(matrix.shape[1]))
            names = [str(c) for c in columns]
            if len(set(names)) < len(names):
                twice = next(name for name in names if names.count(name) > 1)
                raise DataError(f"y: the column {twice!r} is there twice. Give each label one column.")
            self._check_separator(names)
            self._label_values, self._columns = dict(zip(names, columns)), True
            never = np.flatnonzero(matrix.sum(0) == 0)
            if len(never):  # a fold of cross_val_score, say: the columns are the label space all the same
                log.warning("y: column %d has no text with its label, so the model learns it as absent (it answers it "
                            "for no text)%s.", never[0], f"; {len(never) - 1} more such" if len(never) > 1 else "")
            # the columns are the label space: a label the training rows lack (once the valid share is held out,
            # or in a cross-validation fold) is learnt as absent, as cv does, not refused
            return [tuple(names[j] for j in np.flatnonzero(row)) for row in matrix], {"labels": names,
                                                                                      "label_space": names}
        rows = list(y)
        if len(rows) != n:
            raise DataError(f"X/y: {n} texts but {len(rows)} label lists. Give one list of labels per text.")
        text = next((i for i, row in enumerate(rows) if isinstance(row, str) or not np.iterable(row)), None)
        if text is not None:  # a string is iterable too: its characters would become the labels
            raise DataError(f"y: row {text} is {rows[text]!r}, not a list of labels. Give each text a list (a column of "
                            "delimited names: y.str.split('|')), or a 0/1 indicator matrix.")
        gap = next(((i, x) for i, row in enumerate(rows) for x in row if is_missing(x)), None)
        if gap is not None:
            raise DataError(f"y: row {gap[0]} holds a missing label ({gap[1]!r}). Drop it from the list (a text with no "
                            "label is an empty list).")
        self._check_separator(sorted({str(x) for row in rows for x in row}))
        self._label_values = {str(x): x for row in rows for x in row}  # 0, 1, 2 come back as ints, not '0'
        self._columns = False
        return [tuple(sorted({str(x) for x in row})) for row in rows], {}

    def _check_separator(self, names: list[str]) -> None:
        """Refuse a label holding ``multilabel.label_sep``, which joins a text's labels in every CSV output (as a
        file's labels are refused)."""
        sep = self.resolve_config(warn=False).multilabel.label_sep
        joined = next((name for name in names if sep in name), None)
        if joined is not None:
            raise DataError(f"y: the label {joined!r} holds {sep!r}, which joins a text's labels in every CSV output, "
                            "so it would read back as two labels. Rename the label, or set another separator "
                            "(overrides={'multilabel.label_sep': ';'}) that no label holds.")

    def _fitted_from_labels(self) -> None:
        originals = getattr(self, "_label_values", {})
        values = [originals.get(name, name) for name in self.predictor_.task.labels]
        # label lists' numbers in numeric order, as MultiLabelBinarizer has them (the task sorts their names: '10'
        # before '2'); names keep the task's order, and so do a matrix's columns, numbers or not (a DataFrame's
        # columns 10, 2, 1 sorted moved every column away from y's, and score read them by position)
        numbers = all(isinstance(v, (int, float, np.number)) for v in values)
        sort = numbers and not getattr(self, "_columns", False)
        self._order = np.argsort(np.asarray(values), kind="stable") if sort else np.arange(len(values))
        self.classes_ = np.asarray(values)[self._order]

    def _outputs(self, proba: np.ndarray) -> np.ndarray:
        return proba[:, self._order]

    def _decide(self, proba: np.ndarray) -> np.ndarray:
        return (proba >= self.predictor_.task.thresholds)[:, self._order].astype(np.int64)

    def _aligned(self, y: Any, info: dict[str, Any]) -> Any:
        """Valid labels as a matrix must have y's columns (one fewer was read as a label no valid text has); a table
        whose columns are y's labels by name, in another order, is put in y's order."""
        if hasattr(y, "columns") and "labels" in info and sorted(map(str, y.columns)) == sorted(info["labels"]):
            y = y.set_axis(list(map(str, y.columns)), axis=1)[info["labels"]]
        if self._is_matrix(y) and "labels" in info:
            width = np.shape(y.toarray() if hasattr(y, "toarray") else y)[1:] or (0,)
            if width[0] != len(info["labels"]):
                raise DataError(f"valid_labels: {width[0]} columns where y has {len(info['labels'])}. Give the valid "
                                "texts' labels in y's columns.")
        return y

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Subset accuracy (every label of a text right), for ``y`` in either form ``fit`` takes."""
        self._predictor()  # not fitted: scikit-learn's NotFittedError, before classes_ is read
        y = y.toarray() if hasattr(y, "toarray") else y  # sparse, as fit takes it
        if hasattr(y, "columns"):  # a DataFrame's columns are matched by name, as fit's valid_labels= and the
            names, ours = [str(c) for c in y.columns], [str(c) for c in self.classes_]  # aspect model's score do
            if names != ours and sorted(names) == sorted(ours) and len(set(names)) == len(names):
                y = y.set_axis(names, axis=1)[ours]
        if not self._is_matrix(y):  # label lists: as a 0/1 matrix
            names = [str(c) for c in self.classes_]
            unknown = sorted({str(x) for row in y for x in row} - set(names))
            if unknown:
                raise DataError(f"y: label {unknown[0]!r} is not one the model learned ({', '.join(names)}).")
            y = np.array([[int(name in {str(x) for x in row}) for name in names] for row in y])
        y = np.asarray(y)
        if y.ndim != 2 or y.shape[1] != len(self.classes_):
            raise DataError(f"y: a matrix of shape {y.shape}; the model has {len(self.classes_)} labels, so give "
                            f"{len(self.classes_)} columns (in classes_ order), or label lists.")
        return float(np.average((self.predict(X) == y).all(1), weights=sample_weight))
