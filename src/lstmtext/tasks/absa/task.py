"""Aspect-based sentiment (``task = "absa"``): one label per aspect, one softmax group per aspect over a shared encoder.

Labels are tuples with one label per aspect, in the aspects' order (``labels.json`` holds ``{aspect:
[labels]}``). Files come in the wide layout (one column per aspect) or the long layout (text, aspect,
polarity rows; see :mod:`lstmtext.tasks.absa.data`).
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from lstmtext.config import Config
from lstmtext.data.dataset import RowRefs, Table
from lstmtext.errors import DataError
from lstmtext.models.heads import OutputLayout
from lstmtext.reports.html import image, table
from lstmtext.tasks.absa.data import not_mentioned_label, read_long, read_wide
from lstmtext.tasks.absa.metrics import aspect_metrics, summary_scores
from lstmtext.tasks.absa.report import confusion_grid_png, plot_confusion_grid, split_markdown
from lstmtext.tasks.base import Task, in_order, register_task
from lstmtext.tasks.prediction import ExplainedOutput, Prediction, class_prediction


@register_task
class AspectSentiment(Task):
    """One label per aspect; the aspects are the file's columns (wide) or aspect values (long)."""

    name = "absa"
    scores = ("macro_f1", "flat_macro_f1", "mean_aspect_macro_f1", "accuracy", "weighted_f1")
    sections = ("absa",)
    reads_label_col = False  # its labels are its aspect columns

    @staticmethod
    def label_columns_advice(config: Config, label_col: str) -> str:  # noqa: D102
        if config.absa.layout == "long":
            return ("its labels are in its aspect and polarity columns: name those with --set absa.aspect_col=... "
                    "and --set absa.polarity_col=...")
        return f"its labels are its aspect columns: name them with --aspects (e.g. --aspects {label_col})"
    cannot_distribute = ("the aspect heads read the base model's pooled vector and leave its own output layer "
                         "without a gradient, which DDP's reduction needs from every parameter")
    help = "aspect-based sentiment: one label per aspect (wide columns or long rows)"
    scores_note = ("Aspect sentiment: accuracy is over every text-aspect prediction and macro-F1 is IndoNLU's "
                   "flattened macro-F1 (all aspects' predictions in one list); the baseline is one logistic "
                   "regression per aspect.")

    def __init__(self, labels: dict[str, list[str]], config: Config, state: dict[str, Any] | None = None) -> None:
        super().__init__({a: list(v) for a, v in labels.items()}, config, state)
        self.aspects = list(self.labels)
        self._index = [{label: i for i, label in enumerate(v)} for v in self.labels.values()]
        known = {label for names in self.labels.values() for label in names}
        self.not_mentioned = not_mentioned_label(known, config.absa.not_mentioned, strict=False)  # the data's checked

    @classmethod
    def parse(cls, frame: pd.DataFrame, refs: RowRefs, path: Path, config: Config, info: dict[str, Any]) -> Table:
        reader = read_long if config.absa.layout == "long" else read_wide
        return reader(frame, refs, path, config, info.get("aspects"), info.get("not_mentioned"))

    def match_layout(self, config: Config, columns: Callable[[], list[str]]) -> None:
        """Set ``config.absa.layout`` to the one a file with these ``columns`` is in, when it is plainly the other
        layout than the model's: a file of the model's aspects is scored whichever layout the model trained on."""
        a, have = config.absa, set(columns())
        long_cols, wide_cols = {a.aspect_col, a.polarity_col} <= have, set(self.aspects) <= have
        if long_cols != wide_cols:
            a.layout = "long" if long_cols else "wide"

    @classmethod
    def needs(cls):
        return lambda label: enumerate(label)  # (aspect index, its label): each head learns only what training holds

    @classmethod
    def label_names(cls, info):
        """Each aspect's labels, and the aspects a text mentions (a long file's ``Fuel`` beside ``fuel``)."""
        aspects, silent = info["aspects"], info.get("not_mentioned")
        return lambda label: [*((f"aspect {a!r}", v) for a, v in zip(aspects, label)),
                              *(("aspects", a) for a, v in zip(aspects, label) if v != silent)]

    @classmethod
    def cannot_stream(cls, config: Config) -> str | None:
        if config.absa.layout == "long":
            return ("absa.layout = \"long\" groups rows by text over the whole file. Rewrite it in the wide layout, "
                    "which streams (lstmtext absa-convert FILE wide.csv, with --split-col if it has one), and train on "
                    "that without absa.layout = \"long\"; or drop --stream")
        return None

    @classmethod
    def fit(cls, counts: Counter, info: dict[str, Any], config: Config, source: str) -> AspectSentiment:
        aspects = info["aspects"]
        label_sets = {a: sorted({label[j] for label in counts}) for j, a in enumerate(aspects)}
        for aspect, labels in label_sets.items():
            if len(labels) < 2:
                raise DataError(f"{source}: aspect {aspect!r} has only the label {labels[0]!r} in the training split, "
                                "so its head has nothing to learn. Leave it out of --aspects or add rows with other "
                                "labels.")
        return cls(label_sets, config)

    def unknown_field(self, label: Any) -> str | None:
        return next((aspect for j, aspect in enumerate(self.labels) if label[j] not in self._index[j]), None)

    def unknown(self, label: Any, split_name: str) -> str | None:
        aspect = self.unknown_field(label)
        if aspect is None:
            return None
        j, known = self.aspects.index(aspect), ", ".join(self.labels[aspect])
        if split_name == "evaluated":
            where = "polarity column" if self.config.absa.layout == "long" else "aspect columns"
            return (f"aspect {aspect!r} has label {label[j]!r}, which is not one of {known} (the labels the model "
                    f"knows for it). Check the file's {where}.")
        return (f"aspect {aspect!r} has label {label[j]!r} in the {split_name} split, but its training rows have only "
                f"{known}, so its head cannot learn it. Move some of its rows into training (for a split lstmtext "
                "made: another data.split_seed, or your own with --split-col or --valid/--test), or fix the label.")

    can_grow = False  # one head per aspect, each over its own labels: not grown by a warm start

    def annotation_columns(self) -> list[str]:
        return list(self.aspects)  # the wide layout (one column per aspect), whatever the training file's was

    def new_label_names(self, labels) -> list[str]:
        return sorted({f"{a}:{label[j]}" for label in labels for j, a in enumerate(self.aspects)
                       if label[j] not in self._index[j]})

    def reader_info(self, config: Config | None = None) -> dict[str, Any]:
        return {"aspects": self.aspects, "not_mentioned": self.not_mentioned}

    def warm_settings(self) -> dict[str, Any]:
        return {"absa": {"not_mentioned": [self.not_mentioned]}}  # not the candidates: 'neut', 'none' it would refuse

    @classmethod
    def network_settings(cls, config: Config) -> dict[str, dict[str, Any]]:
        return {"absa": {"head": config.absa.head, "attention_size": config.absa.attention_size}}

    @property
    def layout(self) -> OutputLayout:
        return OutputLayout(tuple(len(v) for v in self.labels.values()))

    def output_names(self) -> list[str]:
        return [f"{aspect}:{label}" for aspect, labels in self.labels.items() for label in labels]

    def model_kwargs(self) -> dict[str, Any]:
        absa = self.config.absa
        return {"head_names": self.aspects, "head_attention": absa.attention_size if absa.head == "attention" else None}

    def group_names(self) -> list[str]:
        return self.aspects

    def targets(self, labels) -> np.ndarray:
        rows = [[self._index[j][v] for j, v in enumerate(row)] for row in labels]
        return np.array(rows, dtype=np.int64).reshape(len(rows), len(self.aspects))

    def _ids(self, proba: np.ndarray | torch.Tensor) -> np.ndarray:
        """Predicted class ids ``(N, A)`` from probabilities or logits (the argmax of each group)."""
        arr = proba.numpy() if isinstance(proba, torch.Tensor) else proba
        return np.stack([arr[:, s].argmax(1) for s in self.layout.slices()], 1)

    def monitor_scores(self, logits: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        scores = summary_scores(targets.numpy(), self._ids(logits), self.labels)
        return {"accuracy": scores["accuracy"], "macro_f1": scores["flat_macro_f1"],
                "mean_aspect_macro_f1": scores["mean_aspect_macro_f1"]}

    def metrics(self, targets: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
        return aspect_metrics(targets, self._ids(proba), self.labels)

    def headline(self, metrics: dict[str, Any]) -> dict[str, float]:
        return {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
                "flat_macro_f1": metrics["flat_macro_f1"], "mean_aspect_macro_f1": metrics["mean_aspect_macro_f1"]}

    def prediction_options(self) -> tuple[str, ...]:
        return ("only_mentioned", "min_confidence")

    def predictions(self, proba: np.ndarray, top_k: int | None = None, only_mentioned: bool = False,
                    min_confidence: float | None = None, **options: Any) -> list[Prediction]:
        slices = self.layout.slices()
        out = []
        for row in proba:
            aspects = {}
            for (aspect, names), s in zip(self.labels.items(), slices):
                p = class_prediction(names, row[s], top_k, min_confidence)
                best = names[int(np.argmax(row[s]))]  # the model's guess, unsure or not
                # the model's not-mentioned label, not every candidate: 'neutral' is a polarity where 'none' is that
                if not (only_mentioned and best == self.not_mentioned):
                    aspects[aspect] = p
            out.append(Prediction(aspects=aspects))
        return out

    def explained_outputs(self, record: Prediction) -> list[ExplainedOutput]:
        starts = [s.start for s in self.layout.slices()]
        said = [(a, p) for a, p in record.aspects.items() if p.label != self.not_mentioned]
        # no aspect said to be mentioned: the one closest to it, and the note says why that one
        note = "" if said else "no aspect is mentioned; the closest one"
        said = said or [max(record.aspects.items(), key=lambda ap: 1 - ap[1].probabilities.get(self.not_mentioned, 0.0))]
        return [ExplainedOutput(f"{a}={p.label}", starts[self.aspects.index(a)] + self.labels[a].index(p.label), note)
                for a, p in said]

    def csv_header(self) -> list[str]:  # "abstained": the aspects answered unsure (their label cells are empty)
        return [*(f"{a}{suffix}" for a in self.aspects for suffix in ("", "_score")), "abstained"]

    def csv_row(self, p: Prediction) -> list[str]:
        cells = [[p.aspects[a].label or "", f"{p.aspects[a].score:.6f}"] if a in p.aspects else ["", ""]
                 for a in self.aspects]
        unsure = "|".join(a for a in self.aspects if a in p.aspects and p.aspects[a].abstained)
        return [*(c for pair in cells for c in pair), unsure]

    def describe(self, label: Any) -> str:
        said = [f"{a}={v}" for a, v in zip(self.aspects, label) if v != self.not_mentioned]
        return ", ".join(said) or "(no aspect)"

    def decision(self, p: Prediction) -> tuple[str, float]:
        said = [f"{a}={q.label or '?'}" for a, q in p.aspects.items() if q.label != self.not_mentioned]
        return ", ".join(said) or "(no aspect)", min(q.score for q in p.aspects.values())

    def label_counts(self, split) -> Counter:
        return in_order(Counter(f"{a}={v}" for label in split.labels for a, v in zip(self.aspects, label)),
                        [f"{a}={v}" for a, values in self.labels.items() for v in values])

    def summary(self) -> dict[str, Any]:
        return {"task": self.name, "labels": self.labels, "aspects": self.aspects, "not_mentioned": self.not_mentioned}

    def report_lines(self) -> list[str]:
        """Bullet lines for the top of ``report.md``."""
        return [f"- aspects ({len(self.aspects)}): " + ", ".join(f"{a} [{', '.join(v)}]" for a, v in self.labels.items()),
                f"- not-mentioned label: {self.not_mentioned!r}"]

    def split_markdown(self, name: str, metrics: dict[str, Any]) -> list[str]:
        return split_markdown(name, metrics)

    def card_line(self) -> str:
        return f"aspect-based sentiment; aspects {', '.join(self.aspects)} (one head each)"

    def card_scores(self, name: str, m: dict[str, Any]) -> str:
        return (f"- {name}: flat_macro_f1 {m['flat_macro_f1']:.4f}, mean_aspect_macro_f1 "
                f"{m['mean_aspect_macro_f1']:.4f} ({m['n']} texts)")

    def card_limits(self) -> str:
        return (f"Only the aspects above are predicted; an aspect the text does not mention should come out as "
                f"{self.not_mentioned!r}.")

    def plot_split(self, name: str, metrics: dict[str, Any], path: Path) -> Path:
        return plot_confusion_grid(metrics, path, title=f"{name} split:")

    def html_metrics(self, metrics: dict[str, dict[str, Any]]) -> list[str]:
        parts = ["<h2>Metrics</h2>", table(
            ["split", "texts", "flat macro-F1", "mean aspect macro-F1", "accuracy", "every aspect right"],
            [[k, m["n"], m["flat_macro_f1"], m["mean_aspect_macro_f1"], m["accuracy"], m["exact_match"]]
             for k, m in metrics.items()])]
        for name, m in metrics.items():
            rows = [[a, x["accuracy"], x["macro_f1"]] for a, x in m["aspects"].items()]
            parts += [f"<h3>{html.escape(name)} split</h3>", table(["aspect", "accuracy", "macro-F1"], rows),
                      image(confusion_grid_png(m, f"{name} split:"), f"confusion matrices, {name}")]
        return parts
