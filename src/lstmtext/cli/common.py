"""What the commands share: the consoles, the option types, the one mapping from flags to config keys, and the
score table. Commands import from here, never from each other.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape

from lstmtext.utils.interrupts import interrupting

console = Console()
err_console = Console(stderr=True)
PIPED_WIDTH = 160


def fit_console_width() -> None:
    """Piped output (a file, another program) is not cut at 80 columns, rich's default without a terminal: tables
    of tokens and scores would lose their words. A terminal, or COLUMNS, sets the width as usual."""
    console.width = None if sys.stdout.isatty() or "COLUMNS" in os.environ else PIPED_WIDTH  # type: ignore[assignment]


def model_text_columns(predictor: Any) -> tuple[str, str]:
    """Where to find the texts in a table given to a saved model: the column it was trained on, else ``text``."""
    return predictor.bundle.config.data.text_col, "text"


STATE = {"verbose": False}

DataArg = Annotated[Optional[Path], typer.Argument(help="CSV/TSV/JSONL/Parquet file. Omit to use the bundled airline tweets.")]
TextCol = Annotated[Optional[str], typer.Option(help="Column with the text (default: 'text').")]
ModelTextCol = Annotated[Optional[str], typer.Option("--text-col", help="Column with the text (default: the column the model was trained on, else 'text').")]
LabelCol = Annotated[Optional[str], typer.Option(help="Column with the label(s) (default: 'label'); with --task "
                                                      "multilabel, a,b,c names one 0/1 column per label.")]
SplitCol = Annotated[Optional[str], typer.Option(help="Column saying train / valid / test for each row.")]
SplitFile = Annotated[Optional[Path], typer.Option(help="A row,split file (0-based rows), e.g. the news titles' split.csv.")]
ValidOpt = Annotated[Optional[Path], typer.Option(help="Separate validation file (same columns).")]
TestOpt = Annotated[Optional[Path], typer.Option(help="Separate test file (same columns).")]
FormatOpt = Annotated[Optional[str], typer.Option("--format", metavar="FORMAT", help="csv, tsv, jsonl or parquet (default: from the file's extension).")]
NoHeader = Annotated[bool, typer.Option("--no-header", help="CSV/TSV without a header row: its columns are read as text, label, col2, ... (the first is the text).")]
TaskOpt = Annotated[Optional[str], typer.Option(metavar="TASK", help="classify (one label per text), multilabel (any number: --label-sep, "
                                                "a JSON list or 0/1 columns; docs/multilabel.md) or absa (one label per "
                                                "aspect; docs/absa.md). Each has a default preset.")]
AspectsOpt = Annotated[Optional[str], typer.Option(help="absa: comma-separated aspect columns (wide) or values (long); default: detect.")]
UnlabelledOpt = Annotated[Optional[Path], typer.Option(help="Raw texts without labels (a table with --unlabelled-col, or one text per line; streamed): their words join the vocabulary and train word2vec vectors, or the language model with --preset ulmfit / --pretrained; with --set train.self_training=0.5 the trained model also labels them for a second one (docs/embeddings.md, docs/pretrain.md).")]
UnlabelledColOpt = Annotated[Optional[str], typer.Option(help="The --unlabelled table's text column (default: --text-col).")]
PretrainedOpt = Annotated[Optional[Path], typer.Option(help="Start from a language model saved by `lstmtext pretrain` (or a training output folder holding lm/): its cleaning, vocabulary, embedding and LSTM; trained on for lm.finetune_epochs on DATA's texts and --unlabelled first (docs/pretrain.md).")]
LabelSepOpt = Annotated[Optional[str], typer.Option(help="multilabel: what separates a text's labels in the label column, e.g. '|'.")]
PresetOpt = Annotated[Optional[str], typer.Option(help="Model preset (`lstmtext presets` lists and describes them); default: the task's (default, multilabel or absa), and ulmfit for a single-label run with --pretrained.")]
ConfigOpt = Annotated[Optional[Path], typer.Option(help="TOML config (write one with `lstmtext init-config`; a search's best.toml), or a saved model's config.json or folder: train again with its whole config.")]
ENGINE_HELP = ("auto, torch, torch-bf16, onnx or onnx-int8 (default auto: the exported float file, else a graph built in "
               "memory, else torch). torch-bf16 (LSTM models on CPUs with bf16 instructions; faster with AMX) and onnx-int8 "
               "(faster for LSTM models, slower for CNN ones) are used only when named: their answers move a little with "
               "the texts batched alongside (docs/serving.md).")
EngineOpt = Annotated[str, typer.Option(help=ENGINE_HELP)]
OnnxOpt = Annotated[Optional[Path], typer.Option(help="Exported .onnx file, or the folder export wrote it into (default: the bundle's model.onnx; read by the onnx and auto engines; onnx-int8 reads the .int8.onnx beside it, or that file named here).")]
ThreadsOpt = Annotated[Optional[int], typer.Option(min=1, help="CPU threads for the model (default: OMP_NUM_THREADS when set, else every core).")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="Override a config key, e.g. --set train.epochs=5 (repeatable).")]
Oversample = Annotated[Optional[str], typer.Option(metavar="[random]", help="Oversample minority classes in the training split (default: no).")]
ClassWeight = Annotated[Optional[str], typer.Option(metavar="[balanced]", help="Weight the loss by inverse class frequency (multilabel: positive-class weights; default: no).")]
DropDuplicates = Annotated[bool, typer.Option("--drop-duplicates", help="Drop repeated (text, label) rows before splitting.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="No progress bars.")]
PreprocessOpt = Annotated[Optional[str], typer.Option(help="The cleaning: a preset (en-tweet, id-review, id-aspect, id-news, vi-review, plain, none) or comma-separated step names (`lstmtext presets` lists both); default: the model preset's.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace the results of an earlier run in OUT (refused without it).")]
OverwriteFileOpt = Annotated[bool, typer.Option("--overwrite", help="Replace OUT if it is already there (refused without it).")]


def run_config(preset: str | None = None, config: Path | None = None, set_: list[str] | None = None, *,
               task: str | None = None, text_col: str | None = None, label_col: str | None = None,
               split_col: str | None = None, aspects: str | None = None, label_sep: str | None = None,
               drop_duplicates: bool = False, oversample: str | None = None, class_weight: str | None = None,
               bundled: bool = False, init_from: Path | None = None, new_words: str | None = None,
               new_classes: str | None = None, unlabelled: Path | None = None,
               unlabelled_col: str | None = None, pretrained: Path | None = None, preprocess: str | None = None) -> Any:
    """The run's config from a preset, a TOML file, the data flags and ``--set`` overrides (in that order).

    With ``init_from`` and neither a preset nor a file, the saved model's config takes the preset's place
    (of its data section only the text and label column names; not its growth policies), so the warm start
    continues the same model, cleaning and training settings.
    With ``pretrained`` (a language model) the cleaning is the model's and the embedding starts from it; the
    preset defaults to ``ulmfit`` for single-label runs.
    This is the one place where a command-line flag becomes a config key.
    """
    from lstmtext.config import Config, build_config, deep_merge, parse_override
    from lstmtext.config.presets import task_preset
    from lstmtext.errors import ConfigError
    from lstmtext.preprocess.presets import check_model_preset
    from lstmtext.tasks import get_task

    check_model_preset(preset)
    given = {item: (".".join(path), value) for item in set_ or [] for path, value in [parse_override(item)]}
    init_set = next((value for key, value in given.values() if key == "train.init_from"), None)
    if init_set and str(init_set).lower() != "none":  # --set train.init_from=X is --init-from X
        if init_from is not None and Path(str(init_set)).resolve() != init_from.resolve():  # m1 and ./m1/: one
            raise ConfigError(f"--init-from {init_from} and --set train.init_from={init_set} name two models. Give one.")
        init_from = Path(str(init_set))
    base = None
    if init_from is not None and preset is None and config is None:
        from lstmtext.inference.bundle import load_bundle

        saved = load_bundle(init_from)
        base = saved.config.model_dump(mode="json")
        base = deep_merge(base, saved.task.warm_settings())  # e.g. an aspect model's own not-mentioned label
        if task and task != base["task"]:  # before its data is read as the saved model's task's
            from lstmtext.pipeline.warm_start import other_task

            raise other_task(init_from, base["task"], task)
        # the saved column names stay (suggest's to_label.csv uses them), not how that file was split or what
        # else was read; nor the growth policies of the run that made it: those are this run's flags
        base["data"] = {k: v for k, v in base["data"].items() if k in ("text_col", "label_col")}
        # a language model the saved one started from is in its weights already: continued, not pretrained again
        for key in ("init_from", "new_words", "new_classes", "pretrain", "pretrained"):
            base["train"].pop(key, None)
        if not task and base["task"] != Config.model_fields["task"].default:  # DATA is read as that task's file:
            # say so before it is
            err_console.print(escape(f"--init-from {init_from} is a model of --task {base['task']}: DATA is read and "
                                     "trained as its task's file"), highlight=False, soft_wrap=True)
        task = task or base["task"]
    sections = get_task(task or "classify").sections
    for flag, value, section in (("--aspects", aspects, "absa"), ("--label-sep", label_sep, "multilabel")):
        if value and section not in sections:
            raise ConfigError(f"{flag} needs --task {section} (it sets the {section} section; --task is "
                              f"{task or 'classify'}).")
    extra: dict[str, Any] = {}
    if task:
        extra["task"] = task
    columns = {"text_col": text_col, "label_col": label_col, "split_col": split_col}
    extra["data"] = {k: v for k, v in columns.items() if v is not None}
    if bundled:  # the bundled tweets: record their real columns in the configs written
        from lstmtext.data.bundled import AIRLINE_COLUMNS

        extra["data"] = dict(AIRLINE_COLUMNS)
    if drop_duplicates:
        extra["data"]["drop_duplicates"] = True
    extra["data"].update(unlabelled_data(unlabelled, unlabelled_col))
    if preprocess:  # a cleaning preset, or comma-separated step names
        from lstmtext.preprocess.presets import cleaning_choice

        extra["preprocess"] = cleaning_choice(preprocess)
    if aspects:
        extra["absa"] = {"aspects": [a.strip() for a in aspects.split(",") if a.strip()]}
    if label_sep:
        extra.setdefault("multilabel", {})["label_sep"] = label_sep
    train = {"oversample": oversample, "class_weight": class_weight, "new_words": new_words, "new_classes": new_classes,
             "init_from": str(init_from) if init_from is not None else None}
    if init_from is None and (new_words or new_classes):
        raise ConfigError("--new-words and --new-classes say how --init-from grows a saved model; give --init-from too.")
    extra["train"] = {k: v for k, v in train.items() if v}
    lm_set = next((value for key, value in given.values() if key == "train.pretrained" and value), None)
    from lstmtext.training.lm_bundle import pretrained_settings

    # --set train.pretrained=LM is --pretrained LM, and so is a config file's train.pretrained
    lm, settings = pretrained_settings(pretrained or lm_set, config, cleaning_named=bool(preprocess),
                                       given={key: (value, f"--set {item}") for item, (key, value) in given.items()})
    if lm is not None:
        for item, (key, _) in given.items():  # the language model's cleaning: a --set would be dropped or contradict it
            if key.startswith("preprocess."):
                raise ConfigError(f"--set {item}: with --pretrained the cleaning is the language model's. Leave it "
                                  "out, or pretrain a language model with it (lstmtext pretrain ... --set " + key + "=...).")
        extra = deep_merge(extra, settings)
        if preset is None and config is None and base is None:
            preset = task_preset(task, pretrained=True)
        _say_lm_cleaning(preset or task_preset(task), settings.get("preprocess"), lm, named=preset is not None or
                         config is None)
    if base is not None:
        built = build_config(None, None, list(set_ or []), extra=extra, base=base, extra_source=FLAG_KEYS)
    elif preset is None and config is not None:  # the task's preset under a file, not one the user named: a file
        # whose [model] differs (init-config's, edited) is what the user asked for, not a clash to warn about
        from lstmtext.config.presets import model_preset

        built = build_config(None, config, list(set_ or []), extra=extra, base=model_preset(task_preset(task)),
                             extra_source=FLAG_KEYS)
    else:
        built = build_config(preset or task_preset(task), config, list(set_ or []), extra=extra, extra_source=FLAG_KEYS)
    if label_col and not get_task(built.task).reads_label_col:  # it was ignored without a word
        fix = get_task(built.task).label_columns_advice(built, label_col)
        raise ConfigError(f"--label-col does not apply to --task {built.task}: {fix}, or leave --label-col out.")
    if label_col and "," in label_col:  # --label-col a,b,c: a task may read several label columns
        get_task(built.task).several_label_columns(built, [c.strip() for c in label_col.split(",") if c.strip()])
    return built


def _say_lm_cleaning(preset: str, theirs: dict[str, Any] | None, lm: str, named: bool = True) -> None:
    """Say when the language model's cleaning replaces one the model preset chose (absa's id-aspect, which keeps the
    stopwords that carry an aspect's polarity): only the report's cleaning line showed it. ``named``: the preset is
    the run's own, not the base a config file is laid over."""
    from lstmtext.config.presets import model_preset
    from lstmtext.pipeline.language_model import cleaning_name
    from lstmtext.preprocess.presets import resolved_preprocess

    own = model_preset(preset).get("preprocess")
    if theirs is None or own is None or resolved_preprocess(own)["steps"] == resolved_preprocess(theirs)["steps"]:
        return
    cleaning = cleaning_name(resolved_preprocess(theirs))
    logging.getLogger(__name__).warning(
        "--pretrained %s: the run cleans as the language model was trained (%s), not as %s does (%s). Pretrain "
        "with --preprocess %s to keep the preset's cleaning.", lm, cleaning, f"preset {preset}" if named else
        f"the preset {preset} that the config file is laid over", own.get("preset"), own.get("preset"))


