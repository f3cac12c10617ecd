"""``train``, ``evaluate``, ``predict`` and ``demo``: thin shells over :mod:`lstmtext.pipeline` and :mod:`lstmtext.inference`."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from lstmtext.cli.common import (
    ENGINE_HELP,
    AspectsOpt,
    ClassWeight,
    ConfigOpt,
    DataArg,
    DropDuplicates,
    EngineOpt,
    FormatOpt,
    LabelCol,
    LabelSepOpt,
    ModelTextCol,
    NoHeader,
    OnnxOpt,
    Oversample,
    OverwriteOpt,
    PreprocessOpt,
    PresetOpt,
    PretrainedOpt,
    QuietOpt,
    SetOpt,
    SplitCol,
    SplitFile,
    TaskOpt,
    TestOpt,
    TextCol,
    ThreadsOpt,
    UnlabelledColOpt,
    UnlabelledOpt,
    ValidOpt,
    console,
    err_console,
    interruptible,
    model_text_columns,
    print_blend,
    print_breakdown,
    print_scores,
    read_metrics,
)

BundleArg = Annotated[Path, typer.Argument(help="A saved model folder (or a training output folder).")]


@interruptible("what was done is kept in OUT (the last finished epoch, or --stream's shards): run the same command "
               "with --resume to go on.",
               kept=("checkpoint/**/state.json",  # an ensemble's members checkpoint in checkpoint/member<i>
                     "lm_work/checkpoint/state.json", "lm/lm.json",  # the LM stage's too
                     "shards/meta.json"),  # --stream: the shards written, the file's costly reading
               overwrite_restarts=True)  # --resume with --overwrite is refused
def train(
    data: DataArg = None,
    out: Annotated[Path, typer.Option(help="Output folder: model/, metrics.json, report.md/.html, plots, checkpoint/.")] = Path("runs/latest"),
    preset: PresetOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    preprocess: PreprocessOpt = None,
    task: TaskOpt = None,
    text_col: TextCol = None,
    label_col: LabelCol = None,
    split_col: SplitCol = None,
    split_file: SplitFile = None,
    valid: ValidOpt = None,
    test: TestOpt = None,
    fmt: FormatOpt = None,
    no_header: NoHeader = False,
    aspects: AspectsOpt = None,
    label_sep: LabelSepOpt = None,
    drop_duplicates: DropDuplicates = False,
    oversample: Oversample = None,
    class_weight: ClassWeight = None,
    unlabelled: UnlabelledOpt = None,
    unlabelled_col: UnlabelledColOpt = None,
    pretrained: PretrainedOpt = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run from OUT/checkpoint.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a model already saved in OUT.")] = False,
    init_from: Annotated[Optional[Path], typer.Option(help="Continue a saved model on DATA (a warm start): same task, architecture, cleaning and vocabulary; its config replaces the preset unless --preset/--config is given (docs/active.md).")] = None,
    new_words: Annotated[Optional[str], typer.Option(metavar="[keep|add]", help="With --init-from: keep the saved vocabulary (new words read as `<unk>`; default) or add DATA's words (fresh embeddings).")] = None,
    new_classes: Annotated[Optional[str], typer.Option(metavar="[error|add]", help="With --init-from: refuse labels the saved model lacks (default) or add outputs for them.")] = None,
    quiet: QuietOpt = False,
    stream: Annotated[bool, typer.Option("--stream", help="Read DATA in chunks into OUT/shards, for files larger than memory (docs/streaming.md).")] = False,
    chunk_size: Annotated[Optional[int], typer.Option(min=1, help="Rows per chunk with --stream (default 10,000).")] = None,
    nproc: Annotated[int, typer.Option(min=1, help="Processes (DDP ranks) on this node; > 1 re-launches the run through torchrun (docs/distributed.md).")] = 1,
    nnodes: Annotated[int, typer.Option(help="Nodes of a multi-node run; every node runs this command with its own --node-rank.")] = 1,
    node_rank: Annotated[int, typer.Option(help="This node's number, 0 .. nnodes-1 (node 0 writes OUT).")] = 0,
    master_addr: Annotated[str, typer.Option(help="Address of node 0, reachable from every node.")] = "127.0.0.1",
    master_port: Annotated[Optional[int], typer.Option(help="Free port on node 0 (default: a free local port; one node only).")] = None,
    rdzv_endpoint: Annotated[Optional[str], typer.Option(help="host:port of a c10d rendezvous, instead of --master-addr/--master-port.")] = None,
) -> None:
    """Train a classifier, evaluate it on valid (and test) and save it to OUT.

    Without DATA it trains on the bundled airline tweets with their canonical split. --task multilabel reads
    any number of labels per text, --task absa one label per aspect.

    Example: lstmtext train reviews.csv --text-col review --label-col stars --preset bilstm --out runs/reviews
    """
    from lstmtext.errors import ConfigError
    from lstmtext.pipeline import run
    from lstmtext.pipeline.checks import check_resume_or_overwrite
    from lstmtext.pipeline.options import run_config

    check_resume_or_overwrite(resume, overwrite)  # before the data is read, and once for every --nproc rank
    if chunk_size is not None and not stream:  # it was ignored without a word
        raise ConfigError("--chunk-size sets the rows per chunk of --stream. Add --stream, or drop --chunk-size.")
    cfg = run_config(preset, config, set_, task=task, text_col=text_col, label_col=label_col, split_col=split_col,
                     aspects=aspects, label_sep=label_sep, drop_duplicates=drop_duplicates, oversample=oversample,
                     class_weight=class_weight, init_from=init_from, new_words=new_words, new_classes=new_classes,
                     unlabelled=unlabelled, unlabelled_col=unlabelled_col, pretrained=pretrained, preprocess=preprocess)
    warn_unread_settings(cfg, set_)
    kwargs = dict(resume=resume, overwrite=overwrite, progress=not quiet, fmt=fmt, valid_path=valid, test_path=test,
                  header=not no_header, split_file=split_file, stream=stream, chunk_size=chunk_size)
    if nproc > 1 or nnodes > 1:  # one process per rank through torchrun; rank 0 writes OUT
        from lstmtext.pipeline.launch import LaunchOptions, launch

        code = launch(cfg, data, out, kwargs, LaunchOptions(nproc, nnodes, node_rank, master_addr, master_port, rdzv_endpoint))
        if code == 0 and (out / "metrics.json").is_file():
            print_scores(read_metrics(out / "metrics.json"))
            console.print(f"saved to [bold]{out}[/] (model/, report.md, report.html, metrics.json, history.png)")
        raise typer.Exit(code)
    result = run(cfg, data, out, **kwargs)
    print_blend(result.train.ngram_fit, cfg.train.monitor)
    print_scores(result.metrics)
    console.print(f"saved to [bold]{out}[/] (model/, report.md, report.html, metrics.json, history.png)")


@interruptible("the cleaned texts (once written) and each finished epoch are kept in OUT: run the same command with "
               "--resume to go on.", kept="pretrain.json")
def pretrain(
    texts: Annotated[Path, typer.Argument(help="Raw texts: a table (CSV/TSV/JSONL/Parquet, --text-col) or a file with one text per line. Streamed: it may be larger than memory (one table field is read whole).")],
    out: Annotated[Path, typer.Option(help="The language-model folder to write (lm.json, vocab.json, model.safetensors).")] = Path("runs/lm"),
    text_col: TextCol = None,
    no_header: NoHeader = False,
    preset: Annotated[Optional[str], typer.Option(help="The preset whose cleaning, vocabulary, sizes and lm section are used (default: ulmfit).")] = None,
    config: ConfigOpt = None,
    preprocess: PreprocessOpt = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a config key, e.g. --set lm.epochs=5 (repeatable). The lm section (epochs, lr, dropouts, softmax), vocab, model sizes, preprocess and train.precision apply; other train.* keys do not (their lm.* twins do).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted pretraining in OUT (to the same weights).")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace what OUT holds.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Pretrain an LSTM language model on raw texts, for classifiers to start from (`train --pretrained OUT`).

    It learns to predict each next word (and, for a bidirectional model, each previous word) of TEXTS, so a
    classifier trained on few labels starts from an embedding and an LSTM that already read the language.
    Sizes, cleaning and the vocabulary come from the preset, --preprocess and --set (e.g. --set
    model.hidden_size=512 --set lm.epochs=5); validation perplexity is printed per epoch. The classifiers that
    start from it take its cleaning.

    Example: lstmtext pretrain reviews.txt --out runs/lm --preprocess vi-review
    """
    from lstmtext.config import build_config, parse_override
    from lstmtext.pipeline.language_model import FEW_LM_TOKENS
    from lstmtext.pipeline.language_model import pretrain as run_pretrain
    from lstmtext.preprocess.presets import cleaning_choice
    from lstmtext.training.pretrain import perplexity_name

    extra = {"preprocess": cleaning_choice(preprocess)} if preprocess else None
    cfg = build_config(preset or "ulmfit", config, list(set_ or []), extra=extra,
                       extra_source={"preprocess.preset": "--preprocess", "preprocess.steps": "--preprocess"})
    def show(rec: dict) -> None:
        console.print(f"epoch {rec['epoch']}: train loss {rec['train_loss']:.3f}, {perplexity_name(rec['held_out'])} "
                      f"{rec['valid_perplexity']:.1f}, {rec['tokens_per_second']:,.0f} tokens/s", highlight=False)

    asked = [".".join(parse_override(item)[0]) for item in set_ or []]  # a resume refuses to change these
    asked += ["preprocess"] if preprocess else []
    for key in asked:  # the classifier's training keys: pretraining reads its own (lm.*)
        if key.startswith("train.") and key not in ("train.precision", "train.threads"):
            twin = f"lm.{key.removeprefix('train.')}"
            hint = f"; set {twin}" if twin.removeprefix("lm.") in type(cfg.lm).model_fields else ""
            err_console.print(f"warning: --set {key}: pretrain does not read it (it is the classifier's){hint}.",
                              highlight=False, soft_wrap=True)
    if cfg.model.name not in ("lstm", "bilstm"):  # the language model is an LSTM whatever the preset's classifier is
        err_console.print(f"warning: the language model is an LSTM; model.name = {cfg.model.name!r} (from "
                          f"{'--set' if 'model.name' in asked else config if config is not None else 'the preset ' + repr(preset or 'ulmfit')}) is not read, only the "
                          "sizes, cleaning, vocabulary and lm section.", highlight=False, soft_wrap=True)
    lm = run_pretrain(cfg, texts, out, text_col, resume=resume, overwrite=overwrite, progress=not quiet, header=not no_header,
                      on_epoch_end=show if quiet else None, asked=asked)  # the bars' epoch line says it otherwise
    corpus = lm.info["corpus"]
    console.print(f"saved the language model to [bold]{out}[/] ({len(lm.vocab):,} words; {corpus['train']['tokens']:,} "
                  f"training and {corpus['valid']['tokens']:,} held-out tokens). Next: lstmtext train DATA --pretrained {out}")
    if corpus["train"]["tokens"] < FEW_LM_TOKENS:
        err_console.print(f"warning: {corpus['train']['tokens']:,} training tokens are too few for a language model to "
                          f"learn a language from (the bundled airline tweets hold about 190,000): give more texts.",
                          highlight=False, soft_wrap=True)


