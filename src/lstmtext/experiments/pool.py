"""Run independent training runs on both cores: a process pool with one torch thread per process.

Every worker receives the data once (at start-up, not with each job) and a job names the rows it
trains and scores on, so a learning curve or a cross-validation sends index lists, not copies of the
texts. ``mode="sequential"`` runs the same jobs one after the other in this process with ``workers``
torch threads instead. On the shared 2-core machine the pool was faster (docs/experiments.md): two
threads on one small-batch run gain little, and under load they lose time waiting for each other.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from multiprocessing import active_children, get_context
from typing import Any, Literal

from lstmtext.config import Config
from lstmtext.data import LabelledData
from lstmtext.errors import ConfigError

log = logging.getLogger(__name__)
Mode = Literal["pool", "sequential"]
DEFAULT_MODE: Mode = "pool"
_WORKER_DATA: dict[str, Any] = {}


def _init_worker(data: Any, parent: int | None = None) -> None:
    _WORKER_DATA["data"] = data
    if parent is not None:
        _exit_with(parent)


def _exit_with(parent: int, every: float = 1.0) -> None:
    """End this worker when the process that started it is gone. A parent killed outright (``kill -9``, the
    out-of-memory killer) never shuts its pool down: its idle workers lived on, holding ~580 MB each, for good."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:  # an orphan is adopted by init (or a subreaper): its parent changes
            time.sleep(every)
        os._exit(1)  # noqa: SLF001  (no clean-up to run: the results have nowhere to go)

    threading.Thread(target=watch, name="lstmtext-parent-watch", daemon=True).start()


def shared_data() -> Any:
    """The data handed to this worker process by :func:`process_pool`."""
    return _WORKER_DATA["data"]


@contextmanager
def process_pool(workers: int, data: Any) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``workers`` fresh (spawned) processes, each holding ``data`` (see :func:`shared_data`).

    Idle OpenMP threads are told not to spin (``OMP_WAIT_POLICY=PASSIVE``) because the CPU is shared. If
    the block is left by an exception (Ctrl-C included), the pool's workers are stopped at once rather
    than left to finish their runs.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    before = set(active_children())
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker,
                               initargs=(data, os.getpid()))
    try:
        yield pool
    except BaseException:
        for child in set(active_children()) - before:
            child.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def run_facts(config: Config) -> dict[str, Any]:
    """What an experiment's report says it ran: the model (:func:`lstmtext.models.describe_model`: ``lstm`` alone
    was read as the one-directional preset for the ``default`` preset's BiLSTM), the cleaning, and the config keys
    set away from the defaults."""
    from lstmtext.config.diff import config_overrides
    from lstmtext.models import describe_model
    from lstmtext.pipeline.language_model import model_as_trained

    p = config.preprocess
    model = describe_model(model_as_trained(config))  # a language model's sizes, where the run starts from one
    cleaning = p.preset if p.steps is None else "steps " + ",".join(p.steps)
    return {"model": model, "cleaning": cleaning, "config": {k: v for k, v in config_overrides(config).items()
                                                               if not k.startswith(("train.threads", "train.seed"))}}


def seed_run(config: Config, run: int) -> Config:
    """Seed run ``run`` (0, 1, ...) of an experiment's seeds, in place: ``train.seed`` moved on by ``run`` (by
    ``run * n`` for an ensemble of n, so that no two runs share a member) and, where the run trains a language model
    (``train.pretrain`` or ``train.pretrained``), ``lm.seed`` by ``run``: every run's language model had been the
    same one, so the spread over seeds left its share out (:func:`~lstmtext.training.members.run_seed`)."""
    from lstmtext.pipeline.language_model import uses_lm
    from lstmtext.training.members import run_seed

    config.train.seed = run_seed(config.train.seed, run, config.model.ensemble)
    if uses_lm(config):
        config.lm.seed = run_seed(config.lm.seed, run)
    return config


#: The most runs per model or size: the jobs of every seed are built before the first one runs (100 million seeds
#: had taken 4.5 GB in 30 s and gone on growing), and a thousand already gives a mean's std to a thirtieth.
MAX_SEEDS = 1000


def check_seeds(seeds: int, command: str) -> None:
    """Refuse ``--seeds`` below 1 or above :data:`MAX_SEEDS`.

    Raises:
        ConfigError: Saying the range.
    """
    if not 1 <= seeds <= MAX_SEEDS:
        raise ConfigError(f"{command}: --seeds must be from 1 to {MAX_SEEDS:,} (runs per model or size). Got "
                          f"{seeds:,} instead.")


