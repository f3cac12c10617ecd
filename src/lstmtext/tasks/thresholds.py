"""Per-label decision thresholds of a multi-label model, tuned on the valid split."""

from __future__ import annotations

import numpy as np


def best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The threshold that maximises F1 of one label on the valid split (0.5 when no valid text has it).

    Every cut between two distinct sorted probabilities is tried; the threshold is the midpoint of the cut.
    """
    if y.sum() == 0:
        return 0.5
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    tp = np.cumsum(ys)
    k = np.arange(1, len(ps) + 1)
    f1 = 2 * tp / (k + ys.sum())  # 2 tp / (2 tp + fp + fn), with tp + fp = k and tp + fn = positives
    last = np.r_[ps[:-1] > ps[1:], True]  # a cut may only fall between distinct probabilities
    f1 = np.where(last, f1, -1.0)
    i = int(np.argmax(f1))
    below = ps[i + 1] if i + 1 < len(ps) else 0.0
    return float(np.clip((ps[i] + below) / 2, 1e-6, 1 - 1e-6))


def _cuts(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every cut of one label's probabilities, as ``(thresholds, tp, predicted)``: predicting the label for the
    texts with p at or over each threshold. A cut falls half-way between two distinct probabilities; the lowest
    is the smallest p itself (every text), and the last lies just above the largest p (no text, even at p = 1)."""
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    last = np.r_[ps[:-1] > ps[1:], True]  # a cut may only fall between distinct probabilities
    below = np.r_[ps[1:], ps[-1]]
    thresholds = np.r_[((ps + below) / 2)[last], np.nextafter(ps[0], np.inf)]
    tp, k = np.cumsum(ys)[last], np.arange(1, len(ps) + 1)[last]
    return thresholds, np.r_[tp, 0.0], np.r_[k, 0]


def micro_thresholds(y: np.ndarray, p: np.ndarray, sweeps: int = 3) -> list[float]:
    """Per-label thresholds that maximise micro-F1 (every text-label decision pooled) on ``(N, L)`` valid targets
    and probabilities: starting from 0.5, each label's cut in turn is the best given the others' (a few sweeps).

    Tuning each label for its own F1 instead lowers a rare label's cut until it is predicted for many texts
    that lack it: on the HoASA valid split as 20 labels (one CNN; thresholds tuned on one half and scored on the
    other, 20 random halvings), micro-F1 0.7956 per label against 0.8224 at 0.5 and 0.8222 here, macro-F1
    0.6049, 0.5472 and 0.5805.
    """
    y, p = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    n_labels = y.shape[1]
    t = np.full(n_labels, 0.5)  # a label no valid text has keeps 0.5: tuning would switch it off for good
    positives = y.sum(0)
    d = p >= t
    tp_now = (y * d).sum(0)  # each label's true positives and errors (fp + fn) at its current cut
    wrong_now = d.sum(0) - tp_now + positives - tp_now
    cuts = [_cuts(y[:, j], p[:, j]) for j in range(n_labels)]
    for _ in range(sweeps):
        changed = False
        for j, (thresholds, tp, k) in enumerate(cuts):
            if not positives[j]:
                continue
            rest_tp, rest_wrong = tp_now.sum() - tp_now[j], wrong_now.sum() - wrong_now[j]
            wrong = (k - tp) + (positives[j] - tp)
            f1 = 2 * (rest_tp + tp) / np.maximum(2 * (rest_tp + tp) + rest_wrong + wrong, 1e-12)
            i = int(np.argmax(f1))
            if f1[i] > 2 * (rest_tp + tp_now[j]) / max(2 * (rest_tp + tp_now[j]) + rest_wrong + wrong_now[j], 1e-12):
                t[j], tp_now[j], wrong_now[j], changed = thresholds[i], tp[i], wrong[i], True
        if not changed:
            break
    return t.tolist()
