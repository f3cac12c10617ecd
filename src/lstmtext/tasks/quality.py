"""Finding label errors from out-of-fold probabilities (confident learning; Northcutt, Jiang and Chuang, 2021).

Every decision is a row of a softmax group (the text's class, or one aspect's label) or a (text, label) pair of
a sigmoid output (has the label or not). For each class ``c`` of a group the threshold ``t_c`` is the mean
probability of ``c`` over the rows labelled ``c`` (how sure the model is of its own class on average). A row
is suspect when another class ``s`` reaches its threshold (``p[s] >= t_s``) and is the most probable of the
classes that do; its label is suggested to be ``s``. Suspects are ranked by self-confidence, the probability
of the given label, lowest first. The probabilities must be out-of-fold (each row scored by a model that did
not train on it), which :func:`lstmtext.experiments.audit.audit` arranges with k folds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmtext.models.heads import OutputLayout


def _group_issues(proba: np.ndarray, given: np.ndarray, names: list[str]) -> list[dict[str, Any]]:
    """Suspect rows of one group: ``proba (N, C)``, ``given (N,)`` class ids."""
    k = proba.shape[1]
    thresholds = np.array([proba[given == c, c].mean() if (given == c).any() else 1.0 for c in range(k)])
    confident = proba >= thresholds  # (N, C)
    out = []
    for i in range(len(given)):
        others = [c for c in np.flatnonzero(confident[i]) if c != given[i]]
        if not others:
            continue
        best = max(others, key=lambda c: proba[i, c])
        if proba[i, best] <= proba[i, given[i]] and confident[i, given[i]]:
            continue  # the given label is confident and at least as probable: not a suspect
        out.append({"row": i, "given": names[given[i]], "suggested": names[best],
                    "p_given": float(proba[i, given[i]]), "p_suggested": float(proba[i, best])})
    return out


def label_issues(proba: np.ndarray, targets: np.ndarray, layout: OutputLayout, names: list[str],
                 groups: list[str]) -> list[dict[str, Any]]:
    """Suspect decisions, most likely wrong first: ``{"row", "field", "given", "suggested", "p_given",
    "p_suggested"}``; ``field`` names the group (an aspect, a label; empty for one single-label group).

    Args:
        proba: Out-of-fold probabilities ``(N, K)``.
        targets: The given labels as the task encodes them.
        layout: The task's output layout.
        names: A name per output column (the task's ``output_names``).
        groups: A name per group (the aspects) or, for sigmoid outputs, per label.
    """
    issues = []
    if layout.activation == "sigmoid":
        for j in range(layout.total):
            pair = np.stack([1 - proba[:, j], proba[:, j]], 1)
            for issue in _group_issues(pair, (targets[:, j] > 0.5).astype(int), ["no", "yes"]):
                issues.append({**issue, "field": names[j]})
    else:
        y = targets.reshape(len(targets), -1)
        for j, s in enumerate(layout.slices()):
            labels = [n.split(":", 1)[-1] for n in names[s]]
            for issue in _group_issues(proba[:, s], y[:, j], labels):
                issues.append({**issue, "field": groups[j] if len(layout.sizes) > 1 else ""})
    issues.sort(key=lambda r: (r["p_given"], -r["p_suggested"]))
    return issues
