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


def plot_history(history: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Plot loss and accuracy per epoch, train against valid, to a PNG."""
    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key in zip(axes, ("loss", "accuracy")):
        ax.plot(epochs, [h[f"train_{key}"] for h in history], marker="o", label="train")
        ax.plot(epochs, [h[f"valid_{key}"] for h in history], marker="o", label="valid")
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return _save(fig, path)


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
