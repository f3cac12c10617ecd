"""Non-neural reference models for comparisons: TF-IDF word 1-2-grams + logistic regression (scikit-learn).

The texts are expected already cleaned (the comparison cleans once for every model) and are split on
whitespace, like the neural models' tokens. ``C`` is picked on the valid split from a small grid, as the
neural presets were tuned on valid splits; the chosen value is reported.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from lstmtext.data import LabelledData
from lstmtext.tasks.metrics import classification_metrics

C_GRID = (1.0, 4.0, 16.0, 64.0)


def _vectorizer() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, token_pattern=None,
                           tokenizer=str.split, lowercase=False)


def _best_c(x_train: Any, y_train: np.ndarray, x_valid: Any, y_valid: np.ndarray, c_grid: Sequence[float],
            seed: int) -> tuple[float, float, Any, np.ndarray, float]:
    """Fit logistic regression (saga) for each ``C``; return the best by valid macro-F1 (first on ties).

    Returns:
        ``(valid_macro_f1, C, classifier, valid_predictions, fit_seconds_of_that_classifier)``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    best: tuple[float, float, Any, np.ndarray, float] | None = None
    for c in c_grid:  # saga: seconds where lbfgs takes minutes on ~100k sparse features
        start = time.perf_counter()
        clf = LogisticRegression(C=c, solver="saga", max_iter=3000, tol=1e-3, random_state=seed).fit(x_train, y_train)
        seconds = time.perf_counter() - start
        pred = clf.predict(x_valid)
        score = f1_score(y_valid, pred, average="macro", zero_division=0)
        if best is None or score > best[0]:
            best = (float(score), c, clf, pred, seconds)
    assert best is not None, "c_grid is empty"
    return best


def tfidf_logreg(data: LabelledData, eval_split: str = "test", c_grid: Sequence[float] = C_GRID,
                 seed: int = 0) -> dict[str, Any]:
    """Fit TF-IDF (1-2-grams, sublinear tf) + logistic regression (saga); keep the ``C`` with the best valid macro-F1.

    Args:
        data: Splits with cleaned texts; needs ``train`` and ``valid``.
        eval_split: The split scored in ``metrics`` (``test`` or ``valid``).
        c_grid: Candidate inverse regularisation strengths.
        seed: Seed of the solver.

    Returns:
        ``{"name", "C", "valid_macro_f1", "metrics", "valid_metrics", "n_parameters", "train_seconds",
        "texts_per_second"}``; ``train_seconds`` covers the vectoriser and the fit of the chosen ``C``.
    """
    from sklearn.pipeline import make_pipeline

    labels = data.classes
    index = {label: i for i, label in enumerate(labels)}
    y = {name: np.array([index[v] for v in split.labels]) for name, split in data.splits.items()}
    start = time.perf_counter()
    vectorizer = _vectorizer().fit(data.splits["train"].texts)
    x_train = vectorizer.transform(data.splits["train"].texts)
    vector_seconds = time.perf_counter() - start
    x_valid = vectorizer.transform(data.splits["valid"].texts)
    score, best_c, clf, valid_pred, seconds = _best_c(x_train, y["train"], x_valid, y["valid"], c_grid, seed)
    model = make_pipeline(vectorizer, clf)
    texts = data.splits[eval_split].texts
    start = time.perf_counter()
    pred = model.predict(texts)
    rate = len(texts) / max(time.perf_counter() - start, 1e-9)
    return {
        "name": "tfidf_logreg",
        "C": best_c,
        "valid_macro_f1": score,
        "metrics": classification_metrics(y[eval_split], pred, labels),
        "valid_metrics": classification_metrics(y["valid"], valid_pred, labels),
        "n_parameters": int(clf.coef_.size + clf.intercept_.size),
        "train_seconds": vector_seconds + seconds,
        "texts_per_second": rate,
    }


def tfidf_logreg_aspects(data: Any, eval_split: str = "test", c_grid: Sequence[float] = C_GRID,
                         seed: int = 0) -> dict[str, Any]:
    """The aspect-sentiment form of :func:`tfidf_logreg`: one TF-IDF space, one logistic regression per aspect.

    Each aspect keeps the ``C`` with the best valid macro-F1 of that aspect; the scores are
    :func:`lstmtext.tasks.absa.metrics.aspect_metrics` (``macro_f1`` is IndoNLU's flattened macro-F1).

    Args:
        data: :class:`lstmtext.tasks.absa.data.AspectData` with cleaned texts; needs ``train`` and ``valid``.
        eval_split: The split to score.
        c_grid: Inverse regularisation strengths tried per aspect.
        seed: Solver seed.

    Returns:
        ``{"name", "C" (per aspect), "valid_macro_f1", "metrics", "valid_metrics", "n_parameters",
        "train_seconds", "texts_per_second"}``.
    """
    from lstmtext.tasks.absa.data import encode_labels
    from lstmtext.tasks.absa.metrics import aspect_metrics

    labels = data.label_sets
    y = {name: encode_labels(split, labels) for name, split in data.splits.items()}
    start = time.perf_counter()
    vectorizer = _vectorizer().fit(data.splits["train"].texts)
    x = {name: vectorizer.transform(split.texts) for name, split in data.splits.items()}
    chosen, models = {}, []
    for j, aspect in enumerate(labels):
        _, chosen[aspect], clf, _, _ = _best_c(x["train"], y["train"][:, j], x["valid"], y["valid"][:, j], c_grid, seed)
        models.append(clf)
    seconds = time.perf_counter() - start

    def predict(texts: Sequence[str]) -> np.ndarray:
        features = vectorizer.transform(texts)
        return np.stack([clf.predict(features) for clf in models], 1).astype(np.int64)

    start = time.perf_counter()
    pred = predict(data.splits[eval_split].texts)
    rate = len(pred) / max(time.perf_counter() - start, 1e-9)
    valid_metrics = aspect_metrics(y["valid"], predict(data.splits["valid"].texts), labels)
    return {
        "name": "tfidf_logreg",
        "C": chosen,
        "valid_macro_f1": valid_metrics["macro_f1"],
        "metrics": aspect_metrics(y[eval_split], pred, labels),
        "valid_metrics": valid_metrics,
        "n_parameters": int(sum(clf.coef_.size + clf.intercept_.size for clf in models)),
        "train_seconds": seconds,
        "texts_per_second": rate,
    }
