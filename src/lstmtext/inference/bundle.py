"""Saved models ("bundles"): a folder of JSON files plus ``model.safetensors``, laid out as a Hugging Face model
repository; no pickle anywhere.

Layout (format 2):

- ``config.json``: Hugging Face-style keys (``model_type``, ``architectures``, ``num_labels``, ``id2label``,
  ``label2id``, ``problem_type``), the versions and creation time, the task, the SHA-256 of the weights
  file (``weights_sha256``: loading refuses a corrupt or replaced file) and the resolved lstmtext config under
  ``"lstmtext"``;
- ``model.safetensors``: the weights (readable with plain ``safetensors``);
- ``README.md``: the model card, with YAML metadata (``library_name: lstmtext``, language, license, tags,
  metrics with the data set they were measured on) that a model hub renders;
- ``preprocessing.json`` (cleaning steps and sequence settings), ``vocab.json``, ``labels.json`` (the task's
  label space), ``task.json`` (what the task tuned, e.g. multi-label thresholds; absent when nothing) and
  ``metrics.json``;
- ``resources/``: copies of the files the cleaning reads (a slang lexicon, a stopword list given in
  ``preprocess.options``), named in ``preprocessing.json`` relative to the folder; absent when none.

The folder is written atomically; loading checks the format version and that the weights fit the
architecture. Bundles of format 1 (``meta.json``, ``weights.safetensors``, ``encoder.json``,
``model_card.md``) still load.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError
from safetensors.torch import load_file
from torch import nn

from lstmtext import __version__
from lstmtext.config import Config
from lstmtext.encoding.encoder import TextEncoder
from lstmtext.encoding.vocab import Vocab
from lstmtext.errors import BundleError, LstmTextError, OutputExistsError
from lstmtext.models import build_model
from lstmtext.preprocess.pipeline import pack_files, unpack_files
from lstmtext.tasks import Task, get_task
from lstmtext.tasks.state import check_state
from lstmtext.utils.atomic import atomic_dir, check_sha256, file_sha256, moved_aside
from lstmtext.utils.outputs import check_writable, is_empty_dir, is_saved_model
from lstmtext.utils.safetensors_file import save_tensors

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
# format -> (meta file, weights file, encoder file, card file)
FILES = {1: ("meta.json", "weights.safetensors", "encoder.json", "model_card.md"),
         2: ("config.json", "model.safetensors", "preprocessing.json", "README.md")}
_LANGUAGES = {"en-tweet": "en", "id-news": "id", "id-review": "id", "vi-review": "vi"}


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

    @property
    def card_path(self) -> Path | None:
        """The model card's file."""
        if self.path is None:
            return None
        return self.path / FILES[int(self.meta.get("format_version", FORMAT_VERSION))][3]


def hub_config(config: Config, task: Task, model: nn.Module) -> dict[str, Any]:
    """The ``config.json`` of a bundle: Hugging Face's keys, the versions, and lstmtext's own config tree."""
    names = task.output_names()
    problem = {"sigmoid": "multi_label_classification"}.get(task.layout.activation, "single_label_classification")
    return {
        "model_type": "lstmtext",
        "library_name": "lstmtext",
        "architectures": [type(model).__name__],
        "architecture": config.model.name,
        "task": task.name,
        "problem_type": problem if len(task.layout.sizes) == 1 else "multi_head_classification",
        "num_labels": len(names),
        "id2label": {str(i): name for i, name in enumerate(names)},
        "task_state": sorted(task.state),  # what task.json holds: loading refuses a bundle that lost it
        "label2id": {name: i for i, name in enumerate(names)},
        "format_version": FORMAT_VERSION,
        "lstmtext_version": __version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "lstmtext": config.model_dump(mode="json"),
    }


