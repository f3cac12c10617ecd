"""One training run, the same for every task and every source of batches.

:func:`run` is what ``lstmtext train``, ``TextClassifier.fit``, ``compare``, ``search``, ``cv`` and
``learning-curve`` call, and each DDP rank (:mod:`lstmtext.pipeline.launch`). It reads the data (a file in
memory, a file streamed into shards, or a :class:`~lstmtext.data.dataset.LabelledData` given in memory),
checks the combination of features once (:func:`lstmtext.pipeline.checks.check_run`), fits the encoder and
the task's label space, trains one model or a seed ensemble (:func:`fit_model`), tunes the task's decisions
on the valid split, scores valid and test, and (with an output folder) writes the bundle and the reports.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lstmtext import __version__
from lstmtext.config import Config
from lstmtext.data.bundled import AIRLINE_COLUMNS
from lstmtext.data.dataset import LabelledData, warn
from lstmtext.encoding.batching import EncodedSplit, predict_logits
from lstmtext.encoding.embeddings import initial_embedding
from lstmtext.encoding.encoder import TextEncoder
from lstmtext.errors import ConfigError
from lstmtext.models import build_model, describe_model
from lstmtext.pipeline.checks import check_fits_in_memory, check_run, prepare_out
from lstmtext.pipeline.language_model import lm_note, lm_warnings, run_lm, start_from_lm, uses_lm
from lstmtext.pipeline.outputs import write_run
from lstmtext.pipeline.prepare import Prepared, load_data, prepare, prepare_stream
from lstmtext.pipeline.warm_start import copy_weights, grown_embedding
from lstmtext.tasks import Task
from lstmtext.training.checkpoint import check_resumed_mode, has_checkpoint
from lstmtext.training.ddp import Shard
from lstmtext.training.loop import BatchSource, TrainResult, fit, monitored
from lstmtext.training.members import fit_members
from lstmtext.training.ngram_fit import fit_after, silence
from lstmtext.training.self_training import joined, pseudo_labelled
from lstmtext.training.threads import configure_threads, keeps_thread_count
from lstmtext.utils.atomic import recover_dir
from lstmtext.utils.progress import epoch_line

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What a run produced: scores, history, the trained model with its encoder and task, and the summary."""

    out_dir: Path | None
    metrics: dict[str, dict[str, Any]]
    history: list[dict[str, Any]]
    train: TrainResult
    summary: dict[str, Any]
    model: torch.nn.Module | None = None
    encoder: TextEncoder | None = None
    task: Task | None = None
    probabilities: dict[str, np.ndarray] = field(default_factory=dict)


