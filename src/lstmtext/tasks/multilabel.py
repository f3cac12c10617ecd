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

import html
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import f1_score

from lstmtext.config import Config
from lstmtext.data.dataset import RowRefs, Split, Table, check_cells, check_columns, split_values
from lstmtext.errors import DataError
from lstmtext.models.heads import OutputLayout
from lstmtext.reports.html import figure_png, image, table
from lstmtext.reports.markdown import LEFT_OUT, fmt, left_out, md_cell, score_cells
from lstmtext.tasks.base import Task, in_order, register_task
from lstmtext.tasks.metrics import label_macro_f1, multilabel_metrics
from lstmtext.tasks.prediction import ExplainedOutput, Prediction
from lstmtext.tasks.thresholds import best_threshold, micro_thresholds

#: Delimiters suggested when ``label_sep`` splits nothing.
_OTHER_SEPARATORS = ("|", ";", ",", "/", " ")
_TRUE, _FALSE = {"1", "1.0", "true", "yes"}, {"0", "0.0", "false", "no"}
#: ``lstmtext suggest`` writes this in a label-names cell of ``to_label.csv``; training refuses it until replaced.
NOT_LABELLED = "?"


def _json_list(cell: Any, where: str, col: str) -> list[Any] | tuple[Any, ...] | None:
    """The labels of a cell holding a list: a JSONL list, or the JSON text of one in a CSV cell (``["a", "b"]``)."""
    if isinstance(cell, (list, tuple)):
        return cell
    if not isinstance(cell, str) or not (cell.strip().startswith("[") and cell.strip().endswith("]")):
        return None
    try:
        value = json.loads(cell)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: column {col!r} holds {cell[:60]!r}, which looks like a JSON list but is not one "
                        f"({exc.msg}). Write it as [\"a\", \"b\"], with double quotes.") from None
    if not isinstance(value, list) or any(isinstance(x, (list, dict)) for x in value):
        raise DataError(f"{where}: column {col!r} holds {cell[:60]!r}: a list of label names was expected.")
    return value