def card_metadata(config: Config, task: Task, metrics: dict[str, Any], source: str = "", license: str = "other"
                  ) -> str:
    """The YAML block that opens ``README.md``: what a model hub shows and searches."""
    language = _LANGUAGES.get(config.preprocess.preset) or config.preprocess.keep_language
    split = "test" if "test" in metrics else "valid" if "valid" in metrics else None
    lines = ["---", "library_name: lstmtext", "pipeline_tag: text-classification", f"license: {license}"]
    if language:
        lines.append(f"language: [{language}]")
    lines += ["tags:", "- text-classification", f"- {task.name}", f"- {config.model.name}", "- lstmtext"]
    if split is not None:
        name = Path(source.split(" (")[0]).name or "training data"
        lines += ["model-index:", f"- name: {config.model.name}-{task.name}", "  results:",
                  "  - task: {type: text-classification}", f"    dataset: {{name: {json.dumps(name)}, split: {split}}}",
                  "    metrics:"]
        lines += [f"    - {{type: {k}, value: {v:.4f}}}" for k, v in task.headline(metrics[split]).items()]
    return "\n".join(lines) + "\n---\n\n"


def read_card(bundle: Bundle) -> tuple[str, str, str]:
    """A loaded model's card body (its README.md after the metadata block), licence and data set name, kept when
    it is saved again (a fitted estimator writes its own)."""
    path = bundle.card_path
    text = path.read_text(encoding="utf-8") if path is not None and path.is_file() else ""
    head, _, body = text.partition("\n---\n") if text.startswith("---\n") else ("", "", text)
    license = next((line.split(":", 1)[1].strip() for line in head.splitlines() if line.startswith("license:")), "other")
    named = re.search(r'dataset: \{name: "([^"]*)"', head)
    return body.lstrip("\n"), license, named.group(1) if named else ""