#: The config key each flag of :func:`run_config` sets (what an error in that key names).
FLAG_KEYS = {"task": "--task", "data.text_col": "--text-col", "data.label_col": "--label-col",
             "data.split_col": "--split-col", "data.drop_duplicates": "--drop-duplicates",
             "data.unlabelled": "--unlabelled", "data.unlabelled_col": "--unlabelled-col", "absa.aspects": "--aspects",
             "multilabel.label_sep": "--label-sep", "multilabel.labels": "--label-col",
             "multilabel.layout": "--label-col", "train.oversample": "--oversample",
             "train.class_weight": "--class-weight", "train.new_words": "--new-words",
             "train.new_classes": "--new-classes", "train.init_from": "--init-from", "train.pretrained": "--pretrained",
             "preprocess": "--pretrained (the language model's cleaning)", "model.embedding": "--pretrained",
             "preprocess.preset": "--preprocess", "preprocess.steps": "--preprocess"}


def workers_or_cores(workers: int | None) -> int:
    """``--workers``, or every usable core when it is not given (0 is refused, not read as "not given")."""
    from lstmtext.errors import ConfigError
    from lstmtext.utils.cores import usable_cores

    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be at least 1 (or left out: every core); got {workers}.")
    cores = usable_cores()
    if workers is not None and workers > cores:  # runs (or threads) then share cores and time each other out
        import logging

        logging.getLogger(__name__).warning("--workers %d is more than the %d usable cores: the runs share them, each "
                                            "slower; leave --workers out to use every core once.", workers, cores)
    return workers if workers is not None else cores


