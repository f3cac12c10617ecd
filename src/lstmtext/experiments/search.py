"""Hyperparameter search over any config keys, saved trial by trial in ``study.db`` so a re-run resumes it.

A grid (``--grid``) runs every combination with Optuna's ``GridSampler``; a sampled search (``--space``,
``--trials N``) uses the TPE sampler. Each trial trains on the training split and is scored on the
valid split (``metric``, macro-F1 by default); test scores are recorded beside it but never chosen on.
The same call again counts the COMPLETE trials and runs only the rest: trials left RUNNING by an
interrupted process are marked FAIL, and their grid points are queued again. One process per output
folder: a second search in the same folder while one runs would mark the other's trials failed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Any

from lstmtext.config import Config
from lstmtext.data import LabelledData
from lstmtext.data.dataset import fingerprint
from lstmtext.errors import ConfigError
from lstmtext.experiments.pool import (
    JobRunner,
    Mode,
    check_parallel,
    clean_once,
    failed_job_warnings,
    run_facts,
    score_job,
    show_warnings,
    task_scores,
    warn_afresh,
)
from lstmtext.experiments.space import Space, apply, suggest
from lstmtext.tasks import get_task
from lstmtext.utils.atomic import write_json
from lstmtext.utils.cores import load_average

log = logging.getLogger(__name__)

STUDY = "search"


def _grid_sampler_class() -> type:
    import optuna

    class _Grid(optuna.samplers.GridSampler):
        """Optuna's grid sampler; the loop here, not the sampler, decides when the grid is done."""

        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:  # noqa: D102
            return None  # GridSampler would call study.stop(), which only works inside study.optimize

    return _Grid


@contextlib.contextmanager
def study_storage(out: Path) -> Iterator[Any]:
    """The storage of ``out/study.db``; its database connections are closed on exit (Python 3.13 warns
    about sqlite connections left to the garbage collector)."""
    import optuna
    import sqlalchemy.exc

    out.mkdir(parents=True, exist_ok=True)
    try:
        storage = optuna.storages.RDBStorage(f"sqlite:///{out / 'study.db'}")
    except sqlalchemy.exc.DatabaseError as exc:  # "file is not a database": a damaged or foreign file (a traceback)
        raise ConfigError(f"{out / 'study.db'}: cannot read it as a search's study ({exc.orig}). Give another --out, "
                          "or pass --overwrite to start over.") from None
    try:
        yield storage
    finally:
        storage.engine.dispose()


def trial_records_of(out: Path) -> list[dict[str, Any]]:
    """Every trial stored in ``out/study.db``, as :func:`trial_records` reads them."""
    import optuna

    with study_storage(out) as storage:
        return trial_records(optuna.load_study(study_name=STUDY, storage=storage))


def open_study(out: Path, space: Space, metric: str, base: Config, seed: int, data_id: str = "",
               storage: Any = None) -> Any:
    """Create ``out/study.db`` or load it, checking that it holds this same search.

    Raises:
        ConfigError: If the folder's study searched other keys, values, metric, base config or data.
    """
    import optuna

    out.mkdir(parents=True, exist_ok=True)
    spec = json.dumps({"space": space.to_dict(), "metric": metric,
                       "base": base.model_dump(mode="json"), "data": data_id}, sort_keys=True)
    sampler = _grid_sampler_class()(space.grid, seed=seed) if space.grid else optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(storage=storage or f"sqlite:///{out / 'study.db'}", study_name=STUDY, sampler=sampler,
                                direction="maximize", load_if_exists=True)
    if not space.grid and study.get_trials(deepcopy=False):  # a resumed sampled search: the same seed would draw
        # the first session's points again (its startup trials are random), so it goes on from a seed of its own
        study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.get_trials(deepcopy=False)))
    stored = study.user_attrs.get("spec")
    if stored is None or not study.get_trials(deepcopy=False):  # a search refused before its first trial (a bad
        study.set_user_attr("spec", spec)  # value) had kept the folder from the corrected command
    elif _same_points(json.loads(stored)) != _same_points(json.loads(spec)):
        raise ConfigError(f"{out / 'study.db'}: this folder holds another search (other keys, values, metric, "
                          "base config or data contents, or one started by an older lstmtext). Give another --out, or "
                          "pass --overwrite to start over.")
    return study


