"""Commands of the model zoo: ``models`` (architectures and options), ``embed`` (word2vec) and ``compare``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from lstmtext.cli.common import (
    AspectsOpt,
    DataArg,
    LabelCol,
    LabelSepOpt,
    NoHeader,
    OverwriteFileOpt,
    OverwriteOpt,
    SetOpt,
    SplitCol,
    SplitFile,
    TaskOpt,
    TestOpt,
    TextCol,
    UnlabelledColOpt,
    UnlabelledOpt,
    ValidOpt,
    console,
    interruptible,
    workers_or_cores,
)
from lstmtext.utils.outputs import check_out, check_out_file
from lstmtext.utils.progress import seconds


def models() -> None:
    """List the architectures (model.name), what each is, and its model.options with their defaults."""
    from lstmtext.config.presets import available_presets
    from lstmtext.models import available_models, model_options

    table = Table("architecture", "what it is", "model.options (default: meaning)", show_lines=True)
    for name, doc in available_models().items():
        opts = "\n".join(f"{k} = {json.dumps(o.default)}: {o.help}" for k, o in model_options(name).items()) or "-"
        table.add_row(name, doc, opts)
    console.print(table)
    console.print("Shared keys: model.embedding_dim, hidden_size, num_layers, dropout, embed_dropout, "
                  "rnn_input_dropout, pooling, init, embedding.*, ensemble (N seeds averaged), ngram_bag (N: a "
                  "linear bag of word 1..N-grams added to the logits; ngram_buckets, ngram_dropout, ngram_lr; ngram_fit "
                  "after: fitted once the network is trained, as TF-IDF + logistic regression blended on valid). "
                  "Presets: " + ", ".join(available_presets()))
    console.print("Set an option with e.g. --set 'model.options.kernel_sizes=[2,3,4]'.")


@interruptible("the finished runs are kept in OUT/compare.partial.json: run the same command again to go on.",
               kept="compare.partial.json", overwrite_restarts=True)
def compare(
    data: DataArg = None,
    models: Annotated[str, typer.Option(help="Comma-separated model presets or architectures; PRESET:key=value:key=value for a variant, e.g. bilstm:model.pooling=last.")] = "cnn,lstm,clstm,bilstm",
    seeds: Annotated[int, typer.Option(help="Runs per model (seeds 0..N-1; run k of an ensemble of n members starts at seed k*n, so that no two runs share a member).")] = 3,
    out: Annotated[Path, typer.Option(help="Folder for compare.json, compare.md, compare.png and report.html.")] = Path("runs/compare"),
    preprocess: Annotated[Optional[str], typer.Option(help="The one cleaning for every model: a preset (en-tweet, id-news, ...) or comma-separated steps; default: the task's preset's, as train and cv use (en-tweet; id-aspect for --task absa), or with --set train.pretrained=LM the language model's.")] = None,
    set_: SetOpt = None,
    task: TaskOpt = None,
    text_col: TextCol = None,
    label_col: LabelCol = None,
    split_col: SplitCol = None,
    split_file: SplitFile = None,
    valid: ValidOpt = None,
    test: TestOpt = None,
    no_header: NoHeader = False,
    aspects: AspectsOpt = None,
    label_sep: LabelSepOpt = None,
    mode: Annotated[str, typer.Option(help="pool: processes with 1 thread each; sequential: one run with all threads.")] = "pool",
    workers: Annotated[Optional[int], typer.Option(help="Processes (pool) or threads (sequential); default: every core.")] = None,
    unlabelled: UnlabelledOpt = None,
    unlabelled_col: UnlabelledColOpt = None,
    baseline: Annotated[bool, typer.Option(help="Add the TF-IDF 1-2-gram + logistic regression baseline (one per aspect or label where the task has several).")] = True,
    overwrite: OverwriteOpt = False,
) -> None:
    """Train several models with several seeds on one split and cleaning; table, chart and JSON of mean ± std.

    Without DATA it uses the bundled airline tweets with their canonical split. With --task absa or
    multilabel, DATA is read in that task's layout and every model gets its outputs; the scores are the
    task's (flattened for aspects; subset accuracy and micro-F1 for multi-label). Finished runs are kept in
    OUT/compare.partial.json until the report is written: the same command again goes on where it stopped.

    Example: lstmtext compare news.csv --split-file split.csv --text-col title --label-col category
    --models bilstm,cnn,clstm --preprocess id-news --seeds 3
    """
    from lstmtext.experiments.compare import compare as run_compare
    from lstmtext.experiments.compare_inputs import comparison_inputs
    from lstmtext.experiments.compare_report import write_report
    from lstmtext.experiments.space import split_values

    check_out(out, "compare", overwrite, inputs=[data, valid, test, split_file, unlabelled])
    labelled, base, preprocess = comparison_inputs(
        data, list(set_ or []), task=task, text_col=text_col, label_col=label_col, split_col=split_col,
        split_file=split_file, valid=valid, test=test, header=not no_header, aspects=aspects, label_sep=label_sep,
        preprocess=preprocess, unlabelled=unlabelled, unlabelled_col=unlabelled_col)
    names = split_values(models, quotes=False)  # not inside brackets: cnn:model.options.kernel_sizes=[2,3] is one
    done = lambda r: console.print(f"{r['model']} seed {r['seed']}: accuracy {r['accuracy']:.4f}, "  # noqa: E731
                                   f"macro-F1 {r['macro_f1']:.4f} ({seconds(r['train_seconds'])})")
    partial = out / "compare.partial.json"  # each finished run, so that an interrupted comparison goes on
    report = run_compare(labelled, names, seeds, base=base, preprocess=preprocess, overrides=list(set_ or []),
                         mode=mode, workers=workers_or_cores(workers), baseline=baseline, on_result=done, partial=partial,
                         overwrite=overwrite)
    paths = write_report(report, out)
    partial.unlink(missing_ok=True)
    console.print(paths["markdown"].read_text(encoding="utf-8"), soft_wrap=True, markup=False)
    reused = f" ({report['runs_reused']} finished runs reused from an interrupted comparison)" if report["runs_reused"] else ""
    console.print(f"wrote {paths['markdown']}, {paths['chart']}, {paths['html']} and {paths['json']}{reused}")


def embed(
    data: DataArg = None,
    out: Annotated[Path, typer.Option(help="Vectors file to write (word2vec text format).")] = Path("vectors.txt"),
    algo: Annotated[str, typer.Option(help="cbow or skipgram.")] = "cbow",
    dim: Annotated[int, typer.Option(help="Vector size (use it as model.embedding_dim).")] = 128,
    window: Annotated[int, typer.Option(help="Context window.")] = 5,
    min_count: Annotated[int, typer.Option(help="Ignore words seen fewer times.")] = 1,
    epochs: Annotated[int, typer.Option(help="Passes over the texts.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed (one worker, so runs repeat exactly).")] = 42,
    preprocess: Annotated[str, typer.Option(help="Cleaning applied before training: a preset or comma-separated steps (use the model's).")] = "en-tweet",
    text_col: TextCol = None,
    no_header: NoHeader = False,
    split_col: Annotated[Optional[str], typer.Option(help="Column saying train / valid / test for each row (as train's): learn from the train rows only.")] = None,
    split_file: Annotated[Optional[Path], typer.Option(help="row,split file: learn from the train rows only.")] = None,
    overwrite: OverwriteFileOpt = False,
) -> None:
    """Train word2vec (CBOW or skip-gram) on the texts of DATA and write the vectors in word2vec text format.

    Without DATA it learns from the training split of the bundled airline tweets. Use the file with
    --set model.embedding.kind="pretrained" --set model.embedding.path=FILE.

    Example: lstmtext embed reviews.csv --text-col review --preprocess id-review --out vectors.txt
    """
    from lstmtext.pipeline.embed import embed_file

    check_out_file(out, overwrite, [p for p in (data, split_file) if p is not None])
    n_vectors, n_texts = embed_file(data, out, algo=algo, dim=dim, window=window, min_count=min_count, epochs=epochs,
                                    seed=seed, preprocess=preprocess, text_col=text_col, split_file=split_file,
                                    split_col=split_col, header=not no_header)
    console.print(f"wrote {n_vectors:,} {dim}-dimensional {algo} vectors from {n_texts:,} texts to {out}")
