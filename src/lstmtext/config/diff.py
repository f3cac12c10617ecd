"""A config as the dotted keys where it differs from the built-in defaults: what a loaded estimator reports as its
``overrides``, so that ``clone()`` and ``fit()`` train the same model again."""

from __future__ import annotations

from typing import Any

from lstmtext.config.schema import Config, build_config


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` as ``{"a.b": 1}`` (an empty dict stays a value)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def config_overrides(config: Config) -> dict[str, Any]:
    """The dotted keys where ``config`` differs from its task's built-in defaults: a loaded model's ``overrides``."""
    base = flatten(build_config(None, extra={"task": config.task}).model_dump(mode="json"))
    return {k: v for k, v in flatten(config.model_dump(mode="json")).items() if k != "task" and base.get(k) != v}
