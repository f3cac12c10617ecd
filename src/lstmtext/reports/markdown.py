"""Readable run reports: the frame of ``report.md`` and of the model card; each task writes its own sections."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def fmt(x: float) -> str:
    """A score with 4 decimals."""
    return f"{x:.4f}"


def chosen_cuts_line(name: str, cal: dict[str, Any]) -> str:
    """What the cuts chosen on valid (``at_chosen_cuts``) answer on split ``name``, and how accurately (the split's
    own cuts come from its confidences; these from valid's), for report.md and report.html."""
    said = "; ".join(f"P {p_cut(v['min_confidence'])} (valid's {k}) answers {v['coverage']:.1%} at accuracy "
                     f"{fmt(v['accuracy'])}" for k, v in cal["at_chosen_cuts"].items())
    return f"On {name}, at the cuts chosen on valid: {said}."


def p_cut(p: float) -> str:
    """A ``--min-confidence`` cut with 3 decimals, rounded down: passing it answers at least the texts it was
    measured on (0.49075 rounded to 0.491 would leave out those at 0.4908)."""
    return f"{math.floor(p * 1000) / 1000:.3f}"


def md_cell(text: Any) -> str:
    """A name (a class, label or aspect) as a markdown table cell: ``|`` escaped, on one line."""
    return " ".join(str(text).split()).replace("|", "\\|")


#: What a "-" in a per-class table means (a class the macro-F1 leaves out, rather than a 0 that looks counted).
LEFT_OUT = ("-: no text here has it and none was predicted as it, so it has no precision, recall or F1, and "
            "macro-F1 leaves it out.")


def left_out(c: dict[str, Any]) -> bool:
    """Whether a per-class row has no score to show: no text of it and none predicted as it (older metrics, without
    ``predicted``, show their zeros as they are)."""
    return c.get("support") == 0 and c.get("predicted") == 0


def score_cells(c: dict[str, Any]) -> list[str]:
    """A per-class row's precision, recall and F1, or "-" each where :func:`left_out`."""
    return ["-"] * 3 if left_out(c) else [fmt(c["precision"]), fmt(c["recall"]), fmt(c["f1"])]


def per_class_table(per_class: dict[str, dict[str, Any]]) -> list[str]:
    """Markdown rows of per-class precision, recall, F1 and support (with what a "-" means, when one is there)."""
    lines = ["| class | precision | recall | F1 | support |", "| --- | ---: | ---: | ---: | ---: |"]
    for label, c in per_class.items():
        lines.append(f"| {md_cell(label)} | " + " | ".join(score_cells(c)) + f" | {c['support']} |")
    return lines + (["", LEFT_OUT] if any(map(left_out, per_class.values())) else [])


#: What the run facts add where the saved model is not the best epoch's (``train.restore_best = false``).
LAST_EPOCH_WEIGHTS = "; the saved weights are the last epoch's (train.restore_best = false)"


def stopped_early(summary: dict[str, Any]) -> str:
    """`` of 8 (stopped early: no better valid score for 3 epochs)`` where the run stopped before its epochs, else ""."""
    if not summary.get("stopped_early") or summary.get("epochs_run", 0) >= summary.get("epochs_asked", 0):
        return ""  # (patience that ran out on the last epoch stopped nothing)
    patience = summary["patience"]
    return (f" of {summary['epochs_asked']} (stopped early: no better {summary['monitor']} for {patience} "
            f"epoch{'s' if patience != 1 else ''})")


def run_markdown(summary: dict[str, Any], task_lines: Sequence[str], sections: Sequence[str]) -> str:
    """The whole ``report.md`` of a training run.

    Args:
        summary: The run summary (architecture, source, sizes, timing, cleaning, notes).
        task_lines: Bullet lines the task adds at the top (labels, aspects, thresholds).
        sections: The task's lines for each split's metrics.
    """
    speed = f"{summary['tokens_per_second']:,.0f} real tokens/s" if summary.get("tokens_per_second") else ""
    speed = ", ".join(s for s in (speed, summary.get("precision")) if s)
    speed = f" ({speed})" if speed else ""
    lines = [
        f"# lstmtext run: {summary.get('model', summary['architecture'])} on {summary['source']}",
        "",
        *task_lines,
        f"- parameters: {summary['n_parameters']:,}; vocabulary {summary['vocab_size']:,}; max_len {summary['max_len']}",
        f"- training: {summary['epochs_run']} epoch{'s' if summary['epochs_run'] != 1 else ''}{stopped_early(summary)} "
        f"in {summary['train_seconds']:.1f} s{speed}"
        + (f" (the language model {summary['lm_seconds']:.1f} s of it)" if summary.get("lm_seconds") else "")
        + "; best epoch "
        f"{summary['best_epoch']} (by {summary['monitor']})" + (LAST_EPOCH_WEIGHTS if summary.get("restore_best") is False
                                                                 else ""),
        "- splits: " + ", ".join(f"{k} {v}" for k, v in summary["split_sizes"].items()),
        f"- cleaning: {', '.join(summary['steps']) or '(none)'}",
    ]
    lines += [f"- note: {note}" for note in summary.get("notes", [])] + [""]
    return "\n".join([*lines, *sections])


def model_card(summary: dict[str, Any], task_line: str, score_lines: Sequence[str], limits: str = "") -> str:
    """A short model card: what the model is, what it was trained on, how well it does, and its limits."""
    limits = limits or ("Trained only on the data above: texts of another domain, language or period may be "
                        "classified worse.")
    precision = f", {summary['precision']} precision" if summary.get("precision") else ""
    precision += f", {summary['processes']} processes (DDP)" if summary.get("processes", 1) > 1 else ""
    precision += ", streamed" if summary.get("streamed") else ""
    model = f" ({summary['model']})" if summary.get("model", summary["architecture"]) != summary["architecture"] else ""
    return f"""# Model card

- **Architecture**: `{summary['architecture']}`{model}, {summary['n_parameters']:,} parameters
- **Task**: {task_line}
- **Training data**: {summary['source']} ({', '.join(f"{k} {v}" for k, v in summary['split_sizes'].items())})
- **Preprocessing**: {', '.join(summary['steps']) or '(none)'}; the same steps run at prediction time.
- **Trained with**: lstmtext {summary['lstmtext_version']}, seed {summary['seed']}{precision}

## Scores
{chr(10).join(score_lines)}

## Limits
{limits}
Scores on the valid split were used for model selection and are optimistic; use the test split's.
"""


def calibration_lines(metrics: dict[str, dict[str, Any]]) -> list[str]:
    """``report.md`` lines on each split's calibration and unsure answers."""
    rows = [(name, m["calibration"]) for name, m in metrics.items() if "calibration" in m]
    if not rows:
        return []
    lines = ["## Calibration and unsure answers", "",
             "| split | ECE before | ECE after | accuracy at 100% | at 90% (min confidence) | at 80% (min confidence) |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, cal in rows:
        t = cal["coverage_table"]
        lines.append(f"| {name} | {fmt(cal['ece_before'])} | {fmt(cal['ece_after'])} | {fmt(t['100%']['accuracy'])} | "
                     f"{fmt(t['90%']['accuracy'])} ({p_cut(t['90%']['min_confidence'])}) | {fmt(t['80%']['accuracy'])} "
                     f"({p_cut(t['80%']['min_confidence'])}) |")
    for name, cal in rows:
        if cal.get("at_chosen_cuts"):
            lines += ["", chosen_cuts_line(name, cal)]
    if not any(cal.get("temperatures") for _, cal in rows):
        lines += ["", "No temperature was fitted (the notes say why): the probabilities are the model's own, so ECE "
                      "before and after are the same."]
    return lines + [""]
