"""How a config error is told: which layer (preset, TOML file, a command's options, a ``--set``) gave the bad
value, what was wrong, and the fix; one line."""

from __future__ import annotations

import difflib
import re
from typing import Any

from pydantic import ValidationError

from lstmtext.errors import ConfigError

Layer = tuple[str | dict[str, str], dict[str, Any]]


def explain(exc: ValidationError, config_class: Any, layers: list[Layer]) -> ConfigError:
    """The one-line error of a failed validation, named after the layer that set the value it is about."""
    err = exc.errors()[0]
    # a check across keys reports no location: the first dotted key its message names stands for it
    named = re.search(r"\b([a-z_]+\.[a-z_]+)\b", err["msg"]) if not err["loc"] else None
    return _explain(exc, source_of(tuple(named.group(1).split(".")) if named else err["loc"], layers), config_class)


def _explain(exc: ValidationError, source: str, config_class: Any) -> ConfigError:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        section = config_class
        for part in err["loc"][:-1]:
            section = section.model_fields[str(part)].annotation if str(part) in section.model_fields else section
        known = list(getattr(section, "model_fields", {}))
        leaf = str(err["loc"][-1])
        prefix = "".join(f"{p}." for p in err["loc"][:-1])
        # a key of a section given one level up (epochs for train.epochs): name its section
        inner = [f"{prefix}{name}.{leaf}" for name in known
                 if leaf in getattr(getattr(section.model_fields[name], "annotation", None), "model_fields", {})]
        close = inner or [prefix + c for c in difflib.get_close_matches(leaf, known, n=1)]
        hint = f" Did you mean {close[0]!r}?" if close else f" Known keys: {', '.join(known)}."
        return ConfigError(f"{source}: unknown key {loc!r}.{hint}")
    got = err.get("input")
    if isinstance(got, dict):  # a check across keys (the whole section or config as its input): the message says it
        return ConfigError(f"{source}: {(loc + ' ') if loc else ''}{err['msg'].lower()}.")
    hint = ""
    if err["type"] == "string_type" and isinstance(got, (int, float)) and not isinstance(got, bool):  # 2024 is a number
        if isinstance(err["loc"][-1], int):  # an item of a list ([1,2]): the list is what --set gives
            parent = ".".join(map(str, err["loc"][:-1]))
            hint = f" Write each item of the list as a TOML string (on the command line: --set '{parent}=[\"{got}\"]')."
        else:
            hint = f" Write it as a TOML string, \"{got}\" (on the command line: --set '{loc}=\"{got}\"')."
    if err["type"] == "list_type" and isinstance(got, str):  # a,b or [a,b]: TOML reads neither as a list
        items = ", ".join(f'"{v.strip()}"' for v in got.strip().strip("[]").split(",") if v.strip())
        hint = f" Write it as a TOML list, [{items}] (on the command line: --set '{loc}=[{items}]')."
    if err["type"] == "dict_type" and isinstance(got, str):  # JSON, or a TOML table in the wrong syntax
        hint = (f" Set one key at a time (--set {loc}.KEY=VALUE, e.g. preprocess.options.normalize_slang.lexicon="
                "\"my.csv\") or give a TOML inline table ({KEY = VALUE}), not JSON.")
    return ConfigError(f"{source}: {loc} {err['msg'].lower()}. Got {got!r} instead.{hint}")


def source_of(loc: tuple[Any, ...], layers: list[Layer]) -> str:
    """Which layer (preset, file, options, a --set) set the value at ``loc`` last: the one an error names.

    A layer's name may be a map from dotted keys to what set them (a command's flags: ``train.oversample``
    -> ``--oversample``).
    """
    parts = [str(p) for p in loc]
    for name, tree in reversed(layers):
        node: Any = tree
        for depth, part in enumerate(parts):
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            depth = len(parts)
        if depth == len(parts) or (depth and not isinstance(node, dict)):
            if isinstance(name, dict):  # the longest key of the map that holds the value
                keys = (".".join(parts[:n]) for n in range(depth, 0, -1))
                return next((name[k] for k in keys if k in name), "the command's options")
            return name
    return str(layers[-1][0]) if not isinstance(layers[-1][0], dict) else "config"
