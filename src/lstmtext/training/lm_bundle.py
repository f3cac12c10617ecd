"""The saved language model (``lstmtext pretrain --out LM``): JSON + safetensors, written atomically.

``LM/lm.json`` holds the format, the sizes, the cleaning chain (the ``preprocess`` config section and the
resolved steps) and the training history; ``LM/vocab.json`` the vocabulary; ``LM/model.safetensors`` every
weight of :class:`~lstmtext.models.language_model.LanguageModel`, so it can be trained further.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file

from lstmtext import __version__
from lstmtext.config import LMConfig, PreprocessConfig
from lstmtext.encoding.vocab import Vocab
from lstmtext.errors import BundleError, ConfigError, OutputExistsError
from lstmtext.models.language_model import LanguageModel
from lstmtext.preprocess.pipeline import pack_files, unpack_files
from lstmtext.preprocess.presets import resolved_preprocess
from lstmtext.utils.atomic import atomic_dir, check_sha256, file_sha256
from lstmtext.utils.safetensors_file import save_tensors

log = logging.getLogger(__name__)

FORMAT = "lstmtext-lm"
FORMAT_VERSION = 1
FILES = ("lm.json", "vocab.json", "model.safetensors")


@dataclass
class LMBundle:
    """A language model with the vocabulary and cleaning it was trained with."""

    model: LanguageModel
    vocab: Vocab
    preprocess: PreprocessConfig
    lm: LMConfig
    info: dict[str, Any]  # history, corpus sizes, perplexity
    path: Path | None = None

    @property
    def sizes(self) -> dict[str, Any]:
        """What a classifier must match to start from it."""
        rnn = self.model.rnn
        return {"embedding_dim": rnn.input_size, "hidden_size": rnn.hidden_size,
                "bidirectional": rnn.bidirectional}


def save_lm(bundle: LMBundle, path: Path, overwrite: bool = False) -> Path:
    """Write ``bundle`` to the folder ``path`` (atomically; an existing one only with ``overwrite``)."""
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "lstmtext_version": __version__,
            "vocab_size": len(bundle.vocab), **bundle.sizes,
            # the chain written out (its preset may change later) with its lexicon files copied in (packed below)
            "preprocess": resolved_preprocess(bundle.preprocess.model_dump(mode="json")),
            "lm": bundle.lm.model_dump(mode="json"), **bundle.info}
    try:
        with atomic_dir(path, overwrite=overwrite) as tmp:
            meta["preprocess"] = pack_files(meta["preprocess"], tmp)
            save_tensors({k: v.contiguous() for k, v in bundle.model.state_dict().items()}, tmp / "model.safetensors",
                      metadata={"format": FORMAT, "format_version": str(FORMAT_VERSION)})
            meta["weights_sha256"] = file_sha256(tmp / "model.safetensors")
            (tmp / "vocab.json").write_text(json.dumps(bundle.vocab.to_dict(), ensure_ascii=False), encoding="utf-8")
            meta["vocab_sha256"] = file_sha256(tmp / "vocab.json")  # words swapped in place change no size
            (tmp / "lm.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    except FileExistsError:
        raise OutputExistsError(f"{path} exists. Pass --overwrite to replace it, or choose another --out.") from None
    bundle.path = Path(path)
    return Path(path)


def is_lm_bundle(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding ``lm.json``."""
    return (Path(path) / "lm.json").is_file()


def lm_folder(path: str | Path) -> Path:
    """The language model's folder: ``path``, or ``path/lm`` for a training output folder that pretrained one."""
    path = Path(path)
    return path / "lm" if not is_lm_bundle(path) and is_lm_bundle(path / "lm") else path


def lm_identity(path: str | Path) -> str | None:
    """What names the content of the language model at ``path`` (its weights' and vocabulary's hashes, as
    ``lm.json`` records them; the weights file's own hash for a bundle without one): experiments key their saved
    runs on it, since a model pretrained again at the same path is another model. None where none can be read (the
    run then says what is wrong with it)."""
    folder = lm_folder(path)
    try:
        meta = json.loads((folder / "lm.json").read_text(encoding="utf-8"))
        weights = meta.get("weights_sha256") or file_sha256(folder / "model.safetensors")
        return f"{weights}:{meta.get('vocab_sha256')}"
    except (OSError, ValueError, AttributeError):
        return None


