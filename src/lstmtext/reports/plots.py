"""Pictures of a run: training history (loss and accuracy, train vs valid) and confusion-matrix heatmaps."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lstmtext.utils.atomic import atomic_path  # noqa: E402

#: The scores a training history can hold, in the order they are drawn: a multi-label run's micro-F1 (the score
#: that picks its epoch) was missing from the report's curves.
CURVES = ("loss", "accuracy", "macro_f1", "micro_f1")


def curves_figure(history: Sequence[dict[str, Any]]) -> Any:
    """Loss and every score the history holds per epoch (:data:`CURVES`), train against valid, one panel each."""
    keys = [k for k in CURVES if f"valid_{k}" in history[0] or f"train_{k}" in history[0]]
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.4), squeeze=False)
    epochs = [h["epoch"] for h in history]
    for ax, key in zip(axes[0], keys):
        for split in ("train", "valid"):
            if f"{split}_{key}" in history[0]:
                ax.plot(epochs, [h[f"{split}_{key}"] for h in history], marker="o", label=split)
        ax.set_title(key.replace("_", "-"))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def plot_history(history: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """:func:`curves_figure` to a PNG."""
    return _save(curves_figure(history), path)


def draw_confusion(ax: Any, matrix: Sequence[Sequence[int]], labels: Sequence[str], title: str = "") -> None:
    """Draw one confusion matrix (rows true, columns predicted) with counts and row-normalised colour."""
    m = np.asarray(matrix, dtype=float)
    share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center", color="white" if share[i, j] > 0.6 else "black")


def plot_confusion(matrix: Sequence[Sequence[int]], labels: Sequence[str], path: str | Path, title: str = "") -> Path:
    """Plot a confusion matrix heatmap to a PNG."""
    size = max(4.0, 0.6 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    draw_confusion(ax, matrix, labels, title)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path