def warn_unread_settings(cfg: Any, set_: list[str] | None) -> None:
    """Warn about a ``--set model.KEY`` that the chosen architecture does not read (a TextCNN's hidden_size)."""
    from lstmtext.config import parse_override
    from lstmtext.models import ignored_settings

    ignored = ignored_settings(cfg.model.name)
    for item in set_ or []:
        key = ".".join(parse_override(item)[0])
        if key.startswith("model.") and key.removeprefix("model.") in ignored:
            err_console.print(f"warning: --set {item}: the {cfg.model.name!r} architecture does not read {key}, so it "
                              "changes nothing.", highlight=False, soft_wrap=True)


def evaluate(
    bundle: BundleArg,
    data: Annotated[Path, typer.Argument(help="Labelled data file, in the layout the model was trained on.")],
    text_col: Annotated[Optional[str], typer.Option(help="Column with the text (default: the model's, as it was trained).")] = None,
    label_col: Annotated[Optional[str], typer.Option(help="Column with the label(s) (default: the model's, as it was trained).")] = None,
    fmt: FormatOpt = None,
    no_header: NoHeader = False,
    label_sep: LabelSepOpt = None,
    out: Annotated[Optional[Path], typer.Option(help="Write metrics.json, report.md and the figure here (a new folder: a training run's own metrics are kept).")] = None,
    overwrite: OverwriteOpt = False,
    engine: Annotated[str, typer.Option(help=ENGINE_HELP + " Pick the one predict and serve run, so the scores are the served model's.")] = "auto",
    onnx: OnnxOpt = None,
    threads: ThreadsOpt = None,
) -> None:
    """Score a saved model on a labelled file: the task's scores per class (or label, or aspect) and its figure."""
    from lstmtext.errors import OutputExistsError
    from lstmtext.inference.bundle import holds_model
    from lstmtext.pipeline.evaluate import evaluate_file
    from lstmtext.tasks import figure_files
    from lstmtext.utils.outputs import check_out

    if out is not None:
        if holds_model(out):  # its metrics.json is the training run's (and /info serves a bundle's)
            raise OutputExistsError(f"{out} holds a trained model, whose own metrics.json the evaluation would "
                                    "replace. Write it to another folder.")
        check_out(out, "evaluate", overwrite, also=figure_files(splits=False), inputs=[data, onnx])  # its figure too

    metrics = evaluate_file(bundle, data, text_col, label_col, fmt, not no_header, out, engine=engine, label_sep=label_sep,
                            onnx_path=onnx, threads=threads)
    if metrics["engine"] != "torch":
        console.print(f"scored with the {metrics['engine']} engine (as predict and serve run it; --engine torch for the "
                      "PyTorch model)")
    print_scores({"data": metrics})
    print_breakdown(metrics)
    cal = metrics["calibration"]
    cut = (cal.get("at_chosen_cuts") or {}).get("90%")
    cut = cut if cut and cut["coverage"] > 0 else None  # answering none of this file: no accuracy to print (nan)
    console.print(f"calibration: ECE {cal['ece_after']:.4f} ({cal['ece_before']:.4f} before the model's temperatures)"
                  + (f"; at the cut that answered 90% of the training run's valid split (--min-confidence "
                     f"{cut['min_confidence']:.4f}): {cut['coverage']:.1%} of this file's decisions answered, "
                     f"{cut['accuracy']:.4f} of them right" if cut else ""), highlight=False)


