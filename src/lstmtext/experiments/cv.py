"""Stratified K-fold cross-validation for small data sets: one model per fold, scores as mean ± std.

The train and valid splits are pooled and cut into K stratified folds. Each fold is held out once and
scored; the model of that fold trains on the other K-1 folds, minus a stratified ``data.valid_size``
share kept aside for early stopping and for choosing the best epoch, so the held-out fold never
steers training. A test split, if the data has one, is left untouched (train on it with ``train``). Each
finished fold is saved as it comes (``cv.json``): the same call again trains only the folds not there.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from lstmtext.config import Config
from lstmtext.config.schema import sklearn_seed
from lstmtext.data import LabelledData, Split
from lstmtext.errors import ConfigError, DataError
from lstmtext.experiments.pool import Mode, check_parallel, clean_once, run_facts, run_jobs, score_name, task_scores
from lstmtext.experiments.resume import run_spec, save_records, saved_records
from lstmtext.tasks import get_task
from lstmtext.utils.cores import load_average


def pooled(data: LabelledData) -> LabelledData:
    """``data`` with train and valid joined into one split named ``pool`` (test dropped)."""
    train, valid = data.splits["train"], data.splits["valid"]
    rows = train.rows + valid.rows if train.rows is not None and valid.rows is not None else None
    return replace(data, splits={"pool": Split(train.texts + valid.texts, train.labels + valid.labels, rows)})


def fold_rows(keys: list[Any] | None, n: int, folds: int, seed: int, valid_size: float,
              source: str | None = None) -> list[dict[str, list[int]]]:
    """Row numbers per fold: ``{"train", "valid", "heldout"}``, stratified by ``keys`` (each row's stratum).

    Args:
        keys: Each row's stratum (its class); None: folds without strata (e.g. several labels per text).
        n: Number of rows.
        folds: K.
        seed: Seed of the shuffles.
        valid_size: Share of each fold's training rows kept aside for early stopping.
        source: The data's name (its file), which the errors start with.

    Raises:
        ConfigError: If ``folds`` < 2.
        DataError: If a class has fewer rows than ``folds`` (it cannot appear in every fold).
    """
    import numpy as np
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    if folds < 2:
        raise ConfigError(f"--folds must be >= 2. Got {folds} instead.")
    where = f"{source}: " if source else ""
    if keys is not None:
        counts = {c: keys.count(c) for c in set(keys)}
        rare = min(counts, key=counts.get)
        if counts[rare] < 2:  # no number of folds can hold it out and train on it
            raise DataError(f"{where}class {rare!r} has 1 row: stratified folds need at least 2 of each class. Add rows of "
                            "it, merge it into another class, or remove it.")
        if counts[rare] < folds:
            raise DataError(f"{where}class {rare!r} has {counts[rare]} rows, fewer than --folds {folds}. Use --folds "
                            f"{counts[rare]} or fewer, or merge rare classes.")
    elif n < 2:
        raise DataError(f"{where}{n} row{'s' if n != 1 else ''} cannot make folds: k-fold needs at least 2 rows. Add rows.")
    elif n < folds:
        raise DataError(f"{where}{n} rows cannot make {folds} folds. Use --folds {n} or fewer.")
    y = np.asarray(keys, dtype=object) if keys is not None else None
    out, seed = [], sklearn_seed(seed)  # a training seed: torch's 64 bits
    splitter = (StratifiedKFold if keys is not None else KFold)(n_splits=folds, shuffle=True, random_state=seed)
    for rest, heldout in splitter.split(np.zeros(n), y):
        try:
            train, valid = train_test_split(rest, test_size=valid_size, stratify=y[rest] if y is not None else None,
                                            random_state=seed)
        except ValueError:  # too few rows of a class for a stratified inner split
            train, valid = train_test_split(rest, test_size=valid_size, random_state=seed)
        out.append({"train": sorted(int(i) for i in train), "valid": sorted(int(i) for i in valid),
                    "heldout": sorted(int(i) for i in heldout)})
    return out


def cross_validate(
    config: Config,
    data: LabelledData,
    folds: int = 5,
    *,
    metric: str = "macro_f1",
    workers: int = 2,
    mode: Mode = "pool",
    on_result: Callable[[dict[str, Any]], None] | None = None,
    out_dir: str | Path | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Train one model per fold and return the held-out scores with their mean and sample std.

    Args:
        config: The config of every fold's model (``train.seed`` also seeds the folds).
        data: The split data (raw texts); train and valid are pooled.
        folds: K.
        metric: The headline score, one of the task's ``scores`` (all of them are recorded).
        workers: Processes (pool) or torch threads (sequential).
        mode: ``pool`` (one thread per process) or ``sequential``.
        on_result: Called with each finished fold's record.
        out_dir: Where finished folds are saved as they come (``cv.json``) and reused on a re-run.
        overwrite: Start afresh in ``out_dir`` (without it, saved folds of another config, data or K are refused).

    Returns:
        ``{"folds": [...], "mean": {metric: ...}, "std": {...}, "folds_reused", settings, timing}``.

    Raises:
        ConfigError: For a bad metric, fold count or parallel settings, or an ``out_dir`` holding the folds of
            another cross-validation (without ``overwrite``).
        DataError: If a class is too small for ``folds`` folds.
    """
    scores = task_scores(config.task, metric)
    threads = check_parallel(mode, workers)
    run_config, cleaned = clean_once(config, pooled(data))
    cleaned = get_task(config.task).pin_label_space(cleaned, config, "pool")  # every fold: the pool's outputs
    cleaned = replace(cleaned, info={**cleaned.info, "split_names": {"valid": "fold's valid", "test": "held-out fold"}})
    pool = cleaned.splits["pool"]
    stratum = get_task(config.task).stratum()
    keys = [stratum(y) for y in pool.labels] if stratum is not None else None
    rows = fold_rows(keys, len(pool), folds, config.train.seed, config.data.valid_size, data.source)
    spec = run_spec(config, data, folds=folds)
    partial = Path(out_dir) / "cv.json" if out_dir is not None else None
    records = saved_records(partial, spec, "folds", "cross-validation", overwrite)
    reused = {r["fold"] for r in records}
    cfg = run_config.model_copy(deep=True)
    cfg.train.threads = threads
    jobs = [{"key": k, "name": f"fold {k + 1}", "config": cfg.model_dump(mode="json"),
             "select": {"train": ["pool", r["train"]], "valid": ["pool", r["valid"]], "test": ["pool", r["heldout"]]}}
            for k, r in enumerate(rows) if k not in reused]

    def record(result: dict[str, Any]) -> None:
        held = result["metrics"]["test"]
        records.append({"fold": result["job"], "n_train": result["n_train"], "n_heldout": held["n"],
                        "epochs_run": result["epochs_run"], "best_epoch": result["best_epoch"],
                        "train_seconds": round(result["train_seconds"], 2),
                        **{k: held[k] for k in scores},
                        # a class without held-out texts in this fold has no recall (it read 0: "never found")
                        "per_class_recall": {c: v["recall"] for c, v in held.get("per_class", {}).items()
                                             if v.get("support", 1) > 0}})
        save_records(partial, spec, "folds", records)
        if on_result is not None:
            on_result(records[-1])

    start = time.perf_counter()
    run_jobs(jobs, cleaned, workers, mode, record)
    records.sort(key=lambda r: r["fold"])
    mean = {k: statistics.fmean(r[k] for r in records) for k in scores}
    std = {k: statistics.stdev([r[k] for r in records]) for k in scores}
    return {"source": data.source, "rows": len(cleaned.splits["pool"]), "k": folds, "metric": metric,
            "scores_note": get_task(config.task).scores_note, **run_facts(config), "mode": mode, "workers": workers, "wall_seconds": time.perf_counter() - start, "load_average": load_average(),
            "mean": mean, "std": std, "folds": records, "folds_reused": len(reused), "spec": spec}


def cv_markdown(report: dict[str, Any]) -> str:
    """One row per fold, then mean ± std."""
    keys = list(report["mean"])  # the metric first, then the task's other scores (aspects' macro_f1 is the flat one)
    keys = [k for k in keys if not (k == "flat_macro_f1" and report["mean"].get("macro_f1") == report["mean"][k])]
    lines = ["| fold | held-out texts | " + " | ".join(score_name(k) for k in keys) + " | epochs (best) |",
             "|---:|---:|" + "---:|" * len(keys) + "---:|"]
    for r in report["folds"]:
        lines.append(f"| {r['fold']} | {r['n_heldout']:,} | " + " | ".join(f"{r[k]:.4f}" for k in keys)
                     + f" | {r['epochs_run']} ({r['best_epoch']}) |")
    m, s = report["mean"], report["std"]
    cells = [f"{m[k]:.4f} ± {s[k]:.4f}" for k in keys]
    lines.append(f"| **mean ± std** | | **{cells[0]}** | " + " | ".join(cells[1:]) + " | |")
    if report.get("scores_note"):  # what accuracy means here (multi-label: subset accuracy), as compare says it
        lines += ["", report["scores_note"]]
    return "\n".join(lines + _recall_lines(report["folds"])) + "\n"


def _recall_lines(folds: list[dict[str, Any]]) -> list[str]:
    """Each class's held-out recall per fold (kept in cv.json alone: a fold whose model answered one class for
    every text scored a plausible accuracy, its zero recalls unseen), and which folds never found a class."""
    classes = list(dict.fromkeys(c for r in folds for c in r.get("per_class_recall") or {}))
    if not classes:
        return []
    lines = ["", "Recall per class on each held-out fold:", "",
             "| fold | " + " | ".join(classes) + " |", "|---:|" + "---:|" * len(classes)]
    for r in folds:
        recall = r.get("per_class_recall") or {}
        lines.append(f"| {r['fold']} | " + " | ".join(f"{recall[c]:.4f}" if c in recall else "" for c in classes) + " |")
    missed = [f"fold {r['fold']}: {', '.join(c for c in classes if (r.get('per_class_recall') or {}).get(c) == 0)}"
              for r in folds if 0 in (r.get("per_class_recall") or {}).values()]
    if missed:
        lines += ["", "Classes a fold's model never found (recall 0): " + "; ".join(missed) + "."]
    return lines


def write_cv(report: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """Write cv.json, cv.md and report.html to ``out_dir``."""
    from lstmtext.reports.html import markdown_table, table, write_page
    from lstmtext.utils.atomic import write_json, write_text

    out = Path(out_dir)
    markdown = cv_markdown(report)
    settings = [[k, report[k]] for k in ("source", "rows", "k", "model", "cleaning", "metric", "mode", "workers")
                if k in report]
    settings.append(["config (set away from the defaults)", ", ".join(f"{k}={v}" for k, v in
                                                                     report.get("config", {}).items()) or "none"])
    settings.append(["wall seconds", f"{report['wall_seconds']:.1f}"])
    parts = ["<h2>Settings</h2>", table(["setting", "value"], settings), "<h2>Folds</h2>", markdown_table(markdown)]
    return {"json": write_json(out / "cv.json", report), "markdown": write_text(out / "cv.md", markdown),
            "html": write_page(out / "report.html", f"lstmtext {report['k']}-fold cross-validation", parts)}
