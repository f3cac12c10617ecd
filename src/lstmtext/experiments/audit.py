"""``lstmtext audit``: rank the rows most likely to be mislabelled, from out-of-fold probabilities.

Train and valid are pooled and cut into k folds (stratified where the task has strata, as ``cv`` does);
each fold is scored by a model trained on the others, so every row gets probabilities from a model that
never saw it. :func:`lstmtext.tasks.quality.label_issues` then finds the suspects (confident learning) and
ranks them; ``audit.csv`` and ``report.html`` list each with its given and suggested label. Each fold's
probabilities are saved as they come (``audit.json``): the same call again trains only the folds not there.
"""

from __future__ import annotations

import csv
import html
import io
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from lstmtext.config import Config
from lstmtext.data import LabelledData
from lstmtext.data.lines import row_of
from lstmtext.experiments.cv import fold_rows, pooled
from lstmtext.experiments.pool import Mode, check_parallel, clean_once, run_jobs
from lstmtext.experiments.resume import run_spec, save_records, saved_records
from lstmtext.reports.html import table, write_page
from lstmtext.tasks import get_task
from lstmtext.tasks.quality import label_issues
from lstmtext.utils.atomic import write_json, write_text


def audit(config: Config, data: LabelledData, folds: int = 5, *, workers: int = 2, mode: Mode = "pool",
          tfidf: bool = True, on_result: Callable[[dict[str, Any]], None] | None = None,
          out_dir: str | Path | None = None, overwrite: bool = False) -> dict[str, Any]:
    """Out-of-fold probabilities of every train/valid row, and the suspect labels among them.

    With ``out_dir`` each fold's probabilities are saved there as they come (``audit.json``) and reused by the
    same call again; ``overwrite`` starts afresh (without it, a file of another audit is refused).

    With ``tfidf`` the probabilities are the mean of the preset's and those of TF-IDF + logistic regression
    trained on the same folds (``C`` on each fold's valid rows): two models that err differently. With 5% of the
    labels flipped, the share of flipped ones among the top k rows went from 0.515 to 0.535 on the airline
    tweets and from 0.685 to 0.704 on IndoNLU SmSA (``studies/audit_flipped.py``).

    Raises:
        DataError: If a class has fewer rows than ``folds``. ConfigError: For bad parallel settings, or an
            ``out_dir`` holding another audit (without ``overwrite``).
    """
    threads = check_parallel(mode, workers)
    run_config, cleaned = clean_once(config, pooled(data))
    cleaned = get_task(config.task).pin_label_space(cleaned, config, "pool")  # every fold: the pool's outputs
    cleaned = replace(cleaned, info={**cleaned.info, "split_names": {"valid": "fold's valid", "test": "held-out fold"}})
    pool = cleaned.splits["pool"]
    task = get_task(config.task).from_data(LabelledData({"train": pool}, data.source, info=cleaned.info), config)
    stratum = get_task(config.task).stratum()
    rows = fold_rows([stratum(y) for y in pool.labels] if stratum else None, len(pool), folds, config.train.seed,
                     config.data.valid_size, data.source)
    spec = run_spec(config, data, folds=folds)
    partial = Path(out_dir) / "audit.json" if out_dir is not None else None
    saved = saved_records(partial, spec, "fold_probabilities", "audit", overwrite)
    names = task.output_names()
    proba = np.zeros((len(pool), len(names)), dtype=np.float32)

    def fill(fold: dict[str, Any]) -> None:
        columns = [names.index(n) for n in fold["outputs"]]  # a fold's label space may lack a rare label
        proba[np.ix_(rows[fold["fold"]]["heldout"], columns)] = np.asarray(fold["proba"], dtype=np.float32)

    for fold in saved:
        fill(fold)
    reused = {fold["fold"] for fold in saved}
    cfg = run_config.model_copy(deep=True)
    cfg.train.threads = threads
    jobs = [{"key": k, "name": f"fold {k + 1}", "config": cfg.model_dump(mode="json"), "proba": "test",
             "select": {"train": ["pool", r["train"]], "valid": ["pool", r["valid"]], "test": ["pool", r["heldout"]]}}
            for k, r in enumerate(rows) if k not in reused]
    start = time.perf_counter()

    def record(result: dict[str, Any]) -> None:
        # float32 values as JSON numbers read back exactly: a resumed audit ranks as an uninterrupted one
        saved.append({"fold": result["job"], "heldout": rows[result["job"]]["heldout"], "outputs": list(result["outputs"]),
                      "proba": np.asarray(result["proba"], dtype=np.float32).tolist(),
                      "train_seconds": round(result["train_seconds"], 2)})
        fill(saved[-1])
        save_records(partial, spec, "fold_probabilities", saved)
        if on_result is not None:
            on_result({"fold": result["job"], "train_seconds": result["train_seconds"]})

    run_jobs(jobs, cleaned, workers, mode, record)
    saved.sort(key=lambda fold: fold["fold"])
    targets = task.targets(pool.labels)
    majority = task.headline(task.metrics(targets, _majority(targets, proba, task)))  # what a model must beat for
    chance = task.headline(task.metrics(targets, _shuffled(targets, proba, task)))  # its suspects to mean anything
    members = {config.model.name: proba}
    if tfidf:
        members["tfidf_logreg"] = _tfidf_out_of_fold(pool, task, rows, config.train.seed)
    alone = {k: task.headline(task.metrics(targets, p)) for k, p in members.items()}
    floor = max(majority["macro_f1"], chance["macro_f1"])
    # a member at the floor learnt nothing: averaged in, it only blurs the other's ranking (tweets, 2 epochs: the
    # network at the floor, the mean 0.414 against 0.499 for TF-IDF alone), so it is left out, and said so
    used = members_used(alone, floor)
    left_out = [k for k in members if k not in used]
    proba = np.mean([members[k] for k in used], axis=0).astype(np.float32)
    issues = label_issues(proba, targets, task.layout, names, task.group_names())
    scores = task.headline(task.metrics(targets, proba))
    original = pooled(data).splits["pool"]
    for issue in issues:
        i = issue["row"]
        # in a long aspect file, the row of the suspect aspect's label (the text's first row held another aspect's)
        issue.update(text=original.texts[i], where=row_of(original.rows[i], issue.get("field")) if original.rows
                     else f"row {i}")
    return {"source": data.source, "rows": len(pool), "folds": folds, "model": config.model.name,
            "task": config.task, "wall_seconds": time.perf_counter() - start, "issues": issues,
            "out_of_fold": scores, "scored_by": " + ".join(used) + (" (mean)" if len(used) > 1 else ""),
            "out_of_fold_alone": alone if tfidf else None, "left_out": left_out,
            "proba_alone": members, "folds_reused": len(reused), "spec": spec, "fold_probabilities": saved,
            "majority": majority, "chance": chance, "proba": proba, "targets": targets}


