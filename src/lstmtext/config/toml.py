"""Write a config as commented TOML (``lstmtext init-config``): every key with its description."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from lstmtext.config import Config


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def config_to_toml(config: Config, header: str | None = None) -> str:
    """Return ``config`` as TOML text in which every key carries its description as a comment.

    TOML has no null: ``None`` is written as the string ``"none"``, which the config reads back as None.
    """
    lines = [f"# {line}" for line in (header or "lstmtext configuration").splitlines()]
    lines.append(f"task = {_toml_value(config.task)}  # {type(config).model_fields['task'].description}")
    for section_name, field in type(config).model_fields.items():
        section = getattr(config, section_name)
        if not isinstance(section, BaseModel):
            continue
        lines += ["", f"[{section_name}]"]
        if section.__doc__:
            lines.append(f"# {section.__doc__.strip().splitlines()[0]}")
        nested = []
        for key, sub in type(section).model_fields.items():
            value = getattr(section, key)
            if isinstance(value, BaseModel):
                nested.append((key, value))
                continue
            doc = f"  # {sub.description}" if sub.description else ""
            shown = '"none"' if value is None else _toml_value(value)
            lines.append(f"{key} = {shown}{doc}")
        for key, sub_section in nested:
            lines += ["", f"[{section_name}.{key}]", f"# {type(sub_section).__doc__.strip().splitlines()[0]}"]
            for sub_key, sub_field in type(sub_section).model_fields.items():
                value = getattr(sub_section, sub_key)
                doc = f"  # {sub_field.description}" if sub_field.description else ""
                shown = '"none"' if value is None else _toml_value(value)
                lines.append(f"{sub_key} = {shown}{doc}")
    return "\n".join(lines) + "\n"