def unlabelled_data(unlabelled: Path | None, unlabelled_col: str | None) -> dict[str, str]:
    """The ``data`` keys of ``--unlabelled`` and ``--unlabelled-col``."""
    if unlabelled_col and unlabelled is None:
        from lstmtext.errors import ConfigError

        raise ConfigError("--unlabelled-col names the text column of --unlabelled FILE; give --unlabelled too.")
    out = {"unlabelled": str(unlabelled)} if unlabelled is not None else {}
    if unlabelled_col:
        out["unlabelled_col"] = unlabelled_col
    return out


#: Score keys shown in tables, in this order, when a split's metrics have them.
SCORE_KEYS = ("accuracy", "subset_accuracy", "macro_f1", "weighted_f1", "micro_f1", "samples_f1", "flat_macro_f1",
              "mean_aspect_macro_f1", "hamming_loss")


def print_scores(metrics: dict[str, dict[str, Any]]) -> None:
    """One line per split: its size and headline scores (whichever of :data:`SCORE_KEYS` the task reports)."""
    for name, m in metrics.items():
        # a multi-label model's accuracy is the subset accuracy (every label of a text right): named so
        shown = [k for k in SCORE_KEYS if k in m and not (k == "accuracy" and "subset_accuracy" in m)]
        scores = ", ".join(f"{k} {m[k]:.4f}" for k in shown)
        console.print(f"[bold]{escape(name)}[/] ({m['n']:,} texts): {scores}", highlight=False)


