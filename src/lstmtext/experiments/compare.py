"""Compare architectures on one split with one cleaning: every model with every seed, plus a TF-IDF baseline.

The texts are cleaned once (``preprocess``) and every model reads the cleaned texts with an empty cleaning
chain, so the models differ only in what their presets say about the vocabulary, the network and the
training. Scores are on the test split when the data has one, otherwise on valid (recorded as
``eval_split``). Every task works the same way (``base``, e.g. ``{"task": "absa"}``, sets it for every
model): the baseline fits what the task's outputs need (one logistic regression per aspect, or one per
label), and the scores are the task's headline figures (IndoNLU's flattened ones for aspects; subset
accuracy and micro-F1 for multi-label). Runs go to a pool of processes with one torch thread each
(``mode="pool"``) or run one after the other with every core (``mode="sequential"``); on 2 cores the pool
was faster (docs/compare.md).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import as_completed
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from lstmtext.config import Config, PreprocessConfig, build_config, parse_override
from lstmtext.data import LabelledData
from lstmtext.data.dataset import fingerprint
from lstmtext.errors import ConfigError, DataError
from lstmtext.experiments.pool import (
    check_parallel,
    check_seeds,
    failed_job_warnings,
    holding_warnings,
    naming_the_run,
    process_pool,
    seed_run,
    shared_data,
    show_warnings,
    warn_afresh,
)
from lstmtext.experiments.resume import without_threads
from lstmtext.tasks import get_task
from lstmtext.training.lm_bundle import lm_identity
from lstmtext.utils.atomic import file_sha256, write_json
from lstmtext.utils.cores import load_average, usable_cores

log = logging.getLogger(__name__)

Mode = Literal["pool", "sequential"]
DEFAULT_MODE: Mode = "pool"
BASELINE = "tfidf_logreg"


def model_config(entry: str, seed: int, threads: int, overrides: Sequence[str] = (),
                 extra: dict[str, Any] | None = None) -> Config:
    """The config of one run: the preset named ``entry``, or else ``default`` with ``model.name = entry``.

    The cleaning chain is emptied (texts arrive cleaned), the seed and the thread count are set, ``extra``
    (a nested dict, e.g. ``{"task": "absa"}``) is merged, then ``overrides`` (``section.key=value``) apply,
    then the entry's own overrides: ``"bilstm:model.embedding.kind=\"random\":train.lr=0.002"`` is the
    ``bilstm`` preset with two changes, so variants of one preset can be compared side by side.

    Raises:
        ConfigError: If ``entry`` is neither a preset nor a registered architecture, or an override is invalid.
    """
    from lstmtext.config.presets import MODEL_PRESETS
    from lstmtext.models import available_models

    fixed = ['preprocess.preset="none"', "preprocess.steps=[]", "train.seed=0", f"train.threads={threads}"]
    name, *own = entry.split(":")
    keys = []
    for item in own:
        if "=" not in item:
            raise ConfigError(f"--models: {entry!r}: {item!r} is not key=value. Write PRESET:section.key=value, e.g. "
                              "bilstm:model.hidden_size=64.")
        keys.append(item.split("=", 1)[0].strip())
    twice = next((key for key in keys if keys.count(key) > 1), None)
    if twice is not None:  # the last would win, and the run's name say both
        raise ConfigError(f"--models: {entry!r} sets {twice} twice. Give each key once per variant.")
    for key in keys:  # compare decides these for every run: a variant's would be dropped, its name still saying it
        owned = _owner(key)
        if owned:
            raise ConfigError(f"--models: {entry!r} sets {key}, which compare sets for every run: {owned}.")
    if name not in MODEL_PRESETS and name not in available_models():
        raise ConfigError(f"--models: {name!r} is neither a model preset nor an architecture. Presets: "
                          f"{', '.join(sorted(MODEL_PRESETS))}; architectures: {', '.join(available_models())}.")
    preset, first = (name, []) if name in MODEL_PRESETS else ("default", [f'model.name="{name}"'])
    built = build_config(preset, overrides=[*first, *fixed, *overrides], extra=extra)
    try:
        config = seed_run(build_config(None, overrides=own, extra=built.model_dump(mode="json")), seed)
    except ConfigError as exc:  # name the entry: its own key=value pairs are not --set ones
        raise ConfigError(f"--models: {entry!r}: {str(exc).replace('--set ', '', 1)}") from None
    from lstmtext.models import ignored_settings

    idle = next((key for key in keys if key.startswith("model.")
                 and key.removeprefix("model.").split(".")[0] in ignored_settings(config.model.name)), None)
    if idle:  # the variant would be the preset under another name
        raise ConfigError(f"--models: {entry!r} sets {idle}, which the {config.model.name!r} architecture does not read: "
                          "the variant would be the same model. Vary a key it reads (lstmtext models lists them).")
    named = {".".join(parse_override(item)[0]) for item in overrides} | set(keys)
    if config.train.pretrained and not any(k == "model.embedding" or k.startswith("model.embedding.") for k in named):
        config.model.embedding.kind = "random"  # as train --pretrained: the language model's weights replace it
    if config.train.pretrained:  # as train refuses them: the model's vocabulary and sizes win (they were ignored)
        from lstmtext.training.lm_bundle import LM_OWNS, pretrained_settings

        values = {k: functools.reduce(getattr, k.split("."), config) for k in sorted(named) if k.startswith(LM_OWNS)}
        given = {k: (v, f"--models {entry!r}" if k in keys else f"--set {k}={v}") for k, v in values.items()}
        pretrained_settings(config.train.pretrained, None, cleaning_named=True, given=given)
    return config


def _owner(key: str) -> str | None:
    """What sets ``key`` for every run of a comparison (a key of :data:`_COMPARE_OWNS`' sections), or None."""
    return next((owner for k, owner in _COMPARE_OWNS.items() if key == k or key.startswith(k + ".")), None)


#: Config keys (and sections) compare sets for every run, with the option that sets them.
_COMPARE_OWNS = {
    "preprocess": "use --preprocess (the one cleaning)",
    "data": "the data is read once, with the data flags (--text-col, --label-col, --split-col, --set data.*)",
    "train.seed": "use --seeds (runs get seeds 0 .. N-1)",
    "task": "use --task",
}


def clean_data(data: LabelledData, preprocess: str) -> LabelledData:
    """Return ``data`` with every text cleaned once by ``preprocess``: a cleaning preset or comma-separated steps.

    Raises:
        ConfigError: If ``preprocess`` is neither a preset nor a list of known steps.
    """
    from lstmtext.preprocess.presets import cleaning_choice

    pipeline = _pipeline(preprocess)
    return replace(data, splits={name: replace(s, texts=pipeline.clean_many(s.texts)) for name, s in data.splits.items()},
                   cleaned=PreprocessConfig(**cleaning_choice(preprocess)).model_dump(mode="json"))


def _pipeline(preprocess: str) -> Any:
    """The cleaning chain ``preprocess`` names: a cleaning preset or comma-separated steps."""
    from lstmtext.preprocess import Pipeline
    from lstmtext.preprocess.presets import cleaning_choice, resolved_preprocess

    spec = resolved_preprocess(cleaning_choice(preprocess))
    return Pipeline(spec["steps"], spec["options"], PreprocessConfig().max_chars, keep_end=True)


def train_and_score(config: Config, data: LabelledData, eval_split: str) -> dict[str, Any]:
    """Train one model and return its scores on ``eval_split`` and valid, size, train time and inference speed."""
    from lstmtext.encoding.batching import predict_logits
    from lstmtext.pipeline import run

    result = run(config, data, progress=False)
    texts = data.splits[eval_split].texts
    start = time.perf_counter()
    predict_logits(result.model, result.encoder.encode(texts), config.train.eval_batch_size)
    rate = len(texts) / max(time.perf_counter() - start, 1e-9)
    headline = result.task.headline(result.metrics[eval_split])
    return {
        **headline, **{f"valid_{k}": v for k, v in result.task.headline(result.metrics["valid"]).items()},
        "n_parameters": sum(p.numel() for p in result.model.parameters()),
        "train_seconds": result.train.total_seconds, "texts_per_second": rate,
        "epochs_run": len(result.history), "best_epoch": result.train.best_epoch,
    }


def _run_job(job: dict[str, Any], data: LabelledData | None = None) -> dict[str, Any]:
    data = data if data is not None else shared_data()
    if job["model"] == BASELINE:
        from lstmtext.experiments.baselines import tfidf_logreg

        config = Config.model_validate(job["config"])
        task = get_task(config.task).from_data(data, config)
        scores = tfidf_logreg(data, task, job["eval_split"])
        out = {k: scores[k] for k in ("n_parameters", "train_seconds", "texts_per_second")}
        out.update(task.headline(scores["metrics"]), **{f"valid_{k}": v for k, v in
                                                        task.headline(scores["valid_metrics"]).items()}, C=scores["C"])
    else:
        with naming_the_run(f"{job['model']} seed {job['seed']}"), holding_warnings() as held:  # held: shown once
            out = train_and_score(Config.model_validate(job["config"]), data, job["eval_split"])  # each by the parent
        out["warnings"] = held.held
    return {"model": job["model"], "architecture": job["architecture"], "seed": job["seed"],
            "threads": job["config"]["train"].get("threads"), **out}


def compare(
    data: LabelledData,
    models: Sequence[str],
    seeds: int = 3,
    *,
    base: dict[str, Any] | None = None,
    preprocess: str | None = None,
    overrides: Sequence[str] = (),
    mode: Mode = DEFAULT_MODE,
    workers: int = 2,
    baseline: bool = True,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    partial: Path | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Train every model with seeds ``0 .. seeds-1`` on the same split and cleaning; return the report.

    Args:
        data: The split data (raw texts), read for the task ``base`` names.
        models: Model presets or architecture names (see :func:`model_config`).
        base: A nested config dict every model's config starts from after its preset: the task and its
            sections, e.g. ``{"task": "absa", "absa": {"aspects": [...]}}``; None: single-label.
        seeds: Runs per model.
        preprocess: The one cleaning applied to every text before any model sees it: a cleaning preset, or
            comma-separated step names (e.g. ``lowercase,punctuation_to_space,normalize_whitespace``); None: the
            task preset's (``en-tweet``; ``id-aspect`` for aspects), as train and cv use.
        overrides: ``section.key=value`` overrides applied to every model's config.
        mode: ``pool``: ``workers`` processes with one torch thread each; ``sequential``: one run at a
            time with ``workers`` threads.
        workers: Processes (pool) or torch threads (sequential).
        baseline: Add the TF-IDF 1-2-gram + logistic regression baseline.
        on_result: Called with each finished run's record.
        partial: A JSON file where each finished run is kept as it comes: a run of the same data, cleaning and
            config found there is not trained again (an interrupted comparison goes on where it stopped).
        overwrite: Start afresh: the runs kept in ``partial`` are deleted, not reused.

    Returns:
        A JSON-ready dict: ``runs`` (one record per run), ``summary`` (mean and std per model), timing and
        the settings.

    Raises:
        ConfigError: For an unknown model, an invalid override or a bad ``seeds``/``workers``/``mode``.
    """
    check_seeds(seeds, "compare")
    check_parallel(mode, workers)
    if not models:
        raise ConfigError("--models: no model named. Give comma-separated presets or architectures, e.g. "
                          "--models bilstm,cnn.")
    twice = sorted({m for m in models if list(models).count(m) > 1})
    if twice:
        raise ConfigError(f"--models names {', '.join(twice)} more than once: a run counted twice would shrink its "
                          "± std. Name each model once (--seeds sets the runs per model).")
    for key in (".".join(parse_override(item)[0]) for item in overrides):
        owned = _owner(key)
        if owned and not key.startswith("data."):  # --set data.* is how the one data set is read
            raise ConfigError(f"--set {key}: compare sets it for every run; {owned}.")
    if overwrite and partial is not None:  # started over: an interrupted comparison's runs are not reused
        partial.unlink(missing_ok=True)
    if preprocess is None:
        from lstmtext.config.presets import task_preset

        preprocess = build_config(task_preset((base or {}).get("task"))).preprocess.preset or "none"
    with _cleaned_unlabelled(base, preprocess) as (base, names):
        return _compare(data, models, seeds, base, preprocess, overrides, mode, workers, baseline, on_result, partial,
                        names)


@contextlib.contextmanager
def _cleaned_unlabelled(base: dict[str, Any] | None, preprocess: str
                        ) -> Iterator[tuple[dict[str, Any] | None, dict[str, str]]]:
    """``base`` with its unlabelled file (``data.unlabelled``) cleaned once by ``preprocess`` into a temporary
    file of one text per line, as the labelled texts are: every run then reads it with no cleaning. Also the
    name the runs' warnings should give that copy: the user's file.

    Raises:
        DataError: For a missing column (named by --unlabelled-col), or no text left after cleaning.
    """
    unlabelled = (base or {}).get("data", {}).get("unlabelled")
    if not unlabelled:
        yield base, {}
        return
    from lstmtext.data.texts import is_plain_text, iter_texts

    pipeline = _pipeline(preprocess)
    column = base["data"].get("unlabelled_col")
    with tempfile.TemporaryDirectory(prefix="lstmtext-unlabelled-") as tmp:
        path, written = Path(tmp) / "unlabelled.txt", 0
        with path.open("w", encoding="utf-8") as fh:
            for _, texts in iter_texts(Path(unlabelled), column, flag="--unlabelled-col",  # as train reads it
                                       defaults=(base["data"].get("text_col") or "text",)):
                lines = [" ".join(t.split()) + "\n" for t in pipeline.clean_many(texts) if t.strip()]
                fh.writelines(lines)
                written += len(lines)
        if not written:
            named = "" if is_plain_text(Path(unlabelled)) else \
                f" and --unlabelled-col ({column or base['data'].get('text_col') or 'text'!r})"
            raise DataError(f"{unlabelled}: no unlabelled text is left after cleaning (--unlabelled). Check the "
                            f"file{named} and the cleaning (--preprocess {preprocess}).")
        data = {**base["data"], "unlabelled": str(path), "unlabelled_col": None}
        yield {**base, "data": data}, {str(path): str(unlabelled)}


def _compare(data: LabelledData, models: Sequence[str], seeds: int, base: dict[str, Any] | None, preprocess: str,
             overrides: Sequence[str], mode: str, workers: int, baseline: bool,
             on_result: Callable[[dict[str, Any]], None] | None, partial: Path | None = None,
             names: dict[str, str] | None = None) -> dict[str, Any]:
    from lstmtext.models import describe_model
    from lstmtext.pipeline.language_model import model_as_trained

    eval_split = "test" if "test" in data.splits else "valid"
    threads = 1 if mode == "pool" else workers
    jobs = []
    for name in models:
        for seed in range(seeds):
            config = model_config(name, seed, threads, overrides, base)
            jobs.append({"model": name, "seed": seed, "eval_split": eval_split,  # a language model's sizes, if any
                         "architecture": describe_model(model_as_trained(config)),
                         "config": config.model_dump(mode="json")})
    plain = model_config("default", 0, threads, overrides, base)
    if baseline:
        jobs.append({"model": BASELINE, "seed": 0, "eval_split": eval_split, "architecture": "tf-idf + logreg",
                     "config": plain.model_dump(mode="json")})
    start = time.perf_counter()
    spec = {"split_sizes": {k: len(v) for k, v in data.splits.items()}, "preprocess": preprocess,
            "data": fingerprint(data.splits)}  # not the path as typed: d.csv and ./d.csv had been other data
    kept = _kept_runs(partial, spec)
    # the cleaned unlabelled text lies in a new temporary folder each time: a run is keyed on its content, so an
    # interrupted comparison with --unlabelled resumes (its path had made every key new: no run was ever reused)
    stable = {tmp: f"sha256:{file_sha256(tmp)}" for tmp in (names or {})}
    records = [kept[_job_key(job, stable)] for job in jobs if _job_key(job, stable) in kept]
    jobs, reused = [job for job in jobs if _job_key(job, stable) not in kept], len(records)
    if records:
        log.info("%d finished runs reused from %s", len(records), partial)
        other = [r for r in records if r["model"] != BASELINE and r.get("threads") not in (None, threads)]
        if other and jobs:  # reused from a session with other threads: the scores compare, the seconds do not
            log.warning("%d reused run(s) trained with %s thread(s) each, and this session's with %d (--mode %s, "
                        "--workers): their train seconds and texts/s do not compare (compare.json has each run's "
                        "threads)", len(other), ", ".join(sorted({str(r["threads"]) for r in other})), threads, mode)

    def keep(record: dict[str, Any], job: dict[str, Any]) -> None:
        kept[_job_key(job, stable)] = record
        if partial is not None:  # its folder made now: a comparison refused before its first run leaves none
            partial.parent.mkdir(parents=True, exist_ok=True)
            write_json(partial, {"spec": spec, "runs": [{"key": k, "record": r} for k, r in kept.items()]})

    def finished(record: dict[str, Any], job: dict[str, Any]) -> None:
        show_warnings(record, names)
        record.pop("warnings", None)
        records.append(record)
        keep(record, job)
        _report(record, on_result)

    warn_afresh()
    cleaned = clean_data(data, preprocess) if jobs else data
    try:
        if mode == "pool":
            with process_pool(workers, cleaned) as pool:  # one process per worker, the data sent once to each
                futures = {pool.submit(_run_job, job): job for job in jobs}
                for future in as_completed(futures):
                    finished(future.result(), futures[future])
        else:
            for job in jobs:
                finished(_run_job(job, cleaned), job)
    except Exception as error:
        failed_job_warnings(error, names)
        raise
    order = {m: i for i, m in enumerate([*models, BASELINE])}
    records.sort(key=lambda r: (order[r["model"]], r["seed"]))
    return {
        "source": data.source, "task": plain.task, "scores_note": get_task(plain.task).scores_note, "eval_split": eval_split, "split_sizes": spec["split_sizes"],
        "preprocess": preprocess, "overrides": list(overrides), "seeds": seeds, "mode": mode, "workers": workers,
        "wall_seconds": time.perf_counter() - start, "load_average": load_average(), "cpu_count": usable_cores(),
        "runs_reused": reused,
        "summary": summarize(records), "runs": records,
    }


def _job_key(job: dict[str, Any], stable: dict[str, str] | None = None) -> str:
    """What makes a run the same run: its model name, seed and whole config but its threads, which ``--mode`` sets
    (a comparison resumed in another mode had trained every run again); ``stable``: a temporary file's path -> what
    names its content, written into the key in the path's place."""
    config = job["config"]
    unlabelled = config.get("data", {}).get("unlabelled")
    if stable and unlabelled in stable:
        config = {**config, "data": {**config["data"], "unlabelled": stable[unlabelled]}}
    pretrained = config.get("train", {}).get("pretrained")  # its content: one pretrained again at the same path
    lm = [lm_identity(pretrained)] if pretrained else []  # had reused the old model's runs
    return json.dumps([job["model"], job["seed"], without_threads(config), *lm], sort_keys=True)


def _kept_runs(partial: Path | None, spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The finished runs ``partial`` holds for this data and cleaning.

    Raises:
        ConfigError: If it holds an interrupted comparison of other data or another cleaning: its runs would be
            lost without a word (``overwrite`` deletes it first).
    """
    if partial is None or not partial.is_file():
        return {}
    try:
        saved = json.loads(partial.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    saved_spec = saved.get("spec")
    if isinstance(saved_spec, dict):  # written before 2026-12-07: with the path as typed, and runs keyed with threads
        saved_spec = {k: v for k, v in saved_spec.items() if k != "source"}
    if saved_spec != spec:
        done = len(saved.get("runs", []))
        raise ConfigError(f"{partial}: this folder holds an interrupted comparison of other data or another cleaning "
                          f"({done} finished run{'s' if done != 1 else ''}). Run that comparison again to finish it, give "
                          "another --out, or pass --overwrite to start over.")
    return {_without_threads(r["key"]): r["record"] for r in saved.get("runs", [])}


def _without_threads(key: str) -> str:
    """A saved run's key as :func:`_job_key` writes it now (a key saved before 2026-12-07 held the threads)."""
    model, seed, config = json.loads(key)
    return _job_key({"model": model, "seed": seed, "config": config})


def _report(record: dict[str, Any], on_result: Callable[[dict[str, Any]], None] | None) -> None:
    log.info("%s seed %d: accuracy %.4f, macro-F1 %.4f, %.1f s", record["model"], record["seed"],
             record["accuracy"], record["macro_f1"], record["train_seconds"])
    if on_result is not None:
        on_result(record)


def summarize(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and sample standard deviation (0 for one run) of each model's scores and costs."""
    out = []
    for model in dict.fromkeys(r["model"] for r in records):
        rows = [r for r in records if r["model"] == model]
        entry: dict[str, Any] = {"model": model, "architecture": rows[0]["architecture"], "runs": len(rows)}
        keys = ["accuracy", "macro_f1", "valid_accuracy", "valid_macro_f1", "n_parameters", "train_seconds",
                "texts_per_second"]
        keys += [k for k in ("micro_f1", "valid_micro_f1") if all(k in r for r in rows)]
        for key in keys:
            values = [float(r[key]) for r in rows]
            entry[f"{key}_mean"] = statistics.fmean(values)
            entry[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        out.append(entry)
    return out
