"""The multi-label task's reports: a split's section of ``report.md``, its per-label F1 figure and
``report.html``'s metrics."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from lstmtext.reports.html import figure_png, image, table
from lstmtext.reports.markdown import LEFT_OUT, fmt, left_out, md_cell, score_cells


def split_markdown(name: str, m: dict[str, Any]) -> list[str]:
    """A split's section of ``report.md``: the pooled scores, then each label's threshold and scores."""
    lines = [f"## {name} ({m['n']} texts, {m['texts_without_label']} without a label)", "",
             f"micro-F1 **{fmt(m['micro_f1'])}**, macro-F1 **{fmt(m['macro_f1'])}**, samples-F1 "
             f"{fmt(m['samples_f1'])}, subset accuracy {fmt(m['subset_accuracy'])}, Hamming loss "
             f"{fmt(m['hamming_loss'])}", "",
             "| label | threshold | precision | recall | F1 | support | predicted |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, c in m["per_class"].items():
        lines.append(f"| {md_cell(label)} | {c.get('threshold', 0.5):.3f} | " + " | ".join(score_cells(c))
                     + f" | {c['support']} | {c['predicted']} |")
    return lines + (["", LEFT_OUT] if any(map(left_out, m["per_class"].values())) else []) + [""]


def figure(name: str, m: dict[str, Any]) -> Any:
    """Each label's F1 as a bar, its support written above it."""
    import matplotlib.pyplot as plt

    from lstmtext.reports import plots  # noqa: F401  (Agg backend before pyplot)

    labels = list(m["per_class"])
    f1 = [m["per_class"][x]["f1"] for x in labels]
    support = [m["per_class"][x]["support"] for x in labels]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.45 * len(labels) + 2), 3.8))
    bars = ax.bar(range(len(labels)), f1, color="#4a7ab5")
    for bar, n in zip(bars, support):
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height() + 0.01, str(n), ha="center", fontsize=8)
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right")
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("F1 (numbers: support)")
    ax.set_title(f"{name} split: micro-F1 {m['micro_f1']:.3f}, macro-F1 {m['macro_f1']:.3f}")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_split(name: str, metrics: dict[str, Any], path: Path) -> Path:
    """:func:`figure` written atomically to the PNG ``path``."""
    import matplotlib.pyplot as plt

    from lstmtext.utils.atomic import atomic_path

    fig = figure(name, metrics)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return Path(path)


def html_metrics(metrics: dict[str, dict[str, Any]]) -> list[str]:
    """``report.html``'s metrics: a table of the splits, then each split's labels and figure."""
    parts = ["<h2>Metrics</h2>", table(
        ["split", "texts", "micro-F1", "macro-F1", "samples-F1", "subset accuracy", "Hamming loss"],
        [[k, m["n"], m["micro_f1"], m["macro_f1"], m["samples_f1"], m["subset_accuracy"], m["hamming_loss"]]
         for k, m in metrics.items()])]
    for name, m in metrics.items():
        rows = [[label, f"{c.get('threshold', 0.5):.3f}",
                 *(["-"] * 3 if left_out(c) else [c["precision"], c["recall"], c["f1"]]), c["support"], c["predicted"]]
                for label, c in m["per_class"].items()]  # as report.md has them: "predicted" too
        parts += [f"<h3>{html.escape(name)} split</h3>",
                  table(["label", "threshold", "precision", "recall", "F1", "support", "predicted"], rows),
                  *([f"<p>{html.escape(LEFT_OUT)}</p>"] if any(map(left_out, m["per_class"].values())) else []),
                  image(figure_png(figure(name, m)), f"per-label F1, {name}")]
    return parts