def read_lm_meta(path: str | Path) -> dict[str, Any]:
    """``lm.json`` of the language model at ``path`` (checked as :func:`load_lm` checks it, weights not read)."""
    path = lm_folder(path)
    if path.is_file() and is_lm_bundle(path.parent):  # a file of a language model's folder: the folder is meant
        raise BundleError(f"{path} is a file of the language model {path.parent}: give the folder, --pretrained "
                          f"{path.parent}.")
    if path.is_file() and path.suffix in (".safetensors", ".json", ".onnx"):
        raise BundleError(f"{path} is a model file, not a language model (a folder written by `lstmtext pretrain`). "
                          "Give the folder `lstmtext pretrain --out` wrote.")
    if path.is_file():
        raise BundleError(f"{path} is a file, not a language model (a folder written by `lstmtext pretrain`). To pretrain "
                          f"on its texts: `lstmtext pretrain {path} --out LM`, then --pretrained LM.")
    if not path.is_dir():
        raise BundleError(f"{path}: no such language-model folder. Train one with `lstmtext pretrain TEXTS --out {path}`.")
    missing = [name for name in FILES if not (path / name).is_file()]
    if missing:
        if (path / "pretrain.json").is_file():  # the work folder of a pretraining that did not finish
            raise BundleError(f"{path}: a pretraining that did not finish (no language model saved yet). Finish it with "
                              f"`lstmtext pretrain TEXTS --out {path} --resume`, the same TEXTS as before.")
        classifier = (path / "config.json").is_file() or (path / "model" / "config.json").is_file()
        hint = (" It is a classifier (lstmtext train): to continue training it on new labels use --init-from "
                f"{path}; to start one from a language model, pretrain one (lstmtext pretrain TEXTS --out LM)."
                if classifier else " Give the folder `lstmtext pretrain --out` wrote.")
        raise BundleError(f"{path}: not a language model saved by `lstmtext pretrain` (missing "
                          f"{', '.join(missing)}).{hint}")
    try:
        meta = json.loads((path / "lm.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path}/lm.json is corrupt ({exc}). Train the language model again.") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise BundleError(f"{path}/lm.json: not a language model (format {meta.get('format') if isinstance(meta, dict) else None!r}, "
                          f"expected {FORMAT!r}).")
    version = meta.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version != FORMAT_VERSION:
        raise BundleError(f"{path}: language-model format_version {version}, but this lstmtext ({__version__}) reads "
                          f"{FORMAT_VERSION}. Use a matching lstmtext or pretrain again.")
    for key, (kinds, what) in {"format_version": (int, "a number"), **_META_KEYS}.items():
        value = meta.get(key)
        if not isinstance(value, kinds) or (kinds is int and (isinstance(value, bool) or value < 1)):
            found = "missing" if key not in meta else f"{json.dumps(value)[:40]}"
            raise BundleError(f"{path}/lm.json: {key} is {found}, not {what}: the file was edited or is corrupt. Train "
                              "the language model again.")
    from lstmtext.preprocess.steps import available_steps

    steps = meta["preprocess"].get("steps") or []  # a newer lstmtext's step read as the run's own misspelt one
    known = available_steps()
    unknown = [s for s in steps if s not in known] if isinstance(steps, list) else []
    if unknown:
        raise BundleError(f"{path}/lm.json: cleaning step {unknown[0]!r} is unknown to lstmtext {__version__} (pretrained "
                          "with another version, or edited). Use the lstmtext that pretrained it, or pretrain again.")
    meta["preprocess"] = unpack_files(meta["preprocess"], path)  # its own copies of the lexicon files
    return meta


#: What ``lm.json`` must hold beside its format (each read when the model is built): key -> (type, in words).
_META_KEYS = {"preprocess": (dict, "a cleaning section"), "lm": (dict, "a language-model section"),
              "embedding_dim": (int, "a whole number of at least 1"), "hidden_size": (int, "a whole number of at least 1"),
              "bidirectional": (bool, "true or false")}


#: Config keys a language model fixes for the runs that start from it: its vocabulary's words and its sizes
#: (``vocab.max_len``, where texts are cut, stays the run's).
LM_OWNS = ("vocab.num_words", "vocab.min_freq", "model.embedding_dim", "model.hidden_size")


def pretrained_settings(pretrained: str | Path | None, config_file: str | Path | None, cleaning_named: bool,
                        given: dict[str, tuple[Any, str]] | None = None) -> tuple[str | None, dict[str, Any]]:
    """The language model a run starts from and the config it takes from it (:func:`lm_settings`), for a command or
    an estimator: ``pretrained`` (its option or argument), else its config file's ``train.pretrained``. The cleaning
    is the model's unless the run names one: ``cleaning_named`` (an option, ``preprocess=``), or a ``[preprocess]``
    section in the config file; that one is then checked against the model's when the model loads.

    ``given``: the keys the run sets itself (dotted key -> (value, what set it: ``--set k=v``, ``hidden_size=64``));
    one the model fixes (:data:`LM_OWNS`) is refused. A config file's size that is not the model's is logged.

    Returns:
        ``(the language model's path or None, the nested settings; {} without one)``.

    Raises:
        ConfigError: For a setting the language model fixes, naming what set it.
    """
    from lstmtext.config.files import is_saved_model_config, read_config_file

    tree = read_config_file(Path(config_file)) if config_file is not None else {}
    train = tree.get("train") if isinstance(tree.get("train"), dict) else {}
    path = pretrained or train.get("pretrained")
    if not path or (isinstance(path, str) and path.strip().lower() == "none"):  # TOML's null (init-config writes it)
        return None, {}
    meta = read_lm_meta(path)
    sizes = {"model.embedding_dim": meta.get("embedding_dim"), "model.hidden_size": meta.get("hidden_size")}
    if config_file is not None and not is_saved_model_config(Path(config_file)):  # a file may set every key (one
        for key in sizes:  # from init-config): its other size is said, not refused, and its vocabulary keys pass
            section, leaf = key.split(".")
            value = tree.get(section, {}).get(leaf) if isinstance(tree.get(section), dict) else None
            if value is not None and value != sizes[key] and key not in (given or {}):
                log.warning("%s sets %s = %s, but the language model %s has %s: the model's is used.", config_file,
                            key, value, path, sizes[key])
    for key, (value, source) in (given or {}).items():
        if key.startswith(LM_OWNS) and not (key in sizes and value == sizes[key]):
            raise ConfigError(f"{source}: a run that starts from the language model {path} takes its vocabulary's "
                              f"words and its embedding and hidden sizes ({sizes['model.embedding_dim']} and "
                              f"{sizes['model.hidden_size']}). Leave it out, or pretrain a language model with it "
                              f"(lstmtext pretrain ... --set {key}=...).")
    return str(path), lm_settings(path, meta, cleaning=not (cleaning_named or "preprocess" in tree))


def lm_settings(path: str | Path, meta: dict[str, Any], cleaning: bool = True) -> dict[str, Any]:
    """The config a run that starts from the language model at ``path`` (its ``lm.json``: ``meta``) takes from it, as
    a nested dict for the run's settings to go over: ``train.pretrained``, an embedding that starts random (the
    model's weights replace it) and, with ``cleaning``, the model's cleaning. Without it (the run names its own: an
    option, a config file's [preprocess] section) the run's is checked against the model's when the model loads.
    """
    out: dict[str, Any] = {"train": {"pretrained": str(path)}, "model": {"embedding": {"kind": "random"}}}
    if cleaning:
        out["preprocess"] = meta["preprocess"]
    return out


def load_lm(path: str | Path) -> LMBundle:
    """Read a language model saved by :func:`save_lm`.

    Raises:
        BundleError: One line naming the problem: not an LM folder, a missing or corrupt file, another format
            version, or weights that do not match the sizes.
    """
    path = lm_folder(path)
    meta = read_lm_meta(path)
    check_sha256(path / "vocab.json", meta.get("vocab_sha256"), "lm.json", "Train the language model again.")
    try:
        vocab = Vocab.from_dict(json.loads((path / "vocab.json").read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, ValueError, TypeError) as exc:
        raise BundleError(f"{path}/vocab.json is corrupt ({exc}). Train the language model again.") from None
    try:
        lm_cfg, preprocess = LMConfig.model_validate(meta["lm"]), PreprocessConfig.model_validate(meta["preprocess"])
        model = LanguageModel(len(vocab), meta["embedding_dim"], meta["hidden_size"], meta["bidirectional"]).configure(lm_cfg)
        check_sha256(path / "model.safetensors", meta.get("weights_sha256"), "lm.json", "Train the language model again.")
        state = load_file(path / "model.safetensors")
        model.load_state_dict(state)
    except (SafetensorError, OSError) as exc:
        raise BundleError(f"{path}/model.safetensors is corrupt ({exc}). Train the language model again.") from None
    except (KeyError, ValueError, RuntimeError) as exc:
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        detail = lines[1] if len(lines) > 1 and lines[0].endswith(":") else lines[0] if lines else type(exc).__name__
        raise BundleError(f"{path}: its files do not agree (model.safetensors, vocab.json: {len(vocab):,} words, and "
                          f"lm.json): {detail.rstrip('.')}. One of them was edited or replaced: train the language model "
                          "again.") from None
    info = {k: meta[k] for k in ("history", "corpus", "perplexity", "seconds", "precision", "stage") if k in meta}
    return LMBundle(model, vocab, preprocess, lm_cfg, info, path)
