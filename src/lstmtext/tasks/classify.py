"""Single-label classification (``task = "classify"``): one label column, one softmax over the classes."""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from lstmtext.config import Config
from lstmtext.data.dataset import RowRefs, Split, Table, check_cells, check_columns, split_values
from lstmtext.errors import DataError
from lstmtext.models.heads import OutputLayout
from lstmtext.reports.html import confusion_png, image, table
from lstmtext.reports.markdown import LEFT_OUT, fmt, left_out, md_cell, per_class_table
from lstmtext.reports.plots import plot_confusion
from lstmtext.tasks.base import Task, register_task
from lstmtext.tasks.metrics import classification_metrics, macro_f1
from lstmtext.tasks.prediction import Prediction, class_prediction


@register_task
class Classify(Task):
    """Texts with one class each (``data.label_col``); the classes are the training split's, sorted."""

    name = "classify"
    help = "single-label classification: one label column, one class per text"
    reads_bundled = True
    default_top_k = 1

    @classmethod
    def parse(cls, frame: pd.DataFrame, refs: RowRefs, path: Path, config: Config, info: dict[str, Any]) -> Table:
        cfg = config.data
        check_columns(frame, path, {"--text-col": cfg.text_col, "--label-col": cfg.label_col,
                                    "--split-col": cfg.split_col})
        check_cells(frame, cfg.text_col, "text in column", refs)
        check_cells(frame, cfg.label_col, "label in column", refs)
        split = Split(frame[cfg.text_col].astype(str).tolist(), frame[cfg.label_col].astype(str).str.strip().tolist(),
                      refs.all(len(frame)))
        values = split_values(frame, cfg.split_col, refs) if cfg.split_col is not None else None
        return Table(split, values, info)

    @classmethod
    def stratum(cls):
        return lambda label: label

    @classmethod
    def fit(cls, counts: Counter, info: dict[str, Any], config: Config, source: str) -> Classify:
        classes = sorted(counts)
        if len(classes) < 2:
            raise DataError(f"{source}: the training split has {len(classes)} class ({classes}); a classifier needs "
                            "at least two. Check --label-col.")
        return cls(classes, config)

    def __init__(self, labels: list[str], config: Config, state: dict[str, Any] | None = None) -> None:
        super().__init__(list(labels), config, state)
        self._index = {label: i for i, label in enumerate(self.labels)}

    def new_label_names(self, labels) -> list[str]:
        return sorted({y for y in labels if y not in self._index})

    def add_labels(self, names: list[str], config: Config) -> Classify:
        return type(self)(self.labels + list(names), config)

    def unknown(self, label: Any, split_name: str) -> str | None:
        if label in self._index:
            return None
        if split_name == "evaluated":
            return f"label {label!r} is not one the model knows ({', '.join(self.labels)}). Check --label-col."
        return (f"class {label!r} appears in the {split_name} split but not in the training split. Move some of its "
                "rows into training or drop them.")

    @property
    def layout(self) -> OutputLayout:
        return OutputLayout((len(self.labels),))

    def targets(self, labels) -> np.ndarray:
        return np.array([self._index[y] for y in labels], dtype=np.int64)

    def monitor_scores(self, logits: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        pred = logits.argmax(1).numpy()
        y = targets.numpy()
        return {"accuracy": float((pred == y).mean()),
                "macro_f1": macro_f1(y, pred)}

    def metrics(self, targets: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
        return classification_metrics(targets, proba.argmax(1), self.labels)

    def predictions(self, proba: np.ndarray, top_k: int | None = None, min_confidence: float | None = None,
                    **options: Any) -> list[Prediction]:
        return [class_prediction(self.labels, row, top_k, min_confidence) for row in proba]

    def split_markdown(self, name: str, m: dict[str, Any]) -> list[str]:
        lines = [f"## {name} ({m['n']} texts)", "",
                 f"accuracy **{fmt(m['accuracy'])}**, macro-F1 **{fmt(m['macro_f1'])}**, weighted-F1 "
                 f"{fmt(m['weighted_f1'])}", "", *per_class_table(m["per_class"])]
        labels = m["labels"]
        lines += ["", "Confusion matrix (rows: true, columns: predicted)", "",
                  "| | " + " | ".join(map(md_cell, labels)) + " |", "| --- |" + " ---: |" * len(labels)]
        for label, row in zip(labels, m["confusion_matrix"]):  # a '|' in a name had added a column
            lines.append(f"| **{md_cell(label)}** | " + " | ".join(str(v) for v in row) + " |")
        return lines + [""]

    def decision(self, p: Prediction) -> tuple[str, float]:
        return str(p.label if p.label is not None else "(unsure)"), float(p.score or 0.0)

    def card_line(self) -> str:
        return f"text classification into {', '.join(self.labels)}"

    def plot_split(self, name: str, metrics: dict[str, Any], path: Path) -> Path:
        return plot_confusion(metrics["confusion_matrix"], self.labels, path, title=f"{name} split")

    def html_metrics(self, metrics: dict[str, dict[str, Any]]) -> list[str]:
        parts = ["<h2>Metrics</h2>", table(["split", "n", "accuracy", "macro-F1", "weighted-F1"],
                                           [[k, m["n"], m["accuracy"], m["macro_f1"], m["weighted_f1"]]
                                            for k, m in metrics.items()])]
        for name, m in metrics.items():
            rows = [[label, *(["-"] * 3 if left_out(c) else [c["precision"], c["recall"], c["f1"]]), c["support"]]
                    for label, c in m["per_class"].items()]
            parts += [f"<h3>{html.escape(name)} split</h3>",
                      table(["class", "precision", "recall", "F1", "support"], rows),
                      *([f"<p>{html.escape(LEFT_OUT)}</p>"] if any(map(left_out, m["per_class"].values())) else []),
                      image(confusion_png(m, f"{name} split (rows: true)"), f"confusion matrix, {name}")]
        return parts
