"""Calibrated confidence: temperature scaling fitted on the valid split, and how to measure it.

**Temperature scaling** (Guo et al., 2017) divides the logits by one learnt temperature: one per softmax group
(a single-label model has one, an aspect model one per aspect) or, for sigmoid outputs (multi-label), one per
label. Each temperature minimises the valid split's negative log-likelihood of its group (or label); the
argmax and each label's ranking stay the same, so accuracy, F1 and tuned thresholds are unchanged while the
probabilities come to mean what they say. It has one parameter per group, so a few hundred valid texts fit it
without overfitting (Platt scaling or isotonic regression per label would fit two or many).

**Expected calibration error** (15 equal-width confidence bins) and the **accuracy against coverage** curve (the
share of decisions answered, most confident first) are computed over the task's decisions: texts for one
label, (text, aspect) pairs for aspects, (text, label) pairs for multi-label, where a label's confidence is
``max(p, 1 - p)`` for the calibration and, for the coverage, p when the label is chosen at its tuned threshold
and 1 - p when it is left out (what ``--min-confidence`` judges).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lstmtext.models.heads import OutputLayout

BINS = 15
COVERAGES = (1.0, 0.9, 0.8)


def fit_temperatures(logits: torch.Tensor, targets: torch.Tensor, layout: OutputLayout) -> list[float]:
    """The temperature of every softmax group, or of every sigmoid label, minimising the valid NLL.

    A label (or group) that valid decides without one mistake has no such temperature: its NLL keeps falling as T
    shrinks, and the grid's end (0.05) made it certain (a review: 5 of HoASA's 20 labels, none of them in valid).
    It takes the temperature fitted on the labels (groups) that do have one, pooled; 1 when none has.
    """
    logits = logits.detach().double()
    if layout.activation == "sigmoid":
        y = targets.double()
        nlls = [lambda t, j=j: F.binary_cross_entropy_with_logits(logits[:, j] / t, y[:, j]) for j in range(layout.total)]
        clean = [bool(((logits[:, j] > 0) == (y[:, j] > 0.5)).all()) for j in range(layout.total)]  # all on their side
    else:
        y = targets.long()
        if y.dim() == 1:
            y = y.unsqueeze(1)
        slices = list(layout.slices())
        nlls = [lambda t, s=s, j=j: F.cross_entropy(logits[:, s] / t, y[:, j]) for j, s in enumerate(slices)]
        clean = [bool((logits[:, s].argmax(1) == y[:, j]).all()) for j, s in enumerate(slices)]  # every text right
    fit = [nll for nll, c in zip(nlls, clean) if not c]
    shared = _minimise(lambda t: sum(nll(t) for nll in fit) / len(fit)) if fit and any(clean) else 1.0
    return [shared if c else _minimise(nll) for nll, c in zip(nlls, clean)]


def _minimise(nll) -> float:
    """The temperature in [0.05, 20] minimising ``nll(T)``: a log-spaced grid, then golden-section refinement."""
    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 61))
    values = [float(nll(torch.tensor(t, dtype=torch.float64))) for t in grid]
    i = int(np.argmin(values))
    lo, hi = np.log(grid[max(i - 1, 0)]), np.log(grid[min(i + 1, len(grid) - 1)])
    f = lambda x: float(nll(torch.tensor(np.exp(x), dtype=torch.float64)))  # noqa: E731
    golden = (np.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - golden * (b - a), a + golden * (b - a)
    for _ in range(40):
        if f(c) < f(d):
            b = d
        else:
            a = c
        c, d = b - golden * (b - a), a + golden * (b - a)
    return float(np.exp((a + b) / 2))


def scale(logits: torch.Tensor, temperatures: Sequence[float], layout: OutputLayout) -> torch.Tensor:
    """The logits divided by their group's (or label's) temperature."""
    if len(temperatures) == 1 and layout.activation != "sigmoid":  # one softmax group: one number
        return logits / float(temperatures[0])
    t = torch.as_tensor(temperatures, dtype=logits.dtype, device=logits.device)
    if layout.activation == "sigmoid":
        return logits / t
    return logits / torch.repeat_interleave(t, torch.as_tensor(layout.sizes, device=logits.device))


def uncalibrate(proba: np.ndarray, temperatures: Sequence[float] | None, layout: OutputLayout) -> np.ndarray:
    """The probabilities before temperature scaling, from those after it (what every engine answers): a softmax
    group's logits are ``T log p`` up to a constant, a sigmoid label's ``T logit(p)``. ``evaluate`` reports ECE
    before and after from them, whatever the engine."""
    if not temperatures:
        return proba
    p = np.clip(np.asarray(proba, dtype=np.float64), 1e-12, 1 - 1e-12)
    logits = np.log(p) - np.log1p(-p) if layout.activation == "sigmoid" else np.log(p)
    times = scale(torch.from_numpy(logits), [1 / float(t) for t in temperatures], layout)  # divided by 1 / T
    return layout.probabilities(times.float()).numpy()


def decisions(proba: np.ndarray, targets: np.ndarray, layout: OutputLayout) -> tuple[np.ndarray, np.ndarray]:
    """Every decision's confidence and whether it was right (see the module doc for what a decision is)."""
    if layout.activation == "sigmoid":
        conf = np.maximum(proba, 1 - proba).ravel()
        right = ((proba >= 0.5) == (targets > 0.5)).ravel()
        return conf, right
    y = targets.reshape(len(targets), -1)
    confs, rights = [], []
    for j, s in enumerate(layout.slices()):
        group = proba[:, s]
        confs.append(group.max(1))
        rights.append(group.argmax(1) == y[:, j])
    return np.concatenate(confs), np.concatenate(rights)


