"""Fit a TF-IDF n-gram bag after the network has trained: late fusion of an LSTM and a linear model.

With ``model.ngram_bag = N`` and ``model.ngram_fit = "after"``, the network trains alone (its bag is silent and
outside the optimizer). Then, on the training split, the bag is fitted as TF-IDF + logistic regression over the
text's word 1..N-grams, exactly the features its forward computes (unigrams by vocabulary id, longer n-grams
hashed; counts times idf, divided by the text's L2 norm): one multinomial regression per softmax group, one
binary regression per label for sigmoid outputs, each with ``C`` chosen on the valid split by the group's
macro-F1. Last, the weight ``w`` of the blend ``(1 - w) * network + w * linear`` (in logits) is chosen on the
valid split by the run's monitored score, and folded into the model (the bag's weights times ``w``, the network's
logits times ``1 - w``: :meth:`~lstmtext.models.ngram_bag.NgramBagClassifier.blend`), so the saved model is an
ordinary :class:`~lstmtext.models.ngram_bag.NgramBagClassifier` that every engine reads. In a seed
ensemble each member has its own bag: the regression is fitted once and each member's blend chosen on its own.

Why after and not together: trained with the network, the bag sees the network's learning rate, dropout and
early stopping; fitted alone it is the convex, regularised model that TF-IDF + LR is, and the two err on
different texts. Temperature scaling and the task's thresholds are fitted after the blend.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from lstmtext.config.schema import sklearn_seed
from lstmtext.encoding.batching import eval_batches, iterate
from lstmtext.models.ensemble import EnsembleClassifier
from lstmtext.models.ngram_bag import NgramBagClassifier, ngram_ids

log = logging.getLogger(__name__)

C_GRID = (1.0, 4.0, 16.0, 64.0, 256.0)
BLEND_GRID = tuple(round(0.1 * i, 1) for i in range(10))  # w = 0 (network alone) to 0.9
_ABSENT = -10.0  # the linear logit of a class (or label value) the training split never shows


def find_bag(model: torch.nn.Module) -> NgramBagClassifier | None:
    """The TF-IDF bag to fit (``weighting="tfidf"``), or None."""
    return model if isinstance(model, NgramBagClassifier) and model.weighting == "tfidf" else None


def silence(model: torch.nn.Module) -> None:
    """Silence every TF-IDF bag in ``model`` (a warm start copies a fitted one): the network trains alone, at its
    whole share of the logits."""
    for module in model.modules():
        if find_bag(module) is not None:
            module.silence()


def counts(bag: NgramBagClassifier, sequences: Sequence[Sequence[int]], batch_size: int = 1024) -> Any:
    """``(N, rows)`` sparse counts of each text's n-gram rows, read through the bag's own :func:`ngram_ids`."""
    from scipy import sparse

    rows_all, cols_all = [], []
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    for batch in iterate(sequences, eval_batches(lengths, batch_size)):
        rows, mask = ngram_ids(batch.ids, batch.lengths, bag.n, bag.vocab_size, bag.buckets)
        mask = mask.numpy()
        rows_all.append(np.broadcast_to(batch.index[:, None], mask.shape)[mask])
        cols_all.append(rows.numpy()[mask])
    r = np.concatenate(rows_all) if rows_all else np.zeros(0, np.int64)
    c = np.concatenate(cols_all) if cols_all else np.zeros(0, np.int64)
    shape = (len(sequences), bag.bag.weight.shape[0])
    return sparse.csr_matrix((np.ones(len(r), np.float64), (r, c)), shape=shape)  # duplicates summed


def idf_of(train_counts: Any) -> np.ndarray:
    """scikit-learn's smoothed idf, ``ln((1 + n) / (1 + df)) + 1``, and 0 for rows no training text has."""
    n = train_counts.shape[0]
    df = np.bincount(train_counts.indices, minlength=train_counts.shape[1])
    return np.where(df > 0, np.log((1 + n) / (1 + df)) + 1.0, 0.0)


def features(text_counts: Any, idf: np.ndarray) -> Any:
    """``count * idf``, each row divided by ``sqrt(sum(count * idf**2))``: what the bag's forward computes."""
    from scipy import sparse

    weighted = text_counts.multiply(idf[None, :]).tocsr()
    norm = np.sqrt(np.asarray(text_counts.multiply((idf**2)[None, :]).sum(1)).ravel())
    return sparse.diags(np.where(norm > 0, 1.0 / np.maximum(norm, 1e-12), 0.0)) @ weighted


