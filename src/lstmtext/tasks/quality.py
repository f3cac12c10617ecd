"""Finding label errors from out-of-fold probabilities (confident learning; Northcutt, Jiang and Chuang, 2021).

Every decision is a row of a softmax group (the text's class, or one aspect's label) or a (text, label) pair of
a sigmoid output (has the label or not). For each class ``c`` of a group the threshold ``t_c`` is the mean
probability of ``c`` over the rows labelled ``c`` (how sure the model is of its own class on average). A row
is suspect when another class ``s`` reaches its threshold (``p[s] >= t_s``) and is the most probable of the
classes that do (unless the given label reaches its own and is at least as probable). That gives how many
suspects a group has; which rows they are is decided by self-confidence, the probability of the given label: the
rows where it is lowest, lowest first, each with the most probable other class as its suggestion (the one that
reached its threshold, where one did). Ranking every row this way rather than only the flagged ones found 2
points more flipped labels among the top k on the airline tweets and on IndoNLU SmSA (``studies/audit_flipped.py``).
The probabilities must be out-of-fold (each row scored by a model that did
not train on it), which :func:`lstmtext.experiments.audit.audit` arranges with k folds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmtext.models.heads import OutputLayout


def _group_issues(proba: np.ndarray, given: np.ndarray, names: list[str]) -> list[dict[str, Any]]:
    """Suspect rows of one group: ``proba (N, C)``, ``given (N,)`` class ids."""
    n, k = proba.shape
    rows = np.arange(n)
    thresholds = np.array([proba[given == c, c].mean() if (given == c).any() else 1.0 for c in range(k)])
    confident = proba >= thresholds  # (N, C)
    p_given = proba[rows, given]
    others = np.where(confident, proba, -1.0)
    others[rows, given] = -1.0
    best = others.argmax(1)  # the most probable other class that reaches its threshold
    reached = others[rows, best] >= 0
    held = (proba[rows, best] <= p_given) & confident[rows, given]  # the given label is confident and as probable
    count = int((reached & ~held).sum())  # confident learning's count of the group's label errors
    rival = proba.copy()
    rival[rows, given] = -1.0
    out = []
    for i in np.argsort(p_given, kind="stable")[:count]:  # which: those whose given label is least probable
        s = int(best[i]) if reached[i] else int(rival[i].argmax())
        out.append({"row": int(i), "given": names[given[i]], "suggested": names[s],
                    "p_given": float(p_given[i]), "p_suggested": float(proba[i, s])})
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
            # an aspect's outputs are "aspect:label" (one aspect too), and either may hold a ':'
            grouped = all(n.startswith(groups[j] + ":") for n in names[s])
            labels = [n.removeprefix(groups[j] + ":") if grouped else n for n in names[s]]
            for issue in _group_issues(proba[:, s], y[:, j], labels):
                issues.append({**issue, "field": groups[j] if len(layout.sizes) > 1 else ""})
    issues.sort(key=lambda r: (r["p_given"], -r["p_suggested"]))
    return issues