def save_bundle(
    path: str | Path,
    config: Config,
    encoder: TextEncoder,
    task: Task,
    model: nn.Module,
    metrics: dict[str, Any] | None = None,
    model_card: str = "",
    overwrite: bool = False,
    source: str = "",
    license: str = "other",
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a bundle folder atomically (format 2, see the module doc); ``extra``: more JSON files, name -> data,
    written with the others (the Python estimators' ``estimator.json``).

    Raises:
        OutputExistsError: If ``path`` holds a model and ``overwrite`` is False.
        BundleError: If ``path`` holds anything else (a file, a training run, other files: ``overwrite`` replaces
            only a saved model).
    """
    path = Path(path)
    target = path.resolve() if path.is_symlink() else path  # a link to a folder: the folder is replaced, the link kept
    check_save_target(target)
    overwrite = overwrite or is_empty_dir(target)  # an empty folder loses nothing
    metrics = metrics or {}
    files = {
        "config.json": hub_config(config, task, model),
        "preprocessing.json": encoder.to_dict(),  # its lexicon and word-list paths are packed below
        "vocab.json": encoder.vocab.to_dict(),
        "labels.json": task.labels,
        "metrics.json": metrics,
        **(extra or {}),
    }
    if task.state:
        files["task.json"] = task.state
    try:
        with atomic_dir(target, overwrite=overwrite) as tmp:
            files["preprocessing.json"]["pipeline"] = pack_files(files["preprocessing.json"]["pipeline"], tmp)
            state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
            save_tensors(state, tmp / "model.safetensors", metadata={"format_version": str(FORMAT_VERSION),
                                                                  "library_name": "lstmtext"})
            files["config.json"]["weights_sha256"] = file_sha256(tmp / "model.safetensors")
            for name, data in files.items():
                (tmp / name).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            card = card_metadata(config, task, metrics, source, license) + (model_card or "")
            (tmp / "README.md").write_text(card, encoding="utf-8")
    except FileExistsError:
        raise OutputExistsError(f"{path}: a model is already saved there. Pass --overwrite to replace it, or choose another "
                                "path.") from None
    return path


#: What lstmtext writes into a saved model's folder (either format), and so may replace there.
_BUNDLE_NAMES = {*(name for names in FILES.values() for name in names), "vocab.json", "labels.json", "metrics.json",
                 "task.json", "estimator.json", "model.onnx", "model.int8.onnx", "resources"}


def check_save_target(path: Path) -> None:
    """Refuse a path whose contents a save would replace although they are not a saved model's (a training run checks
    its OUT/model so before it trains). Graphs exported into the folder (``*.onnx``) are the old model's: replaced."""
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise BundleError(f"{parent} is a file, so no folder can be made in it for {path}. Choose another path.")
    check_writable(path.parent, "path")
    if not path.exists() or is_empty_dir(path):
        return
    if is_saved_model(path):
        others = sorted(p.name for p in path.iterdir() if p.name not in _BUNDLE_NAMES and p.suffix != ".onnx")
        if others:  # e.g. the .git of a cloned model repository: not the model's to replace
            raise BundleError(f"{path} is a saved model that also holds {', '.join(others[:5])}"
                              f"{' ...' if len(others) > 5 else ''}, which lstmtext did not write. Saving there would "
                              "delete them, so it is refused even with --overwrite. Move them away, or choose a new "
                              "or empty folder.")
        return
    what = ("a file: a model is saved as a folder" if not path.is_dir() else
            "a training run's folder (its model is in model/), not a saved model" if holds_model(path) else
            "a folder of other files, not a saved model")
    raise BundleError(f"{path} is {what}. Saving there would replace it, so it is refused even with --overwrite. "
                      "Choose a new or empty folder.")


def holds_model(path: str | Path) -> bool:
    """Whether ``path`` is a saved model or a training output folder (``model/`` or ``checkpoint/`` in it)."""
    path = Path(path)
    return is_saved_model(path) or is_saved_model(path / "model") or (path / "checkpoint").is_dir()


def resolve_bundle_path(path: str | Path) -> Path:
    """Accept a bundle folder or a training output folder holding ``model/``."""
    path = Path(path)
    if is_saved_model(path):
        return path
    if is_saved_model(path / "model"):
        return path / "model"
    for folder in (path, path / "model"):  # a kill between a save's two renames left the model beside its place:
        aside = moved_aside(folder)  # read from there (the next save puts it back; a load renames nothing)
        if aside is not None and is_saved_model(aside):
            return aside
    if not path.exists():
        raise BundleError(f"{path}: no such folder. Give the folder written by `lstmtext train --out`.")
    if path.is_file() and path.suffix.lower() == ".onnx":  # the graph is served beside its model, not as one
        raise BundleError(f"{path}: an ONNX graph, not a saved model. Give the model's folder and the graph with "
                          f"--onnx: e.g. `{path.parent} --onnx {path}`.")
    for folder in (path, path / "model"):
        if (folder / "lm.json").is_file():
            raise BundleError(f"{folder}: a language model (lstmtext pretrain), not a classifier. Train one from it with "
                              f"`lstmtext train DATA --pretrained {folder}`.")
        weights, config = (folder / "model.safetensors").is_file(), (folder / "config.json").is_file()
        ours = config and "lstmtext" in (folder / "config.json").read_text(encoding="utf-8", errors="replace")
        if weights != config and (weights or ours):  # one of lstmtext's pair is there: the other was lost
            missing = "config.json" if weights else "model.safetensors"
            raise BundleError(f"{folder}: {missing} is missing, so this saved model cannot be loaded. Copy the whole "
                              "folder again, or re-train it.")
    raise BundleError(f"{path}: not a saved model (no config.json + model.safetensors here or in {path / 'model'}).")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path}: corrupt JSON ({exc}). Re-save the model.") from None


