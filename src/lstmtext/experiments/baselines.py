"""Non-neural reference models for comparisons: TF-IDF word 1-2-grams + logistic regression (scikit-learn), for any
task, and fastText supervised (``fasttext-numpy2``, the ``baselines`` extra) for single-label classification.

The texts are expected already cleaned (the comparison cleans once for every model) and are split on
whitespace, like the neural models' tokens. Both are tuned on the valid split, as the neural presets were: ``C``
from a grid that reaches far into little regularisation, which a few hundred labels want (C in the thousands on
the airline tweets), fastText's epochs and learning rate from a small grid; the chosen values are reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lstmtext.config.schema import sklearn_seed
from lstmtext.data import LabelledData

#: Inverse regularisation strengths tried on valid. With every airline training tweet valid picks 16; with 1-10%
#: of them it picked 64, the old grid's edge, and 1024-16384 from this one (valid macro-F1 at 1%, seed 0: 0.378
#: -> 0.414). It still picks the top at times: there the curve is flat (65536 gave 0.416 in that draw).
C_GRID = (0.25, 1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0)
#: fastText's usual text-classification recipe: word bigrams, 50 dimensions, 25 epochs at lr 0.5.
FASTTEXT = {"epoch": 25, "lr": 0.5, "wordNgrams": 2, "dim": 50, "minCount": 1}
#: What :func:`tuned_fasttext` tries on valid around the recipe (the rest of :data:`FASTTEXT` is kept).
FASTTEXT_GRID = {"epoch": (10, 25, 50), "lr": (0.1, 0.5, 1.0)}


def fasttext_supervised(texts: Sequence[str], labels: Sequence[Any], seed: int = 0,
                        params: dict[str, Any] | None = None) -> Any:
    """Train fastText supervised (:data:`FASTTEXT`, updated by ``params``) on cleaned texts; return
    ``predict(texts) -> labels`` (an object array of the given labels). One training thread: fastText's threads
    race on the weights, so more would make the baseline differ from run to run."""
    import os
    import tempfile

    import fasttext

    classes = sorted(set(labels), key=str)
    index = {c: i for i, c in enumerate(classes)}
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as fh:
        for text, label in zip(texts, labels):
            fh.write(f"__label__{index[label]} {' '.join(text.split())}\n")
    try:
        model = fasttext.train_supervised(fh.name, **{**FASTTEXT, **(params or {})}, thread=1, seed=seed, verbose=0)
    finally:
        os.unlink(fh.name)
    names = np.array(classes, dtype=object)

    def predict(batch: Sequence[str]) -> np.ndarray:
        found, _ = model.predict([t.replace("\n", " ") for t in batch], k=1)
        return names[[int(f[0].removeprefix("__label__")) for f in found]]

    return predict


def tuned_fasttext(train: tuple[Sequence[str], Sequence[Any]], valid: tuple[Sequence[str], Sequence[Any]],
                   seed: int = 0) -> tuple[Any, dict[str, Any], float]:
    """fastText supervised with the epochs and learning rate of :data:`FASTTEXT_GRID` that score the best valid
    macro-F1 (the first on ties), as TF-IDF's ``C`` and the neural presets are chosen.

    Args:
        train: Cleaned training texts and their labels.
        valid: Cleaned valid texts and their labels.
        seed: fastText's seed.

    Returns:
        ``(predict, params, valid_macro_f1)``: the chosen model's ``predict(texts) -> labels``, the grid's values
        it was trained with and its valid macro-F1.
    """
    import itertools

    from sklearn.metrics import f1_score

    best: tuple[float, dict[str, Any], Any] | None = None
    for values in itertools.product(*FASTTEXT_GRID.values()):
        params = dict(zip(FASTTEXT_GRID, values))
        predict = fasttext_supervised(*train, seed=seed, params=params)
        score = float(f1_score(list(valid[1]), list(predict(valid[0])), average="macro", zero_division=0))
        if best is None or score > best[0]:
            best = (score, params, predict)
    assert best is not None
    return best[2], best[1], best[0]


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
        clf = LogisticRegression(C=c, solver="saga", max_iter=3000, tol=1e-3, random_state=sklearn_seed(seed)).fit(x_train, y_train)
        seconds = time.perf_counter() - start
        pred = clf.predict(x_valid)
        score = f1_score(y_valid, pred, average="macro", zero_division=0)
        if best is None or score > best[0]:
            best = (float(score), c, clf, pred, seconds)
    assert best is not None, "c_grid is empty"
    return best


def _full_proba(clf: Any, features: Any, n_classes: int) -> np.ndarray:
    """``predict_proba`` with a column for every class id (a class the classifier never saw gets 0)."""
    out = np.zeros((features.shape[0], n_classes))
    out[:, clf.classes_] = clf.predict_proba(features)
    return out


def _binary(x: dict[str, Any], y_train: np.ndarray, y_valid: np.ndarray, c_grid: Sequence[float], seed: int
            ) -> tuple[float | None, Any]:
    """One label of a multi-label task: a binary logistic regression, ``C`` by the label's valid F1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    if len(set(y_train.tolist())) < 2:  # every training text has it (or none): a constant
        return None, float(y_train[0])
    best = None
    for c in c_grid:
        clf = LogisticRegression(C=c, solver="saga", max_iter=3000, tol=1e-3, random_state=sklearn_seed(seed)).fit(x["train"], y_train)
        score = f1_score(y_valid, clf.predict(x["valid"]), zero_division=0)
        if best is None or score > best[0]:
            best = (score, c, clf)
    return best[1], best[2]