def fit_model(config: Config, prepared: Prepared, checkpoint_dir: Path | None = None, resume: bool = False,
              progress: bool = True, shard: Shard | None = None) -> tuple[torch.nn.Module, TrainResult]:
    """Train one model or ``model.ensemble`` members on prepared data; then let the task tune on valid.

    ``shard`` (:mod:`lstmtext.training.ddp`) trains this process's share of a distributed run.
    """
    configure_threads(config.train.threads)
    task, encoder = prepared.task, prepared.encoder
    check_fits_in_memory(config, len(encoder.vocab), task.layout, **task.model_kwargs())  # before the language model
    train_texts = prepared.data.splits["train"].texts if prepared.data is not None else []
    lm, lm_seconds = None, 0.0
    if uses_lm(config):  # ULMFiT's second stage: the language model on this run's texts
        start = time.perf_counter()
        lm = run_lm(config, encoder.pipeline, encoder.vocab, train_texts, prepared.unlabelled, prepared.lm,
                    checkpoint_dir.parent if checkpoint_dir is not None else None, resume, progress)
        lm_seconds = time.perf_counter() - start
        prepared.notes.append(lm_note(lm))
        for msg in lm_warnings(lm, pretrained=prepared.lm is not None):
            warn(prepared.notes, msg)

    digest = data_digest(prepared) if checkpoint_dir is not None else None  # once, not per ensemble member

    def fit_on(train: EncodedSplit | BatchSource, ckpt_dir: Path | None, resume: bool = resume
               ) -> tuple[torch.nn.Module, TrainResult]:
        def train_one(cfg: Config, ckpt: Path | None) -> tuple[torch.nn.Module, TrainResult]:
            rows = task.oversample(train, cfg.train.seed) if cfg.train.oversample == "random" else train
            if isinstance(rows, EncodedSplit):
                objective = task.objective(rows.targets, cfg.train)
            else:  # streamed: class weights from the distinct targets and their row counts
                targets, counts = prepared.label_counts
                objective = task.objective(targets, cfg.train, counts)
            torch.manual_seed(cfg.train.seed)
            if prepared.init is None:
                embedding_kwargs = initial_embedding(cfg.model, encoder.vocab, train_texts, encoder.pipeline,
                                                     prepared.unlabelled)
            elif cfg.model.embedding.kind == "onehot":  # the identity of the (maybe grown) vocabulary
                embedding_kwargs = initial_embedding(cfg.model, encoder.vocab, [], encoder.pipeline)
            else:  # the saved vectors are copied below (word2vec is not trained again unless words were added)
                embedding_kwargs = grown_embedding(cfg, encoder, prepared.init, train_texts, prepared.notes)
            model = build_model(cfg.model, len(encoder.vocab), task.layout, **task.model_kwargs(), **embedding_kwargs)
            if prepared.init is not None:
                copy_weights(model, prepared.init.model, member=cfg.train.seed - config.train.seed)
                silence(model)  # a saved TF-IDF bag is fitted again after training (model.ngram_fit = "after")
            if lm is not None:
                copied = start_from_lm(model, lm)
                left = [n for n, _ in model.named_parameters() if "_reverse" in n and n not in copied]
                if left and cfg.train.seed == config.train.seed:  # once, not per ensemble member
                    warn(prepared.notes, f"the language model {lm.path or ''} reads one direction: the classifier's "
                                         f"reverse LSTM direction ({len(left)} tensors) starts from random weights. "
                                         "A bidirectional language model (lstmtext pretrain --preset ulmfit) starts both.")
            # an ensemble member the interrupted run never reached has no checkpoint yet: it starts afresh, as does
            # the classifier of a run stopped in its language-model stage (that stage resumed above)
            member_resume = resume and not ((config.model.ensemble > 1 or lm is not None) and ckpt is not None
                                            and not has_checkpoint(ckpt))
            if config.model.ensemble > 1:  # its epoch lines would read as the first member's, repeated
                epoch_line(f"ensemble member {cfg.train.seed - config.train.seed + 1} of {config.model.ensemble} (seed "
                           f"{cfg.train.seed})", progress and (shard is None or shard.rank == 0))
            result = fit(shard.wrap(model) if shard is not None else model, rows, prepared.splits["valid"], cfg.train,
                         objective, ckpt, member_resume, progress, shard=shard,
                         settings={**cfg.model_dump(mode="json"), "streamed": prepared.label_counts is not None,
                                   "data_digest": digest})
            return model, result

        model, result = fit_members(config, task.layout, train_one, ckpt_dir)
        if config.model.ngram_fit == "after" and config.model.ngram_bag:  # the linear path, fitted on the trained network
            result.ngram_fit = fit_bag_after(config, prepared, model, train)
        if config.train.calibrate or task.tunes:  # fitted on the valid split: temperatures, then e.g. thresholds
            valid = prepared.splits["valid"]
            logits = predict_logits(model, valid.sequences, config.train.eval_batch_size)
            if config.train.calibrate:
                calibrate(task, logits, valid.targets, config, prepared.notes,
                          in_folds=prepared.data is not None and "split_names" in prepared.data.info)
            if task.tunes:
                task.tune(valid.targets, task.probabilities(logits))
        return model, result

    if not config.train.calibrate:  # the reports say that no temperature was fitted and "the notes say why"
        prepared.notes.append("train.calibrate = false: no temperature was fitted, so the probabilities are the "
                              "model's own, uncalibrated")
    mark = len(prepared.notes)
    model, result = fit_on(prepared.train, checkpoint_dir)
    if config.train.self_training and prepared.unlabelled is not None:  # a student on the teacher's surest answers
        model, result = self_train(config, prepared, model, result, fit_on, checkpoint_dir, resume, mark)
    result.lm_seconds = lm_seconds
    return model, result


