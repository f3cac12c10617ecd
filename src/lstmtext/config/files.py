"""Reading a config file: TOML (``lstmtext init-config``, a search's ``best.toml``) or a saved model's JSON."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

from lstmtext.errors import ConfigError


def read_config_file(path: Path) -> dict[str, Any]:
    """A config file's tree: TOML (init-config, a search's best.toml), or JSON: a saved model's ``config.json``
    (its ``lstmtext`` config), or a folder holding one (a model folder or a training output folder)."""
    if path.is_dir():
        found = next((p for p in (path / "config.json", path / "model" / "config.json") if p.is_file()), None)
        if found is None:  # it said to write TOML into FOLDER/config.json with init-config
            raise ConfigError(f"{path}: a folder without a saved model's config.json. Give the TOML file itself "
                              "(lstmtext init-config writes one), or a model or training output folder.")
        path = found
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found. Write one with `lstmtext init-config {path}`.") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a text file ({exc}). Give a TOML config or a saved model's config.json.") from None
    if path.suffix.lower() == ".json":
        try:
            tree = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc}). Give a saved model's config.json or a TOML config.") from None
        tree = tree.get("lstmtext", tree) if isinstance(tree, dict) else tree
        if not isinstance(tree, dict):
            raise ConfigError(f"{path}: holds no config (a JSON object with sections such as model and train).")
        return copy.deepcopy(tree)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}). Fix the syntax or regenerate it with init-config.") from None


def is_saved_model_config(path: Path) -> bool:
    """Whether ``path`` is a saved model's config (its ``config.json`` or a folder holding one): every key of its
    day, so that a key added to lstmtext since reads as the built-in default, as that run trained, not a preset's."""
    return path.is_dir() or path.suffix.lower() == ".json"
