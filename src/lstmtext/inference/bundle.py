"""Saved models ("bundles"): a folder of JSON files plus ``weights.safetensors``; no pickle anywhere.

Layout: ``meta.json`` (format version, versions, architecture), ``config.json`` (the resolved config),
``encoder.json`` (cleaning steps and sequence settings), ``vocab.json``, ``labels.json``,
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
from lstmtext.utils.atomic import atomic_dir
from lstmtext.config import Config
from lstmtext.encoding.encoder import TextEncoder
from lstmtext.errors import BundleError
from lstmtext.models import build_model
from lstmtext.encoding.vocab import Vocab

FORMAT_VERSION = 1
REQUIRED = ("meta.json", "config.json", "encoder.json", "vocab.json", "labels.json", "weights.safetensors")


@dataclass
class Bundle:
    """Everything needed to predict: config, encoder, labels, the model in eval mode, metrics and meta."""

    config: Config
    encoder: TextEncoder
    labels: Any  # list[str], or {aspect: list[str]} for aspect models
    model: nn.Module
    metrics: dict[str, Any]
    meta: dict[str, Any]
    path: Path | None = None


def num_classes_of(labels: Any) -> Any:
    """Number of outputs per head: an int for one head, a list for several."""
    return [len(v) for v in labels.values()] if isinstance(labels, dict) else len(labels)


def save_bundle(
    path: str | Path,
    config: Config,
    encoder: TextEncoder,
    labels: Any,
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
        "labels.json": labels,
        "metrics.json": metrics or {},
    }
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
    labels = _read_json(path / "labels.json")
    model = build_model(config.model, len(vocab), num_classes_of(labels), **head_kwargs(config, labels))
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
    return Bundle(config, encoder, labels, model, metrics, meta, path)


def head_kwargs(config: Config, labels: Any) -> dict[str, Any]:
    """The :func:`~lstmtext.models.build_model` arguments of the heads: names and attention of aspect models."""
    if not isinstance(labels, dict):
        return {}
    attention = config.absa.attention_size if config.absa.head == "attention" else None
    return {"head_names": list(labels), "aspect_attention": attention}
