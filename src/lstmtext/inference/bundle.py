"""Saved models ("bundles"): a folder of JSON files plus ``weights.safetensors``; no pickle anywhere.

Layout: ``meta.json`` (format version, versions, architecture, task), ``config.json`` (the resolved config),
``encoder.json`` (cleaning steps and sequence settings), ``vocab.json``, ``labels.json`` (the task's label
space), ``task.json`` (what the task tuned after training, e.g. multi-label thresholds; absent when nothing),
``weights.safetensors``, ``metrics.json`` and ``model_card.md``. The folder is written atomically, and
loading checks the format version and that the weights fit the architecture the config describes.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from lstmtext import __version__
from lstmtext.config import Config
from lstmtext.encoding.encoder import TextEncoder
from lstmtext.encoding.vocab import Vocab
from lstmtext.errors import BundleError, LstmTextError
from lstmtext.models import build_model
from lstmtext.tasks import Task, get_task
from lstmtext.utils.atomic import atomic_dir

FORMAT_VERSION = 1
REQUIRED = ("meta.json", "config.json", "encoder.json", "vocab.json", "labels.json", "weights.safetensors")


@dataclass
class Bundle:
    """Everything needed to predict: config, encoder, the task (its labels), the model in eval mode, metrics, meta."""

    config: Config
    encoder: TextEncoder
    task: Task
    model: nn.Module
    metrics: dict[str, Any]
    meta: dict[str, Any]
    path: Path | None = None

    @property
    def labels(self) -> Any:
        """The task's label space (``labels.json``): class names, or ``{aspect: class names}``."""
        return self.task.labels


def save_bundle(
    path: str | Path,
    config: Config,
    encoder: TextEncoder,
    task: Task,
    model: nn.Module,
    metrics: dict[str, Any] | None = None,
    model_card: str = "",
    overwrite: bool = False,
) -> Path:
    """Write a bundle folder atomically.

    Raises:
        BundleError: If ``path`` exists and ``overwrite`` is False.
    """
    path = Path(path)
    meta = {
        "format_version": FORMAT_VERSION,
        "lstmtext_version": __version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "architecture": config.model.name,
        "task": config.task,
        "n_parameters": sum(p.numel() for p in model.parameters()),
    }
    files = {
        "meta.json": meta,
        "config.json": config.model_dump(mode="json"),
        "encoder.json": encoder.to_dict(),
        "vocab.json": encoder.vocab.to_dict(),
        "labels.json": task.labels,
        "metrics.json": metrics or {},
    }
    if task.state:
        files["task.json"] = task.state
    try:
        with atomic_dir(path, overwrite=overwrite) as tmp:
            for name, data in files.items():
                (tmp / name).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
            save_file(state, tmp / "weights.safetensors", metadata={"format_version": str(FORMAT_VERSION)})
            (tmp / "model_card.md").write_text(model_card or "", encoding="utf-8")
    except FileExistsError:
        raise BundleError(f"{path}: a model is already saved there. Pass --overwrite to replace it, or choose another path.") from None
    return path


def resolve_bundle_path(path: str | Path) -> Path:
    """Accept a bundle folder or a training output folder holding ``model/``."""
    path = Path(path)
    if (path / "meta.json").is_file():
        return path
    if (path / "model" / "meta.json").is_file():
        return path / "model"
    if not path.exists():
        raise BundleError(f"{path}: no such folder. Give the folder written by `lstmtext train --out`.")
    raise BundleError(f"{path}: not a saved model (no meta.json here or in {path / 'model'}).")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BundleError(f"{path}: corrupt JSON ({exc}). Re-save the model.") from None


def load_bundle(path: str | Path) -> Bundle:
    """Load a bundle and rebuild its model in eval mode.

    Raises:
        BundleError: If files are missing, the format version differs, or the weights do not fit.
    """
    path = resolve_bundle_path(path)
    missing = [name for name in REQUIRED if not (path / name).is_file()]
    if missing:
        raise BundleError(f"{path}: incomplete model folder, missing {', '.join(missing)}. Re-save or re-train it.")
    meta = _read_json(path / "meta.json")
    if meta.get("format_version") != FORMAT_VERSION:
        raise BundleError(
            f"{path}: bundle format_version {meta.get('format_version')!r}, but this lstmtext "
            f"({__version__}) reads format_version {FORMAT_VERSION}. Use a matching lstmtext or re-train."
        )
    config = Config.model_validate(_read_json(path / "config.json"))
    vocab = Vocab.from_dict(_read_json(path / "vocab.json"))
    encoder = TextEncoder.from_dict(_read_json(path / "encoder.json"), vocab)
    try:
        task = get_task(str(meta.get("task") or config.task))(
            _read_json(path / "labels.json"), config,
            _read_json(path / "task.json") if (path / "task.json").is_file() else None)
        model = build_model(config.model, len(vocab), task.layout, **task.model_kwargs())
    except (LstmTextError, KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{path}: labels.json, task.json or config.json do not describe a model of task "
                          f"{meta.get('task')!r} ({exc}). Re-save or re-train it.") from None
    try:
        state = load_file(path / "weights.safetensors")
    except Exception as exc:  # safetensors raises its own error types for truncated files
        raise BundleError(f"{path / 'weights.safetensors'}: unreadable ({exc}). Re-save the model.") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = str(exc).split("\n")[1].strip() if "\n" in str(exc) else str(exc)
        raise BundleError(
            f"{path}: weights.safetensors does not match the architecture in config.json ({detail}). "
            "The files come from different models; re-save the bundle."
        ) from None
    model.eval()
    metrics = _read_json(path / "metrics.json") if (path / "metrics.json").is_file() else {}
    return Bundle(config, encoder, task, model, metrics, meta, path)