def calibrate(task: Task, logits: torch.Tensor, targets: np.ndarray, config: Config, notes: list[str],
              in_folds: bool = False) -> None:
    """Fit the task's temperatures on the valid split (``train.calibrate``), unless it holds fewer than
    ``train.calibrate_min_texts`` texts: fitted on those, a temperature fits their noise (a warm start on 100 new
    labels, 10 of them valid: T = 0.29, valid ECE 0.11 -> 0.38, test 0.07 -> 0.21). The model's own probabilities
    are kept then (a warm start's saved temperatures were fitted to another model), and the run's notes say so."""
    if len(targets) >= config.train.calibrate_min_texts:
        task.calibrate(logits, targets)
        return
    task.state.pop("temperatures", None)
    more = ("more rows, or a larger data.valid_size (cv and audit cut each fold's valid rows from the pooled data: "
            "a --valid file is pooled)" if in_folds else
            "a --valid file (a larger one where one was given), or a larger data.valid_size where lstmtext makes "
            "the split")
    warn(notes, f"train.calibrate: the valid split holds {len(targets)} texts, too few to fit a temperature on "
                f"(train.calibrate_min_texts = {config.train.calibrate_min_texts}), so the probabilities are the "
                f"model's own, uncalibrated. To calibrate them, give a larger valid split: {more}; or lower "
                "train.calibrate_min_texts to fit on these few (a temperature fitted on few texts fits their noise).")


def self_train(config: Config, prepared: Prepared, teacher: torch.nn.Module, taught: TrainResult,
               fit_on: Callable[[EncodedSplit, Path | None, bool], tuple[torch.nn.Module, TrainResult]],
               checkpoint_dir: Path | None, resume: bool, mark: int) -> tuple[torch.nn.Module, TrainResult]:
    """``train.self_training``: the student (:mod:`lstmtext.training.self_training`), kept if it scores at least
    the teacher's ``train.monitor`` on valid; the teacher's state (temperatures, thresholds) goes with the teacher.
    The notes keep the kept model's (from ``mark`` on: the teacher's) and one line on both."""
    task = prepared.task
    logits_of, score_of = valid_scoring(config, prepared, prepared.train.targets)

    def score(model: torch.nn.Module) -> float:
        return round(score_of(logits_of(model)), 4)

    start = time.perf_counter()
    teacher_state, teacher_score = copy.deepcopy(task.state), score(teacher)
    added, info = pseudo_labelled(teacher, task, prepared.encoder, prepared.unlabelled, config.train.self_training,
                                  config.train.seed, config.train.eval_batch_size)
    info.update(answer_seconds=round(time.perf_counter() - start, 1), teacher=teacher_score,
                teacher_seconds=round(taught.seconds, 1))
    student_notes = len(prepared.notes)
    if info["added"]:
        # the student's checkpoint sits beside the teacher's: saving the teacher replaces its whole folder
        ckpt = checkpoint_dir.with_name(f"{checkpoint_dir.name}_student") if checkpoint_dir is not None else None
        student, learnt = fit_on(joined(prepared.train, added), ckpt, resume and has_checkpoint(ckpt))
        info.update(student=score(student), student_seconds=round(learnt.seconds, 1))
    kept = "student" if info["added"] and info["student"] >= teacher_score else "teacher"
    info["kept"] = kept
    if kept == "teacher":
        task.state = teacher_state
        del prepared.notes[student_notes:]
        learnt, student = taught, teacher
    else:
        del prepared.notes[mark:student_notes]
    if info["added"]:
        outcome = f"{config.train.monitor}: teacher {teacher_score}, student {info['student']}, kept the {kept}"
    else:
        outcome = "no answer had a text to add, so no second model was trained"
    prepared.notes.append(
        f"self-training: the model answered {info['answered']:,} unlabelled texts; the surest "
        f"{config.train.self_training:.0%} of each answer ({info['added']:,}) joined the "
        f"{len(prepared.train.targets):,} labelled rows; {outcome}")
    log.info(prepared.notes[-1])
    learnt.self_training = info
    return student, learnt


def valid_scoring(config: Config, prepared: Prepared, train_targets: np.ndarray
                  ) -> tuple[Callable[[torch.nn.Module], torch.Tensor], Callable[[torch.Tensor], float]]:
    """A model's valid logits, and the run's monitored score of valid logits (higher is better; the loss with the
    class weights of ``train_targets``)."""
    valid = prepared.splits["valid"]
    objective, targets = prepared.task.objective(train_targets, config.train), torch.as_tensor(valid.targets)
    return (lambda model: predict_logits(model, valid.sequences, config.train.eval_batch_size),
            lambda logits: monitored(objective.summarize(logits, targets), config.train.monitor))


