"""One training run end to end: data -> encoder -> model -> trainer -> metrics -> bundle and reports.

The CLI's ``train`` and the Python API's ``TextClassifier.fit`` both call into this module.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lstmtext import __version__
from lstmtext.utils.atomic import write_json, write_text
from lstmtext.inference.bundle import save_bundle
from lstmtext.config import Config
from lstmtext.data import LabelledData, load_bundled_airline, load_data
from lstmtext.encoding.embeddings import initial_embedding
from lstmtext.training.members import fit_members
from lstmtext.encoding.encoder import TextEncoder
from lstmtext.errors import BundleError, ConfigError
from lstmtext.tasks.sampling import class_weights, random_oversample
from lstmtext.tasks.metrics import classification_metrics
from lstmtext.models import build_model
from lstmtext.preprocess import Pipeline, preprocess_preset
from lstmtext.reports.markdown import model_card, run_markdown
from lstmtext.training.loop import ClassificationObjective, EncodedSplit, TrainResult, fit, predict_logits

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What a run produced."""

    out_dir: Path | None
    metrics: dict[str, dict[str, Any]]
    history: list[dict[str, Any]]
    train: TrainResult
    summary: dict[str, Any]


def configure_threads(threads: int | None) -> int:
    """Use ``threads`` torch threads (default: every core); returns the number set."""
    n = threads or os.cpu_count() or 1
    torch.set_num_threads(n)
    return n


def build_pipeline(config: Config) -> Pipeline:
    """The cleaning pipeline the config describes (preset, with ``steps``/``options`` overriding it)."""
    preset = preprocess_preset(config.preprocess.preset)
    steps = config.preprocess.steps if config.preprocess.steps is not None else preset["steps"]
    return Pipeline(steps, {**preset["options"], **config.preprocess.options})


def load_run_data(config: Config, data: str | Path | None, **kwargs: Any) -> LabelledData:
    """Load the user's file (or the bundled tweets when ``data`` is None), then drop other-language rows if asked."""
    labelled = load_bundled_airline() if data is None else load_data(data, config.data, **kwargs)
    if config.preprocess.keep_language:
        drop_other_languages(labelled, config.preprocess.keep_language, config.preprocess.languages)
    return labelled


def drop_other_languages(data: LabelledData, keep: str, languages: list[str]) -> None:
    """Remove rows of every split detected as a language other than ``keep``; counts go to the log and notes."""
    from lstmtext.data import Split
    from lstmtext.preprocess.langid_step import filter_language

    for name, split in data.splits.items():
        kept, dropped = filter_language(split.texts, keep, languages)
        if dropped:
            data.splits[name] = Split([split.texts[i] for i in kept], [split.labels[i] for i in kept])
            counts: dict[str, int] = {}
            for row in dropped:
                counts[row.language] = counts.get(row.language, 0) + 1
            msg = f"{name}: dropped {len(dropped)} of {len(split)} rows not in {keep!r} ({counts})"
            log.warning(msg)
            data.notes.append(msg)


def train_model(config: Config, data: LabelledData, checkpoint_dir: Path | None = None, resume: bool = False,
                progress: bool = True, shard: Any = None) -> tuple[Any, TextEncoder, list[str], TrainResult]:
    """Fit the encoder and the model on ``data``; return ``(model, encoder, labels, train_result)``.

    ``shard`` (a :class:`lstmtext.training.ddp.Shard`) trains this process's share of a distributed run.
    """
    configure_threads(config.train.threads)
    train_split = data.splits["train"]
    labels = sorted(set(train_split.labels))
    label_id = {label: i for i, label in enumerate(labels)}
    encoder = TextEncoder.fit(build_pipeline(config), train_split.texts, config.vocab)
    enc = {name: EncodedSplit(encoder.encode(s.texts), np.array([label_id[y] for y in s.labels], dtype=np.int64))
           for name, s in data.splits.items()}
    if shard is not None and config.model.ensemble > 1:
        raise ConfigError("model.ensemble > 1 cannot be combined with --nproc; train the ensemble in one process.")

    def train_one(cfg: Config, ckpt: Path | None) -> tuple[Any, TrainResult]:
        train_enc = enc["train"]
        if cfg.train.oversample == "random":
            train_enc = random_oversample(train_enc, cfg.train.seed)
        weights = class_weights(train_enc.labels, len(labels)) if cfg.train.class_weight == "balanced" else None
        torch.manual_seed(cfg.train.seed)
        embedding_kwargs = initial_embedding(cfg.model, encoder.vocab, train_split.texts, encoder.pipeline)
        model = build_model(cfg.model, len(encoder.vocab), len(labels), **embedding_kwargs)
        objective = ClassificationObjective(len(labels), weights)
        result = fit(shard.wrap(model) if shard is not None else model, train_enc, enc["valid"], cfg.train,
                     objective, ckpt, resume, progress, shard=shard)
        return model, result

    model, result = fit_members(config, train_one, checkpoint_dir)
    return model, encoder, labels, result


def evaluate_splits(model: Any, encoder: TextEncoder, labels: list[str], data: LabelledData,
                    batch_size: int = 1024) -> dict[str, dict[str, Any]]:
    """Metrics of every split except train (valid, then test when present)."""
    label_id = {label: i for i, label in enumerate(labels)}
    out = {}
    for name in ("valid", "test"):
        if name in data.splits:
            split = data.splits[name]
            pred = predict_logits(model, encoder.encode(split.texts), batch_size).argmax(1).numpy()
            out[name] = classification_metrics([label_id[y] for y in split.labels], pred, labels)
    return out


