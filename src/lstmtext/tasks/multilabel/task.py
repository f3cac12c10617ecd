"""Multi-label classification (``task = "multilabel"``): each text has any number of labels, none included.

Input layouts (``multilabel.layout``):

- ``delimited`` (default): one label column (``data.label_col``) holding the labels separated by
  ``multilabel.label_sep`` (``billing|late``), or a JSON list in a JSONL file; an empty cell means "none of
  them". The labels are those of the training split, sorted.
- ``columns``: one 0/1 column per label (``multilabel.labels``, or every column but the text and split
  columns), in file order.

The model has one sigmoid output per label, trained with binary cross-entropy (positive-class weights with
``train.class_weight = "balanced"``). After training, each label gets its own decision threshold, tuned on
the valid split (:mod:`lstmtext.tasks.thresholds`: for micro-F1 by default, or each label's own F1), saved
in the bundle; ``multilabel.threshold`` (``predict --threshold``) sets one threshold for every label instead.
``top_k`` only says how many labels the ranked ``top_k`` list holds, as for the other tasks and on the server.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import f1_score

from lstmtext.config import Config
from lstmtext.data.dataset import RowRefs, Split, Table, check_cells, check_columns, split_values
from lstmtext.errors import ConfigError, DataError
from lstmtext.models.heads import OutputLayout
from lstmtext.tasks.base import Task, in_order, register_task
from lstmtext.tasks.metrics import label_macro_f1, multilabel_metrics
from lstmtext.tasks.multilabel import report
from lstmtext.tasks.multilabel.data import NOT_LABELLED, check_one_row_per_text, parse_columns, parse_delimited
from lstmtext.tasks.prediction import ExplainedOutput, Prediction
from lstmtext.tasks.thresholds import best_threshold, micro_thresholds

#: How many of a text's chosen labels an explanation shows (the most probable): a column each in a terminal.
EXPLAINED_MOST = 6


@register_task
class MultiLabel(Task):
    """Any number of labels per text; one sigmoid output and one tuned threshold per label."""

    name = "multilabel"
    sections = ("multilabel",)
    help = "multi-label classification: any number of labels per text (delimited column, JSON list or 0/1 columns)"
    monitors = ("valid_loss", "valid_accuracy", "valid_macro_f1", "valid_micro_f1")
    tunes = True
    can_oversample = False
    figure_stem = "per_label"
    scores = ("macro_f1", "micro_f1", "samples_f1", "accuracy", "weighted_f1")
    scores_note = ("Multi-label: accuracy is subset accuracy (every label of a text right), macro-F1 averages the "
                   "labels' F1 and micro-F1 pools every (text, label) decision, all at the thresholds tuned on valid; "
                   "the baseline is one logistic regression per label (one-vs-rest), its thresholds tuned the same "
                   "way.")

    def __init__(self, labels: list[str], config: Config, state: dict[str, Any] | None = None) -> None:
        super().__init__(list(labels), config, state)
        self._index = {label: j for j, label in enumerate(self.labels)}

    @classmethod
    def parse(cls, frame: pd.DataFrame, refs: RowRefs, path: Path, config: Config, info: dict[str, Any]) -> Table:
        cfg = config.data
        columns = config.multilabel.layout == "columns"
        check_columns(frame, path, {"--text-col": cfg.text_col, "--split-col": cfg.split_col,
                                    **({} if columns else {"--label-col": cfg.label_col})})
        check_cells(frame, cfg.text_col, "text in column", refs)
        if columns:
            labels, names = parse_columns(frame, refs, path, config, info.get("labels"))
            info = {**info, "labels": names}
        else:
            labels = parse_delimited(frame, refs, path, config)
        split = Split(frame[cfg.text_col].astype(str).tolist(), labels, refs.all(len(frame)))
        check_one_row_per_text(split, config)
        values = split_values(frame, cfg.split_col, refs) if cfg.split_col is not None else None
        return Table(split, values, info)

    @classmethod
    def fit(cls, counts: Counter, info: dict[str, Any], config: Config, source: str) -> MultiLabel:
        seen = Counter()
        for labels, n in counts.items():
            for label in labels:
                seen[label] += n
        if not seen:
            where = (f"columns {', '.join(info.get('labels', []))}" if config.multilabel.layout == "columns" else
                     f"column {config.data.label_col!r} split by {config.multilabel.label_sep!r}")
            raise DataError(f"{source}: no training text has a label ({where}). Check --label-col and --label-sep "
                            "(or multilabel.layout).")
        names = list(info.get("labels") or sorted(seen))
        never = [name for name in names if not seen[name]]
        if never:
            raise DataError(f"{source}: label {never[0]!r} never occurs in the training split, so the model cannot "
                            "learn it. Add training rows with it, or leave its column out of --label-col a,b,c "
                            "(multilabel.labels).")
        return cls(names, config)

    @classmethod
    def needs(cls):
        return lambda label: label  # its label names: one the training rows lack cannot be learnt

    @classmethod
    def label_names(cls, info):
        return lambda label: [("", name) for name in label]

    @classmethod
    def several_label_columns(cls, config: Config, columns: list[str]) -> None:
        config.multilabel.layout, config.multilabel.labels, config.data.label_col = "columns", columns, "label"

    def file_label_options(self, config: Config, label_sep: str | None, columns: list[str] | None) -> None:
        if label_sep is not None:  # the file's labels are in one column, whatever layout the model was trained on
            if not label_sep:
                raise ConfigError("--label-sep must not be empty: give what separates a text's labels, e.g. '|'.")
            config.multilabel.layout, config.multilabel.labels, config.multilabel.label_sep = "delimited", None, label_sep
        if columns:
            missing = [name for name in self.labels if name not in columns]
            if missing:  # read as absent from every text: its scores, and micro-F1, would be made up
                named = len(set(columns) & set(self.labels))
                raise ConfigError(f"--label-col names {named} of the model's {len(self.labels)} labels, not "
                                  f"{', '.join(map(repr, missing[:5]))}{' ...' if len(missing) > 5 else ''}. Name a "
                                  "column for every label (0 in every row for a label no text has).")
            self.several_label_columns(config, columns)

    def match_layout(self, config: Config, columns: Callable[[], list[str]]) -> None:
        """A model trained on 0/1 label columns scores a file whose labels are in one column of names (and the other
        way round), when the file plainly holds that layout: none of the model's label columns, and the label
        column (``data.label_col``, ``--label-col``); a file of 0/1 columns that holds every label of the model and
        no label column is read as columns. (Evaluating across layouts had asked to fix multilabel.labels.)"""
        have = set(columns())
        listed, delimited = set(self.labels) <= have, config.data.label_col in have
        if config.multilabel.layout == "columns" and delimited and not have & set(self.labels):
            config.multilabel.layout, config.multilabel.labels = "delimited", None
        elif config.multilabel.layout == "delimited" and listed and not delimited:
            config.multilabel.layout, config.multilabel.labels = "columns", list(self.labels)

    def decision_cuts(self) -> np.ndarray:
        return self.thresholds

    def annotation_columns(self) -> list[str]:
        return list(self.labels) if self.config.multilabel.layout == "columns" else [self.config.data.label_col]

    @property
    def annotation_placeholder(self) -> str:  # type: ignore[override]
        # an empty cell of label names means "no label": a text not labelled yet must look otherwise
        return NOT_LABELLED if self.config.multilabel.layout != "columns" else ""

    def new_label_names(self, labels) -> list[str]:
        return sorted({name for names in labels for name in names if name not in self._index})

    def add_labels(self, names: list[str], config: Config) -> MultiLabel:
        return type(self)(self.labels + list(names), config)

    def unknown(self, label: Any, split_name: str) -> str | None:
        for name in (n for n in label if n not in self._index):
            if split_name == "evaluated":
                return f"label {name!r} is not one the model knows ({', '.join(self.labels)}). Check --label-col."
            return (f"label {name!r} does not occur in the training split, so the model cannot learn it. Move "
                    "some of its rows into training (for a split lstmtext made: another data.split_seed, or your "
                    "own with --split-col or --valid/--test), or drop the label from these rows.")
        return None

    def reader_info(self, config: Config | None = None) -> dict[str, Any]:
        if config is None:
            return {"labels": self.labels} if self.config.multilabel.layout == "columns" else {}
        ml = config.multilabel  # label columns named for this file (evaluate's --label-col a,b,c) are the ones read
        return {"labels": self.labels} if ml.layout == "columns" and not ml.labels else {}

    @property
    def layout(self) -> OutputLayout:
        return OutputLayout((len(self.labels),), "sigmoid")

    def targets(self, labels) -> np.ndarray:
        out = np.zeros((len(labels), len(self.labels)), dtype=np.float32)
        for i, row in enumerate(labels):
            for name in row:
                out[i, self._index[name]] = 1.0
        return out

    def monitor_scores(self, logits: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        # at the thresholds the run would tune now: at 0.5, a model that ranks rare labels well but under 0.5
        # scores 0 for the first epochs, and the best epoch (the first, on a tie) was the worst one
        y = targets.numpy().astype(np.int64)
        proba = torch.sigmoid(logits.float()).numpy()
        pred = (proba >= self._thresholds_for(y, proba)).astype(np.int64)
        return {"accuracy": float((pred == y).all(1).mean()),
                "macro_f1": label_macro_f1(y, pred),
                "micro_f1": float(f1_score(y, pred, average="micro", zero_division=0))}

    @property
    def thresholds(self) -> np.ndarray:
        """One threshold per label: ``multilabel.threshold``, else the tuned ones, else 0.5."""
        if self.config.multilabel.threshold is not None:
            return np.full(len(self.labels), self.config.multilabel.threshold)
        return np.asarray(self.state.get("thresholds", [0.5] * len(self.labels)), dtype=np.float64)

    def tune(self, targets: np.ndarray, proba: np.ndarray) -> None:
        self.state["thresholds"] = [float(t) for t in self._thresholds_for(targets, proba)]

    def _thresholds_for(self, targets: np.ndarray, proba: np.ndarray) -> np.ndarray:
        """The thresholds ``multilabel.threshold`` or ``multilabel.tune`` gives for these valid targets."""
        if self.config.multilabel.threshold is not None:
            return np.full(len(self.labels), self.config.multilabel.threshold)
        if self.config.multilabel.tune == "micro_f1":
            return np.asarray(micro_thresholds(targets, proba))
        return np.asarray([best_threshold(targets[:, j], proba[:, j]) for j in range(len(self.labels))])

    def metrics(self, targets: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
        thresholds = self.thresholds
        return multilabel_metrics(targets, proba >= thresholds, self.labels, thresholds.tolist())

    def headline(self, metrics: dict[str, Any]) -> dict[str, float]:
        return {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"], "micro_f1": metrics["micro_f1"],
                "samples_f1": metrics["samples_f1"]}

    def prediction_options(self) -> tuple[str, ...]:
        return ("threshold", "min_confidence")

    def predictions(self, proba: np.ndarray, top_k: int | None = None, threshold: float | None = None,
                    min_confidence: float | None = None, **options: Any) -> list[Prediction]:
        """Labels over their thresholds (or ``threshold``), the ``top_k`` most probable ranked in ``top_k`` (all if
        None: it never changes which labels are chosen, as on the server); with ``min_confidence``, a label whose
        decision is less sure than it goes to ``unsure``: the probability that the label applies (p) for a label
        chosen, that it does not (1 - p) for one left out. A label chosen at p = 0.04, over a tuned threshold of 0.01,
        is unsure at any min_confidence above 0.04."""
        cut = np.full(len(self.labels), threshold) if threshold is not None else self.thresholds
        out = []
        for row in proba:
            order = np.argsort(-row, kind="stable")
            chosen = [j for j in order if row[j] >= cut[j]]
            unsure = None
            if min_confidence is not None:
                picked = set(chosen)
                doubt = [j for j in order if (row[j] if j in picked else 1 - row[j]) < min_confidence]
                unsure = [self.labels[j] for j in doubt]
                chosen = [j for j in chosen if j not in doubt]
            out.append(Prediction(labels=[self.labels[j] for j in chosen], unsure=unsure,
                                  top_k=[{"label": self.labels[j], "score": float(row[j])} for j in order[: top_k or None]],
                                  probabilities={name: float(p) for name, p in zip(self.labels, row)}))
        return out

    def explained_outputs(self, record: Prediction) -> list[ExplainedOutput]:
        # nothing chosen: the most probable label, saying so
        note = "" if record.labels else "no label is chosen; the most probable one"
        chosen = record.labels or [record.top_k[0]["label"]]
        # at most the 6 most probable of them: a column each must stay readable in a terminal; said when cut
        if len(chosen) > EXPLAINED_MOST:
            note = f"the {EXPLAINED_MOST} most probable of the {len(chosen)} labels chosen are explained"
        chosen = sorted(chosen, key=lambda name: -record.probabilities[name])[:EXPLAINED_MOST]
        return [ExplainedOutput(name, self._index[name], note) for name in chosen]

    def csv_header(self) -> list[str]:  # probabilities: every label's, as a single-label model's CSV has them
        return ["labels", "unsure", "top_k", "probabilities"]

    def csv_row(self, p: Prediction) -> list[str]:
        sep = self.config.multilabel.label_sep
        return [sep.join(p.labels or []), sep.join(p.unsure or []), json.dumps(p.top_k, ensure_ascii=False),
                json.dumps(p.probabilities, ensure_ascii=False)]

    def describe(self, label: Any) -> str:
        return self.config.multilabel.label_sep.join(label) or "(none)"

    def decision(self, p: Prediction) -> tuple[str, float]:
        sure = float(np.mean([max(q, 1 - q) for q in p.probabilities.values()]))
        return self.config.multilabel.label_sep.join(p.labels or []) or "(none)", sure

    def label_counts(self, split: Split) -> Counter:
        return in_order(Counter(name for label in split.labels for name in (label or ("(none)",))), self.labels)

    def summary(self) -> dict[str, Any]:
        return {"task": self.name, "labels": self.labels, "thresholds": [round(float(t), 4) for t in self.thresholds]}

    def report_lines(self) -> list[str]:
        return [f"- labels ({len(self.labels)}), thresholds: " + ", ".join(
            f"{name} {t:.3f}" for name, t in zip(self.labels, self.thresholds))]

    def card_line(self) -> str:
        return f"multi-label classification over {', '.join(self.labels)} (one threshold per label)"

    def card_scores(self, name: str, m: dict[str, Any]) -> str:
        return (f"- {name}: micro-F1 {m['micro_f1']:.4f}, macro-F1 {m['macro_f1']:.4f}, subset accuracy "
                f"{m['subset_accuracy']:.4f} ({m['n']} texts)")

    def split_markdown(self, name: str, metrics: dict[str, Any]) -> list[str]:
        return report.split_markdown(name, metrics)

    def plot_split(self, name: str, metrics: dict[str, Any], path: Path) -> Path:
        return report.plot_split(name, metrics, path)

    def html_metrics(self, metrics: dict[str, dict[str, Any]]) -> list[str]:
        return report.html_metrics(metrics)
