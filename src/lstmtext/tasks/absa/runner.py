"""One aspect-sentiment run end to end: data -> encoder -> several-head model -> trainer -> scores -> bundle.

:func:`lstmtext.pipeline.run.run` hands configs with ``task = "absa"`` to :func:`run_absa`, which writes the same
files as a single-label run (``model/``, ``metrics.json``, ``report.md``, ``history.*``) with one
``confusion_<split>.png`` grid holding every aspect's matrix. :func:`evaluate_aspect_bundle` scores a
saved aspect model on a labelled file (``lstmtext evaluate``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lstmtext import __version__
from lstmtext.tasks.absa.data import (AspectData, check_labels, encode_labels, load_aspect_data, not_mentioned_label,
                                 read_aspect_table)
from lstmtext.tasks.absa.metrics import aspect_metrics
from lstmtext.tasks.absa.objective import AspectObjective
from lstmtext.tasks.absa.report import model_card, plot_confusion_grid, run_markdown, split_markdown
from lstmtext.tasks.absa.sampling import aspect_class_weights, oversample_aspects
from lstmtext.utils.atomic import write_json, write_text
from lstmtext.inference.bundle import Bundle, head_kwargs
from lstmtext.config import Config
from lstmtext.encoding.embeddings import initial_embedding
from lstmtext.training.members import fit_members
from lstmtext.encoding.encoder import TextEncoder
from lstmtext.errors import BundleError, ConfigError
from lstmtext.models import build_model
from lstmtext.pipeline.run import RunResult, build_pipeline, configure_threads, write_run_files
from lstmtext.training.loop import EncodedSplit, TrainResult, fit, predict_logits

log = logging.getLogger(__name__)


def train_aspect_model(config: Config, data: AspectData, checkpoint_dir: Path | None = None, resume: bool = False,
                       progress: bool = True) -> tuple[Any, TextEncoder, dict[str, list[str]], TrainResult]:
    """Fit the encoder and the several-head model; return ``(model, encoder, label_sets, train_result)``."""
    configure_threads(config.train.threads)
    train_split = data.splits["train"]
    labels = data.label_sets
    encoder = TextEncoder.fit(build_pipeline(config), train_split.texts, config.vocab)
    enc = {name: EncodedSplit(encoder.encode(s.texts), encode_labels(s, labels)) for name, s in data.splits.items()}

    def train_one(cfg: Config, ckpt: Path | None) -> tuple[Any, TrainResult]:
        train_enc = enc["train"]
        if cfg.train.oversample == "random":
            train_enc = oversample_aspects(train_enc, labels, cfg.train.seed)
        weights = aspect_class_weights(train_enc.labels, labels) if cfg.train.class_weight == "balanced" else None
        torch.manual_seed(cfg.train.seed)
        embedding_kwargs = initial_embedding(cfg.model, encoder.vocab, train_split.texts, encoder.pipeline)
        model = build_model(cfg.model, len(encoder.vocab), [len(v) for v in labels.values()],
                            **head_kwargs(cfg, labels), **embedding_kwargs)
        return model, fit(model, train_enc, enc["valid"], cfg.train, AspectObjective(labels, weights), ckpt, resume,
                          progress)

    model, result = fit_members(config, train_one, checkpoint_dir)
    return model, encoder, labels, result


def predict_ids(model: Any, encoder: TextEncoder, texts: list[str], batch_size: int = 1024) -> np.ndarray:
    """Return the predicted class ids ``(N, A)`` of raw texts."""
    logits = predict_logits(model, encoder.encode(texts), batch_size)
    return torch.stack([lg.argmax(1) for lg in logits], 1).numpy()


def evaluate_aspect_splits(model: Any, encoder: TextEncoder, labels: dict[str, list[str]], data: AspectData,
                           batch_size: int = 1024) -> dict[str, dict[str, Any]]:
    """Scores of every split except train (valid, then test when present)."""
    out = {}
    for name in ("valid", "test"):
        if name in data.splits:
            split = data.splits[name]
            pred = predict_ids(model, encoder, split.texts, batch_size)
            out[name] = aspect_metrics(encode_labels(split, labels), pred, labels)
    return out


def run_absa(config: Config, data: str | Path | None = None, out_dir: str | Path | None = None, *,
             resume: bool = False, overwrite: bool = False, progress: bool = True, fmt: str | None = None,
             valid_path: str | Path | None = None, test_path: str | Path | None = None,
             header: bool = True) -> RunResult:
    """Train, score and (with ``out_dir``) save an aspect model with its reports.

    Args:
        config: The run's config (``task = "absa"``; the ``absa`` section describes the data layout).
        data: The training file (or the only file, split by ``data.split_col`` or at random).
        out_dir: Where to write ``model/`` and the reports; None: write nothing.
        resume: Continue an interrupted run from ``out_dir/checkpoint``.
        overwrite: Replace a model already saved in ``out_dir``.
        progress: Show progress bars.
        fmt: The files' format; None: from the extensions.
        valid_path: A separate validation file in the same layout.
        test_path: A separate test file in the same layout.
        header: Whether CSV/TSV files have a header row.

    Raises:
        ConfigError: If no data file is given.
        BundleError: If ``out_dir/model`` exists and neither ``overwrite`` nor ``resume`` is set.
    """
    if data is None:
        raise ConfigError("--task absa needs a DATA file with aspect labels (wide or long layout; see docs/absa.md).")
    out = Path(out_dir) if out_dir is not None else None
    if out is not None and (out / "model").exists() and not (overwrite or resume):
        raise BundleError(f"{out / 'model'}: a trained model is already there. Pass --overwrite to replace it, "
                          "or another --out.")
    aspect_data = load_aspect_data(data, config, fmt, valid_path, test_path, header)
    config = config.model_copy(deep=True)
    config.absa.aspects = list(aspect_data.aspects)  # the bundle records the resolved aspects
    ckpt = out / "checkpoint" if out is not None else None
    model, encoder, labels, result = train_aspect_model(config, aspect_data, ckpt, resume, progress)
    metrics = evaluate_aspect_splits(model, encoder, labels, aspect_data, config.train.eval_batch_size)
    summary = _summary(config, aspect_data, model, encoder, labels, result)
    if out is not None:
        _write_outputs(out, config, encoder, labels, model, metrics, result, summary)
    return RunResult(out, metrics, result.history, result, summary)


def evaluate_aspect_bundle(bundle: Bundle, data: Path, text_col: str | None = None, fmt: str | None = None,
                           header: bool = True, out: Path | None = None) -> dict[str, Any]:
    """Return (and with ``out`` write) the scores of an aspect bundle on a labelled file in its layout.

    Writes ``metrics.json``, ``report.md`` and ``confusion.png`` (one heatmap per aspect) to ``out``.

    Raises:
        DataError: If the file lacks an aspect column or has labels the model does not know.
    """
    config = bundle.config.model_copy(deep=True)
    config.data.text_col, config.data.split_col = text_col or config.data.text_col, None
    labels = bundle.labels
    known = {label for names in labels.values() for label in names}
    nm = not_mentioned_label(known, config.absa.not_mentioned)
    split = read_aspect_table(data, config, fmt, header, list(labels), nm).split
    check_labels(split, labels)
    pred = predict_ids(bundle.model, bundle.encoder, split.texts)
    metrics = aspect_metrics(encode_labels(split, labels), pred, labels)
    if out is not None:
        write_json(out / "metrics.json", metrics)
        write_text(out / "report.md", "\n".join(split_markdown(str(data), metrics)))
        plot_confusion_grid(metrics, out / "confusion.png", title=Path(data).name)
    return metrics


def _summary(config: Config, data: AspectData, model: Any, encoder: TextEncoder, labels: dict[str, list[str]],
             result: TrainResult) -> dict[str, Any]:
    return {
        "task": "absa", "architecture": config.model.name, "source": data.source, "aspects": list(labels),
        "labels": labels, "not_mentioned": data.not_mentioned,
        "n_parameters": sum(p.numel() for p in model.parameters()), "vocab_size": len(encoder.vocab),
        "max_len": encoder.max_len, "epochs_run": len(result.history), "best_epoch": result.best_epoch,
        "ensemble": config.model.ensemble, "members": result.members,
        "monitor": config.train.monitor, "train_seconds": result.seconds,
        "split_sizes": {k: len(v) for k, v in data.splits.items()}, "steps": encoder.pipeline.steps,
        "seed": config.train.seed, "lstmtext_version": __version__, "notes": data.notes,
    }


def _write_outputs(out: Path, config: Config, encoder: TextEncoder, labels: dict[str, list[str]], model: Any,
                   metrics: dict[str, Any], result: TrainResult, summary: dict[str, Any]) -> None:
    write_run_files(out, config, encoder, labels, model, metrics, result, summary,
                    report=run_markdown(summary, metrics), card=model_card(summary, metrics),
                    plot_split=lambda name, m, path: plot_confusion_grid(m, path, title=f"{name} split:"))
