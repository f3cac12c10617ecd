"""CLI commands of the model zoo: ``models`` (architectures and options), ``embed`` (word2vec) and ``compare``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from lstmtext.cli.app import DataArg, LabelCol, SplitCol, TextCol, app, console
from lstmtext.errors import ConfigError

# Options of the architectures whose builders do not carry an ``options`` spec.
_OTHER_OPTIONS = {"rnn": {"nonlinearity": ("tanh", "tanh or relu")}}


def _options(name: str) -> dict[str, tuple[object, str]]:
    from lstmtext.models.attention import ATTENTION_OPTIONS
    from lstmtext.models.clstm import CLSTM_OPTIONS
    from lstmtext.models.cnn import CNN_OPTIONS

    specs = {"cnn": CNN_OPTIONS, "clstm": CLSTM_OPTIONS, "bilstm_attn": ATTENTION_OPTIONS}
    if name in specs:
        return {k: (o.default, o.help) for k, o in specs[name].items()}
    return _OTHER_OPTIONS.get(name, {})


@app.command()
def models() -> None:
    """List the architectures (model.name), what each is, and its model.options with their defaults."""
    from lstmtext.models import available_models
    from lstmtext.config.presets import available_presets

    table = Table("architecture", "what it is", "model.options (default: meaning)", show_lines=True)
    for name, doc in available_models().items():
        opts = "\n".join(f"{k} = {json.dumps(d)}: {h}" for k, (d, h) in _options(name).items()) or "-"
        table.add_row(name, doc, opts)
    console.print(table)
    console.print("Shared keys: model.embedding_dim, hidden_size, num_layers, dropout, embed_dropout, "
                  "rnn_input_dropout, pooling, init, embedding.*, ensemble (N seeds averaged), ngram_bag (N: a "
                  "linear bag of word 1..N-grams added to the logits; ngram_buckets, ngram_dropout, ngram_lr). "
                  "Presets: " + ", ".join(available_presets()))
    console.print("Set an option with e.g. --set 'model.options.kernel_sizes=[2,3,4]'.")


def _load(data: Path | None, text_col: str | None, label_col: str | None, split_col: str | None,
          split_file: Path | None, valid: Path | None = None, test: Path | None = None):
    from lstmtext.config import DataConfig
    from lstmtext.data import load_bundled_airline, load_data
    from lstmtext.data.splits import load_with_split_file

    cfg = DataConfig(text_col=text_col or "text", label_col=label_col or "label", split_col=split_col)
    if data is None:
        return load_bundled_airline()
    if split_file is not None:
        return load_with_split_file(data, split_file, cfg)
    return load_data(data, cfg, valid_path=valid, test_path=test)


def _load_aspects(data: Path | None, text_col: str | None, split_col: str | None, aspects: str | None,
                  valid: Path | None, test: Path | None):
    from lstmtext.tasks.absa.data import load_aspect_data
    from lstmtext.config import build_config

    if data is None:
        raise ConfigError("--task absa needs a DATA file with aspect labels (wide or long layout; see docs/absa.md).")
    extra: dict = {"task": "absa", "data": {"split_col": split_col}}
    if text_col:
        extra["data"]["text_col"] = text_col
    if aspects:
        extra["absa"] = {"aspects": [a.strip() for a in aspects.split(",") if a.strip()]}
    return load_aspect_data(data, build_config("absa", extra=extra), valid_path=valid, test_path=test)


SplitFile = Annotated[Optional[Path], typer.Option(help="A row,split file (0-based row numbers), e.g. the news titles' split.csv.")]


@app.command()
def compare(
    data: DataArg = None,
    models: Annotated[str, typer.Option(help="Comma-separated model presets or architectures; PRESET:key=value:key=value for a variant, e.g. bilstm:model.embedding.kind=random.")] = "cnn,lstm,clstm,bilstm",
    seeds: Annotated[int, typer.Option(help="Runs per model (seeds 0..N-1).")] = 3,
    out: Annotated[Path, typer.Option(help="Folder for compare.json, compare.md and compare.png.")] = Path("runs/compare"),
    preprocess: Annotated[str, typer.Option(help="The one cleaning for every model: a preset (en-tweet, id-news, ...) or comma-separated steps.")] = "en-tweet",
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override for every model, e.g. --set train.epochs=5.")] = None,
    text_col: TextCol = None,
    label_col: LabelCol = None,
    split_col: SplitCol = None,
    split_file: SplitFile = None,
    mode: Annotated[str, typer.Option(help="pool: processes with 1 thread each; sequential: one run with all threads.")] = "pool",
    workers: Annotated[int, typer.Option(help="Processes (pool) or threads (sequential).")] = 2,
    baseline: Annotated[bool, typer.Option(help="Add the TF-IDF 1-2-gram + logistic regression baseline.")] = True,
    task: Annotated[Optional[str], typer.Option(help="'absa': DATA has one label column per aspect (or the long layout); one head per aspect.")] = None,
    valid: Annotated[Optional[Path], typer.Option(help="Separate validation file (same columns).")] = None,
    test: Annotated[Optional[Path], typer.Option(help="Separate test file (same columns).")] = None,
    aspects: Annotated[Optional[str], typer.Option(help="absa: comma-separated aspect columns (wide) or values (long); default: detect.")] = None,
) -> None:
    """Train several models with several seeds on one split and cleaning; table, chart and JSON of mean ± std.

    Without DATA it uses the bundled airline tweets with their canonical split. With --task absa, DATA is
    aspect data (e.g. IndoNLU CASA with --valid and --test); the scores are then the flattened ones.

    Example: lstmtext compare news.csv --split-file split.csv --text-col title --label-col category
    --models bilstm,cnn,clstm --preprocess id-news --seeds 3
    """
    from lstmtext.experiments.compare import compare as run_compare
    from lstmtext.experiments.compare import write_report

    if task not in (None, "classify", "absa"):
        raise ConfigError(f"--task must be classify or absa. Got {task!r} instead.")
    if task == "absa":
        labelled = _load_aspects(data, text_col, split_col, aspects, valid, test)
    elif aspects is not None:
        raise ConfigError("--aspects needs --task absa.")
    else:
        labelled = _load(data, text_col, label_col, split_col, split_file, valid, test)
    names = [m.strip() for m in models.split(",") if m.strip()]
    done = lambda r: console.print(f"{r['model']} seed {r['seed']}: accuracy {r['accuracy']:.4f}, "  # noqa: E731
                                   f"macro-F1 {r['macro_f1']:.4f} ({r['train_seconds']:.0f} s)")
    report = run_compare(labelled, names, seeds, preprocess=preprocess, overrides=list(set_ or []), mode=mode,
                         workers=workers, baseline=baseline, on_result=done)
    paths = write_report(report, out)
    console.print(paths["markdown"].read_text(encoding="utf-8"), soft_wrap=True)
    console.print(f"wrote {paths['markdown']}, {paths['chart']} and {paths['json']}")


@app.command()
def embed(
    data: DataArg = None,
    out: Annotated[Path, typer.Option(help="Vectors file to write (word2vec text format).")] = Path("vectors.txt"),
    algo: Annotated[str, typer.Option(help="cbow or skipgram.")] = "cbow",
    dim: Annotated[int, typer.Option(help="Vector size (use it as model.embedding_dim).")] = 128,
    window: Annotated[int, typer.Option(help="Context window.")] = 5,
    min_count: Annotated[int, typer.Option(help="Ignore words seen fewer times.")] = 1,
    epochs: Annotated[int, typer.Option(help="Passes over the texts.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed (one worker, so runs repeat exactly).")] = 42,
    preprocess: Annotated[str, typer.Option(help="Cleaning preset applied before training (use the model's).")] = "en-tweet",
    text_col: TextCol = None,
    split_file: Annotated[Optional[Path], typer.Option(help="row,split file: learn from the train rows only.")] = None,
) -> None:
    """Train word2vec (CBOW or skip-gram) on the texts of DATA and write the vectors in word2vec text format.

    Without DATA it learns from the training split of the bundled airline tweets. Use the file with
    --set model.embedding.kind="pretrained" --set model.embedding.path=FILE.
    """
    from lstmtext.data import load_bundled_airline, read_table
    from lstmtext.data.splits import join_split_file
    from lstmtext.encoding.embeddings import train_word2vec, write_word2vec_text
    from lstmtext.errors import DataError
    from lstmtext.preprocess import Pipeline, preprocess_preset

    if algo not in ("cbow", "skipgram"):
        raise ConfigError(f"--algo must be cbow or skipgram. Got {algo!r} instead.")
    if data is None:
        texts = load_bundled_airline().splits["train"].texts
    else:
        frame = read_table(data)
        col = text_col or "text"
        if col not in frame.columns:
            raise DataError(f"{data}: no column {col!r}. Columns: {', '.join(map(str, frame.columns))}. Pass --text-col.")
        if split_file is not None:
            frame = join_split_file(frame, split_file)
            frame = frame[frame["split"] == "train"]
        texts = frame[col].dropna().astype(str).tolist()
    spec = preprocess_preset(preprocess)
    sentences = [t.split() for t in Pipeline(spec["steps"], spec["options"]).clean_many(texts)]
    vectors = train_word2vec(sentences, dim, algo, window, min_count, epochs, seed)
    write_word2vec_text(out, vectors)
    console.print(f"wrote {len(vectors):,} {dim}-dimensional {algo} vectors from {len(texts):,} texts to {out}")