def predict(
    bundle: BundleArg,
    texts: Annotated[Optional[list[str]], typer.Argument(help="Texts to classify.")] = None,
    file: Annotated[Optional[Path], typer.Option(help="Read texts from a file, a chunk at a time: a .csv/.tsv/.jsonl/.parquet table (its --text-col; a .txt whose first line names that column among tab-separated ones, as train reads it), else one text a line, blank lines answered too so that answers line up with lines (- reads standard input, UTF-8).")] = None,
    text_col: ModelTextCol = None,
    top_k: Annotated[Optional[int], typer.Option(min=1, help="How many of the best classes each record's top_k lists (default: 1 for single-label models, all otherwise); it never changes the answer (multilabel: labels are those over their thresholds).")] = None,
    output: Annotated[str, typer.Option("--format", help="json (JSON lines) or csv.")] = "json",
    engine: EngineOpt = "auto",
    onnx: OnnxOpt = None,
    threads: ThreadsOpt = None,
    threshold: Annotated[Optional[float], typer.Option(min=0.0, max=1.0, help="Multilabel: one decision threshold for every label (default: the tuned ones).")] = None,
    only_mentioned: Annotated[bool, typer.Option("--only-mentioned", help="Aspect models: leave out aspects predicted as not mentioned.")] = False,
    min_confidence: Annotated[Optional[float], typer.Option(metavar="P in (0, 1]", help="Answer 'unsure' (label null, abstained true; multilabel: the label goes to unsure) when the prediction's probability is below P, in (0, 1]. The report's accuracy-against-coverage table helps pick P.")] = None,
    no_header: NoHeader = False,
) -> None:
    """Predict for TEXTS and/or a --file (TEXTS first); prints one record per text as JSON lines or CSV.

    A record holds the label and its score (multilabel: the labels over their thresholds; absa: one record per
    aspect), the top-k classes and every class's probability: the same record the server answers.
    """
    from lstmtext.data.texts import iter_texts
    from lstmtext.inference.engines import load_predictor
    from lstmtext.inference.records import write_predictions

    if not texts and file is None:
        raise typer.BadParameter("give TEXTS or --file")
    if output not in ("json", "csv"):
        raise typer.BadParameter(f"--format {output!r}: use json or csv.")
    named = next((t for t in texts or [] if _names_a_file(t)), None)
    if named is not None:  # `predict model reviews.txt` classified the words "reviews.txt"
        err_console.print(f"warning: the text {named!r} is classified as it is written, and it is also a file's "
                          f"name: to classify the texts in the file, give --file {named}.", highlight=False,
                          soft_wrap=True, markup=False)
    predictor = load_predictor(bundle, engine, onnx, threads=threads)
    chunks = itertools.chain([(None, list(texts))] if texts else [],
                             iter_texts(file, text_col, defaults=model_text_columns(predictor), header=not no_header,
                                        keep_blank=True, header_flag="--no-header")
                             if file else [])
    done, unread = 0, []
    for _, items in chunks:  # a file is read, predicted and written a chunk at a time: any size fits in memory
        cut: list[bool] = []
        sequences = predictor.encoder.encode(items, cut=cut)
        found = predictor.predict_ids(sequences, top_k if top_k is not None else predictor.task.default_top_k,
                                      cut=cut, threshold=threshold, only_mentioned=only_mentioned,
                                      min_confidence=min_confidence)
        write_predictions(sys.stdout, items, found, predictor.task, output, header=not done)
        unread += [done + i for i, p in enumerate(found) if p.no_known_word]
        done += len(items)
    if unread:
        err_console.print(f"warning: {len(unread):,} of {done:,} texts have no word the model knows after "
                          f"cleaning (the first is record {unread[0] + 1}); their answers are the model's guess for an "
                          "empty text.", highlight=False, soft_wrap=True)