def fit_bag_after(config: Config, prepared: Prepared, model: torch.nn.Module, train: EncodedSplit
                  ) -> dict[str, Any] | None:
    """``model.ngram_fit = "after"``: fit the TF-IDF bag and its blend weight (:mod:`lstmtext.training.ngram_fit`)."""
    logits_of, score_of = valid_scoring(config, prepared, train.targets)
    found = fit_after(model, prepared.task.layout, train, prepared.splits["valid"], logits_of, score_of,
                      seed=config.train.seed, class_weight=config.train.class_weight)
    if found is not None:
        shares = ", ".join(f"{m['blend']} ({config.train.monitor} {m['valid_scores'][str(m['blend'])]}, network alone "
                           f"{m['valid_scores']['0.0']})" for m in found["members"])
        prepared.notes.append(f"n-gram bag fitted after training as TF-IDF + logistic regression (C {found['C']}), "
                              f"blended with the network at a linear share chosen on valid: {shares}")
    return found


def evaluate(model: torch.nn.Module, prepared: Prepared, batch_size: int = 1024
             ) -> tuple[dict[str, dict[str, Any]], dict[str, np.ndarray]]:
    """Scores and probabilities of every split except train (valid, then test when present)."""
    metrics, proba = {}, {}
    task = prepared.task
    for name in ("valid", "test"):
        if name in prepared.splits:
            split = prepared.splits[name]
            logits = predict_logits(model, split.sequences, batch_size)
            proba[name] = task.probabilities(logits)
            # test is also read at the cuts valid chose: what a --min-confidence picked on valid gets there
            chosen = {k: v["min_confidence"] for k, v in metrics["valid"]["calibration"]["coverage_table"].items()
                      if k != "100%"} if name == "test" and "valid" in metrics else None
            metrics[name] = {**task.metrics(split.targets, proba[name]),
                             "calibration": task.calibration(logits, split.targets, chosen)}
    return metrics, proba


def _added_tokens(result: TrainResult) -> int:
    """Tokens of the rows self-training added to the kept student's training split (0 otherwise)."""
    info = result.self_training
    return info["added_tokens"] if info and info["kept"] == "student" else 0


def summarize(config: Config, prepared: Prepared, model: torch.nn.Module, result: TrainResult,
              shard: Shard | None = None) -> dict[str, Any]:
    """The run summary written to ``metrics.json``, the reports and the model card. ``processes``: how many trained
    it (``--nproc``; with dropout, a seed's figures depend on it), ``streamed``: whether it read shards."""
    epochs = sum(m["epochs_run"] for m in result.members) or len(result.history)  # every member's epochs
    encoder = prepared.encoder
    return {
        **prepared.task.summary(),
        "architecture": config.model.name, "model": describe_model(config.model), "source": prepared.source,
        "n_parameters": sum(p.numel() for p in model.parameters()), "vocab_size": len(encoder.vocab),
        "max_len": encoder.max_len, "epochs_run": len(result.history), "best_epoch": result.best_epoch,
        "epochs_asked": config.train.epochs, "stopped_early": result.stopped_early,
        "patience": config.train.patience,
        "ensemble": config.model.ensemble, "members": result.members, "monitor": config.train.monitor,
        "restore_best": config.train.restore_best,  # False: the saved weights are the last epoch's, not the best's
        "train_seconds": result.total_seconds, "precision": result.precision,
        "processes": shard.world_size if shard is not None else 1, "streamed": prepared.label_counts is not None,
        **({"lm_seconds": result.lm_seconds} if result.lm_seconds else {}),
        "tokens_per_second": (prepared.train_tokens + _added_tokens(result)) * epochs / max(result.seconds, 1e-9),
        "split_sizes": prepared.split_sizes, "steps": encoder.pipeline.steps,
        "seed": config.train.seed, "lstmtext_version": __version__, "notes": prepared.notes,
        "license": prepared.data.info.get("license") if prepared.data is not None else None,
        **({"ngram_fit": result.ngram_fit} if result.ngram_fit else {}),
        **({"self_training": result.self_training} if result.self_training else {}),
    }


def data_digest(prepared: Prepared) -> str | None:
    """A digest of the encoded train and valid splits (ids and targets), kept in each checkpoint: ``--resume`` on
    other data had continued silently. None for a streamed run (its shards are checked against their files)."""
    import hashlib
    from itertools import chain

    if not isinstance(prepared.train, EncodedSplit):
        return None
    digest = hashlib.sha256()
    for split in (prepared.train, prepared.splits["valid"]):
        ids = np.fromiter(chain.from_iterable(split.sequences), dtype=np.int64)
        for part in (split.lengths, ids, np.ascontiguousarray(split.targets)):
            digest.update(np.ascontiguousarray(part).tobytes())
    return digest.hexdigest()[:16]


