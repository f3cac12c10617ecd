"""Readable reports of aspect models: the ``report.md`` section of a split, and a grid of confusion matrices."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from lstmtext.reports.markdown import md_cell, per_class_table
from lstmtext.utils.atomic import atomic_path


def _f(x: float) -> str:
    return f"{x:.4f}"


def _cell(m: dict[str, Any], label: str) -> str:
    """F1 of ``label`` in one aspect; blank if the aspect has no such label, "-" if it is neither true nor predicted."""
    if label not in m["per_class"]:
        return ""
    j = m["labels"].index(label)
    predicted = sum(row[j] for row in m["confusion_matrix"])
    return "-" if m["per_class"][label]["support"] == 0 and predicted == 0 else _f(m["per_class"][label]["f1"])


def split_markdown(name: str, m: dict[str, Any]) -> list[str]:
    """Markdown lines for one split: the summary scores, a row per aspect, then each aspect's classes."""
    lines = [
        f"## {name} ({m['n']} texts x {m['n_aspects']} aspects)",
        "",
        f"- flat_macro_f1 (IndoNLU: every aspect prediction in one list): **{_f(m['flat_macro_f1'])}**",
        f"- mean_aspect_macro_f1 (each aspect's macro-F1, averaged): **{_f(m['mean_aspect_macro_f1'])}**",
        f"- accuracy over aspect predictions {_f(m['accuracy'])}; texts with every aspect right {_f(m['exact_match'])}",
        "",
        "| aspect | accuracy | macro-F1 | " + " | ".join(f"F1 {md_cell(label)}" for label in m["flat"]["labels"]) + " |",
        "| --- | ---: | ---: |" + " ---: |" * len(m["flat"]["labels"]),
    ]
    for aspect, a in m["aspects"].items():
        cells = [_cell(a, label) for label in m["flat"]["labels"]]
        lines.append(f"| {md_cell(aspect)} | {_f(a['accuracy'])} | {_f(a['macro_f1'])} | " + " | ".join(cells) + " |")
    marks = [c for a in m["aspects"].values() for c in (_cell(a, label) for label in m["flat"]["labels"]) if c in ("", "-")]
    if marks:  # said where the table holds one
        lines += ["", "In the F1 columns, - marks a label that no text has for the aspect and none was predicted as "
                      "(the aspect's macro-F1 leaves it out); a blank, a label the aspect does not have."]
    for aspect, a in [("all aspects (flattened)", m["flat"]), *m["aspects"].items()]:
        lines += ["", f"### {name}: {aspect}", "", *per_class_table(a["per_class"])]
        lines += ["", "Confusion (rows true, columns predicted): " + "; ".join(
            f"{label}: " + " ".join(str(v) for v in row) for label, row in zip(a["labels"], a["confusion_matrix"]))]
    return lines + [""]


def _grid_figure(metrics: dict[str, Any], title: str, cols: int) -> Any:
    import matplotlib.pyplot as plt

    from lstmtext.reports.plots import draw_confusion  # sets the Agg backend before pyplot is imported

    aspects = metrics["aspects"]
    rows = math.ceil(len(aspects) / cols)
    cols = math.ceil(len(aspects) / rows)  # balanced rows: 6 aspects as 2 x 3, not 5 + 1
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 3.2 * rows), squeeze=False)
    for ax, (aspect, m) in zip(axes.ravel(), aspects.items()):
        draw_confusion(ax, m["confusion_matrix"], m["labels"], f"{aspect} (macro-F1 {m['macro_f1']:.2f})")
    for ax in axes.ravel()[len(aspects):]:
        ax.axis("off")
    fig.suptitle(f"{title} flat_macro_f1 {metrics['flat_macro_f1']:.3f}, "
                 f"mean_aspect_macro_f1 {metrics['mean_aspect_macro_f1']:.3f}".strip())
    fig.tight_layout()
    return fig


def plot_confusion_grid(metrics: dict[str, Any], path: str | Path, title: str = "", cols: int = 5) -> Path:
    """Draw every aspect's confusion matrix as one grid of heatmaps (at most ``cols`` per row) in a PNG."""
    import matplotlib.pyplot as plt

    fig = _grid_figure(metrics, title, cols)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path


def confusion_grid_png(metrics: dict[str, Any], title: str = "", cols: int = 5) -> bytes:
    """The grid of :func:`plot_confusion_grid` as PNG bytes (for ``report.html``)."""
    from lstmtext.reports.html import figure_png

    return figure_png(_grid_figure(metrics, title, cols))
