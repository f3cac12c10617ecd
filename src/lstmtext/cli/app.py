"""The ``lstmtext`` command line: thin Typer commands over the library.

Every user error is an ``LstmTextError``, printed as one line with exit code 1 (``--verbose`` shows the
traceback); usage errors exit with 2.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from lstmtext.errors import LstmTextError

app = typer.Typer(
    name="lstmtext",
    help="Train, compare, explain and serve RNN/LSTM-family text classifiers on a CPU.\n\n"
    "Quick start: `lstmtext demo` trains on the bundled airline tweets; "
    "`lstmtext train my.csv --text-col review --label-col stars --out runs/mine` trains on your data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)
STATE = {"verbose": False}

DataArg = Annotated[Optional[Path], typer.Argument(help="CSV/TSV/JSONL/Parquet file. Omit to use the bundled airline tweets.")]
TextCol = Annotated[Optional[str], typer.Option(help="Column with the text (default: 'text').")]
LabelCol = Annotated[Optional[str], typer.Option(help="Column with the label (default: 'label').")]
SplitCol = Annotated[Optional[str], typer.Option(help="Column saying train / valid / test for each row.")]
FormatOpt = Annotated[Optional[str], typer.Option("--format", help="csv, tsv, jsonl or parquet (default: from the extension).")]
NoHeader = Annotated[bool, typer.Option("--no-header", help="CSV/TSV without a header row: columns are text, label.")]


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details and show tracebacks.")] = False) -> None:
    STATE["verbose"] = verbose
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def _data_overrides(text_col: str | None, label_col: str | None, split_col: str | None) -> list[str]:
    pairs = {"data.text_col": text_col, "data.label_col": label_col, "data.split_col": split_col}
    return [f"{k}={json.dumps(v)}" for k, v in pairs.items() if v is not None]


@app.command()
def train(
    data: DataArg = None,
    out: Annotated[Path, typer.Option(help="Output folder: model/, metrics.json, report.md, plots, checkpoint/.")] = Path("runs/latest"),
    preset: Annotated[str, typer.Option(help="Model preset: default (tuned) or seed001 (the tutorial's model); see `lstmtext presets`.")] = "default",
    config: Annotated[Optional[Path], typer.Option(help="TOML config (write one with `lstmtext init-config`).")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a config key, e.g. --set train.epochs=5 (repeatable).")] = None,
    text_col: TextCol = None,
    label_col: LabelCol = None,
    split_col: SplitCol = None,
    valid: Annotated[Optional[Path], typer.Option(help="Separate validation file (same columns).")] = None,
    test: Annotated[Optional[Path], typer.Option(help="Separate test file (same columns).")] = None,
    fmt: FormatOpt = None,
    no_header: NoHeader = False,
    drop_duplicates: Annotated[bool, typer.Option(help="Drop repeated (text, label) rows before splitting.")] = False,
    oversample: Annotated[Optional[str], typer.Option(help="'random': oversample minority classes in the training split.")] = None,
    class_weight: Annotated[Optional[str], typer.Option(help="'balanced': weight the loss by inverse class frequency.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run from OUT/checkpoint.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace a model already saved in OUT.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    nproc: Annotated[int, typer.Option(help="Processes (DDP ranks) on this node; > 1 re-launches the run through torchrun (docs/distributed.md).")] = 1,
    nnodes: Annotated[int, typer.Option(help="Nodes of a multi-node run; every node runs this command with its own --node-rank.")] = 1,
    node_rank: Annotated[int, typer.Option(help="This node's number, 0 .. nnodes-1 (node 0 writes OUT).")] = 0,
    master_addr: Annotated[str, typer.Option(help="Address of node 0, reachable from every node.")] = "127.0.0.1",
    master_port: Annotated[Optional[int], typer.Option(help="Free port on node 0 (default: a free local port; one node only).")] = None,
    rdzv_endpoint: Annotated[Optional[str], typer.Option(help="host:port of a c10d rendezvous, instead of --master-addr/--master-port.")] = None,
    stream: Annotated[bool, typer.Option(help="Read DATA in chunks into OUT/shards, for files larger than memory (docs/streaming.md).")] = False,
    chunk_size: Annotated[int, typer.Option(min=1, help="Rows per chunk with --stream.")] = 10000,
    task: Annotated[Optional[str], typer.Option(help="'absa': aspect sentiment, one head per aspect (uses preset absa unless another is named); see docs/absa.md.")] = None,
    aspects: Annotated[Optional[str], typer.Option(help="absa: comma-separated aspect columns (wide) or values (long); default: detect.")] = None,
) -> None:
    """Train a classifier, evaluate it on valid (and test) and save it to OUT.

    Without DATA it trains on the bundled airline tweets with their canonical split.
    """
    from lstmtext.config import build_config
    from lstmtext.pipeline.run import run

    overrides = _data_overrides(text_col, label_col, split_col) + list(set_ or [])
    if drop_duplicates:
        overrides.append("data.drop_duplicates=true")
    if oversample:
        overrides.append(f"train.oversample={json.dumps(oversample)}")
    if class_weight:
        overrides.append(f"train.class_weight={json.dumps(class_weight)}")
    extra = {"task": task} if task else {}
    if aspects:
        extra["absa"] = {"aspects": [a.strip() for a in aspects.split(",") if a.strip()]}
    preset = "absa" if task == "absa" and preset == "default" else preset
    cfg = build_config(preset, config, overrides, extra=extra)
    kwargs = dict(resume=resume, overwrite=overwrite, progress=not quiet, fmt=fmt, valid_path=valid, test_path=test,
                  header=not no_header, **({"stream": True, "chunk_size": chunk_size} if stream else {}))
    if nproc > 1 or nnodes > 1:  # one process per rank through torchrun; rank 0 writes OUT
        from lstmtext.training.ddp import LaunchOptions, launch

        code = launch(cfg, data, out, kwargs, LaunchOptions(nproc, nnodes, node_rank, master_addr, master_port, rdzv_endpoint))
        if code == 0 and (out / "metrics.json").is_file():
            _print_metrics({k: v for k, v in json.loads((out / "metrics.json").read_text()).items() if k != "summary"})
        raise typer.Exit(code)
    result = run(cfg, data, out, **kwargs)
    _print_metrics(result.metrics)
    _print_aspect_scores(result.metrics)
    console.print(f"saved to [bold]{out}[/] (model/, report.md, metrics.json, history.png)")


def _print_aspect_scores(metrics: dict) -> None:
    for name, m in metrics.items():  # aspect runs: both summary scores, named (docs/absa.md)
        if "flat_macro_f1" in m:
            console.print(f"{name}: flat_macro_f1 {m['flat_macro_f1']:.4f}, mean_aspect_macro_f1 {m['mean_aspect_macro_f1']:.4f}")


def _print_metrics(metrics: dict) -> None:
    table = Table(title="scores")
    for col in ("split", "accuracy", "macro-F1", "weighted-F1", "n"):
        table.add_column(col, justify="right" if col != "split" else "left")
    for name, m in metrics.items():
        table.add_row(name, f"{m['accuracy']:.4f}", f"{m['macro_f1']:.4f}", f"{m['weighted_f1']:.4f}", str(m["n"]))
    console.print(table)


@app.command()
def evaluate(
    bundle: Annotated[Path, typer.Argument(help="A saved model folder (or a training output folder).")],
    data: Annotated[Path, typer.Argument(help="Labelled data file.")],
    text_col: TextCol = None,
    label_col: LabelCol = None,
    fmt: FormatOpt = None,
    no_header: NoHeader = False,
    out: Annotated[Optional[Path], typer.Option(help="Write metrics.json and report.md here.")] = None,
) -> None:
    """Score a saved model on a labelled file: accuracy, per-class precision/recall/F1, confusion matrix."""
    from lstmtext.pipeline.evaluate import evaluate_file

    metrics = evaluate_file(bundle, data, text_col, label_col, fmt, not no_header, out)
    _print_metrics({"data": metrics})
    _print_aspect_scores({"data": metrics})


@app.command()
def predict(
    bundle: Annotated[Path, typer.Argument(help="A saved model folder (or a training output folder).")],
    texts: Annotated[Optional[list[str]], typer.Argument(help="Texts to classify.")] = None,
    file: Annotated[Optional[Path], typer.Option(help="Read texts from a file (one per line, or a table with --text-col).")] = None,
    text_col: TextCol = None,
    top_k: Annotated[int, typer.Option(help="How many classes to list per text.")] = 1,
    output: Annotated[str, typer.Option("--format", help="json or csv.")] = "json",
    engine: Annotated[str, typer.Option(help="torch, onnx or onnx-int8 (ONNX Runtime; see `lstmtext export`).")] = "torch",
    only_mentioned: Annotated[bool, typer.Option(help="Aspect models: leave out aspects predicted as not mentioned.")] = False,
) -> None:
    """Predict labels for TEXTS or a --file; prints JSON lines or CSV."""
    from lstmtext.inference.engines import load_predictor
    from lstmtext.data.texts import read_texts, write_predictions

    items = list(texts or []) + (read_texts(file, text_col) if file else [])
    if not items:
        raise typer.BadParameter("give TEXTS or --file")
    predictor = load_predictor(bundle, engine)
    if getattr(predictor, "is_aspect", False):  # every aspect with its label and all class probabilities
        from lstmtext.tasks.absa.predict import write_aspect_predictions

        found = predictor.predict(items, only_mentioned=only_mentioned)
        return write_aspect_predictions(sys.stdout, items, found, predictor.aspects, None, output)
    predictions = predictor.predict(items, top_k=top_k)
    write_predictions(sys.stdout, items, predictions, top_k, output)


@app.command()
def preprocess(
    file: Annotated[Optional[Path], typer.Argument(help="Data file to preview (omit to use --text).")] = None,
    preset: Annotated[str, typer.Option(help="Cleaning preset: en-tweet, id-news, id-review, vi-review, plain.")] = "en-tweet",
    steps: Annotated[Optional[str], typer.Option(help="Comma-separated step names instead of the preset's.")] = None,
    text: Annotated[Optional[str], typer.Option(help="Clean this one text, step by step.")] = None,
    text_col: TextCol = None,
    n: Annotated[int, typer.Option(help="Sample rows to show.")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the row sample.")] = 0,
) -> None:
    """Show what a cleaning chain does: before/after for sample rows, or every step for one --text."""
    from lstmtext.preprocess import Pipeline, available_steps, preprocess_preset

    spec = preprocess_preset(preset)
    pipeline = Pipeline(steps.split(",") if steps else spec["steps"], spec["options"])
    if text is not None:
        table = Table("step", "text after the step", title=f"{preset}: step by step")
        table.add_row("(input)", text)
        for name, after in pipeline.trace(text):
            table.add_row(name, after)
        console.print(table)
        return
    if file is None:
        console.print("steps: " + ", ".join(available_steps()))
        raise typer.BadParameter("give FILE or --text")
    from lstmtext.data.io import read_table

    frame = read_table(file)
    col = text_col or ("text" if "text" in frame.columns else frame.columns[0])
    sample = frame[col].dropna().sample(min(n, len(frame)), random_state=seed)
    table = Table("before", "after", title=f"{file} [{col}] with {preset}", show_lines=True)
    for raw in sample:
        table.add_row(str(raw), pipeline(str(raw)))
    console.print(table)


@app.command("init-config")
def init_config(
    path: Annotated[Path, typer.Argument(help="Where to write the TOML file.")] = Path("lstmtext.toml"),
    preset: Annotated[str, typer.Option(help="Start from this preset.")] = "default",
    force: Annotated[bool, typer.Option(help="Replace an existing file.")] = False,
) -> None:
    """Write a complete config file with every key and its meaning commented."""
    from lstmtext.utils.atomic import write_text
    from lstmtext.config import build_config
    from lstmtext.config.toml import config_to_toml

    if path.exists() and not force:
        raise LstmTextError(f"{path}: file exists. Pass --force to replace it.")
    write_text(path, config_to_toml(build_config(preset), header=f"lstmtext config (preset {preset!r}).\n"
                                    f"Use it with: lstmtext train DATA --config {path}"))
    console.print(f"wrote {path}")


@app.command()
def presets() -> None:
    """List model presets, cleaning presets, architectures and cleaning steps."""
    from lstmtext.models import available_models
    from lstmtext.preprocess import PREPROCESS_PRESETS, available_steps
    from lstmtext.config.presets import available_presets

    console.print("[bold]model presets[/]: " + ", ".join(available_presets()))
    console.print("[bold]cleaning presets[/]: " + ", ".join(sorted(PREPROCESS_PRESETS)))
    table = Table("architecture", "what it is")
    for name, doc in available_models().items():
        table.add_row(name, doc)
    console.print(table)
    table = Table("cleaning step", "what it does")
    for name, doc in available_steps().items():
        table.add_row(name, doc)
    console.print(table)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("runs/demo"),
    preset: Annotated[str, typer.Option(help="Model preset.")] = "default",
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
) -> None:
    """Train the default model on the bundled airline tweets, print the report and three predictions."""
    from lstmtext.config import build_config
    from lstmtext.inference.predictor import Predictor
    from lstmtext.pipeline.run import run

    result = run(build_config(preset), None, out, overwrite=True, progress=not quiet)
    console.print((out / "report.md").read_text(encoding="utf-8"))
    examples = ["@united thanks for the quick rebooking, great crew!",
                "@AmericanAir my flight is delayed again and nobody answers the phone",
                "@JetBlue what time does the boarding start for flight 123?"]
    for text, p in zip(examples, Predictor.from_bundle(out).predict(examples, top_k=3)):
        console.print(f"[bold]{p.label}[/] ({p.score:.2f})  {text}")
    console.print(f"model saved to {out / 'model'}; history plot {out / 'history.png'}")
    del result


# Commands of other areas live in their own modules and register themselves on `app`.
PLUGIN_MODULES = ("zoo", "experiments", "serving", "absa", "explain", "languages")


def _load_plugins() -> None:
    import importlib

    for name in PLUGIN_MODULES:
        try:
            importlib.import_module(f"lstmtext.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"lstmtext.cli.{name}":
                raise


_load_plugins()


def main() -> None:
    """Entry point of the ``lstmtext`` script."""
    try:
        app()
    except LstmTextError as exc:
        if STATE["verbose"]:
            raise
        err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