def _names_a_file(text: str) -> bool:
    """Whether a TEXTS argument is the path of a file (one word, a file there), not a sentence."""
    if not text or len(text) > 1024 or any(c.isspace() for c in text):
        return False
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL in it
        return False


def demo(
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("runs/demo"),
    preset: Annotated[str, typer.Option(help="Model preset.")] = "default",
    set_: SetOpt = None,
    quiet: QuietOpt = False,
    overwrite: OverwriteOpt = False,
) -> None:
    """Train the default model on the bundled airline tweets, print the report and three predictions.

    Example (a quick try): lstmtext demo --set train.epochs=2
    """
    from lstmtext.config import build_config
    from lstmtext.inference.predictor import Predictor
    from lstmtext.pipeline import run

    run(build_config(preset, overrides=list(set_ or [])), None, out, overwrite=overwrite, progress=not quiet)
    console.print((out / "report.md").read_text(encoding="utf-8"), markup=False)  # tweets in it hold brackets
    examples = ["@united thanks for the quick rebooking, great crew!",
                "@AmericanAir my flight is delayed again and nobody answers the phone",
                "@JetBlue what time does the boarding start for flight 123?"]
    for text, p in zip(examples, Predictor.from_bundle(out).predict(examples, top_k=3)):
        console.print(f"[bold]{p.label}[/] ({p.score:.2f})  {text}")
    console.print(f"model saved to {out / 'model'}; report {out / 'report.html'}; history plot {out / 'history.png'}")