def _same_points(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with each grid key's values in one order: a grid's points do not depend on the order they were
    listed in (a sampled space's choices stay as given: Optuna's categorical distribution is ordered). The data is
    its split sizes and contents: a study stored before 2026-12-07 began with the path as typed (``d.csv`` and
    ``./d.csv`` had been two searches)."""
    grid, data = spec["space"]["grid"], str(spec.get("data", ""))
    return {**spec, "space": {**spec["space"], "grid": {k: sorted(v, key=json.dumps) for k, v in grid.items()}},
            "data": data[data.find("{"):] if "{" in data else data}


def recover(study: Any, space: Space) -> int:
    """Mark trials an interrupted process left RUNNING as FAIL; queue grid points not yet COMPLETE again.

    Returns:
        How many trials are still to run for a grid (0 for a sampled search, whose count is the caller's).
    """
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        log.warning("trial %d was interrupted: marked FAIL", trial.number)
        study.tell(trial.number, state=TrialState.FAIL)
    if not space.grid:
        return 0
    keys = sorted(space.grid)
    done = {tuple(t.params[k] for k in keys) for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))}
    waiting = {tuple(t.system_attrs["fixed_params"][k] for k in keys)
               for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,))}
    points = _grid_points(space)
    if study.get_trials(deepcopy=False):  # a resumed grid: the sampler counts FAIL as visited, so queue them
        for point in points:
            if point not in done and point not in waiting:
                study.enqueue_trial(dict(zip(keys, point)))
    return sum(point not in done for point in points)


def _grid_points(space: Space) -> list[tuple[Any, ...]]:
    from itertools import product

    keys = sorted(space.grid)
    return list(product(*(space.grid[k] for k in keys)))


def search(
    config: Config,
    data: LabelledData,
    out_dir: str | Path,
    space: Space,
    *,
    trials: int | None = None,
    metric: str = "macro_f1",
    timeout: float | None = None,
    workers: int = 2,
    mode: Mode = "pool",
    seed: int = 0,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Run (or resume) a search and return its summary; trials are stored in ``out_dir/study.db``.

    Args:
        config: The base config every trial starts from (its cleaning is applied once, up front).
        data: The split data (raw texts).
        out_dir: Folder for ``study.db`` and the reports.
        space: What to vary (see :func:`lstmtext.experiments.space.parse_space`).
        trials: Trials in all for a sampled search (required); for a grid, at most this many points.
        metric: Valid-split score to maximise, one of the task's ``scores`` (macro_f1, accuracy, weighted_f1, ...).
        timeout: Seconds after which no new trial starts (running ones finish); None: no limit.
        workers: Processes (pool) or torch threads (sequential).
        mode: ``pool`` (one thread per process) or ``sequential``.
        seed: Seed of the sampler (each trial trains with ``config.train.seed``).
        on_result: Called with each finished trial's record.
        overwrite: Start afresh: an earlier study in ``out_dir`` (and its summary) is deleted, not resumed.

    Returns:
        ``{"ran", "complete", "failed", "wall_seconds", "best": record or None, "stopped_by_timeout"}`` with this
        call's facts (``source``, the model, ``mode``, ``workers``, ``threads_per_run``, ``load_average``). Stopped
        by Ctrl-C, the call's facts are added to ``search.json``'s sessions, and the interrupt goes on up.

    Raises:
        ConfigError: For an unknown metric, a missing ``trials``, bad parallel settings or another study in the folder.
    """
    task_scores(config.task, metric)
    if trials is not None and trials < 1 or timeout is not None and timeout <= 0:
        raise ConfigError(f"--trials must be at least 1 and --timeout above 0 seconds (or left out); got trials={trials}, "
                          f"timeout={timeout}.")
    if not space.grid and not trials:
        raise ConfigError("--space needs --trials N (how many points to sample in all).")
    threads = check_parallel(mode, workers)
    out = Path(out_dir)
    if overwrite:  # with SQLite's journal files: a stale journal would be replayed into the new study
        for name in ("study.db", "study.db-journal", "study.db-wal", "study.db-shm", "search.json"):
            (out / name).unlink(missing_ok=True)
    session = {"source": data.source, **run_facts(config), "mode": mode, "workers": workers, "threads_per_run": threads}
    finished = []

    def counted(record: dict[str, Any]) -> None:
        finished.append(record)
        if on_result is not None:
            on_result(record)

    start = time.perf_counter()
    with study_storage(out) as storage:
        try:
            summary = _search(config, data, out, space, trials, metric, timeout, workers, mode, seed, counted, storage,
                              threads)
        except KeyboardInterrupt:  # this session counts in the folder's totals too: its finished trials and its time
            if (out / "study.db").is_file():
                _keep_session(out, {**session, "ran": len(finished), "wall_seconds": round(time.perf_counter() - start, 2),
                                    "stopped_by_timeout": False, "load_average": load_average()})
            raise
    return {**session, **summary, "wall_seconds": round(summary["wall_seconds"], 2), "load_average": load_average()}


def _keep_session(out: Path, session: dict[str, Any]) -> None:
    """Add a stopped call's facts to ``search.json``; the earlier calls' summary (best, trials, ...) stays."""
    from lstmtext.experiments.search_report import with_sessions

    kept = out / "search.json"
    earlier = json.loads(kept.read_text(encoding="utf-8")) if kept.is_file() else {}
    write_json(kept, {**earlier, **with_sessions(out, session)})


def _search(config: Config, data: LabelledData, out: Path, space: Space, trials: int | None, metric: str,
            timeout: float | None, workers: int, mode: Mode, seed: int,
            on_result: Callable[[dict[str, Any]], None] | None, storage: Any, threads: int) -> dict[str, Any]:
    data_id = json.dumps({k: len(v) for k, v in data.splits.items()}) + " " + fingerprint(data.splits)
    study = open_study(out, space, metric, config, seed, data_id, storage)
    remaining = recover(study, space)
    earlier = {t.user_attrs.get("threads") for t in study.get_trials(deepcopy=False)} - {None, threads}
    if earlier:  # a resume in another --mode or with other --workers: the scores compare, the seconds do not
        log.warning("this search's earlier trials trained with %s thread(s) each and these train with %d "
                    "(--mode %s): their train seconds do not compare (results.csv has each trial's threads)",
                    ", ".join(map(str, sorted(earlier))), threads, mode)
    complete = _count_complete(study)
    if space.grid:
        remaining = min(remaining, max(0, (trials or remaining + complete) - complete))
    else:
        remaining = max(0, trials - complete)
    log.info("search: %d trials complete, %d to run", complete, remaining)
    run_config, cleaned = clean_once(config, data, searched=space.keys)
    get_task(run_config.task).from_data(cleaned, run_config)  # a data error stops here, not as every trial's failure
    start, ran, stopped = time.perf_counter(), 0, False
    warn_afresh()
    with JobRunner(score_job, cleaned, workers, mode) as runner:
        running: dict[Future, Any] = {}
        while remaining > 0 or running:
            # a sampled search asks a batch of trials at a time and waits for all of them: asked as each finished,
            # TPE drew from whichever had finished first, and the same seed gave other trials from the 15th on
            batch = space.grid or not running
            while batch and remaining > 0 and len(running) < runner.slots:
                if timeout is not None and time.perf_counter() - start > timeout:
                    stopped, remaining = True, 0
                    break
                trial = study.ask()
                trial.set_user_attr("threads", threads)  # each trial's own: a resume may run another --mode
                params = suggest(trial, space)
                job = {"key": trial.number, "config": apply(run_config, params, [f"train.threads={threads}"]
                                                            ).model_dump(mode="json")}
                running[runner.submit(job)] = (trial, params)
                remaining -= 1
            if not running:
                break
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
                trial, params = running.pop(future)
                record = _finish(study, trial, params, future, metric)
                ran += 1
                if on_result is not None:
                    on_result(record)
    return {"ran": ran, "complete": _count_complete(study), "failed": _count_failed(study),
            "wall_seconds": time.perf_counter() - start, "stopped_by_timeout": stopped,
            "best": best_record(study, metric)}


def _finish(study: Any, trial: Any, params: dict[str, Any], future: Future, metric: str) -> dict[str, Any]:
    from optuna.trial import TrialState

    try:
        result = future.result()
    except Exception as exc:  # noqa: BLE001 - one failed trial must not end the search; it is recorded
        failed_job_warnings(exc)
        log.warning("trial %d failed: %s", trial.number, exc)
        trial.set_user_attr("error", str(exc)[:500])
        study.tell(trial, state=TrialState.FAIL)
        return {"trial": trial.number, "params": params, "state": "FAIL", "error": str(exc)}
    show_warnings(result)
    attrs = {"epochs_run": result["epochs_run"], "best_epoch": result["best_epoch"],
             "train_seconds": round(result["train_seconds"], 2)}
    for split, m in result["metrics"].items():
        for key in task_scores(result["task"], metric):
            attrs[f"{split}_{key}"] = m[key]
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    study.tell(trial, result["metrics"]["valid"][metric])
    log.info("trial %d %s: valid %s %.4f", trial.number, params, metric, result["metrics"]["valid"][metric])
    return {"trial": trial.number, "params": params, "state": "COMPLETE", "value": result["metrics"]["valid"][metric],
            **attrs}


def _count_complete(study: Any) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def _count_failed(study: Any) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.FAIL,)))


def trial_records(study: Any) -> list[dict[str, Any]]:
    """Every trial of the study as a flat record: number, state, params, value and the recorded scores."""
    return [{"trial": t.number, "state": t.state.name, "params": dict(t.params), "value": t.value,
             **{k: v for k, v in t.user_attrs.items()}} for t in study.get_trials(deepcopy=False)]


def best_record(study: Any, metric: str) -> dict[str, Any] | None:
    """The COMPLETE trial with the highest valid ``metric`` (the earliest on ties), or None."""
    done = [r for r in trial_records(study) if r["state"] == "COMPLETE"]
    return max(done, key=lambda r: (r["value"], -r["trial"])) if done else None