def _parse_delimited(frame: pd.DataFrame, refs: RowRefs, path: Path, config: Config) -> list[tuple[str, ...]]:
    col, sep = config.data.label_col, config.multilabel.label_sep
    cells = frame[col].tolist()
    kinds = {}
    labels = []
    for i, cell in enumerate(cells):
        if isinstance(cell, str) and cell.strip() == NOT_LABELLED:
            raise DataError(f"{refs(i)}: column {col!r} holds {NOT_LABELLED!r}, which lstmtext suggest writes for a text "
                            f"not labelled yet. Replace it with the text's labels (separated by {sep!r}), or empty the "
                            "cell for a text with no label.")
        listed = _json_list(cell, refs(i), col)
        if listed is not None:
            kind, parts = "list", [str(x).strip() for x in listed]
            # every CSV output and report joins a text's labels with the separator: ["a|b"] read back as two
            if joined := next((p for p in parts if sep in p), None):
                raise DataError(f"{refs(i)}: the label {joined!r} holds {sep!r}, which joins a text's labels in every "
                                f"CSV output, so it would read back as two labels. Rename the label, or pick another "
                                f"--label-sep that no label holds.")
        elif cell is None or (isinstance(cell, float) and np.isnan(cell)) or str(cell).strip() == "":
            labels.append(())
            continue
        else:
            kind, parts = "text", [x.strip() for x in str(cell).split(sep)]
        kinds.setdefault(kind, i)
        if len(kinds) > 1:
            first, other = sorted(kinds.items(), key=lambda kv: kv[1])
            raise DataError(f"{refs(i)}: column {col!r} mixes layouts: row {refs(first[1])} holds a {first[0]} of "
                            f"labels, this row a {other[0]}. Write every row the same way (a JSON list, or labels "
                            f"separated by {sep!r}).")
        labels.append(tuple(sorted({p for p in parts if p})))
    text_cells = [str(c) for c in cells if isinstance(c, str) and c.strip()] if "text" in kinds else []
    if text_cells and not any(sep in c for c in text_cells):
        for other in _OTHER_SEPARATORS:
            if other != sep and sum(other in c for c in text_cells) >= max(1, len(text_cells) // 20):
                raise DataError(f"{path}: --label-sep {sep!r} splits no cell of column {col!r}, but {other!r} appears "
                                f"in {sum(other in c for c in text_cells)} of them (e.g. {next(c for c in text_cells if other in c)!r}). "
                                f"Pass --label-sep {other!r}.")
    return labels


def _parse_columns(frame: pd.DataFrame, refs: RowRefs, path: Path, config: Config,
                   names: list[str] | None) -> tuple[list[tuple[str, ...]], list[str]]:
    cfg = config.data
    names = names or config.multilabel.labels or [str(c) for c in frame.columns if c not in (cfg.text_col, cfg.split_col)]
    if not names:
        raise DataError(f"{path}: no label columns besides the text column {cfg.text_col!r}. Add one 0/1 column per "
                        "label, or use --set multilabel.layout=\"delimited\" with a column of label names.")
    check_columns(frame, path, {f"multilabel.labels ({name!r})": name for name in names})
    flags = []
    for name in names:
        column = []
        for i, cell in enumerate(frame[name].tolist()):
            value = str(cell).strip().lower() if cell is not None else ""
            if value in _TRUE:
                column.append(True)
            elif value in _FALSE:
                column.append(False)
            else:
                empty = cell is None or (isinstance(cell, float) and cell != cell) or not str(cell).strip()
                raise DataError(f"{refs(i)}: column {name!r} " + ("is empty" if empty else f"holds {cell!r}")  # not 'nan'
                                + "; the columns layout needs 0 or 1 (1: the text has the label). Fix the cell, or use "
                                "--set multilabel.layout=\"delimited\" for a column of label names.")
        flags.append(column)
    return [tuple(n for n, on in zip(names, row) if on) for row in zip(*flags)], list(names)


def _check_one_row_per_text(split: Split, config: Config) -> None:
    """Refuse a text on two rows with other labels: the long form (one row per text and label) trained each row as
    if its text had that label alone, and put copies of one text in train and test alike.

    Raises:
        DataError: Naming both rows and how to write them as one.
    """
    first: dict[str, int] = {}
    for i, (text, labels) in enumerate(zip(split.texts, split.labels)):
        j = first.setdefault(text, i)
        if j != i and split.labels[j] != labels:
            how = (f"in one row, separated by {config.multilabel.label_sep!r}" if config.multilabel.layout != "columns"
                   else "in one row, a 1 in each of its label columns")
            raise DataError(f"{split.rows[j]} and {split.rows[i]}: the text {' '.join(text.split())[:60]!r} is on two rows "
                            f"with other labels ({', '.join(split.labels[j]) or 'none'}; {', '.join(labels) or 'none'}). "
                            f"A multi-label file gives all of a text's labels {how}: merge the rows.")


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
            labels, names = _parse_columns(frame, refs, path, config, info.get("labels"))
            info = {**info, "labels": names}
        else:
            labels = _parse_delimited(frame, refs, path, config)
        split = Split(frame[cfg.text_col].astype(str).tolist(), labels, refs.all(len(frame)))
        _check_one_row_per_text(split, config)
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
        # at most the 6 most probable of them: a column each must stay readable in a terminal
        chosen = sorted(chosen, key=lambda name: -record.probabilities[name])[:6]
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

    def split_markdown(self, name: str, m: dict[str, Any]) -> list[str]:
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

    def card_line(self) -> str:
        return f"multi-label classification over {', '.join(self.labels)} (one threshold per label)"

    def card_scores(self, name: str, m: dict[str, Any]) -> str:
        return (f"- {name}: micro-F1 {m['micro_f1']:.4f}, macro-F1 {m['macro_f1']:.4f}, subset accuracy "
                f"{m['subset_accuracy']:.4f} ({m['n']} texts)")

    def _figure(self, name: str, m: dict[str, Any]) -> Any:
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

    def plot_split(self, name: str, metrics: dict[str, Any], path: Path) -> Path:
        import matplotlib.pyplot as plt

        from lstmtext.utils.atomic import atomic_path

        fig = self._figure(name, metrics)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100, format="png")
        plt.close(fig)
        return Path(path)

    def html_metrics(self, metrics: dict[str, dict[str, Any]]) -> list[str]:
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
                      image(figure_png(self._figure(name, m)), f"per-label F1, {name}")]
        return parts