def _fit_group(x: dict[str, Any], y: dict[str, np.ndarray], size: int, seed: int, class_weight: str | None
               ) -> tuple[np.ndarray, np.ndarray, float]:
    """One output group: ``(coef (F, size), intercept (size,), C)`` of the regression best on valid macro-F1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    seen = np.unique(y["train"])
    coef, intercept = np.zeros((x["train"].shape[1], size)), np.full(size, _ABSENT)
    if len(seen) < 2:  # one value in training: a constant
        intercept[seen] = 0.0
        return coef, intercept, float("nan")
    best = None
    for c in C_GRID:
        clf = LogisticRegression(C=c, solver="saga", max_iter=3000, tol=1e-3, random_state=sklearn_seed(seed),
                                 class_weight=class_weight)
        clf.fit(x["train"], y["train"])
        score = f1_score(y["valid"], clf.predict(x["valid"]), average="macro", zero_division=0)
        if best is None or score > best[0]:
            best = (score, c, clf)
    _, c, clf = best
    if len(seen) == 2:  # scikit-learn's binary form: one logit for the second class against the first
        coef[:, seen[1]], intercept[seen] = clf.coef_[0], (0.0, clf.intercept_[0])
    else:
        coef[:, seen], intercept[seen] = clf.coef_.T, clf.intercept_
    return coef, intercept, c


def fit_linear(bag: NgramBagClassifier, layout: Any, train: Any, valid: Any, seed: int = 0,
               class_weight: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float], torch.Tensor]:
    """TF-IDF + logistic regression on the bag's features: ``(idf, coef (rows, K), intercept (K,), chosen Cs,
    valid logits (N, K))``; ``class_weight="balanced"`` as the network's ``train.class_weight``."""
    train_counts = counts(bag, train.sequences)
    idf = idf_of(train_counts)
    x = {"train": features(train_counts, idf), "valid": features(counts(bag, valid.sequences), idf)}
    used = np.flatnonzero(idf)  # fit on the rows training texts have: scikit-learn's columns
    x = {k: v[:, used] for k, v in x.items()}
    coef, intercept, chosen = np.zeros((len(idf), layout.total)), np.zeros(layout.total), []
    if layout.activation == "sigmoid":  # one binary regression per label: its logit is the label's
        for j in range(layout.total):
            part = {k: s.targets[:, j].astype(int) for k, s in (("train", train), ("valid", valid))}
            w, b, c = _fit_group(x, part, 2, seed, class_weight)
            coef[used, j], intercept[j] = w[:, 1] - w[:, 0], b[1] - b[0]
            chosen.append(c)
    else:
        start = 0
        for j, size in enumerate(layout.sizes):
            pick = (lambda t: t) if train.targets.ndim == 1 else (lambda t, j=j: t[:, j])
            part = {"train": pick(train.targets), "valid": pick(valid.targets)}
            w, b, c = _fit_group(x, part, size, seed, class_weight)
            coef[used, start : start + size], intercept[start : start + size] = w, b
            chosen.append(c)
            start += size
    valid_logits = torch.as_tensor(x["valid"] @ coef[used] + intercept, dtype=torch.float32)
    return idf, coef, intercept, chosen, valid_logits


def fit_after(model: torch.nn.Module, layout: Any, train: Any, valid: Any,
              logits_of: Callable[[torch.nn.Module], torch.Tensor], score: Callable[[torch.Tensor], float],
              seed: int = 0, class_weight: str | None = None) -> dict[str, Any] | None:
    """Fit the TF-IDF bag of ``model`` (or of each member of a seed ensemble) and its blend weight.

    The regression is fitted once (every member has the same vocabulary and n-gram rows); each member's blend
    weight is chosen on its own valid logits.

    Args:
        model: The trained model; its bags are written in place.
        layout: The task's output layout.
        train, valid: Encoded splits (``sequences``, ``targets``).
        logits_of: A model's (or member's) valid logits, ``(N, K)``, computed now.
        score: The run's monitored valid score of fused logits (higher is better).
        seed: The solver's seed.
        class_weight: ``"balanced"`` to weight the regression's rows as ``train.class_weight`` does the loss.

    Returns:
        None without a TF-IDF bag; else ``{"C": [...], "members": [{"blend", "valid_scores"}, ...], "seconds"}``.
    """
    members = list(model.members) if isinstance(model, EnsembleClassifier) else [model]
    if find_bag(members[0]) is None:
        return None
    start, fitted, records = time.perf_counter(), None, []
    for member in members:
        bag = find_bag(member)
        silence(bag)
        network = logits_of(member)  # the bag is silent: the network's own logits
        if fitted is None:
            fitted = fit_linear(bag, layout, train, valid, seed, class_weight)
        idf, coef, intercept, chosen, linear = fitted  # linear: the bag's valid logits, as its forward gives them
        with torch.no_grad():
            bag.idf.copy_(torch.as_tensor(idf, dtype=bag.idf.dtype))
            bag.bag.weight.copy_(torch.as_tensor(coef, dtype=bag.bag.weight.dtype))
            bag.bias.copy_(torch.as_tensor(intercept, dtype=bag.bias.dtype))
        scores = {w: score((1 - w) * network + w * linear) for w in sorted({0.0, *BLEND_GRID})}  # 0: network alone
        best = max(BLEND_GRID, key=lambda w: (scores[w], -w))  # ties: the smaller linear share
        bag.blend(best)
        records.append({"blend": best, "valid_scores": {str(w): round(v, 4) for w, v in scores.items()}})
        log.info("n-gram bag fitted after training: C %s, linear share %.1f (valid %.4f, network alone %.4f)",
                 chosen, best, scores[best], scores[0.0])
    return {"C": fitted[3], "members": records, "seconds": round(time.perf_counter() - start, 2)}