def fit_tfidf_logreg(data: LabelledData, task: Any, c_grid: Sequence[float] = C_GRID, seed: int = 0
                     ) -> tuple[Callable[[Sequence[str]], np.ndarray], list[Any], list[Any]]:
    """Fit TF-IDF + logistic regression on ``data``'s train split, ``C`` chosen on its valid split (see
    :func:`tfidf_logreg`); return ``(proba(texts) -> (n, K) in the task's output order, chosen Cs, models)``."""
    layout = task.layout
    y = {name: task.targets(data.splits[name].labels) for name in ("train", "valid")}
    vectorizer = _vectorizer().fit(data.splits["train"].texts)
    x = {name: vectorizer.transform(data.splits[name].texts) for name in ("train", "valid")}
    chosen, models = [], []
    if layout.activation == "sigmoid":
        for j in range(layout.total):
            c, clf = _binary(x, y["train"][:, j].astype(int), y["valid"][:, j].astype(int), c_grid, seed)
            chosen.append(c)
            models.append(clf)
    else:
        for j in range(len(layout.sizes)):
            train, valid = (y["train"], y["valid"]) if y["train"].ndim == 1 else (y["train"][:, j], y["valid"][:, j])
            _, c, clf, _, _ = _best_c(x["train"], train, x["valid"], valid, c_grid, seed)
            chosen.append(c)
            models.append(clf)

    def proba(texts: Sequence[str]) -> np.ndarray:
        features = vectorizer.transform(texts)
        if layout.activation == "sigmoid":
            return np.stack([m.predict_proba(features)[:, 1] if not isinstance(m, float) else
                             np.full(features.shape[0], m) for m in models], 1)
        return np.concatenate([_full_proba(m, features, size) for m, size in zip(models, layout.sizes)], 1)

    return proba, chosen, models


def tfidf_logreg(data: LabelledData, task: Any, eval_split: str = "test", c_grid: Sequence[float] = C_GRID,
                 seed: int = 0) -> dict[str, Any]:
    """Fit TF-IDF (1-2-grams, sublinear tf) + logistic regression (saga) for any task; ``C`` chosen on valid.

    One multinomial regression per softmax group (single-label: one; aspects: one per aspect, each with the
    ``C`` of its best valid macro-F1), or one binary regression per label for sigmoid outputs (one-vs-rest,
    ``C`` by the label's valid F1). The probabilities go through the task as a model's would: a multi-label
    task tunes its thresholds on valid, and the scores are the task's metrics.

    Args:
        data: Splits with cleaned texts; needs ``train`` and ``valid``.
        task: The task fitted on ``data`` (its label space and output layout).
        eval_split: The split scored in ``metrics`` (``test`` or ``valid``).
        c_grid: Candidate inverse regularisation strengths.
        seed: Seed of the solver.

    Returns:
        ``{"name", "C", "valid_macro_f1", "metrics", "valid_metrics", "n_parameters", "train_seconds",
        "texts_per_second"}``.
    """
    import copy

    y = {name: task.targets(split.labels) for name, split in data.splits.items()}
    start = time.perf_counter()
    proba, chosen, models = fit_tfidf_logreg(data, task, c_grid, seed)
    seconds = time.perf_counter() - start
    scored = copy.deepcopy(task)
    valid_proba = proba(data.splits["valid"].texts)
    if scored.tunes:
        scored.tune(y["valid"], valid_proba)
    start = time.perf_counter()
    eval_proba = proba(data.splits[eval_split].texts)
    rate = len(data.splits[eval_split]) / max(time.perf_counter() - start, 1e-9)
    valid_metrics = scored.metrics(y["valid"], valid_proba)
    return {
        "name": "tfidf_logreg",
        "C": chosen[0] if len(chosen) == 1 else chosen,
        "valid_macro_f1": valid_metrics["macro_f1"],
        "metrics": scored.metrics(y[eval_split], eval_proba),
        "valid_metrics": valid_metrics,
        "n_parameters": int(sum(m.coef_.size + m.intercept_.size for m in models if not isinstance(m, float))),
        "train_seconds": seconds,
        "texts_per_second": rate,
    }