def print_blend(fit: dict[str, Any] | None, monitor: str) -> None:
    """Say that the valid scores above the epochs' come from the TF-IDF path fitted after training
    (``model.ngram_fit = "after"``): the epochs score the network alone, the final line the blend, and the jump
    between them had nothing on screen to explain it."""
    if not fit:
        return
    for i, member in enumerate(fit["members"]):
        scores, share = member["valid_scores"], member["blend"]
        who = f"member {i + 1}: " if len(fit["members"]) > 1 else ""
        console.print(f"{who}TF-IDF + logistic regression path blended in at a share of {share} (chosen on valid): "
                      f"{monitor} {scores[str(share)]}, against {scores['0.0']} for the network alone (as the "
                      "epochs were scored)", highlight=False)


def print_breakdown(m: dict[str, Any]) -> None:
    """Scores per class (or label, or aspect) and, for a few classes, the confusion matrix, as tables: what
    scikit-learn's classification_report shows."""
    from rich.table import Table

    # names are data: escaped, or rich reads '[x]' as markup and drops it
    if "aspects" in m:  # aspect sentiment: one row per aspect
        table = Table("aspect", "accuracy", "macro-F1", "texts", title="per aspect", title_justify="left")
        for aspect, a in m["aspects"].items():
            table.add_row(escape(aspect), f"{a['accuracy']:.4f}", f"{a['macro_f1']:.4f}", f"{a['n']:,}")
        console.print(table)
        return
    if "per_class" in m:
        label = "label" if "micro_f1" in m else "class"
        table = Table(label, "precision", "recall", "F1", "support", title=f"per {label}", title_justify="left")
        for name, c in m["per_class"].items():
            table.add_row(escape(str(name)), f"{c['precision']:.4f}", f"{c['recall']:.4f}", f"{c['f1']:.4f}", f"{c['support']:,}")
        console.print(table)
    labels, matrix = m.get("labels"), m.get("confusion_matrix")
    if matrix and labels and len(labels) <= 12:
        table = Table("true \\ predicted", *(escape(str(x)) for x in labels), title="confusion matrix", title_justify="left")
        for name, row in zip(labels, matrix):
            table.add_row(escape(str(name)), *(f"{v:,}" for v in row))
        console.print(table)