def check_parallel(mode: str, workers: int) -> int:
    """Validate ``mode``/``workers`` and return the torch threads each run gets (1 in a pool).

    Raises:
        ConfigError: If ``mode`` is not pool or sequential, or ``workers`` < 1.
    """
    if mode not in ("pool", "sequential") or workers < 1:
        raise ConfigError(f"--mode must be pool or sequential and --workers >= 1. Got mode={mode!r}, "
                          f"workers={workers} instead.")
    return 1 if mode == "pool" else workers


class JobRunner:
    """Submit jobs to a process pool or run them inline; either way ``submit`` returns a Future.

    Args:
        fn: A module-level function ``fn(job, data=None)``; in a worker it finds the data itself.
        data: The data every job reads.
        workers: Processes (pool) or torch threads (sequential; set by the caller in each config).
        mode: ``pool`` or ``sequential``.
    """

    def __init__(self, fn: Callable[..., Any], data: Any, workers: int, mode: Mode) -> None:
        self.fn, self.data, self.workers, self.mode = fn, data, workers, mode
        self._pool: ProcessPoolExecutor | None = None
        self._context: Any = None

    def __enter__(self) -> JobRunner:
        if self.mode == "pool":
            self._context = process_pool(self.workers, self.data)
            self._pool = self._context.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._context is not None:
            self._context.__exit__(*exc)

    @property
    def slots(self) -> int:
        """How many jobs may run at once."""
        return self.workers if self.mode == "pool" else 1

    def submit(self, job: dict[str, Any]) -> Future:
        """Start ``job``; inline mode runs it to the end before returning (KeyboardInterrupt propagates)."""
        if self._pool is not None:
            return self._pool.submit(self.fn, job)
        future: Future = Future()
        try:
            future.set_result(self.fn(job, self.data))
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future, as a pool would
            future.set_exception(exc)
        return future


def clean_once(config: Any, data: LabelledData, searched: Sequence[str] = ()) -> tuple[Any, LabelledData]:
    """Clean every text once with the config's chain; return a config that cleans nothing, and the cleaned data.

    Runs that differ only in the model or the training then share one cleaning (stemming is slow). When a
    ``preprocess.*`` key is among ``searched``, or the runs read unlabelled text (``data.unlabelled``, which
    each run cleans as it streams), every run must clean for itself, so nothing changes.
    """
    if any(key.startswith("preprocess.") for key in searched) or config.data.unlabelled:
        return config, data
    from lstmtext.preprocess import build_pipeline

    pipeline = build_pipeline(config)
    splits = {name: replace(s, texts=pipeline.clean_many(s.texts)) for name, s in data.splits.items()}
    run_config = config.model_copy(deep=True)
    run_config.preprocess.preset, run_config.preprocess.steps = "none", []
    # what the texts were cleaned with, for a language model's check (train.pretrained): the run's own chain is
    # empty now, which the check read as "this run's cleaning is none" and refused every run
    return run_config, replace(data, splits=splits, cleaned=config.preprocess.model_dump(mode="json"))


def select_rows(data: LabelledData, select: dict[str, Sequence[Any]] | None) -> LabelledData:
    """The splits a job asks for: ``{"train": ["train", [3, 9, ...]], "valid": ["valid", None]}``.

    Each entry names a source split and its row numbers (None: every row); without ``select`` the data
    is returned as it is.
    """
    if not select:
        return data
    splits = {name: data.splits[source] if rows is None else data.splits[source].take(rows)
              for name, (source, rows) in select.items()}
    return replace(data, splits=splits)


class _HeldBack(logging.Handler):
    """Hold the warnings a job logs back: they go to the parent with its result (:func:`show_warnings`), which
    shows each kind once per experiment. Printed where they arise, every pool worker showed its own copy of the
    same note ("the valid split holds 39 texts ...", once per worker), in a worker's bare format. Records below
    WARNING go on to the root logger's handlers as ever."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.held.append(record.getMessage())
        else:
            logging.getLogger().handle(record)


@contextmanager
def holding_warnings() -> Iterator[_HeldBack]:
    """While a job runs, the ``lstmtext`` loggers' warnings are held back (see :class:`_HeldBack`). A job that
    fails takes them along on its error (``held_warnings``, which crosses a process pool with it): they may say
    why, and the parent shows them (:func:`failed_job_warnings`) in its own format, not a pool worker's."""
    package, held = logging.getLogger("lstmtext"), _HeldBack()
    propagate = package.propagate
    package.addHandler(held)
    package.propagate = False
    try:
        yield held
    except Exception as error:
        error.held_warnings = held.held  # type: ignore[attr-defined]
        raise
    finally:
        package.removeHandler(held)
        package.propagate = propagate


def failed_job_warnings(error: BaseException, names: dict[str, str] | None = None) -> None:
    """Show the warnings a failed job held back (see :func:`holding_warnings`), before its error is reported;
    ``names`` as for :func:`show_warnings`."""
    show_warnings({"warnings": getattr(error, "held_warnings", ())}, names)