def members_used(alone: dict[str, dict[str, float]], floor: float) -> list[str]:
    """The members whose out-of-fold macro-F1 (``alone``) is at least :data:`WEAK_MARGIN` above ``floor``; when none
    is, the best one alone (a member at 0.0 averaged with one at 0.16 only blurred the better one's ranking)."""
    used = [k for k, s in alone.items() if s["macro_f1"] - floor >= WEAK_MARGIN]
    return used or [max(alone, key=lambda k: alone[k]["macro_f1"])]


def _tfidf_out_of_fold(pool: Any, task: Any, rows: list[dict[str, list[int]]], seed: int) -> np.ndarray:
    """TF-IDF + logistic regression's probabilities of every row from the fold that held it out."""
    from lstmtext.experiments.baselines import fit_tfidf_logreg

    out = np.zeros((len(pool), task.layout.total))
    for r in rows:
        fold = LabelledData({"train": pool.take(r["train"]), "valid": pool.take(r["valid"])}, "fold")
        proba, _, _ = fit_tfidf_logreg(fold, task, seed=seed)
        out[r["heldout"]] = proba([pool.texts[i] for i in r["heldout"]])
    return out.astype(np.float32)


def _majority(targets: np.ndarray, proba: np.ndarray, task: Any) -> np.ndarray:
    """Probabilities that always answer each output's most frequent training value (the floor a model must beat)."""
    if task.layout.activation == "sigmoid":
        return np.broadcast_to((targets.mean(0) >= 0.5).astype(np.float32), proba.shape).copy()
    out = np.zeros_like(proba)
    columns = targets.reshape(len(targets), -1)
    for j, s in enumerate(task.layout.slices()):
        out[:, s.start + int(np.bincount(columns[:, j].astype(int), minlength=s.stop - s.start).argmax())] = 1.0
    return out