@keeps_thread_count
def run(config: Config, data: str | Path | LabelledData | None = None, out_dir: str | Path | None = None, *,
        resume: bool = False, overwrite: bool = False, progress: bool = True, stream: bool = False,
        chunk_size: int | None = None, shard: Shard | None = None, fmt: str | None = None,
        valid_path: str | Path | None = None, test_path: str | Path | None = None, header: bool = True,
        split_file: str | Path | None = None) -> RunResult:
    """Train, evaluate and (with ``out_dir``) save a model with its reports.

    Args:
        config: The resolved config (its ``task`` decides how labels are read and scored).
        data: A data file, data already in memory, or None for the bundled airline tweets.
        out_dir: Where to write ``model/`` (the bundle), ``metrics.json``, ``report.md``, ``report.html``,
            ``history.*``, one figure per split and ``checkpoint/`` (for ``resume``); None: write nothing.
        resume: Continue an interrupted run from ``out_dir/checkpoint``.
        overwrite: Replace a model already saved in ``out_dir``.
        progress: Show progress bars.
        stream: Read ``data`` in chunks of ``chunk_size`` rows into ``out_dir/shards`` (docs/streaming.md).
        chunk_size: Rows per chunk when streaming.
        shard: This process's rank of a distributed run (only rank 0 evaluates and writes).
        fmt: The files' format; None: from the extensions.
        valid_path: A separate validation file.
        test_path: A separate test file.
        header: Whether CSV/TSV files have a header row.
        split_file: A ``row,split`` file that splits ``data``.

    Raises:
        ConfigError: For an impossible combination of features (one line naming both).
        OutputExistsError: If ``out_dir/model`` exists and neither ``overwrite`` nor ``resume`` is set.
    """
    if not isinstance(config, Config):  # a dict or a preset name failed later on "'dict' object has no attribute"
        raise ConfigError(f"config: a Config, as lstmtext.build_config(preset, overrides=[...]) returns. Got "
                          f"{type(config).__name__} {str(config)[:60]!r}.")
    check_run(config, data=data, out_dir=out_dir, stream=stream, shard=shard, valid_path=valid_path,
              split_file=split_file, chunk_size=chunk_size)
    out = prepare_out(out_dir, overwrite=overwrite, resume=resume, inputs=[
        data, valid_path, test_path, split_file, config.data.unlabelled])
    if data is None:  # the bundled tweets: record their real column names with the model
        config = config.model_copy(update={"data": config.data.model_copy(update=AIRLINE_COLUMNS)}, deep=True)
    if resume and out is not None:  # before the data is read (streamed: both passes over the file)
        check_resumed_mode(out / "checkpoint", stream)
    if stream:
        prepared = prepare_stream(config, data, out, resume=resume, shard=shard, chunk_size=chunk_size, fmt=fmt,
                                  valid_path=valid_path, test_path=test_path, header=header)
    else:
        labelled = load_data(config, data, fmt=fmt, valid_path=valid_path, test_path=test_path, header=header,
                             split_file=split_file)
        prepared = prepare(config, labelled)
    if stream and resume and out is not None and not recover_dir(out / "checkpoint") \
            and not (out / "checkpoint").exists():  # (a checkpoint a crash left beside its place is put back first)
        # interrupted after its shards were written, before an epoch ended: the shards are kept, training starts
        log.info("%s: no epoch was finished before the interruption; training starts from the first epoch on the "
                 "shards already written", out)
        resume = False
    model, result = fit_model(config, prepared, out / "checkpoint" if out is not None else None, resume, progress,
                              shard)
    if shard is not None and shard.rank != 0:  # ranks > 0 only train: rank 0 evaluates and writes
        return RunResult(None, {}, result.history, result, {})
    metrics, proba = evaluate(model, prepared, config.train.eval_batch_size)
    summary = summarize(config, prepared, model, result, shard)
    if out is not None:
        write_run(out, config, prepared, model, metrics, proba, result, summary)
    return RunResult(out, metrics, result.history, result, summary, model, prepared.encoder, prepared.task, proba)
