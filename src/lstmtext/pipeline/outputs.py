"""A run's output folder: the bundle, ``metrics.json``, ``report.md``, ``report.html``, ``history.*`` and one
figure per split. Every file is written atomically; the task renders its own sections.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lstmtext.config import Config
from lstmtext.config.toml import config_to_toml
from lstmtext.errors import ConfigError
from lstmtext.explain.attributions import explain_texts
from lstmtext.inference.bundle import Bundle, save_bundle
from lstmtext.pipeline.prepare import Prepared
from lstmtext.pipeline.seen import write_seen
from lstmtext.reports.html import (
    calibration_section,
    curves_section,
    data_section,
    mistakes_section,
    pre,
    run_facts,
    write_page,
)
from lstmtext.reports.markdown import calibration_lines, model_card, run_markdown
from lstmtext.reports.plots import plot_history
from lstmtext.tasks import figure_files
from lstmtext.tasks.mistakes import confident_mistakes
from lstmtext.tasks.prediction import ExplainedOutput
from lstmtext.training.loop import TrainResult
from lstmtext.utils.atomic import write_json, write_text


def card(summary: dict[str, Any], task: Any, metrics: dict[str, dict[str, Any]]) -> str:
    """The model card (the bundle's README.md after its hub metadata)."""
    return model_card(summary, task.card_line(), [task.card_scores(name, m) for name, m in metrics.items()],
                      task.card_limits())


def _remove_stale_figures(out: Path, written: set[str]) -> None:
    """Delete the split figures an earlier run (``--overwrite``) left in ``out`` that this run did not write (a test
    split it no longer has, another task's figure), so no figure sits beside a metrics.json that does not hold it."""
    for name in figure_files():
        if name not in written:
            (out / name).unlink(missing_ok=True)


def write_run(out: Path, config: Config, prepared: Prepared, model: torch.nn.Module, metrics: dict[str, Any],
              proba: dict[str, np.ndarray], result: TrainResult, summary: dict[str, Any], n_mistakes: int = 10) -> None:
    """Write the run's folder (see :func:`lstmtext.pipeline.runner.run`)."""
    task = prepared.task
    write_seen(out, None)  # first: a kill while the model is saved must not pair it with an earlier run's texts
    save_bundle(out / "model", config, prepared.encoder, task, model, metrics, card(summary, task, metrics),
                overwrite=True, source=summary["source"], license=summary.get("license") or "other")
    write_json(out / "metrics.json", {**metrics, "summary": summary})
    write_seen(out, prepared.seen)  # a warm start or an evaluation later counts what this model has seen
    sections = [line for name, m in metrics.items() for line in task.split_markdown(name, m)]
    sections += calibration_lines(metrics)
    write_text(out / "report.md", run_markdown(summary, task.report_lines(), sections))
    write_json(out / "history.json", result.history)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(result.history[0]))
    writer.writeheader()
    writer.writerows(result.history)
    write_text(out / "history.csv", buf.getvalue())
    plot_history(result.history, out / "history.png")
    for name, m in metrics.items():
        task.plot_split(name, m, out / f"{task.figure_stem}_{name}.png")
    _remove_stale_figures(out, {f"{task.figure_stem}_{name}.png" for name in metrics})
    parts = [*run_facts(summary), *task.html_metrics(metrics), *calibration_section(metrics),
             *curves_section(result.history)]
    data = prepared.data
    if data is not None:  # in memory: the texts are here for the data section and the mistakes
        parts += data_section(data, {name: task.label_counts(split) for name, split in data.splits.items()})
        split = "test" if "test" in proba else "valid"
        texts, labels = data.splits[split].texts, data.splits[split].labels
        found = confident_mistakes(task, texts, labels, proba[split], n_mistakes)
        bundle = Bundle(config, prepared.encoder, task, model.eval(), metrics, {})
        for record in found:  # the tokens behind the wrong decision (a missed label: those that pushed it down)
            try:
                target = ExplainedOutput(record["predicted"], record["output"])
                ex = explain_texts(bundle, [record["text"]], outputs=[[target]])[0]
            except ConfigError:  # it cleans to nothing: no word to weigh
                record["why"] = "(no word left after cleaning)"
                continue
            record["why"] = pushed_by(ex.tokens, ex.targets[0].scores, record["sign"])
        parts += mistakes_section(found, split)
    parts += ["<h2>Config</h2>", pre(config_to_toml(config))]
    write_page(out / "report.html", f"lstmtext run: {summary['model']} on {prepared.source}", parts)


def pushed_by(tokens: list[str], scores: list[float], sign: int = 1, n: int = 3) -> str:
    """The ``n`` tokens that pushed a wrong decision most (``sign`` -1: a missed label, pushed down), each with its
    push to two significant digits: a missed label's probability is near 0, and so are its pushes (+0.00 said
    nothing)."""
    pushed = sorted(((v * sign, w) for w, v in zip(tokens, scores)), reverse=True)
    return ", ".join(f"{w} ({v:+.2g})" for v, w in pushed[:n] if v > 0)