def read_metrics(path: Path) -> dict[str, dict[str, Any]]:
    """The split scores of a run's ``metrics.json`` (its summary left out)."""
    return {k: v for k, v in json.loads(path.read_text()).items() if k != "summary"}


def load_average() -> list[float] | None:
    """The machine's load averages, rounded (None where the platform has none)."""
    import os

    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def interruptible(hint: str, kept: str | tuple[str, ...] | None = None, overwrite_restarts: bool = False
                  ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a long command: Ctrl-C or SIGTERM (``kill PID``, which the command turns into a Ctrl-C, so that a pool
    stops its workers too) prints one line saying what was kept and how to go on (``hint``, where ``OUT`` stands
    for the command's --out), instead of a traceback, and exits with status 130. ``kept``: the file (or files, any
    one will do; under OUT; glob patterns, e.g. ``checkpoint/**/state.json`` for an ensemble's members) without
    which nothing was kept yet. ``overwrite_restarts``: --overwrite throws away what was kept (the hint then says to
    leave it out)."""

    def wrap(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def run_command(*args: Any, **kwargs: Any) -> Any:
            try:
                with interrupting("SIGTERM"):
                    return command(*args, **kwargs)
            except KeyboardInterrupt:
                out = Path(str(kwargs.get("out", "OUT")))
                files = (kept,) if isinstance(kept, str) else kept
                said = hint if files is None or any(p.is_file() for f in files for p in out.glob(f)) else \
                    "nothing was saved yet: run the same command to start again."
                if overwrite_restarts and kwargs.get("overwrite") and said is hint:  # what was kept, --overwrite drops
                    said += " Leave out --overwrite, or it starts over."
                err_console.print(f"interrupted: {said.replace('OUT', str(out))}", highlight=False, soft_wrap=True)
                raise typer.Exit(130) from None

        return run_command

    return wrap

