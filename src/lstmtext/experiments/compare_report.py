"""``compare``'s report: the summary as a Markdown table, a chart of mean ± std per model, and the files written
(the runs themselves: :mod:`lstmtext.experiments.compare`)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from lstmtext.utils.progress import seconds


def report_markdown(report: dict[str, Any]) -> str:
    """The summary as a Markdown table (mean +- std over seeds), with the settings underneath."""
    split = report["eval_split"]
    micro = all("micro_f1_mean" in s for s in report["summary"])
    also_valid = split != "valid"  # scored on valid (no test split): its columns would be shown twice
    scores = ["accuracy", "macro_f1", *(["micro_f1"] if micro else [])]
    names = {"accuracy": "accuracy", "macro_f1": "macro-F1", "micro_f1": "micro-F1"}
    head = [f"{split} {names[k]}" for k in scores] + [f"valid {names[k]}" for k in scores[1:] if also_valid]
    head = ["model", "architecture", *head, "parameters", "train s", "inference texts/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in report["summary"]:
        def pm(key: str, s: dict = s) -> str:  # one run (a deterministic baseline): no spread to show
            return f"{s[key + '_mean']:.4f}" + (f" ± {s[key + '_std']:.4f}" if s["runs"] > 1 else "")

        cells = [s["model"], s["architecture"], *map(pm, scores),
                 *(f"{s[f'valid_{k}_mean']:.4f}" for k in scores[1:] if also_valid),
                 f"{s['n_parameters_mean']:,.0f}", f"{s['train_seconds_mean']:.1f}", f"{s['texts_per_second_mean']:,.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    sizes = ", ".join(f"{k} {v:,}" for k, v in report["split_sizes"].items())
    lines += ["", f"Data: {report['source']} ({sizes}); scores on the **{split}** split; cleaning "
              f"`{report['preprocess']}`; {report['seeds']} seed(s) per model; mode {report['mode']} with "
              f"{report['workers']} worker(s); wall time {seconds(report['wall_seconds'])}; load average at the end "
              f"{report['load_average']} on {report['cpu_count']} CPUs."]
    if split == "valid":  # no test split: the split that scored the runs also chose their epochs (and C)
        lines.append("No test split: the valid split that scores the runs also chose each run's epoch (and TF-IDF's C),"
                     " so these scores run optimistic; give a test split (--test, or a split column) for scores read "
                     "once.")
    if report.get("scores_note"):
        lines.append(report["scores_note"])
    return "\n".join(lines) + "\n"


def compare_figure(report: dict[str, Any]) -> Any:
    """The scores compare.md shows per model (accuracy, macro-F1, and micro-F1 for multi-label runs): dots at the
    mean, the std over seeds as error bars (dots, not bars, since the axis does not start at 0: the differences are
    what a reader compares); the legend beside the axes, where it hides no dot."""

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = report["summary"]
    x = range(len(summary))
    scores = [("accuracy", "accuracy", "o"), ("macro_f1", "macro-F1", "s")] + \
        ([("micro_f1", "micro-F1", "^")] if all("micro_f1_mean" in s for s in summary) else [])
    ticks = [_tick(s["model"]) for s in summary]
    longest = max(len(line) for tick in ticks for line in tick.splitlines())
    width = 1.6 + max(1.3, 0.085 * longest + 0.2) * len(summary)  # about 0.085 inch a character at 10 points
    fig, ax = plt.subplots(figsize=(width, 3.8))
    step = 0.24 / max(1, len(scores) - 1)
    for j, (key, label, marker) in enumerate(scores):
        ax.errorbar([i - 0.12 + j * step for i in x], [s[f"{key}_mean"] for s in summary],
                    yerr=[s[f"{key}_std"] for s in summary], fmt=marker, capsize=4, label=label)
    low = min(s[f"{key}_mean"] - s[f"{key}_std"] for s in summary for key, _, _ in scores)
    ax.set_ylim(max(0.0, low - 0.05), 1.0)
    ax.set_xlim(-0.6, len(summary) - 0.4)
    ax.set_xticks(list(x), ticks)
    ax.set_ylabel(f"{report['eval_split']} score")  # the search and learning-curve plots named theirs
    once = [s["model"] for s in summary if s["runs"] == 1 and report["seeds"] > 1]
    title = f"{report['eval_split']} split, mean ± std over {report['seeds']} seed(s)" + \
        (f"; {', '.join(once)} once (deterministic)" if once else "")
    ax.set_title("\n".join(textwrap.wrap(title, int(width * 11))), fontsize=10)  # one line ran past a narrow figure
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9)  # inside, it hid a model's dots
    fig.tight_layout()
    return fig


def _tick(model: str, width: int = 18) -> str:
    """A model's name under its column: a variant's settings one per line, a key broken after its dots where a line
    would pass ``width`` characters, a value never (``train.lr=0.`` had ended a line); the columns widen to the
    longest line (slanted on one line, ``cnn:model.options.kernel_sizes=[2,3]`` ran into its neighbours' names)."""
    lines: list[str] = []
    parts = model.split(":")
    for i, part in enumerate(parts):
        key, eq, value = part.partition("=")
        pieces = [p + "." for p in key.split(".")[:-1]] + [key.split(".")[-1] + eq + value + (":" if i < len(parts) - 1 else "")]
        line = ""
        for piece in pieces:
            if line and len(line) + len(piece) > width:
                lines.append(line)
                line = ""
            line += piece
        lines.append(line)
    return "\n".join(lines)


def plot_report(report: dict[str, Any], path: str | Path) -> Path:
    """:func:`compare_figure` to a PNG, atomically."""
    import matplotlib.pyplot as plt

    from lstmtext.utils.atomic import atomic_path

    fig = compare_figure(report)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png", bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def write_report(report: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """Write ``compare.json``, ``compare.md``, ``compare.png`` and ``report.html`` (the chart and the tables in one
    page, as search, cv and learning-curve write theirs) to ``out_dir``, each atomically."""
    from lstmtext.reports.html import image, markdown_table, write_page
    from lstmtext.utils.atomic import write_json, write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    markdown = report_markdown(report)
    paths = {"json": write_json(out / "compare.json", report), "markdown": write_text(out / "compare.md", markdown),
             "chart": plot_report(report, out / "compare.png")}
    title = f"lstmtext compare: {', '.join(s['model'] for s in report['summary'])}"
    paths["html"] = write_page(out / "report.html", title,
                               [image(paths["chart"].read_bytes(), "compare chart"), markdown_table(markdown)])
    return paths
