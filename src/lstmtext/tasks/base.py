"""The Task plug-in: everything that differs between single-label, multi-label and aspect classification.

A :class:`Task` subclass is registered by name (``config.task``) like an architecture. Its class methods
read the labels of a file (:meth:`Task.parse`, one frame at a time, so streamed chunks use the same code)
and fit the label space (:meth:`Task.fit`); an instance holds that label space (and what it tunes on the
valid split, e.g. multi-label thresholds) and owns the rest: label encoding and decoding, the output
layout the model is built for, the objective, metrics, report sections, the model card's task line and the
:class:`Prediction` records. Nothing outside :mod:`lstmtext.tasks` asks which task a run is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from lstmtext.config import Config, TrainConfig
from lstmtext.data.dataset import LabelledData, RowRefs, Split, Table, partition, random_split, report_duplicates, warn
from lstmtext.data.io import detect_format, read_table
from lstmtext.data.lines import row_of
from lstmtext.data.splits import split_file_rows
from lstmtext.encoding.batching import EncodedSplit
from lstmtext.errors import ConfigError, DataError
from lstmtext.models.heads import OutputLayout
from lstmtext.tasks.calibration import calibration_report, fit_temperatures, scale
from lstmtext.tasks.objective import LayoutObjective
from lstmtext.tasks.prediction import ExplainedOutput, Prediction
from lstmtext.tasks.sampling import balanced_weights, oversample_rows

_TASKS: dict[str, type[Task]] = {}


def register_task(cls: type[Task]) -> type[Task]:
    """Register a Task subclass under its ``name`` (class decorator)."""
    if cls.name in _TASKS:
        raise RuntimeError(f"task {cls.name!r} is registered twice")
    _TASKS[cls.name] = cls
    return cls


def get_task(name: str) -> type[Task]:
    """The Task class registered as ``name``.

    Raises:
        ConfigError: If no task has that name.
    """
    if name not in _TASKS:
        raise ConfigError(f"task: unknown task {name!r}. Available: {', '.join(sorted(_TASKS))}.")
    return _TASKS[name]


def available_tasks() -> dict[str, str]:
    """``{name: one-line description}`` of every registered task."""
    return {name: cls.help for name, cls in sorted(_TASKS.items())}


class Task(ABC):
    """One kind of classification: how its labels are read, encoded, learnt, scored, reported and predicted.

    Subclasses set ``name`` and ``help`` and implement the abstract methods; an instance is bound to one
    label space (``labels``, JSON-ready, saved as the bundle's ``labels.json``) and a config.
    """

    name: ClassVar[str]
    help: ClassVar[str]
    #: ``train.monitor`` values this task's summaries provide.
    monitors: ClassVar[tuple[str, ...]] = ("valid_loss", "valid_accuracy", "valid_macro_f1")
    #: Whether :meth:`tune` fits something on the valid split's probabilities after training.
    tunes: ClassVar[bool] = False
    #: Whether the bundled airline tweets (a single-label data set) are data for this task.
    reads_bundled: ClassVar[bool] = False
    #: Whether ``train.oversample = "random"`` applies (a text has one class per output group).
    can_oversample: ClassVar[bool] = True
    cannot_distribute: ClassVar[str | None] = None  # why --nproc (DDP) cannot train this task; None: it can
    #: The config sections (besides the shared ones) this task reads, e.g. ``("absa",)``.
    sections: ClassVar[tuple[str, ...]] = ()
    #: How many classes ``lstmtext predict`` lists per record when ``--top-k`` is not given (None: all).
    default_top_k: ClassVar[int | None] = None
    #: What a comparison table's accuracy and macro-F1 mean for this task (empty: the usual).
    scores_note: ClassVar[str] = ""
    #: Whether a warm start may append outputs for new labels (:meth:`add_labels`).
    can_grow: ClassVar[bool] = True
    #: The stem of each split's figure file (``<stem>_<split>.png``).
    figure_stem: ClassVar[str] = "confusion"
    #: The scores of :meth:`metrics` that experiments (search, cv, learning-curve) may rank or summarise by.
    scores: ClassVar[tuple[str, ...]] = ("macro_f1", "accuracy", "weighted_f1")
    #: Whether its labels come from ``data.label_col`` (an aspect file's come from its aspect columns).
    reads_label_col: ClassVar[bool] = True

    @staticmethod
    def label_columns_advice(config: Config, label_col: str) -> str:
        """Where a task that does not read ``--label-col`` (:attr:`reads_label_col`) takes its labels from, and
        the flags that name them, for the error that refuses ``label_col``."""
        return ""

    def __init__(self, labels: Any, config: Config, state: dict[str, Any] | None = None) -> None:
        self.labels = labels
        self.config = config
        self.state = dict(state or {})

    # ---- reading labelled files (before the label space is known) ----------------------------------------
    @classmethod
    @abstractmethod
    def parse(cls, frame: pd.DataFrame, refs: RowRefs, path: Path, config: Config, info: dict[str, Any]) -> Table:
        """Read texts and labels (and the split column, if configured) from one frame of a file.

        ``info`` is what an earlier frame or the training file taught (e.g. the aspects); the returned
        table's ``info`` is what this one found. Errors name the file and row (``refs(i)``).
        """

    @classmethod
    def stratum(cls) -> Callable[[Any], Hashable] | None:
        """The function from a label to its stratum for random splits; None: split without strata."""
        return None

    @classmethod
    def needs(cls) -> Callable[[Any], Iterable[Hashable]] | None:
        """For a split without strata: a label's parts the training rows must hold (see :func:`random_split`)."""
        return None

    @classmethod
    def label_names(cls, info: dict[str, Any]) -> Callable[[Any], Iterable[tuple[str, str]]]:
        """A training label's ``(group, name)`` pairs, the names each group must write one way
        (:mod:`lstmtext.data.look_alikes`): a class is one name of one group."""
        return lambda label: [("", label)]

    @classmethod
    def cannot_stream(cls, config: Config) -> str | None:
        """Why this task's files cannot be read chunk by chunk under ``config`` (None: they can)."""
        return None

    @classmethod
    def read_file(cls, path: str | Path, config: Config, fmt: str | None = None, header: bool = True,
                  info: dict[str, Any] | None = None) -> Table:
        """Read one whole labelled file."""
        path = Path(path)
        fmt = detect_format(path, fmt)
        frame = read_table(path, fmt, header=header).reset_index(drop=True)
        return cls.parse(frame, RowRefs(path, fmt, header), path, config, dict(info or {}))

    @classmethod
    def load(cls, path: str | Path, config: Config, *, fmt: str | None = None, valid_path: str | Path | None = None,
             test_path: str | Path | None = None, header: bool = True,
             split_file: str | Path | None = None, whole: bool = False) -> LabelledData:
        """Read, check and split a labelled data set.

        Splits come from, in order of preference: separate ``valid_path``/``test_path`` files, a ``row,split``
        ``split_file``, the ``data.split_col`` column, or a random split made here (``data.valid_size``,
        ``data.test_size``, ``data.split_seed``; stratified where the task has strata). With ``whole`` a file
        that gives no split is not split either: every row is training data, for commands that make their
        own folds (cv, audit). Repeated (text, label) rows are reported, and dropped before splitting with
        ``data.drop_duplicates``.

        Raises:
            DataError: For unreadable files, bad cells, bad splits, and labels the training split lacks.
        """
        no_split_col = config.model_copy(update={"data": config.data.model_copy(update={"split_col": None})})
        table = cls.read_file(path, no_split_col if split_file is not None else config, fmt, header)
        split, values, notes = table.split, table.split_values, []
        source = str(path) if split_file is None else f"{path} (split {split_file})"
        if split_file is not None:
            rows, values = split_file_rows(split_file, len(split))
            if len(rows) < len(split):
                warn(notes, f"{split_file} lists {len(rows):,} of the {len(split):,} rows of {path}: the other "
                            f"{len(split) - len(rows):,} are left out")
            split = split.take(rows)
        drop = config.data.drop_duplicates and split_file is None  # dropping would shift a split file's rows
        splits_here = valid_path is None and (test_path is not None or (values is None and not whole))
        hint = "" if split_file is not None else "--set data.drop_duplicates=true, or train's --drop-duplicates, " \
            f"drops them{' before splitting' if splits_here else ''}"
        keep, n_dup = report_duplicates(split, drop, str(path), notes, hint)
        if keep is not None:
            split = split.take(keep)
            values = [values[i] for i in keep] if values is not None else None
        if valid_path is not None or test_path is not None:
            parts = {"train": split}
            for name, extra in (("valid", valid_path), ("test", test_path)):
                if extra is not None:
                    parts[name] = cls.read_file(extra, no_split_col, fmt, header, table.info).split
            if "valid" not in parts:
                parts.update(random_split(split, config.data, cls.stratum(), test=False, source=str(path), notes=notes,
                                          needs=cls.needs()))
        elif values is not None:
            what = "the split file" if split_file is not None else f"column {config.data.split_col!r}"
            parts = partition(split, values, str(split_file or path), what)
        elif whole:
            parts = {"train": split, "valid": Split([], [], [])}
        else:
            parts = random_split(split, config.data, cls.stratum(), source=str(path), notes=notes, needs=cls.needs())
        return LabelledData(parts, source, n_dup, notes, table.info)

    @classmethod
    def several_label_columns(cls, config: Config, columns: list[str]) -> None:
        """Read ``--label-col a,b,c`` into ``config`` (tasks with one label column: the missing column is reported)."""

    def file_label_options(self, config: Config, label_sep: str | None, columns: list[str] | None) -> None:
        """Read an evaluated file's own label options into ``config``: ``--label-sep`` and ``--label-col a,b,c``,
        which only multi-label models read.

        Raises:
            ConfigError: For a task that reads neither.
        """
        raise ConfigError(f"--label-sep and a,b,c in --label-col read multi-label files; this model's task is "
                          f"{self.name!r}.")

    def match_layout(self, config: Config, columns: Callable[[], list[str]]) -> None:
        """Set ``config`` to the layout of a file whose header holds ``columns()`` (aspect files: wide or long); a
        task of one layout has nothing to set."""

    @classmethod
    def pin_label_space(cls, data: LabelledData, config: Config, split: str) -> LabelledData:
        """``data`` with the label space fitted on its ``split`` (the rows an experiment draws from), for :meth:`from_data`."""
        space = cls.fit(Counter(data.splits[split].labels), data.info, config, data.source).labels
        return replace(data, info={**data.info, "label_space": space})

    @classmethod
    def from_data(cls, data: LabelledData, config: Config) -> Task:
        """Fit the label space on ``data``'s training split and check every split against it.

        Experiments that train on parts of a data set pin the space of the whole (:meth:`pin_label_space`):
        every part's run has the same outputs, a label its training rows lack learnt as absent.

        Raises:
            DataError: If the training split cannot train this task, or another split has labels it lacks.
        """
        space = data.info.get("label_space")
        task = cls(space, config) if space is not None else \
            cls.fit(Counter(data.splits["train"].labels), data.info, config, data.source)
        for name, split in data.splits.items():
            task.check(split, data.source, name)
        return task

    @classmethod
    @abstractmethod
    def fit(cls, counts: Counter, info: dict[str, Any], config: Config, source: str) -> Task:
        """The task for the training labels' ``counts`` (label -> rows); raise a DataError if they cannot train it."""

    def decision_cuts(self) -> np.ndarray | None:
        """Sigmoid outputs: the probability at which each label flips (its threshold); None for softmax groups."""
        return None

    def annotation_columns(self) -> list[str]:
        """The label columns of a file for people to fill in (``lstmtext suggest``'s ``to_label.csv``)."""
        return [self.config.data.label_col]

    #: What ``to_label.csv``'s label cells hold until filled in: empty, which training refuses as a missing label.
    annotation_placeholder = ""

    def new_label_names(self, labels: Sequence[Any]) -> list[str]:
        """What the training ``labels`` of a warm start (``--init-from``) hold that this label space lacks."""
        raise NotImplementedError(f"--task {self.name} cannot continue a saved model")

    def add_labels(self, names: list[str], config: Config) -> Task:
        """This label space with ``names`` appended (new outputs after the old ones) for a run of ``config``,
        its fitted state reset.

        Raises:
            DataError: If the task cannot grow its outputs.
        """
        raise DataError(f"a {self.name!r} model cannot get new labels ({', '.join(names[:5])}); train a new model.")

    def check(self, split: Split, source: str, name: str) -> None:
        """Raise a DataError at the first row whose label the label space lacks (naming the row when known: the row
        of the field at fault, where a text has one row per field)."""
        for i, label in enumerate(split.labels):
            problem = self.unknown(label, name)
            if problem:
                where = row_of(split.rows[i], self.unknown_field(label)) if split.rows is not None else source
                raise DataError(f"{where}: {problem}")

    def unknown_field(self, label: Any) -> str | None:
        """The field (an aspect) of ``label`` that :meth:`unknown` names; None: the label as a whole."""
        return None

    @abstractmethod
    def unknown(self, label: Any, split_name: str) -> str | None:
        """What in ``label`` the label space lacks, with the fix (None: nothing)."""

    def read_labelled(self, path: str | Path, fmt: str | None = None, header: bool = True,
                      config: Config | None = None) -> Split:
        """Read a whole labelled file in this task's layout and check its labels (``lstmtext evaluate``)."""
        cfg = config or self.config
        cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"split_col": None})})
        split = type(self).read_file(path, cfg, fmt, header, self.reader_info(cfg)).split
        self.check(split, str(path), "evaluated")
        return split

    def reader_info(self, config: Config | None = None) -> dict[str, Any]:
        """What reading another file of this task under ``config`` (default: the model's) needs to know (the ``info``
        for :meth:`parse`)."""
        return {}

    def warm_settings(self) -> dict[str, Any]:
        """Config settings (nested) a warm start from this saved task reads its new files with: what the task
        learnt from its training file that the config alone does not say (an aspect model's not-mentioned label)."""
        return {}

    @classmethod
    def network_settings(cls, config: Config) -> dict[str, dict[str, Any]]:
        """The task's own config settings that shape the network (an aspect head's kind), by section: a warm start
        must keep them, as it keeps the ``model`` section."""
        return {}

    # ---- the model's outputs and the objective ------------------------------------------------------------
    @property
    @abstractmethod
    def layout(self) -> OutputLayout:
        """How the model's logits are read."""

    def output_names(self) -> list[str]:
        """A name for each of the model's outputs, in order (``id2label`` of the bundle's ``config.json``)."""
        return [str(label) for label in self.labels]

    def model_kwargs(self) -> dict[str, Any]:
        """Extra :func:`lstmtext.models.build_model` arguments (head names, per-head attention)."""
        return {}

    @abstractmethod
    def targets(self, labels: Sequence[Any]) -> np.ndarray:
        """Encode labels as the objective's targets (class ids, one per group, or 0/1 per label)."""

    def objective(self, targets: np.ndarray, train: TrainConfig, counts: np.ndarray | None = None) -> LayoutObjective:
        """The loss (class-weighted with ``train.class_weight``) and the monitoring summary.

        ``counts`` gives each target row's multiplicity when ``targets`` holds distinct rows (streamed data).
        """
        weights = balanced_weights(self.layout, targets, counts) if train.class_weight == "balanced" else None
        return LayoutObjective(self.layout, weights, self.monitor_scores)

    def oversample(self, split: EncodedSplit, seed: int) -> EncodedSplit:
        """Copy minority rows of the training split (``train.oversample = "random"``)."""
        classes = list(self.labels.values()) if isinstance(self.labels, dict) else [list(self.labels)]
        return split.take(oversample_rows(split.targets, self.layout, seed, self.group_names(), classes))

    def group_names(self) -> list[str]:
        """A name per output group (for logs)."""
        return [self.name]

    @abstractmethod
    def monitor_scores(self, logits: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        """Scores watched while training (``accuracy``, ``macro_f1``, ...), besides the loss."""

    def probabilities(self, logits: torch.Tensor, calibrated: bool = True) -> np.ndarray:
        """``(N, K)`` probabilities of logits, float32, through the calibration temperatures when there are."""
        if logits.numel() == 0:
            return np.zeros((logits.shape[0], self.layout.total), dtype=np.float32)
        logits = logits.float()
        if calibrated and self.state.get("temperatures"):
            logits = scale(logits, self.state["temperatures"], self.layout)
        return self.layout.probabilities(logits).numpy()

    def calibrate(self, logits: torch.Tensor, targets: np.ndarray) -> None:
        """Fit the temperature of every softmax group or sigmoid label on the valid split's logits; saved in
        ``state`` and applied by :meth:`probabilities` from then on (see :mod:`lstmtext.tasks.calibration`)."""
        self.state["temperatures"] = fit_temperatures(logits, torch.as_tensor(targets), self.layout)

    def calibration(self, logits: torch.Tensor, targets: np.ndarray, chosen: dict[str, float] | None = None
                    ) -> dict[str, Any]:
        """ECE before and after calibration, reliability diagrams and accuracy against coverage of one split
        (``chosen``: min-confidence cuts chosen on the valid split, see :func:`calibration_report`)."""
        return calibration_report(self.probabilities(logits, calibrated=False), self.probabilities(logits), targets,
                                  self.layout, self.state.get("temperatures"), self.decision_cuts(), chosen)

    def tune(self, targets: np.ndarray, proba: np.ndarray) -> None:
        """Fit decisions on the valid split after training (e.g. thresholds); saved in ``state``."""

    def answers(self, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The model's own answers as training targets (the form :meth:`targets` gives) and how sure it is of
        each row: the probability of its least sure decision (a group's chosen class, or a label's yes or no
        at its threshold). Self-training (:mod:`lstmtext.training.self_training`) learns from them."""
        layout = self.layout
        if layout.activation == "sigmoid":
            cuts = self.decision_cuts()
            yes = proba >= (0.5 if cuts is None else cuts)
            sure = np.where(yes, proba, 1.0 - proba).min(1)
            return yes.astype(np.float32), sure.astype(np.float32)
        ids = np.stack([proba[:, s].argmax(1) for s in layout.slices()], 1)
        sure = np.stack([proba[:, s].max(1) for s in layout.slices()], 1).min(1).astype(np.float32)
        return ids.reshape(len(ids), *self.targets([]).shape[1:]).astype(np.int64), sure

    # ---- scores ------------------------------------------------------------------------------------------
    @abstractmethod
    def metrics(self, targets: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
        """Every score of one split, JSON-ready; always holds ``n``, ``accuracy`` and ``macro_f1``."""

    def headline(self, metrics: dict[str, Any]) -> dict[str, float]:
        """The few scores shown in tables: ``accuracy``, ``macro_f1`` and the task's own."""
        return {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"]}

    # ---- predictions -------------------------------------------------------------------------------------
    @abstractmethod
    def predictions(self, proba: np.ndarray, top_k: int | None = None, **options: Any) -> list[Prediction]:
        """One :class:`Prediction` per probability row."""

    def explained_outputs(self, record: Prediction) -> list[ExplainedOutput]:
        """What an explanation of ``record`` explains: each predicted target."""
        names = self.output_names()
        return [ExplainedOutput(record.label, names.index(record.label))] if record.label in names else []

    def prediction_options(self) -> tuple[str, ...]:
        """The keyword options :meth:`predictions` accepts besides ``top_k``."""
        return ("min_confidence",)

    def csv_header(self) -> list[str]:
        """The CSV columns of a prediction (after ``text``; :func:`~lstmtext.inference.records.write_predictions`
        adds ``no_known_word`` and ``truncated``). An abstention has an empty ``label`` and ``abstained`` true."""
        return ["label", "score", "abstained", "top_k", "probabilities"]

    def csv_row(self, p: Prediction) -> list[str]:
        """One prediction as CSV cells matching :meth:`csv_header`."""
        import json

        return [p.label or "", f"{p.score:.6f}" if p.score is not None else "", str(p.abstained).lower(),
                json.dumps(p.top_k, ensure_ascii=False), json.dumps(p.probabilities, ensure_ascii=False)]

    def describe(self, label: Any) -> str:
        """A label as short text (report tables)."""
        return str(label)

    def decision(self, p: Prediction) -> tuple[str, float]:
        """A prediction as the text :meth:`describe` gives labels, and how sure it was."""
        return str(p.label), float(p.score or 0.0)

    # ---- reports -----------------------------------------------------------------------------------------
    @abstractmethod
    def split_markdown(self, name: str, metrics: dict[str, Any]) -> list[str]:
        """``report.md`` lines of one split."""

    def summary(self) -> dict[str, Any]:
        """Task facts for the run summary and the model card (labels, aspects, thresholds)."""
        return {"task": self.name, "labels": self.labels}

    def report_lines(self) -> list[str]:
        """Bullet lines the task adds at the top of ``report.md`` (labels, aspects, thresholds)."""
        return []

    @abstractmethod
    def card_line(self) -> str:
        """The model card's ``Task`` line."""

    def card_limits(self) -> str:
        """What the model card's limits section says beyond the usual (empty: nothing)."""
        return ""

    def card_scores(self, name: str, metrics: dict[str, Any]) -> str:
        """One model-card line of a split's scores."""
        return f"- {name}: " + ", ".join(f"{k.replace('_', '-')} {v:.4f}" for k, v in self.headline(metrics).items()) \
            + f" ({metrics['n']} texts)"

    @abstractmethod
    def plot_split(self, name: str, metrics: dict[str, Any], path: Path) -> Path:
        """Write the split's figure (confusion matrix or per-label chart) to a PNG."""

    @abstractmethod
    def html_metrics(self, metrics: dict[str, dict[str, Any]]) -> list[str]:
        """HTML fragments of the metrics section of ``report.html``."""

    def label_counts(self, split: Split) -> Counter:
        """Rows per class (what the report's data section counts), in the task's label order."""
        return in_order(Counter(self.describe(y) for y in split.labels), [self.describe(y) for y in self.labels])


def in_order(counts: Counter, order: Sequence[Any]) -> Counter:
    """``counts`` with the keys of ``order`` first, in that order (the report's tables follow the labels' order, an
    aspect file's columns, not the alphabet), then any others as counted."""
    return Counter({**{k: counts[k] for k in order if k in counts}, **counts})