_SHOWN: set[str] = set()  # the kinds of data warning this experiment has shown (numbers left out)


def warn_afresh() -> None:
    """Start an experiment: each kind of data warning its jobs raise is shown once."""
    _SHOWN.clear()


def show_warnings(result: dict[str, Any], names: dict[str, str] | None = None) -> None:
    """Log the data warnings a job held back (``result["warnings"]``), each kind once per experiment: a fold's or
    trial's notes repeat for every job, differing only in their numbers. ``names``: paths the jobs read that the
    user knows by another name (a cleaned copy of their file), written as that name."""
    for message in result.get("warnings", ()):
        for path, name in (names or {}).items():
            message = message.replace(path, name)
        kind = re.sub(r"\d[\d,.]*", "#", message)
        if kind not in _SHOWN:
            _SHOWN.add(kind)
            log.warning("%s", message)


@contextmanager
def naming_the_run(name: str | None) -> Iterator[None]:
    """Prefix an lstmtext error raised inside with the run it stopped (``name``, e.g. ``fold 2`` or ``cnn seed 1``):
    a comparison stopped by one run's error (a diverged training, say) had not said which run."""
    from lstmtext.errors import LstmTextError

    try:
        yield
    except LstmTextError as exc:
        if not name:
            raise
        try:
            named = type(exc)(f"{name}: {exc}")
        except TypeError:  # an error class of other arguments: as it was
            raise exc from None
        named.__dict__.update(exc.__dict__)  # the warnings it held back (holding_warnings) go with it
        raise named from None


def score_job(job: dict[str, Any], data: LabelledData | None = None) -> dict[str, Any]:
    """Train ``job["config"]`` on the rows ``job["select"]`` names; return the metrics of valid and test.

    Returns:
        ``{"metrics": {split: the task's metrics}, "task", "epochs_run", "best_epoch", "train_seconds",
        "n_train", "job": job["key"]}``.
    """
    from lstmtext.config import Config
    from lstmtext.pipeline import run

    data = select_rows(data if data is not None else shared_data(), job.get("select"))
    with naming_the_run(job.get("name")), holding_warnings() as held:  # held: only while the job runs
        result = run(Config.model_validate(job["config"]), data, progress=False)
    out = {"job": job.get("key"), "task": result.task.name, "metrics": result.metrics, "epochs_run": len(result.history),
           "best_epoch": result.train.best_epoch, "train_seconds": result.train.total_seconds,
           "n_train": len(data.splits["train"]), "warnings": held.held}
    if job.get("proba"):  # the named split's probabilities, with the names of their columns
        out["proba"] = result.probabilities[job["proba"]]
        out["outputs"] = result.task.output_names()
    return out


def run_jobs(jobs: Sequence[dict[str, Any]], data: LabelledData, workers: int, mode: Mode,
             on_result: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Run every job with :func:`score_job` (pool or sequential) and return the results in job order.

    ``on_result`` is called with each result as it arrives (saving partial results is its business).
    """
    from concurrent.futures import as_completed

    warn_afresh()

    with JobRunner(score_job, data, workers, mode) as runner:
        futures = {}
        if mode == "pool":
            futures = {runner.submit(job): i for i, job in enumerate(jobs)}
            done = as_completed(futures)
        else:
            done = _inline(runner, jobs, futures)
        results: list[Any] = [None] * len(jobs)
        for future in done:
            try:
                results[futures[future]] = future.result()
            except Exception as error:
                failed_job_warnings(error)
                raise
            show_warnings(results[futures[future]])
            if on_result is not None:
                on_result(results[futures[future]])
    return results


def _inline(runner: JobRunner, jobs: Sequence[dict[str, Any]], futures: dict[Future, int]) -> Iterator[Future]:
    for i, job in enumerate(jobs):
        future = runner.submit(job)
        futures[future] = i
        yield future


def task_scores(task: str, metric: str) -> tuple[str, ...]:
    """The scores an experiment on ``task`` records, ``metric`` first (it ranks or summarises by it).

    Raises:
        ConfigError: If the task has no score ``metric``.
    """
    from lstmtext.tasks import get_task

    scores = get_task(task).scores
    if metric not in scores:
        raise ConfigError(f"--metric {metric!r}: not a score of --task {task}. Choose one of {', '.join(scores)}.")
    return (metric, *(k for k in scores if k != metric))


def score_name(key: str) -> str:
    """A score's column heading: ``macro_f1`` -> ``macro-F1``, ``mean_aspect_macro_f1`` -> ``mean aspect macro-F1``."""
    return key.replace("_f1", "-F1").replace("_", " ")
