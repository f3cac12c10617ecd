"""What a search varies: ``--grid key=a,b`` and ``--space key=low:high[:log]`` / ``key=a,b,c``, checked against the config.

Keys are dotted config keys (``train.lr``, ``model.options.num_filters``); values are read as TOML, as
``--set`` reads them. A key that is not in the config, a value the config rejects, or a ``data.*`` key
(which would change the rows, not the model) is a one-line ``ConfigError`` naming the option and the fix.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from lstmtext.config import Config, build_config, parse_override
from lstmtext.errors import ConfigError

Scalar = str | int | float | bool


@dataclass
class Space:
    """A grid (every combination) or a sampled space (ranges and choices)."""

    grid: dict[str, list[Scalar]] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float, bool]] = field(default_factory=dict)  # key -> (low, high, log)
    choices: dict[str, list[Scalar]] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        """Every key the search varies, in the order given."""
        return [*self.grid, *self.ranges, *self.choices]

    def to_dict(self) -> dict[str, Any]:
        """JSON form, stored with the study so a resumed search can check it is the same search."""
        return {"grid": self.grid, "ranges": {k: list(v) for k, v in self.ranges.items()}, "choices": self.choices}


def split_values(raw: str, quotes: bool = True) -> list[str]:
    """Split on commas that are not inside brackets or (``quotes``) quotes: ``[2,3],[4,5]`` is two values. Without
    ``quotes`` an apostrophe is a character (``--models``' paths: ``o'brien/lm,cnn`` is two)."""
    out, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(raw):
        if quote:
            quote = "" if ch == quote else quote
        elif quotes and ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(raw[start:i])
            start = i + 1
    out.append(raw[start:])
    return [v.strip() for v in out if v.strip()]


def check_key(key: str, option: str) -> None:
    """Raise a ConfigError unless ``key`` is a searchable dotted config key.

    Raises:
        ConfigError: For an unknown key (with the closest known one), a section named as a key, or a data key.
    """
    parts = key.split(".")
    if parts[0] == "data":
        raise ConfigError(f"{option} {key!r}: data.* keys choose the rows and columns, so they cannot be searched. "
                          "Set them once with --text-col/--label-col or --set.")
    node: Any = Config
    for i, part in enumerate(parts):
        fields = node.model_fields
        if part not in fields:
            prefix = ".".join(parts[:i])
            known = [f"{prefix}.{k}" if prefix else k for k in fields]
            close = difflib.get_close_matches(key, known, n=3)
            close.sort(key=lambda k: -len(os.path.commonprefix([k, key])))  # a typo keeps the start: lrate -> lr
            hint = f"Did you mean {close[0]!r}?" if close else f"Keys here: {', '.join(known)}."
            raise ConfigError(f"{option} {key!r}: not a config key. {hint} Keys are section.key as written by "
                              "`lstmtext init-config` (e.g. train.lr).")
        annotation = fields[part].annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            node = annotation
            if i == len(parts) - 1:
                raise ConfigError(f"{option} {key!r}: a section, not a key. Name one of its keys, e.g. "
                                  f"{key}.{next(iter(annotation.model_fields))}.")
            continue
        if i < len(parts) - 1 and part != "options":
            raise ConfigError(f"{option} {key!r}: {part!r} is a value, not a section. Use {'.'.join(parts[:i + 1])}.")
        return
    raise ConfigError(f"{option} {key!r}: give a dotted key such as train.lr.")


def _value(key: str, raw: str, option: str) -> Scalar:
    _, value = parse_override(f"{key}={raw}")
    return value if isinstance(value, (str, int, float, bool)) else raw  # lists stay as their TOML text


def override(key: str, value: Scalar) -> str:
    """The ``--set`` text that puts ``value`` at ``key`` (TOML text for lists, JSON for scalars)."""
    if isinstance(value, str):
        parsed = parse_override(f"{key}={value}")[1]
        return f"{key}={value}" if not isinstance(parsed, str) else f"{key}={json.dumps(value)}"
    return f"{key}={json.dumps(value)}"


def _check_values(base: Config, key: str, values: list[Scalar], option: str) -> None:
    """Refuse a value the config rejects, one the model would not read, or one given twice as the config reads
    it (``32,32.0`` for an int: one point run twice, or a choice drawn twice as often)."""
    from lstmtext.models.registry import check_name

    tree = base.model_dump(mode="json")
    seen: dict[str, int] = {}  # each value as the config reads it -> where it was first listed
    for i, value in enumerate(values):
        try:
            built = build_config(None, extra=tree, overrides=[override(key, value)])
            if key == "model.name":  # else only that value's trials would fail, once the search runs
                check_name(str(value))
        except ConfigError as exc:
            reason = str(exc).split(": ", 1)[-1]
            raise ConfigError(f"{option} {key}={value!r}: {reason}") from None
        idle = [msg for msg in built.model.ineffective() if msg.startswith(f"{key}=")]
        if idle:  # its trials would differ in name only, and one be called best
            raise ConfigError(f"{option} {idle[0]}.")
        read = built.model_dump(mode="json")
        for part in key.split("."):
            read = read[part]
        first = seen.setdefault(json.dumps(read, sort_keys=True), i)
        if first != i:
            same = f"{value!r} is listed twice" if repr(value) == repr(values[first]) else \
                f"{values[first]!r} and {value!r} are the same value"
            raise ConfigError(f"{option} {key}: {same} (its trials would run twice, or be drawn twice as often). "
                              "List each value once.")


def _check_read(base: Config, key: str, option: str) -> None:
    """Refuse a ``model.*`` key the searched architecture does not read (``hidden_size`` of a TextCNN)."""
    from lstmtext.models import ignored_settings

    leaf = key.removeprefix("model.")
    if leaf in ignored_settings(base.model.name):
        raise ConfigError(f"{option} {key}: the {base.model.name!r} architecture does not read it, so its trials would "
                          "differ in name only. Search keys it reads (lstmtext models lists its options), or vary "
                          "model.name as well.")


def _pairs(items: list[str], option: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        if "=" not in item:
            raise ConfigError(f"{option} {item!r}: expected key=values, e.g. {option} train.lr=1e-3,1e-4.")
        key, raw = (s.strip() for s in item.split("=", 1))
        check_key(key, option)
        if key in [k for k, _ in out]:
            raise ConfigError(f"{option} {key!r} is given twice. Give all its values in one {option} key=a,b,c.")
        out.append((key, raw))
    return out


def parse_space(base: Config, grid: list[str] | None = None, space: list[str] | None = None) -> Space:
    """Read ``--grid`` and ``--space`` items into a :class:`Space`, checking every key and value.

    Raises:
        ConfigError: For unknown keys, values the config rejects, empty lists, bad ranges, or a mix of both.
    """
    if grid and space:
        raise ConfigError("--grid and --space cannot be mixed: a grid runs every combination, a space is sampled. "
                          "Use --space key=a,b for choices inside a sampled search.")
    if not grid and not space:
        raise ConfigError("search: give --grid key=a,b (every combination) or --space key=low:high with --trials N.")
    out = Space()
    for key, raw in _pairs(list(grid or []), "--grid"):
        values = [_value(key, v, "--grid") for v in split_values(raw)]
        if not values:
            raise ConfigError(f"--grid {key!r}: no values. Write --grid {key}=a,b,c.")
        _check_values(base, key, values, "--grid")
        out.grid[key] = values
    for key, raw in _pairs(list(space or []), "--space"):
        parts = raw.split(":")
        if len(parts) in (2, 3) and "," not in raw and "[" not in raw:
            low, high = (_value(key, p, "--space") for p in parts[:2])
            log = len(parts) == 3
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)) or low >= high \
                    or (log and (parts[2] != "log" or low <= 0)):
                raise ConfigError(f"--space {key}={raw!r}: a range is low:high or low:high:log with numbers "
                                  "low < high (and low > 0 for log), e.g. train.lr=1e-4:1e-2:log.")
            _check_values(base, key, [low, high], "--space")
            if not (isinstance(low, int) and isinstance(high, int)):  # TPE will draw fractions between them
                try:
                    _check_values(base, key, [low + (high - low) * 0.37], "--space")
                except ConfigError:
                    raise ConfigError(f"--space {key}={raw!r}: the setting takes whole numbers, and a range with a "
                                      f"decimal bound draws fractions; write whole-number bounds, e.g. "
                                      f"{key}={int(low)}:{int(high)}.") from None
            out.ranges[key] = (low, high, log)
        else:
            values = [_value(key, v, "--space") for v in split_values(raw)]
            if not values:  # Optuna's own error had ended the command in a traceback
                raise ConfigError(f"--space {key!r}: no values. Write --space {key}=a,b,c for choices, or "
                                  f"{key}=low:high for a range.")
            _check_values(base, key, values, "--space")
            out.choices[key] = values
    names = out.grid.get("model.name") or out.choices.get("model.name")
    for key in out.keys:
        option = "--grid" if key in out.grid else "--space"
        if not names:  # one architecture: each key must be one it reads (a searched model.name may read it)
            _check_read(base, key, option)
        if key.startswith("model.options."):  # every point pairs it with every searched architecture
            values = out.grid.get(key) or out.choices.get(key) or list(out.ranges[key][:2])
            _check_option(base, key, values, option, [str(n) for n in names or []])
    return out


def _check_option(base: Config, key: str, values: list[Scalar], option: str, names: list[str]) -> None:
    """Refuse a ``model.options.*`` key or value that the architecture (each of ``names``, when model.name is
    searched too) does not take, before any trial runs (every trial failed, one after another, with the same
    error)."""
    from lstmtext.models import check_model

    tree = base.model_dump(mode="json")
    for name in names or [None]:
        for value in values:
            try:
                cfg = build_config(None, extra=tree, overrides=[override(key, value)]
                                   + ([override("model.name", name)] if name else []))
                check_model(cfg.model)
            except ConfigError as exc:
                searched = f" (with model.name={name!r}: every architecture searched meets every value)" if name else ""
                raise ConfigError(f"{option} {key}={value!r}{searched}: {exc}") from None


def suggest(trial: Any, space: Space) -> dict[str, Scalar]:
    """Ask an Optuna trial for one point of ``space``; returns ``{key: value}``."""
    params: dict[str, Scalar] = {}
    for key, values in {**space.grid, **space.choices}.items():
        params[key] = trial.suggest_categorical(key, values)
    for key, (low, high, log) in space.ranges.items():
        if isinstance(low, int) and isinstance(high, int):
            params[key] = trial.suggest_int(key, low, high, log=log)
        else:
            params[key] = trial.suggest_float(key, float(low), float(high), log=log)
    return params


def apply(base: Config, params: dict[str, Scalar], extra: list[str] | None = None) -> Config:
    """``base`` with ``params`` (then ``extra`` overrides) set."""
    overrides = [override(k, v) for k, v in params.items()] + list(extra or [])
    return build_config(None, extra=base.model_dump(mode="json"), overrides=overrides)
