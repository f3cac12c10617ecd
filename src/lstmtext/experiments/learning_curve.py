"""Learning curves: the score against the number of training texts, on nested stratified subsets, mean ± std over seeds.

For each seed the training rows are put in one stratified order (every prefix holds each class in
proportion, to within a text or two) and a subset of size n is the first n rows of that order, so the
500 subset lies inside the 1,000 one. Valid and test stay whole and the same for every run. Results
are saved after each run (``learning_curve.json``); the same call again skips the runs already there.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lstmtext.config import Config
from lstmtext.data import LabelledData
from lstmtext.errors import ConfigError, DataError
from lstmtext.experiments.pool import (
    Mode,
    check_parallel,
    check_seeds,
    clean_once,
    run_facts,
    run_jobs,
    seed_run,
    task_scores,
)
from lstmtext.experiments.resume import run_spec, save_records, saved_records
from lstmtext.tasks import get_task
from lstmtext.training.members import run_seed
from lstmtext.utils.atomic import write_json
from lstmtext.utils.cores import load_average


def stratified_order(labels: Sequence[Any], seed: int) -> list[int]:
    """Row numbers in an order whose every prefix is stratified (each class within a row or two of its share: a
    prefix ends at a key, where each class is within one row of the key's rate, which is near its share).

    Each class's rows are shuffled; the i-th of a class with ``n_c`` rows gets the key ``(i + u) / n_c``
    (``u`` uniform in [0, 1)) and rows are sorted by key, so the classes are interleaved at their rates.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    keys = np.empty(len(labels))
    for cls in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == cls))
        keys[rows] = (np.arange(len(rows)) + rng.random(len(rows))) / len(rows)
    return [int(i) for i in np.argsort(keys, kind="stable")]


def fewest_rows(labels: Sequence[Any], seed: int) -> int:
    """The smallest size whose :func:`stratified_order` rows hold every class of ``labels``."""
    first: dict[Any, int] = {}  # each class's first place in the order
    for place, i in enumerate(stratified_order(labels, seed)):
        first.setdefault(labels[i], place)
    return max(first.values()) + 1


def nested_subsets(labels: Sequence[Any] | None, sizes: Sequence[int], seed: int, n: int | None = None,
                   seeds: Sequence[int] = ()) -> dict[int, list[int]]:
    """``{size: row numbers}``: the first ``size`` rows of :func:`stratified_order` (so each lies in the next).

    ``labels`` are each row's stratum; None (``n`` rows without strata) orders the rows at random. ``seeds``: every
    seed of the curve, so that the size advised when the smallest leaves a class out holds every class in each.

    Raises:
        ConfigError: If a size is below 1 or above the number of rows.
        DataError: If the smallest size leaves a class out.
    """
    total = len(labels) if labels is not None else int(n or 0)
    if not sizes or min(sizes) < 1 or max(sizes) > total:
        raise ConfigError(f"--sizes must be between 1 and the {total:,} training rows. Got {list(sizes)} instead.")
    if labels is None:
        order = [int(i) for i in np.random.default_rng(seed).permutation(total)]
        return {size: order[:size] for size in sorted(set(sizes))}
    order = stratified_order(labels, seed)
    subsets = {n: order[:n] for n in sorted(set(sizes))}
    classes = set(labels)
    smallest = min(subsets)
    missing = classes - {labels[i] for i in subsets[smallest]}
    if missing:
        fewest = max(fewest_rows(labels, s) for s in {seed, *seeds})  # enough for every seed's order, not this one's
        raise DataError(f"--sizes {smallest}: the first {smallest} training rows leave out class "
                        f"{sorted(missing)[0]!r}. Start the sizes at {fewest} or more, the fewest rows that hold every "
                        "class for each seed.")
    return subsets


def training_sizes(sizes: Sequence[int | float], n_train: int) -> list[int]:
    """``sizes`` as counts of training texts, sorted, once each: a float is a share of the ``n_train`` training
    texts, in (0, 1] (scikit-learn's ``train_sizes``), an int a count.

    Raises:
        ConfigError: For a share outside (0, 1].
    """
    if bad := [v for v in sizes if isinstance(v, float) and not 0 < v <= 1]:
        raise ConfigError(f"--sizes: a share of the training split is in (0, 1]; got {bad[0]}. Give counts as whole "
                          "numbers (500).")
    return sorted({max(1, round(v * n_train)) if isinstance(v, float) else int(v) for v in sizes})


