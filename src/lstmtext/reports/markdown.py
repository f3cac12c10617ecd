"""Readable run reports: ``report.md`` (metrics per split, per-class table, confusion matrix) and the model card."""

from __future__ import annotations

from typing import Any


def _fmt(x: float) -> str:
    return f"{x:.4f}"


def split_markdown(name: str, m: dict[str, Any]) -> list[str]:
    """Markdown lines for one split's metrics."""
    lines = [
        f"## {name} ({m['n']} texts)",
        "",
        f"accuracy **{_fmt(m['accuracy'])}**, macro-F1 **{_fmt(m['macro_f1'])}**, weighted-F1 {_fmt(m['weighted_f1'])}",
        "",
        "| class | precision | recall | F1 | support |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, c in m["per_class"].items():
        lines.append(f"| {label} | {_fmt(c['precision'])} | {_fmt(c['recall'])} | {_fmt(c['f1'])} | {c['support']} |")
    labels = m["labels"]
    lines += ["", "Confusion matrix (rows: true, columns: predicted)", "", "| | " + " | ".join(labels) + " |",
              "| --- |" + " ---: |" * len(labels)]
    for label, row in zip(labels, m["confusion_matrix"]):
        lines.append(f"| **{label}** | " + " | ".join(str(v) for v in row) + " |")
    return lines + [""]


def run_markdown(summary: dict[str, Any], metrics: dict[str, dict[str, Any]]) -> str:
    """The whole ``report.md`` of a training run."""
    lines = [
        f"# lstmtext run: {summary['architecture']} on {summary['source']}",
        "",
        f"- parameters: {summary['n_parameters']:,}; vocabulary {summary['vocab_size']:,}; max_len {summary['max_len']}",
        f"- training: {summary['epochs_run']} epochs in {summary['train_seconds']:.1f} s "
        f"({summary['tokens_per_second']:,.0f} real tokens/s); best epoch {summary['best_epoch']}",
        f"- splits: " + ", ".join(f"{k} {v}" for k, v in summary["split_sizes"].items()),
        f"- cleaning: {', '.join(summary['steps']) or '(none)'}",
        "",
    ]
    for note in summary.get("notes", []):
        lines.insert(-1, f"- note: {note}")
    for name, m in metrics.items():
        lines += split_markdown(name, m)
    return "\n".join(lines)


def model_card(summary: dict[str, Any], metrics: dict[str, dict[str, Any]]) -> str:
    """A short model card: what the model is, what it was trained on, how well it does, and its limits."""
    scores = "\n".join(
        f"- {name}: accuracy {_fmt(m['accuracy'])}, macro-F1 {_fmt(m['macro_f1'])} ({m['n']} texts)"
        for name, m in metrics.items()
    )
    return f"""# Model card

- **Architecture**: `{summary['architecture']}`, {summary['n_parameters']:,} parameters
- **Task**: text classification into {', '.join(summary['labels'])}
- **Training data**: {summary['source']} ({', '.join(f"{k} {v}" for k, v in summary['split_sizes'].items())})
- **Preprocessing**: {', '.join(summary['steps']) or '(none)'}; the same steps run at prediction time.
- **Trained with**: lstmtext {summary['lstmtext_version']}, seed {summary['seed']}

## Scores
{scores}

## Limits
Trained only on the data above: texts of another domain, language or period may be classified worse.
Scores on the valid split were used for model selection and are optimistic; use the test split's.
"""
