"""CLI commands of the experiments: ``search`` (grid or TPE), ``learning-curve`` and ``cv`` (K-fold).

Each is a thin shell: it builds the config and loads the data as ``train`` does, then calls
:mod:`lstmtext.experiments`. Runs go to a process pool with one torch thread each by default (on 2
shared cores it beat one run with two threads; see docs/experiments.md).
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from lstmtext.cli.app import STATE, DataArg, LabelCol, SplitCol, TextCol, app, console

SplitFile = Annotated[Optional[Path], typer.Option(help="A row,split file (0-based rows), e.g. the news titles' split.csv.")]
Preset = Annotated[str, typer.Option(help="Model preset to start from (see `lstmtext presets`).")]
ConfigOpt = Annotated[Optional[Path], typer.Option(help="TOML config to start from (e.g. a search's best.toml).")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="Override a config key for every run (repeatable).")]
Oversample = Annotated[Optional[str], typer.Option(help="'random': oversample minority classes of each run's training rows.")]
ClassWeight = Annotated[Optional[str], typer.Option(help="'balanced': weight the loss by inverse class frequency.")]
Metric = Annotated[str, typer.Option(help="Score: macro_f1, accuracy or weighted_f1.")]
ModeOpt = Annotated[str, typer.Option(help="pool: processes with 1 torch thread each; sequential: one run at a time.")]
Workers = Annotated[Optional[int], typer.Option(help="Processes (pool) or threads (sequential); default: every core.")]


def _config(preset: str, config: Path | None, set_: list[str] | None, text_col: str | None, label_col: str | None,
            split_col: str | None, oversample: str | None, class_weight: str | None, data: Path | None) -> Any:
    from lstmtext.config import build_config

    columns = {"data.text_col": text_col, "data.label_col": label_col, "data.split_col": split_col}
    overrides = [f"{k}={json.dumps(v)}" for k, v in columns.items() if v is not None]
    if data is None:  # the bundled tweets: record their real columns in the configs written
        overrides = ['data.text_col="text"', 'data.label_col="airline_sentiment"', 'data.split_col="none"']
    overrides += list(set_ or [])
    if oversample:
        overrides.append(f"train.oversample={json.dumps(oversample)}")
    if class_weight:
        overrides.append(f"train.class_weight={json.dumps(class_weight)}")
    return build_config(preset, config, overrides)


def _data(cfg: Any, data: Path | None, split_file: Path | None) -> Any:
    from lstmtext.pipeline.run import drop_other_languages, load_run_data

    if split_file is None or data is None:
        return load_run_data(cfg, data)
    from lstmtext.data.splits import load_with_split_file

    labelled = load_with_split_file(data, split_file, cfg.data)
    if cfg.preprocess.keep_language:
        drop_other_languages(labelled, cfg.preprocess.keep_language, cfg.preprocess.languages)
    return labelled


def _interrupt_on_sigterm() -> None:
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)  # so `kill PID` stops the pool's workers too, not only this process


def _quiet_optuna() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.INFO if STATE["verbose"] else optuna.logging.WARNING)


@app.command()
def search(
    data: DataArg = None,
    grid: Annotated[Optional[list[str]], typer.Option(help="key=a,b,c: try every combination (repeatable), e.g. --grid train.lr=1e-3,1e-4.")] = None,
    space: Annotated[Optional[list[str]], typer.Option(help="key=low:high[:log] or key=a,b,c: sample with TPE (repeatable; needs --trials).")] = None,
    trials: Annotated[Optional[int], typer.Option(help="Trials in all (sampled search); with --grid, at most this many points.")] = None,
    metric: Metric = "macro_f1",
    timeout: Annotated[Optional[float], typer.Option(help="Seconds after which no new trial starts.")] = None,
    out: Annotated[Path, typer.Option(help="Folder: study.db, results.csv/.md, best.toml, plots, report.html.")] = Path("runs/search"),
    preset: Preset = "default", config: ConfigOpt = None, set_: SetOpt = None,
    text_col: TextCol = None, label_col: LabelCol = None, split_col: SplitCol = None, split_file: SplitFile = None,
    oversample: Oversample = None, class_weight: ClassWeight = None,
    mode: ModeOpt = "pool", workers: Workers = None,
    seed: Annotated[int, typer.Option(help="Seed of the sampler (runs use train.seed).")] = 0,
) -> None:
    """Search hyperparameters: a grid or TPE trials, scored on the valid split; run it again to resume.

    Trials are saved in OUT/study.db as they finish: the same command again runs only the trials not yet
    complete (interrupted ones are run again).
    """
    from lstmtext.experiments.search import search as run_search
    from lstmtext.experiments.search import trial_records
    from lstmtext.experiments.search_report import write_search_report
    from lstmtext.experiments.space import parse_space

    _quiet_optuna()
    cfg = _config(preset, config, set_, text_col, label_col, split_col, oversample, class_weight, data)
    what = parse_space(cfg, grid, space)
    labelled = _data(cfg, data, split_file)
    _interrupt_on_sigterm()
    done = lambda r: console.print(f"trial {r['trial']} {r['params']}: " + (  # noqa: E731
        f"valid {metric} {r['value']:.4f} ({r['train_seconds']:.0f} s)" if r["state"] == "COMPLETE" else "FAILED"))
    summary = run_search(cfg, labelled, out, what, trials=trials, metric=metric, timeout=timeout,
                         workers=workers or os.cpu_count() or 1, mode=mode, seed=seed, on_result=done)
    import optuna

    study = optuna.load_study(study_name="search", storage=f"sqlite:///{out / 'study.db'}")
    settings = {"source": labelled.source, "model": cfg.model.name, "mode": mode,
                "workers": workers or os.cpu_count(), "load_average": _load()}
    paths = write_search_report(out, trial_records(study), what, metric, cfg, {**settings, **summary})
    console.print(paths["markdown"].read_text(encoding="utf-8"), soft_wrap=True)
    note = " (stopped by --timeout: run again to continue)" if summary["stopped_by_timeout"] else ""
    console.print(f"{summary['ran']} trials ran in {summary['wall_seconds']:.0f} s, {summary['complete']} complete"
                  f"{note}; best config in {paths.get('best', '(none yet)')}; report {paths['html']}")


@app.command("learning-curve")
def learning_curve(
    data: DataArg = None,
    sizes: Annotated[str, typer.Option(help="Comma-separated training-set sizes, e.g. 500,1000,2000.")] = "500,1000,2000,4000",
    seeds: Annotated[int, typer.Option(help="Runs per size (seeds train.seed .. +N-1).")] = 3,
    metric: Metric = "macro_f1",
    out: Annotated[Path, typer.Option(help="Folder: learning_curve.json/.md/.csv/.png, report.html.")] = Path("runs/learning-curve"),
    preset: Preset = "default", config: ConfigOpt = None, set_: SetOpt = None,
    text_col: TextCol = None, label_col: LabelCol = None, split_col: SplitCol = None, split_file: SplitFile = None,
    oversample: Oversample = None, class_weight: ClassWeight = None,
    mode: ModeOpt = "pool", workers: Workers = None,
) -> None:
    """Score against the number of training texts: nested stratified subsets, mean ± std over seeds.

    Valid and test stay whole. Finished runs are kept in OUT/learning_curve.json, so the same command
    again runs only the missing ones.
    """
    from lstmtext.errors import ConfigError
    from lstmtext.experiments.learning_curve import learning_curve as run_curve
    from lstmtext.experiments.learning_curve import write_learning_curve

    try:
        size_list = [int(s.replace("_", "")) for s in sizes.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--sizes must be comma-separated whole numbers, e.g. 500,1000. Got {sizes!r} instead.") from None
    cfg = _config(preset, config, set_, text_col, label_col, split_col, oversample, class_weight, data)
    labelled = _data(cfg, data, split_file)
    _interrupt_on_sigterm()
    done = lambda r: console.print(f"{r['size']:,} texts, seed {r['seed']}: " + ", ".join(  # noqa: E731
        f"{k} {v:.4f}" for k, v in r.items() if k.endswith(metric)) + f" ({r['train_seconds']:.0f} s)")
    report = run_curve(cfg, labelled, size_list, seeds, metric=metric, workers=workers or os.cpu_count() or 1,
                       mode=mode, out_dir=out, on_result=done)
    report["load_average"] = _load()
    paths = write_learning_curve(report, out)
    console.print(paths["markdown"].read_text(encoding="utf-8"), soft_wrap=True)
    console.print(f"{len(report['runs'])} runs ({report['runs_reused']} reused) in {report['wall_seconds']:.0f} s; "
                  f"wrote {paths['chart']} and {paths['html']}")


@app.command()
def cv(
    data: DataArg = None,
    folds: Annotated[int, typer.Option(help="K: stratified folds over train + valid.")] = 5,
    metric: Metric = "macro_f1",
    out: Annotated[Path, typer.Option(help="Folder: cv.json, cv.md, report.html.")] = Path("runs/cv"),
    preset: Preset = "default", config: ConfigOpt = None, set_: SetOpt = None,
    text_col: TextCol = None, label_col: LabelCol = None, split_col: SplitCol = None, split_file: SplitFile = None,
    oversample: Oversample = None, class_weight: ClassWeight = None,
    mode: ModeOpt = "pool", workers: Workers = None,
) -> None:
    """K-fold cross-validation for small data: train and valid pooled, one model per fold, mean ± std.

    Each fold's model stops early on a slice of its own training rows, never on the held-out fold; the
    test split, if any, is not used.
    """
    from lstmtext.experiments.cv import cross_validate, write_cv

    cfg = _config(preset, config, set_, text_col, label_col, split_col, oversample, class_weight, data)
    labelled = _data(cfg, data, split_file)
    _interrupt_on_sigterm()
    done = lambda r: console.print(f"fold {r['fold']}: {metric} {r[metric]:.4f} ({r['train_seconds']:.0f} s)")  # noqa: E731
    report = cross_validate(cfg, labelled, folds, metric=metric, workers=workers or os.cpu_count() or 1,
                            mode=mode, on_result=done)
    report["load_average"] = _load()
    paths = write_cv(report, out)
    console.print(paths["markdown"].read_text(encoding="utf-8"), soft_wrap=True)
    console.print(f"{metric} {report['mean'][metric]:.4f} ± {report['std'][metric]:.4f} over {folds} folds; "
                  f"wrote {paths['html']}")


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None
