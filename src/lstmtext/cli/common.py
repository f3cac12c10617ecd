"""What the commands share: the consoles, the option types and the score tables. Commands import from here,
never from each other; a flag becomes a config key in the library (:mod:`lstmtext.pipeline.options`).
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
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
UnlabelledOpt = Annotated[Optional[Path], typer.Option(help="Raw texts without labels (a table with --unlabelled-col, or one text per line; streamed): their words join the vocabulary and train word2vec vectors, or the language model with --preset ulmfit, or a saved one (train's --pretrained LM; compare's and learning-curve's --set train.pretrained=LM); with --set train.self_training=0.5 the trained model also labels them for a second one (docs/embeddings.md, docs/pretrain.md).")]
UnlabelledColOpt = Annotated[Optional[str], typer.Option(help="The --unlabelled table's text column (default: --text-col).")]
PretrainedOpt = Annotated[Optional[Path], typer.Option(help="Start from a language model saved by `lstmtext pretrain` (or a training output folder holding lm/): its cleaning, vocabulary, embedding and LSTM; trained on for lm.finetune_epochs on DATA's texts and --unlabelled first (docs/pretrain.md).")]
LabelSepOpt = Annotated[Optional[str], typer.Option(help="multilabel: what separates a text's labels in the label column, e.g. '|'.")]
PresetOpt = Annotated[Optional[str], typer.Option(help="Model preset (`lstmtext presets` lists and describes them); default: the task's (default, multilabel or absa), and ulmfit for a single-label run with --pretrained (train's; --set train.pretrained=LM elsewhere).")]
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
            started = time.time()
            try:
                with interrupting("SIGTERM"):
                    return command(*args, **kwargs)
            except KeyboardInterrupt:
                out = Path(str(kwargs.get("out", "OUT")))
                files = (kept,) if isinstance(kept, str) else kept
                found = [p for f in files or () for p in out.glob(f) if p.is_file()]
                earlier = False
                if kwargs.get("overwrite"):  # an earlier run's files (kept until this one replaces them) are not
                    earlier = bool(found)  # this run's: resuming them would go on with that run
                    found = [p for p in found if p.stat().st_mtime >= started]
                    earlier = earlier and not found
                said = hint if files is None or found else \
                    "nothing of this run was saved yet (what an earlier run left in OUT is as it was): run the same " \
                    "command to start again." if earlier else "nothing was saved yet: run the same command to start again."
                if overwrite_restarts and kwargs.get("overwrite") and said is hint:  # what was kept, --overwrite drops
                    said += " Leave out --overwrite, or it starts over."
                err_console.print(f"interrupted: {said.replace('OUT', str(out))}", highlight=False, soft_wrap=True)
                raise typer.Exit(130) from None

        return run_command

    return wrap

