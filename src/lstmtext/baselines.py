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
from lstmtext.metrics import classification_metrics

C_GRID = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


def _fit(texts: Sequence[str], labels: Sequence[int], c: float, seed: int) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, token_pattern=None,
                                 tokenizer=str.split, lowercase=False)
    model = make_pipeline(vectorizer, LogisticRegression(C=c, max_iter=2000, random_state=seed))
    return model.fit(list(texts), list(labels))


def tfidf_logreg(data: LabelledData, eval_split: str = "test", c_grid: Sequence[float] = C_GRID,
                 seed: int = 0) -> dict[str, Any]:
    """Fit TF-IDF (1-2-grams, sublinear tf) + logistic regression; pick ``C`` by valid macro-F1.

    Args:
        data: Splits with cleaned texts; needs ``train`` and ``valid``.
        eval_split: The split scored in ``metrics`` (``test`` or ``valid``).
        c_grid: Candidate inverse regularisation strengths.
        seed: Seed of the solver.

    Returns:
        ``{"name", "C", "valid_macro_f1", "metrics", "valid_metrics", "n_parameters", "train_seconds",
        "texts_per_second"}``; ``train_seconds`` is the final fit only, not the search.
    """
    from sklearn.metrics import f1_score

    labels = data.classes
    index = {label: i for i, label in enumerate(labels)}
    y = {name: np.array([index[v] for v in split.labels]) for name, split in data.splits.items()}
    train, valid = data.splits["train"], data.splits["valid"]
    scores = {}
    for c in c_grid:
        pred = _fit(train.texts, y["train"], c, seed).predict(valid.texts)
        scores[c] = f1_score(y["valid"], pred, average="macro")
    best_c = max(c_grid, key=lambda c: (scores[c], -c))  # ties: the stronger regularisation
    start = time.perf_counter()
    model = _fit(train.texts, y["train"], best_c, seed)
    seconds = time.perf_counter() - start
    texts = data.splits[eval_split].texts
    start = time.perf_counter()
    pred = model.predict(texts)
    rate = len(texts) / max(time.perf_counter() - start, 1e-9)
    clf = model[-1]
    return {
        "name": "tfidf_logreg",
        "C": best_c,
        "valid_macro_f1": float(scores[best_c]),
        "metrics": classification_metrics(y[eval_split], pred, labels),
        "valid_metrics": classification_metrics(y["valid"], model.predict(valid.texts), labels),
        "n_parameters": int(clf.coef_.size + clf.intercept_.size),
        "train_seconds": seconds,
        "texts_per_second": rate,
    }