def run(config: Config, data: str | Path | None = None, out_dir: str | Path | None = None, *,
        resume: bool = False, overwrite: bool = False, progress: bool = True, stream: bool = False,
        chunk_size: int | None = None, shard: Any = None, **data_kwargs: Any) -> RunResult:
    """Train, evaluate and (with ``out_dir``) save a model with its reports.

    Writes to ``out_dir``: ``model/`` (the bundle), ``metrics.json``, ``report.md``, ``history.json``,
    ``history.csv``, ``history.png``, ``confusion_<split>.png`` and ``checkpoint/`` (for ``--resume``).
    ``stream`` reads ``data`` in chunks of ``chunk_size`` rows into ``out_dir/shards`` (docs/streaming.md);
    ``shard`` (:mod:`lstmtext.training.ddp`) makes this one rank of a distributed run: only rank 0 writes.

    Raises:
        BundleError: If ``out_dir/model`` exists and neither ``overwrite`` nor ``resume`` is set.
    """
    if stream:  # larger than memory: read in chunks into shards on disk
        from lstmtext.training.shards import run_stream

        return run_stream(config, data, out_dir, resume=resume, overwrite=overwrite, progress=progress,
                          chunk_size=chunk_size, shard=shard, **data_kwargs)
    if config.task == "absa":  # aspect-based sentiment has its own data layout and several heads
        from lstmtext.tasks.absa.runner import run_absa

        return run_absa(config, data, out_dir, resume=resume, overwrite=overwrite, progress=progress, **data_kwargs)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None and (out / "model").exists() and not (overwrite or resume):
        raise BundleError(f"{out / 'model'}: a trained model is already there. Pass --overwrite to replace it, or another --out.")
    if data is None:  # the bundled tweets: record their real column names with the model
        config = config.model_copy(deep=True)
        config.data.text_col, config.data.label_col, config.data.split_col = "text", "airline_sentiment", None
    labelled = load_run_data(config, data, **data_kwargs)
    ckpt = out / "checkpoint" if out is not None else None
    model, encoder, labels, result = train_model(config, labelled, ckpt, resume, progress, shard)
    if shard is not None and shard.rank != 0:  # ranks > 0 only train: rank 0 evaluates and writes
        return RunResult(None, {}, result.history, result, {})
    metrics = evaluate_splits(model, encoder, labels, labelled, config.train.eval_batch_size)
    summary = _summary(config, labelled, model, encoder, labels, result)
    if out is not None:
        _write_outputs(out, config, encoder, labels, model, metrics, result, summary)
        from lstmtext.reports.html import write_run_html  # report.html beside report.md

        write_run_html(out, config, labelled, metrics, result.history, model=model, encoder=encoder, labels=labels,
                       summary=summary)
    return RunResult(out, metrics, result.history, result, summary)


def _summary(config: Config, data: LabelledData, model: Any, encoder: TextEncoder, labels: list[str],
             result: TrainResult) -> dict[str, Any]:
    epochs = sum(m["epochs_run"] for m in result.members) or len(result.history)  # every member's epochs
    tokens = sum(len(s) for s in encoder.encode(data.splits["train"].texts)) * epochs
    return {
        "architecture": config.model.name, "source": data.source, "labels": labels,
        "n_parameters": sum(p.numel() for p in model.parameters()), "vocab_size": len(encoder.vocab),
        "max_len": encoder.max_len, "epochs_run": len(result.history), "best_epoch": result.best_epoch,
        "ensemble": config.model.ensemble, "members": result.members,
        "train_seconds": result.seconds, "tokens_per_second": tokens / max(result.seconds, 1e-9),
        "split_sizes": {k: len(v) for k, v in data.splits.items()}, "steps": encoder.pipeline.steps,
        "seed": config.train.seed, "lstmtext_version": __version__, "notes": data.notes,
    }


def write_run_files(out: Path, config: Config, encoder: TextEncoder, labels: Any, model: Any,
                    metrics: dict[str, Any], result: TrainResult, summary: dict[str, Any], *, report: str, card: str,
                    plot_split: Callable[[str, dict[str, Any], Path], Any]) -> None:
    """Write a run's folder: ``model/``, ``metrics.json``, ``report.md``, ``history.*``, one confusion PNG per split.

    Single-label and aspect runs share this; they differ in the ``report`` and model ``card`` texts and in
    ``plot_split(split_name, split_metrics, png_path)``. Every file is written atomically.
    """
    from lstmtext.reports.plots import plot_history

    save_bundle(out / "model", config, encoder, labels, model, metrics, card, overwrite=True)
    write_json(out / "metrics.json", {**metrics, "summary": summary})
    write_text(out / "report.md", report)
    write_json(out / "history.json", result.history)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(result.history[0]))
    writer.writeheader()
    writer.writerows(result.history)
    write_text(out / "history.csv", buf.getvalue())
    plot_history(result.history, out / "history.png")
    for name, m in metrics.items():
        plot_split(name, m, out / f"confusion_{name}.png")


def _write_outputs(out: Path, config: Config, encoder: TextEncoder, labels: list[str], model: Any,
                   metrics: dict[str, Any], result: TrainResult, summary: dict[str, Any]) -> None:
    from lstmtext.reports.plots import plot_confusion

    write_run_files(out, config, encoder, labels, model, metrics, result, summary,
                    report=run_markdown(summary, metrics), card=model_card(summary, metrics),
                    plot_split=lambda name, m, path: plot_confusion(m["confusion_matrix"], labels, path,
                                                                    title=f"{name} split"))
