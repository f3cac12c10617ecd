"""CLI commands of the experiments: ``search`` (grid or TPE), ``learning-curve`` and ``cv`` (K-fold).

Each is a thin shell: it builds the config and loads the data as ``train`` does, then calls
:mod:`lstmtext.experiments`. Runs go to a process pool with one torch thread each by default (on 2
shared cores it beat one run with two threads; see docs/experiments.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from lstmtext.cli.common import (
    STATE,
    AspectsOpt,
    ClassWeight,
    ConfigOpt,
    DataArg,
    EngineOpt,
    LabelCol,
    LabelSepOpt,
    ModelTextCol,
    NoHeader,
    OnnxOpt,
    Oversample,
    OverwriteOpt,
    PreprocessOpt,
    PresetOpt,
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
    err_console,
    interruptible,
    model_text_columns,
    workers_or_cores,
)
from lstmtext.errors import LstmTextError
from lstmtext.utils.outputs import check_out
from lstmtext.utils.progress import seconds

Metric = Annotated[str, typer.Option(help="Score: macro_f1, accuracy or weighted_f1; --task multilabel adds micro_f1 "
                                          "and samples_f1, --task absa flat_macro_f1 and mean_aspect_macro_f1.")]
ModeOpt = Annotated[str, typer.Option(help="pool: processes with 1 torch thread each; sequential: one run at a time.")]
Workers = Annotated[Optional[int], typer.Option(help="Processes (pool) or threads (sequential); default: every core.")]




def _setup(data: Path | None, preset: str | None, config: Path | None, set_: list[str] | None, task: str | None,
           text_col: str | None, label_col: str | None, split_col: str | None, aspects: str | None,
           label_sep: str | None, oversample: str | None, class_weight: str | None, valid: Path | None,
           test: Path | None, split_file: Path | None, unlabelled: Path | None = None,
           unlabelled_col: str | None = None, header: bool = True, whole: bool = False,
           preprocess: str | None = None) -> tuple[Any, Any]:
    """The experiment's base config and its data, read as ``train`` reads them (``whole``: a file that gives no
    split is read whole, for cv and audit, whose folds pool train and valid)."""
    from lstmtext.pipeline import load_data
    from lstmtext.pipeline.options import run_config

    cfg = run_config(preset, config, set_, task=task, text_col=text_col, label_col=label_col, split_col=split_col,
                     aspects=aspects, label_sep=label_sep, oversample=oversample, class_weight=class_weight,
                     bundled=data is None, unlabelled=unlabelled, unlabelled_col=unlabelled_col, preprocess=preprocess)
    return cfg, load_data(cfg, data, valid_path=valid, test_path=test, split_file=split_file, header=header,
                          whole=whole)


def _quiet_optuna() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.INFO if STATE["verbose"] else optuna.logging.WARNING)


@interruptible("the finished trials are kept in OUT/study.db: run the same command again to go on.",
               overwrite_restarts=True)
def search(
    data: DataArg = None,
    grid: Annotated[Optional[list[str]], typer.Option(help="key=a,b,c: try every combination (repeatable), e.g. --grid train.lr=1e-3,1e-4.")] = None,
    space: Annotated[Optional[list[str]], typer.Option(help="key=low:high[:log] or key=a,b,c: sample with TPE (repeatable; needs --trials).")] = None,
    trials: Annotated[Optional[int], typer.Option(help="Trials in all (sampled search); with --grid, at most this many points.")] = None,
    metric: Metric = "macro_f1",
    timeout: Annotated[Optional[float], typer.Option(help="Seconds after which no new trial starts.")] = None,
    out: Annotated[Path, typer.Option(help="Folder: study.db, results.csv/.md, best.toml, plots, report.html.")] = Path("runs/search"),
    preset: PresetOpt = None, config: ConfigOpt = None, set_: SetOpt = None, task: TaskOpt = None,
    text_col: TextCol = None, label_col: LabelCol = None, split_col: SplitCol = None, split_file: SplitFile = None,
    no_header: NoHeader = False, preprocess: PreprocessOpt = None,
    valid: ValidOpt = None, test: TestOpt = None, aspects: AspectsOpt = None, label_sep: LabelSepOpt = None,
    oversample: Oversample = None, class_weight: ClassWeight = None,
    mode: ModeOpt = "pool", workers: Workers = None,
    seed: Annotated[int, typer.Option(help="Seed of the sampler (runs use train.seed).")] = 0,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Start afresh: drop the trials of an earlier search in OUT.")] = False,
) -> None:
    """Search hyperparameters: a grid or TPE trials, scored on the valid split; run it again to resume.

    Trials are saved in OUT/study.db as they finish: the same command again runs only the trials not yet
    complete (interrupted ones are run again). A trial's score depends a little on its threads (pool: one per
    run; sequential: every core), as float sums do: compare trials of one mode.

    Example: lstmtext search data.csv --grid train.lr=1e-3,3e-3 --grid train.batch_size=32,64 --out runs/s
    """
    from lstmtext.experiments.search import search as run_search
    from lstmtext.experiments.search import trial_records_of
    from lstmtext.experiments.search_report import with_sessions, write_search_report
    from lstmtext.experiments.space import parse_space

    _quiet_optuna()
    check_out(out, "search", overwrite, inputs=[data, valid, test, split_file])
    cfg, labelled = _setup(data, preset, config, set_, task, text_col, label_col, split_col, aspects, label_sep,
                           oversample, class_weight, valid, test, split_file, header=not no_header, preprocess=preprocess)
    what = parse_space(cfg, grid, space)
    done = lambda r: console.print(f"trial {r['trial']} {r['params']}: " + (  # noqa: E731
        f"valid {metric} {r['value']:.4f} ({seconds(r['train_seconds'])})" if r["state"] == "COMPLETE" else "FAILED"),
        markup=False)
    summary = run_search(cfg, labelled, out, what, trials=trials, metric=metric, timeout=timeout,
                         workers=workers_or_cores(workers), mode=mode, seed=seed, on_result=done, overwrite=overwrite)
    paths = write_search_report(out, trial_records_of(out), what, metric, cfg, with_sessions(out, summary))
    console.print(paths["markdown"].read_text(encoding="utf-8"), soft_wrap=True, markup=False)
    note = " (stopped by --timeout: run again to continue)" if summary["stopped_by_timeout"] else ""
    console.print(f"{summary['ran']} trial{'s' if summary['ran'] != 1 else ''} ran in {seconds(summary['wall_seconds'])}, {summary['complete']} complete"
                  f"{note}; best config in {paths.get('best', '(none yet)')}; report {paths['html']}")
    if summary["ran"] and not summary["complete"]:  # a script must not read a search that learnt nothing as done
        raise LstmTextError(f"no trial completed: each one's error is above and in {paths['markdown']}.")


@interruptible("the finished runs are kept in OUT/learning_curve.json: run the same command again to go on.", kept="learning_curve.json",
               overwrite_restarts=True)
def learning_curve(
    data: DataArg = None,
    sizes: Annotated[str, typer.Option(help="Comma-separated training-set sizes, e.g. 500,1000,2000, or shares of the training split, e.g. 0.1,0.25,0.5,1.0 (a value with a decimal point).")] = "500,1000,2000,4000",
    seeds: Annotated[int, typer.Option(help="Runs per size (seeds train.seed .. +N-1; with an ensemble of n members every n-th seed, so that no two runs share a member).")] = 3,
    metric: Metric = "macro_f1",
    out: Annotated[Path, typer.Option(help="Folder: learning_curve.json/.md/.csv/.png, report.html.")] = Path("runs/learning-curve"),
    preset: PresetOpt = None, config: ConfigOpt = None, set_: SetOpt = None, task: TaskOpt = None,
    text_col: TextCol = None, label_col: LabelCol = None, split_col: SplitCol = None, split_file: SplitFile = None,
    no_header: NoHeader = False, preprocess: PreprocessOpt = None,
    valid: ValidOpt = None, test: TestOpt = None, aspects: AspectsOpt = None, label_sep: LabelSepOpt = None,
    oversample: Oversample = None, class_weight: ClassWeight = None,
    unlabelled: UnlabelledOpt = None, unlabelled_col: UnlabelledColOpt = None,
    mode: ModeOpt = "pool", workers: Workers = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Start afresh: drop the runs saved in OUT (without it the same settings go on from them, and a curve of another config or data is refused).")] = False,
) -> None:
    """Score against the number of training texts: nested subsets (stratified by class), mean ± std over seeds.

    Valid and test stay whole. Finished runs are kept in OUT/learning_curve.json, so the same command
    again runs only the missing ones.

    Example: lstmtext learning-curve tweets.csv --split-col split --sizes 500,1000,2000,4000 --seeds 3 --out runs/lc
    (or --sizes 0.1,0.25,0.5,1.0: shares of the training split)
    """
    from lstmtext.errors import ConfigError
    from lstmtext.experiments.learning_curve import learning_curve as run_curve
    from lstmtext.experiments.learning_curve import training_sizes, write_learning_curve

    values = [s.strip().replace("_", "") for s in sizes.split(",") if s.strip()]
    try:  # a value with a decimal point is a share of the training split (scikit-learn's train_sizes), else a count
        parsed = [float(v) if "." in v else int(v) for v in values]
    except ValueError:
        raise ConfigError(f"--sizes must be comma-separated counts (500,1000) or shares of the training split "
                          f"(0.1,0.5,1.0). Got {sizes!r} instead.") from None
    training_sizes(parsed, 1)  # a share outside (0, 1] is refused before the data is read
    check_out(out, "learning-curve", overwrite, inputs=[data, valid, test, split_file, unlabelled])
    cfg, labelled = _setup(data, preset, config, set_, task, text_col, label_col, split_col, aspects, label_sep,
                           oversample, class_weight, valid, test, split_file, unlabelled, unlabelled_col,
                           header=not no_header, preprocess=preprocess)
    done = lambda r: console.print(f"{r['size']:,} texts, seed {r['seed']}: " + ", ".join(  # noqa: E731
        f"{k} {v:.4f}" for k, v in r.items() if k.endswith(metric)) + f" ({seconds(r['train_seconds'])})")
    report = run_curve(cfg, labelled, parsed, seeds, metric=metric, workers=workers_or_cores(workers),
                       mode=mode, out_dir=out, on_result=done, overwrite=overwrite)
    paths = write_learning_curve(report, out)
    console.print(paths["markdown"].read_text(encoding="utf-8"), soft_wrap=True, markup=False)
    n_runs = len(report["runs"])
    console.print(f"{n_runs} run{'s' if n_runs != 1 else ''} ({report['runs_reused']} reused) in {seconds(report['wall_seconds'])}; "
                  f"wrote {paths['chart']} and {paths['html']}")


@interruptible("the finished folds are kept in OUT/cv.json: run the same command again to go on.", kept="cv.json",
               overwrite_restarts=True)
def cv(
    data: DataArg = None,
    folds: Annotated[int, typer.Option(help="K: stratified folds over train + valid.")] = 5,
    metric: Metric = "macro_f1",
    out: Annotated[Path, typer.Option(help="Folder: cv.json (also each fold as it finishes: the same command again "
                                           "goes on from there), cv.md, report.html.")] = Path("runs/cv"),
    preset: PresetOpt = None, config: ConfigOpt = None, set_: SetOpt = None, task: TaskOpt = None,
    text_col: TextCol = None, label_col: LabelCol = None, split_col: SplitCol = None, split_file: SplitFile = None,
    no_header: NoHeader = False, preprocess: PreprocessOpt = None,
    valid: ValidOpt = None, test: TestOpt = None, aspects: AspectsOpt = None, label_sep: LabelSepOpt = None,
    oversample: Oversample = None, class_weight: ClassWeight = None,
    mode: ModeOpt = "pool", workers: Workers = None, overwrite: OverwriteOpt = False,
) -> None:
    """K-fold cross-validation for small data: train and valid pooled, one model per fold, mean ± std.

    Each fold's model stops early on a slice of its own training rows, never on the held-out fold. A file
    without a split is folded whole; a test split (--split-col, --split-file, --test) is not used. Each
    finished fold is saved: stopped or killed, the same command goes on with the folds not done.

    Example: lstmtext cv reviews.csv --text-col review --label-col label --folds 5 --preset cnn --out runs/cv
    """
    from lstmtext.experiments.cv import cross_validate, write_cv

    check_out(out, "cv", overwrite, inputs=[data, valid, test, split_file])
    cfg, labelled = _setup(data, preset, config, set_, task, text_col,
                           label_col, split_col, aspects, label_sep, oversample, class_weight, valid, test, split_file,
                           header=not no_header, preprocess=preprocess, whole=True)
    done = lambda r: console.print(f"fold {r['fold']}: {metric} {r[metric]:.4f} ({seconds(r['train_seconds'])})")  # noqa: E731
    report = cross_validate(cfg, labelled, folds, metric=metric, workers=workers_or_cores(workers),
                            mode=mode, on_result=done, out_dir=out, overwrite=overwrite)
    paths = write_cv(report, out)
    console.print(paths["markdown"].read_text(encoding="utf-8"), soft_wrap=True, markup=False)
    reused = f" ({report['folds_reused']} reused from {paths['json']})" if report["folds_reused"] else ""
    console.print(f"{metric} {report['mean'][metric]:.4f} ± {report['std'][metric]:.4f} over {folds} folds{reused}; "
                  f"wrote {paths['html']}")


@interruptible("the finished folds are kept in OUT/audit.json: run the same command again to go on.", kept="audit.json",
               overwrite_restarts=True)
def audit(
    data: DataArg = None,
    folds: Annotated[int, typer.Option(help="K: each row is scored by a model trained on the other K-1 folds.")] = 5,
    out: Annotated[Path, typer.Option(help="Folder: audit.csv (suspects, most likely wrong first), audit.json (also "
                                           "each fold's probabilities as it finishes: the same command again goes on "
                                           "from there), report.html.")] = Path("runs/audit"),
    preset: PresetOpt = None, config: ConfigOpt = None, set_: SetOpt = None, task: TaskOpt = None,
    text_col: TextCol = None, label_col: LabelCol = None, split_col: SplitCol = None, split_file: SplitFile = None,
    no_header: NoHeader = False, preprocess: PreprocessOpt = None,
    valid: ValidOpt = None, test: TestOpt = None, aspects: AspectsOpt = None, label_sep: LabelSepOpt = None,
    mode: ModeOpt = "pool", workers: Workers = None, overwrite: OverwriteOpt = False,
    tfidf: Annotated[bool, typer.Option(help="Average the preset's out-of-fold probabilities with those of TF-IDF + logistic regression on the same folds (two models that err differently find more label errors; a few seconds more). --no-tfidf: the preset alone.")] = True,
) -> None:
    """Find likely label errors: out-of-fold probabilities (k folds over train + valid) and confident learning.

    Writes every suspect row with its given and suggested label, most likely wrong first; fix them in the
    data and train again. A file without a split is audited whole; a test split (--split-col, --split-file,
    --test) is left alone. Each finished fold is saved: stopped or killed, the same command goes on with the
    folds not done.

    Example: lstmtext audit tweets.csv --text-col text --label-col airline_sentiment --folds 5 --out runs/audit
    """
    from lstmtext.experiments.audit import audit as run_audit
    from lstmtext.experiments.audit import weak_model, write_audit

    check_out(out, "audit", overwrite, inputs=[data, valid, test, split_file])
    cfg, labelled = _setup(data, preset, config, set_, task,
                           text_col, label_col, split_col, aspects, label_sep, None, None, valid, test, split_file,
                           header=not no_header, preprocess=preprocess, whole=True)
    report = run_audit(cfg, labelled, folds, workers=workers_or_cores(workers), mode=mode, tfidf=tfidf,
                       on_result=lambda r: console.print(f"fold {r['fold']} scored ({seconds(r['train_seconds'])})"),
                       out_dir=out, overwrite=overwrite)
    if report["folds_reused"]:
        console.print(f"{report['folds_reused']} of {folds} folds reused from {out / 'audit.json'}")
    paths = write_audit(report, out)
    for k, issue in enumerate(report["issues"][:10], start=1):
        field = f" [{issue['field']}]" if issue["field"] else ""
        console.print(f"{k}. {issue['where']}{field}: {issue['given']} -> {issue['suggested']} "
                      f"(p {issue['p_given']:.2f} -> {issue['p_suggested']:.2f}) {' '.join(issue['text'].split())[:80]}", highlight=False,
                      markup=False)  # '[fuel]', or a text's own brackets, are not rich's markup
    per_field = any(issue["field"] for issue in report["issues"])  # aspects or labels: a row may have several
    console.print(f"{len(report['issues']):,} suspect labels among {report['rows']:,} rows"
                  f"{' (one per row and aspect or label that looks wrong)' if per_field else ''}; wrote {paths['csv']} "
                  f"and {paths['html']}")
    scores, floor, chance = report["out_of_fold"], report["majority"], report["chance"]
    alone = "; ".join(f"{name} alone: macro_f1 {s['macro_f1']:.4f}" for name, s in (report["out_of_fold_alone"] or {}).items())
    console.print(f"out-of-fold {report['scored_by']}: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items())
                  + (f" ({alone})" if alone else "")
                  + f" (always the most frequent label: macro_f1 {floor['macro_f1']:.4f}; guessing with the labels' "
                  f"frequencies: {chance['macro_f1']:.4f})", highlight=False)
    for warning in weak_model(report):
        err_console.print(f"warning: {warning}", highlight=False, soft_wrap=True)


def suggest(
    bundle: Annotated[Path, typer.Argument(help="A saved model folder (or a training output folder).")],
    texts: Annotated[Path, typer.Argument(help="Unlabelled texts: a table (CSV/TSV/JSONL/Parquet, --text-col) or one text per line; read in chunks, any size.")],
    n: Annotated[int, typer.Option("--n", min=1, help="How many texts to suggest.")] = 200,
    out: Annotated[Path, typer.Option(help="Folder: to_label.csv (texts + empty label columns, ready to fill in), suggest.csv, suggest.json.")] = Path("runs/suggest"),
    text_col: ModelTextCol = None,
    no_header: NoHeader = False,
    strategy: Annotated[str, typer.Option(help="uncertainty (least sure first, with diversity) or random (the baseline).")] = "uncertainty",
    diversity: Annotated[float, typer.Option(help="0: most uncertain first; higher: fewer near-duplicates (maximal marginal relevance over word counts); 1: most different first.")] = 0.3,
    seed: Annotated[int, typer.Option(help="Seed of --strategy random.")] = 0,
    engine: EngineOpt = "auto",
    onnx: OnnxOpt = None,
    exclude: Annotated[Optional[list[Path]], typer.Option("--exclude", help="Texts already labelled (the model's training file, an earlier to_label.csv; repeatable; the same --text-col, else the model's text column or 'text'): never suggested again.")] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Choose which texts to label next: those the model is least sure about, not near-copies of each other.

    Label to_label.csv, then continue the model on it: `lstmtext train to_label.csv --init-from BUNDLE`
    (with the old training data added, or the new rows alone). In the next round, give the labelled files as
    --exclude so that their texts are not suggested again. docs/active.md shows a simulated labelling loop.
    """
    from lstmtext.data.texts import iter_texts
    from lstmtext.experiments.suggest import suggest as run_suggest
    from lstmtext.experiments.suggest import write_suggestions
    from lstmtext.inference.engines import load_predictor
    from lstmtext.pipeline.seen import read_seen

    check_out(out, "suggest", overwrite, inputs=[texts, *(exclude or [])])
    predictor = load_predictor(bundle, engine, onnx)
    chunks = iter_texts(texts, text_col, defaults=model_text_columns(predictor), header=not no_header,
                        header_flag="--no-header")
    # the files already labelled: to_label.csv files (the model's text column, as suggest writes them) or tables
    # like TEXTS (--text-col)
    columns = (*model_text_columns(predictor), *([text_col] if text_col else []))
    labelled = (text for path in exclude or [] for _, part in iter_texts(
        path, None, defaults=columns, header=not no_header, header_flag="--no-header") for text in part)
    report = run_suggest(predictor, chunks, n, strategy=strategy, diversity=diversity, seed=seed, labelled=labelled,
                         trained=read_seen(bundle))  # the model's training texts: labelled already
    # the model's own text column, as `train --init-from` reads the filled-in file (not the column these texts had)
    paths = write_suggestions(report, out, model_text_columns(predictor)[0],
                              predictor.task.annotation_columns(), predictor.task.annotation_placeholder)
    for row in report["suggested"][:10]:
        console.print(f"{row['rank']}. ({row['uncertainty']:.2f}, model: {row['model_guess']}) {row['text'][:90]}",
                      highlight=False, markup=False)
    done = f", {report['skipped_labelled']:,} already labelled" if exclude else ""
    done += f", {report['skipped_trained']:,} the model's training texts" if report["skipped_trained"] else ""
    console.print(f"{len(report['suggested'])} of {report['texts_read']:,} texts suggested ({report['skipped_duplicates']:,} "
                  f"duplicates{done} and {report['skipped_empty']:,} with no known word skipped); fill in {paths['to_label']}")