def learning_curve(
    config: Config,
    data: LabelledData,
    sizes: Sequence[int | float],
    seeds: int = 3,
    *,
    metric: str = "macro_f1",
    workers: int = 2,
    mode: Mode = "pool",
    out_dir: str | Path | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Train on nested stratified subsets of the training split (``seeds`` per size); return the report.

    Args:
        config: The config of every run; run ``i`` uses seed ``train.seed + i`` (``n i`` for an ensemble of n) for both
            the subset order and training, and ``lm.seed + i`` for a language model it trains.
        data: The split data (raw texts); valid and test are used whole.
        sizes: Training-set sizes: counts (500), or shares of the training split (0.1, ..., 1.0).
        seeds: Runs per size.
        metric: Score to summarise, one of the task's ``scores`` (macro_f1 by default; all are recorded).
        workers: Processes (pool) or torch threads (sequential).
        mode: ``pool`` (one thread per process) or ``sequential``.
        out_dir: Where partial results are saved as they come (``learning_curve.json``) and reused on a re-run.
        on_result: Called with each finished run's record.
        overwrite: Start afresh in ``out_dir`` (without it, a curve of another config or data is refused).

    Returns:
        ``{"runs": [...], "summary": [{"size", "<split>_<metric>_mean", ..._std}], "eval_split", settings, timing}``.

    Raises:
        ConfigError: For bad sizes, seeds, metric or parallel settings.
    """
    scores = task_scores(config.task, metric)
    sizes = training_sizes(sizes, len(data.splits["train"]))
    check_seeds(seeds, "learning-curve")
    threads = check_parallel(mode, workers)
    eval_split = "test" if "test" in data.splits else "valid"
    run_config, cleaned = clean_once(config, data)
    cleaned = get_task(config.task).pin_label_space(cleaned, config, "train")  # every size: the same outputs
    stratum = get_task(config.task).stratum()
    train = cleaned.splits["train"]
    strata = [stratum(y) for y in train.labels] if stratum is not None else None
    every_seed = [run_seed(config.train.seed, i, config.model.ensemble) for i in range(seeds)]  # as seed_run sets them
    # drawn first: a size too small for a class is refused before --overwrite removes the saved runs
    subsets = {seed: nested_subsets(strata, sizes, seed, len(train), every_seed) for seed in every_seed}
    spec = run_spec(config, data)
    partial = Path(out_dir) / "learning_curve.json" if out_dir is not None else None
    # every saved run is kept, also those of sizes or seeds not asked now
    runs = saved_records(partial, spec, "runs", "learning curve", overwrite)
    saved = {(r["size"], r["seed"]) for r in runs}
    jobs = []
    for run, seed in enumerate(every_seed):
        cfg = seed_run(run_config.model_copy(deep=True), run)
        cfg.train.threads = threads
        for size, rows in subsets[seed].items():
            if (size, seed) not in saved:
                jobs.append({"key": [size, seed], "name": f"{size:,} texts, seed {seed}", "config": cfg.model_dump(mode="json"),
                             "select": {"train": ["train", rows], "valid": ["valid", None],
                                        **({"test": ["test", None]} if "test" in data.splits else {})}})
    start = time.perf_counter()

    def record(result: dict[str, Any]) -> None:
        size, seed = result["job"]
        runs.append({"size": size, "seed": seed, "n_train": result["n_train"], "epochs_run": result["epochs_run"],
                     "best_epoch": result["best_epoch"], "train_seconds": round(result["train_seconds"], 2),
                     "threads": threads,  # a run reused by a later command of other --workers/--mode says its own
                     **{f"{s}_{k}": m[k] for s, m in result["metrics"].items() for k in scores}})
        save_records(partial, spec, "runs", runs)
        if on_result is not None:
            on_result(runs[-1])

    run_jobs(jobs, cleaned, workers, mode, record)
    runs.sort(key=lambda r: (r["size"], r["seed"]))
    wanted = [r for r in runs if r["size"] in set(sizes) and r["seed"] in set(every_seed)]
    return {"source": data.source, "eval_split": eval_split, "metric": metric, "sizes": sorted(set(sizes)),
            "scores_note": get_task(config.task).scores_note,  # what accuracy means here (multi-label: subset)
            "seeds": seeds, **run_facts(config), "mode": mode, "workers": workers,
            "wall_seconds": time.perf_counter() - start, "load_average": load_average(),
            "runs_reused": sum((r["size"], r["seed"]) in saved for r in wanted),
            "split_sizes": spec["split_sizes"], "summary": summarize(wanted), "runs": wanted, "spec": spec,
            "saved_runs": runs}


def summarize(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and sample std (0 for one run) per size of every recorded score, plus the mean train seconds."""
    out = []
    for size in sorted({r["size"] for r in runs}):
        rows = [r for r in runs if r["size"] == size]
        entry: dict[str, Any] = {"size": size, "runs": len(rows),
                                 "train_seconds_mean": statistics.fmean(r["train_seconds"] for r in rows)}
        for key in [k for k in rows[0] if k.startswith(("valid_", "test_"))]:
            values = [float(r[key]) for r in rows]
            entry[f"{key}_mean"] = statistics.fmean(values)
            entry[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        out.append(entry)
    return out


def curve_markdown(report: dict[str, Any], reference: dict[int, float] | None = None) -> str:
    """The curve as a Markdown table like the paper's (size, then mean ± std), optionally beside reference values."""
    split, metric = report["eval_split"], report["metric"]
    also_valid = split != "valid"  # scored on valid (no test split): its column would be shown twice
    head = ["training texts", f"{split} {metric} (mean ± std)", *([f"valid {metric}"] if also_valid else []),
            f"{split} accuracy", "runs", "train s (mean)"] + (["reference"] if reference else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for s in report["summary"]:
        spread = f" ± {s[f'{split}_{metric}_std']:.4f}" if s["runs"] > 1 else ""  # one run has no spread to show
        cells = [f"{s['size']:,}", f"{s[f'{split}_{metric}_mean']:.4f}{spread}",
                 *([f"{s[f'valid_{metric}_mean']:.4f}"] if also_valid else []), f"{s[f'{split}_accuracy_mean']:.4f}",
                 str(s["runs"]), f"{s['train_seconds_mean']:.0f}"]
        if reference:
            cells.append(f"{reference[s['size']]:.4f}" if s["size"] in reference else "")
        lines.append("| " + " | ".join(cells) + " |")
    if report.get("scores_note"):  # as compare's table says it
        lines += ["", report["scores_note"]]
    return "\n".join(lines) + "\n"


def plot_curve(report: dict[str, Any], reference: dict[int, float] | None = None) -> bytes:
    """The eval-split metric against the training-set size, mean with ± std error bars (and the reference)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lstmtext.reports.html import figure_png

    split, metric = report["eval_split"], report["metric"]
    summary = report["summary"]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    xs = [s["size"] for s in summary]
    for part, style in ((split, "o-"), ("valid", "s--"))[: 1 if split == "valid" else 2]:  # no test: valid once
        ax.errorbar(xs, [s[f"{part}_{metric}_mean"] for s in summary], yerr=[s[f"{part}_{metric}_std"] for s in summary],
                    fmt=style, capsize=3, label=f"{part} (mean ± std, {report['seeds']} seeds)")
    if reference:
        ax.plot(list(reference), list(reference.values()), "x:", color="grey", label="reference")
    ax.set_xlabel("training texts")
    ax.set_ylabel(metric.replace("_", "-"))
    ax.set_title(f"{report['model']}: learning curve")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return figure_png(fig, dpi=110)


def write_learning_curve(report: dict[str, Any], out_dir: str | Path,
                         reference: dict[int, float] | None = None) -> dict[str, Path]:
    """Write learning_curve.json, .md, .csv and .png and report.html to ``out_dir``."""
    import csv
    import io

    from lstmtext.reports.html import image, markdown_table, table, write_page
    from lstmtext.utils.atomic import atomic_path, write_text

    out = Path(out_dir)
    png = plot_curve(report, reference)
    with atomic_path(out / "learning_curve.png") as tmp:
        tmp.write_bytes(png)
    keys = list(dict.fromkeys(k for r in report["runs"] for k in r))  # runs saved by an older lstmtext lack some
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys, restval="")
    writer.writeheader()
    writer.writerows(report["runs"])
    markdown = curve_markdown(report, reference)
    settings = [[k, report[k] if isinstance(report[k], (int, str)) else str(report[k])]
                for k in ("source", "model", "cleaning", "eval_split", "metric", "sizes", "seeds", "mode", "workers",
                          "runs_reused") if k in report]
    settings.append(["config (set away from the defaults)", ", ".join(f"{k}={v}" for k, v in
                                                                     report.get("config", {}).items()) or "none"])
    settings.append(["wall seconds", f"{report['wall_seconds']:.1f}"])
    parts = ["<h2>Settings</h2>", table(["setting", "value"], settings), "<h2>Curve</h2>", image(png, "learning curve"),
             "<h2>Summary</h2>", markdown_table(markdown), "<h2>Every run</h2>",
             table(keys, [[r.get(k, "") for k in keys] for r in report["runs"]])]
    kept = report.get("saved_runs", report["runs"])  # the runs of other sizes or seeds too, for a later command
    facts = {k: report[k] for k in ("model", "cleaning", "config") if k in report}
    return {"json": write_json(out / "learning_curve.json", {"spec": report["spec"], **facts, "runs": kept,
                                                             "summary": report["summary"]}),
            "markdown": write_text(out / "learning_curve.md", markdown), "csv": write_text(out / "learning_curve.csv",
                                                                                        buf.getvalue()),
            "chart": out / "learning_curve.png",
            "html": write_page(out / "report.html", f"lstmtext learning curve: {report['model']}", parts)}