def _shuffled(targets: np.ndarray, proba: np.ndarray, task: Any) -> np.ndarray:
    """Probabilities that answer another row's label (a fixed shuffle): guessing with the label frequencies, the
    chance level (on k balanced classes it scores macro-F1 near 1/k; always the majority scores 2 / (k (k + 1)))."""
    rows = np.random.default_rng(0).permutation(len(targets))
    if task.layout.activation == "sigmoid":
        return targets[rows].astype(np.float32)
    out = np.zeros_like(proba)
    columns = targets.reshape(len(targets), -1)[rows].astype(int)
    for j, s in enumerate(task.layout.slices()):
        out[np.arange(len(targets)), s.start + columns[:, j]] = 1.0
    return out


#: A model within this much macro-F1 of the higher floor (the majority label, guessing with the frequencies) is weak.
WEAK_MARGIN = 0.05


def weak_model(report: dict[str, Any]) -> list[str]:
    """Warnings: a member left out of the mean for scoring at the floor, and the out-of-fold model's own macro-F1
    within :data:`WEAK_MARGIN` of always answering the majority or of guessing with the label frequencies,
    whichever scores higher."""
    floors = {"always answering the most frequent label": report["majority"]["macro_f1"],
              "guessing with the labels' frequencies": report.get("chance", {}).get("macro_f1", 0.0)}
    what, floor = max(floors.items(), key=lambda item: item[1])

    def than(got: float) -> str:
        shown, at = round(got, 4), round(floor, 4)  # as printed: never "0.3333, below 0.3333"
        word = "hardly above" if shown > at else "not above" if shown == at else "below"
        return f"macro-F1 {got:.4f}, {word} {floor:.4f} for {what}"

    fix = {"tfidf_logreg": "It needs more labelled rows; --no-tfidf leaves it out from the start."}
    out = [f"{name} alone scores {than(report['out_of_fold_alone'][name]['macro_f1'])}, so it was left out of the mean "
           f"(the suspects are {report['scored_by']}'s). "
           + fix.get(name, "Train it longer or with a stronger preset.") for name in report.get("left_out") or []]
    got = report["out_of_fold"]["macro_f1"]
    if got - floor < WEAK_MARGIN:
        out.append(f"the out-of-fold model scores {than(got)}: its suspects are mostly its own mistakes. Train it longer "
                   "or with a stronger preset.")
    return out


def _shown(value: Any) -> str:
    """A setting's value for the report's table: scores to 4 places, seconds to 1."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_shown(v)}" if isinstance(v, dict) else f"{k} {_shown(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return str(value)


def write_audit(report: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """Write ``audit.csv`` (every suspect, most likely wrong first), ``audit.json`` (also each fold's out-of-fold
    probabilities: ``proba`` in its ``outputs`` order, one row per ``heldout`` row of train + valid pooled) and
    ``report.html``."""
    out = Path(out_dir)
    keys = ["rank", "where", "field", "given", "suggested", "p_given", "p_suggested", "text"]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(keys)
    rows = [[k + 1, r["where"], r["field"], r["given"], r["suggested"], round(r["p_given"], 4),
             round(r["p_suggested"], 4), r["text"]] for k, r in enumerate(report["issues"])]
    writer.writerows(rows)
    summary = {k: report[k] for k in ("source", "rows", "folds", "model", "scored_by", "task", "wall_seconds",
                                      "out_of_fold", "out_of_fold_alone", "left_out", "majority", "chance") if k in report}
    summary["warnings"] = weak_model(report)
    shown = [[k, f"{v:.1f}" if k == "wall_seconds" else _shown(v)] for k, v in summary.items() if k != "warnings"]
    parts = ["<h2>Settings</h2>", table(["setting", "value"], shown),
             *[f"<p><b>Warning:</b> {html.escape(w)}</p>" for w in summary["warnings"]],
             f"<h2>{len(rows):,} suspect labels, most likely wrong first</h2>",
             "<p>Each row was scored by models trained on the other folds. Confident learning counts the suspects (a "
             "label is suspect when another label reaches the mean probability the models give that label on its own "
             "rows); the rows whose given label is least probable are listed, lowest first.</p>",
             table(keys, rows[:500])]
    return {"csv": write_text(out / "audit.csv", buf.getvalue()),
            # with each fold's probabilities and the settings: the same command again reuses them
            "json": write_json(out / "audit.json", {**summary, "issues": report["issues"], "spec": report["spec"],
                                                    "fold_probabilities": report["fold_probabilities"]}),
            "html": write_page(out / "report.html", f"lstmtext audit: {report['source']}", parts)}