def load_bundle(path: str | Path) -> Bundle:
    """Load a bundle (format 2, or 1) and rebuild its model in eval mode.

    Raises:
        BundleError: If files are missing, the format version is unknown, or the weights do not fit.
    """
    path = resolve_bundle_path(path)
    version = 1 if (path / "meta.json").is_file() else 2
    meta_file, weights_file, encoder_file, _ = FILES[version]
    required = [meta_file, "config.json", encoder_file, "vocab.json", "labels.json", weights_file]
    missing = [name for name in dict.fromkeys(required) if not (path / name).is_file()]
    if missing:
        raise BundleError(f"{path}: incomplete model folder, missing {', '.join(missing)}. Re-save or re-train it.")
    meta = _read_json(path / meta_file)
    if not isinstance(meta, dict):
        raise BundleError(f"{path / meta_file}: not what lstmtext wrote (a JSON {type(meta).__name__}, not an object). "
                          "Re-save or re-train the model.")
    kept = meta.get("task_state") or []  # its calibration or thresholds: silently gone, they change every answer
    if kept and not (path / "task.json").is_file():
        raise BundleError(f"{path}: incomplete model folder, missing task.json (the model's "
                          f"{' and '.join(kept)}). Re-save or re-train it.")
    if kept:
        state = _read_json(path / "task.json")
        lost = [k for k in kept if not isinstance(state, dict) or state.get(k) is None]
        if lost:
            raise BundleError(f"{path / 'task.json'}: the model's {' and '.join(lost)} are not in it, though "
                              f"{meta_file} says they were saved. Restore the file, or re-save or re-train the model.")
    if meta.get("format_version") not in READABLE_VERSIONS:
        raise BundleError(
            f"{path}: bundle format_version {meta.get('format_version')!r}, but this lstmtext "
            f"({__version__}) reads format_version {', '.join(map(str, READABLE_VERSIONS))}. Use a matching lstmtext "
            "or re-train."
        )
    tree = _read_json(path / "config.json") if version == 1 else meta.get("lstmtext")
    if not isinstance(tree, dict):
        raise BundleError(f"{path / 'config.json'}: no \"lstmtext\" config in it. Re-save the model.")
    try:
        config = Config.model_validate(tree)
    except ValidationError as exc:  # edited by hand, or written by a newer lstmtext with settings this one lacks
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise BundleError(f"{path / 'config.json'}: its lstmtext config does not load here: {where}: {err['msg']} (this "
                          f"lstmtext is {__version__}; a model saved by a newer one, or an edited file?). Use the lstmtext "
                          "that saved it, or re-train.") from None
    try:
        vocab = Vocab.from_dict(_read_json(path / "vocab.json"))
        preprocessing = _read_json(path / encoder_file)
        preprocessing["pipeline"] = unpack_files(preprocessing["pipeline"], path)
        encoder = TextEncoder.from_dict(preprocessing, vocab)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(f"{path}: vocab.json or {encoder_file} is not what lstmtext wrote ({type(exc).__name__}: "
                          f"{exc}). Re-save or re-train the model.") from None
    try:
        task = get_task(str(meta.get("task") or config.task))(
            _read_json(path / "labels.json"), config,
            _read_json(path / "task.json") if (path / "task.json").is_file() else None)
        check_state(task.state, task.layout)
        model = build_model(config.model, len(vocab), task.layout, **task.model_kwargs())
    except BundleError:  # a file that is not JSON at all: named on its own
        raise
    except (LstmTextError, KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{path}: labels.json, task.json or config.json do not describe a model of task "
                          f"{meta.get('task')!r} ({exc}). Re-save or re-train it.") from None
    saved_names = meta.get("id2label")
    if saved_names is not None and saved_names != {str(i): n for i, n in enumerate(task.output_names())}:
        raise BundleError(f"{path}: labels.json does not match config.json's id2label (the outputs would be named "
                          "wrongly). Re-save or re-train the model.")
    check_sha256(path / weights_file, meta.get("weights_sha256"), meta_file, "Re-save or re-train the model.")
    try:
        state = load_file(path / weights_file)
    except Exception as exc:  # safetensors raises its own error types for truncated files
        raise BundleError(f"{path / weights_file}: unreadable ({exc}). Re-save the model.") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = str(exc).split("\n")[1].strip() if "\n" in str(exc) else str(exc)
        raise BundleError(
            f"{path}: {weights_file} does not match the architecture in config.json ({detail}). "
            "The files come from different models; re-save the bundle."
        ) from None
    model.eval()
    metrics = _read_json(path / "metrics.json") if (path / "metrics.json").is_file() else {}
    return Bundle(config, encoder, task, model, metrics, {k: v for k, v in meta.items() if k != "lstmtext"}, path)