def expected_calibration_error(conf: np.ndarray, right: np.ndarray, bins: int = BINS) -> float:
    """Sum over equal-width confidence bins of (share of decisions) x |accuracy - mean confidence|."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.mean() * abs(right[mask].mean() - conf[mask].mean())
    return float(total)


def reliability(conf: np.ndarray, right: np.ndarray, bins: int = BINS) -> dict[str, list[float]]:
    """Per bin: mean confidence, accuracy and count (empty bins left out), for the reliability diagram."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    out: dict[str, list[float]] = {"confidence": [], "accuracy": [], "count": []}
    for b in range(bins):
        mask = index == b
        if mask.any():
            out["confidence"].append(float(conf[mask].mean()))
            out["accuracy"].append(float(right[mask].mean()))
            out["count"].append(int(mask.sum()))
    return out


def coverage_curve(conf: np.ndarray, right: np.ndarray, points: int = 20) -> dict[str, list[float]]:
    """Accuracy of the most confident decisions against the share answered (coverage), ``points`` steps."""
    order = np.argsort(-conf, kind="stable")
    hits = np.cumsum(right[order])
    coverage = np.linspace(1.0 / points, 1.0, points)
    counts = np.maximum(1, np.round(coverage * len(conf)).astype(int))
    return {"coverage": coverage.round(4).tolist(), "accuracy": (hits[counts - 1] / counts).tolist(),
            "threshold": conf[order][counts - 1].tolist()}


def accuracy_at(conf: np.ndarray, right: np.ndarray, coverage: float) -> tuple[float, float]:
    """(accuracy, confidence threshold) when only the ``coverage`` share of most confident decisions is answered."""
    order = np.argsort(-conf, kind="stable")
    n = max(1, int(round(coverage * len(conf))))
    return float(right[order][:n].mean()), float(conf[order][n - 1])


def at_cut(conf: np.ndarray, right: np.ndarray, cut: float) -> dict[str, float]:
    """The share answered (coverage) and their accuracy when decisions at least ``cut`` sure are answered."""
    kept = conf >= cut
    return {"min_confidence": float(cut), "coverage": float(kept.mean()) if len(conf) else 0.0,
            "accuracy": float(right[kept].mean()) if kept.any() else float("nan")}


def calibration_report(raw: np.ndarray, calibrated: np.ndarray, targets: np.ndarray, layout: OutputLayout,
                       temperatures: Sequence[float] | None, cuts: np.ndarray | None = None,
                       valid_cuts: dict[str, float] | None = None) -> dict[str, Any]:
    """ECE before and after, the reliability diagrams, and accuracy against coverage, for one split.

    ``valid_cuts``: min-confidence cuts chosen on another split (the valid split's, by coverage: ``{"90%": P}``); the
    report then says what share of this split each answers and how accurately (``at_chosen_cuts``): the figures a
    ``predict --min-confidence P`` chosen on valid gets, where this split's own cuts are read off its confidences.

    ``cuts``: the sigmoid labels' decision thresholds. The calibration (ECE, reliability) judges each label's
    probability at 0.5, as it should; the accuracy against coverage judges the decisions ``predict`` makes:
    a label chosen at its threshold is as sure as p, one left out as 1 - p (``--min-confidence``'s rule).
    """
    conf_raw, right_raw = decisions(raw, targets, layout)
    conf_cal, right_cal = decisions(calibrated, targets, layout)
    conf, right = conf_cal, right_cal
    if cuts is not None and layout.activation == "sigmoid":
        chosen = calibrated >= np.asarray(cuts)
        conf, right = np.where(chosen, calibrated, 1 - calibrated).ravel(), (chosen == (targets > 0.5)).ravel()
    table = {f"{c:.0%}": dict(zip(("accuracy", "min_confidence"), accuracy_at(conf, right, c))) for c in COVERAGES}
    return {
        "decisions": int(len(conf)),
        "ece_before": expected_calibration_error(conf_raw, right_raw),
        "ece_after": expected_calibration_error(conf_cal, right_cal),
        "mean_confidence": float(conf_cal.mean()), "accuracy": float(right_cal.mean()),  # the same decisions
        "temperatures": [round(float(t), 4) for t in temperatures] if temperatures else None,
        "reliability_before": reliability(conf_raw, right_raw), "reliability_after": reliability(conf_cal, right_cal),
        "coverage": coverage_curve(conf, right), "coverage_table": table,
        **({"at_chosen_cuts": {k: at_cut(conf, right, p) for k, p in valid_cuts.items()}} if valid_cuts else {}),
    }
