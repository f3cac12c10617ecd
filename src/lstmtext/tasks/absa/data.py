"""Read aspect-sentiment data (wide or long layout) into one row per text with one label per aspect.

Wide layout (IndoNLU CASA, HoASA): a text column and one label column per aspect. The aspects are the
columns named by ``absa.aspects`` (``--aspects``) or, by default, every column except the text and split
columns, in file order.

Long layout: one row per (text, aspect, polarity). Rows are grouped by their exact text (first appearance
gives the order and the split). An aspect that has no row for a text gets the *not-mentioned* label: the
first entry of ``absa.not_mentioned`` that occurs among the training file's labels (case ignored, spelt as
the file spells it), or the first entry when none does. A row whose aspect and polarity are both empty keeps a text that mentions no aspect. The
aspects, unless named, are the sorted distinct values of the aspect column.

Every error is one line naming the file, the line and the aspect, and saying how to fix it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from lstmtext.config import Config
from lstmtext.data.dataset import (
    SPLIT_ALIASES,
    RowRefs,
    Split,
    Table,
    check_columns,
    check_repeated,
    check_strings,
    split_values,
)
from lstmtext.data.lines import TextRows
from lstmtext.errors import DataError


def find_not_mentioned(labels: set[str], candidates: list[str]) -> str | None:
    """The first of ``candidates`` among ``labels``, case and spaces ignored, as ``labels`` write it (a file of
    ``Neutral``, ``Positive``, ``Negative`` has the not-mentioned label ``Neutral``); None if none is."""
    exact = next((c for c in candidates if c in labels), None)  # 'neutral' beside a stray 'Neutral': 'neutral'
    if exact is not None:
        return exact
    written = {label.strip().casefold(): label for label in sorted(labels, reverse=True)}
    return next((written[c.strip().casefold()] for c in candidates if c.strip().casefold() in written), None)


def not_mentioned_label(labels: set[str], candidates: list[str], source: str | Path | None = None,
                        strict: bool = True) -> str:
    """:func:`find_not_mentioned`, else the first candidate.

    Raises:
        DataError: When two candidates occur among ``labels`` and ``strict`` (``source``: the file, for the
            message): a file with absa-convert's ``none`` and a real ``neutral`` had ``neutral`` taken for "not
            mentioned", so that ``--only-mentioned`` dropped real neutral answers. (A task built from labels the
            reading has checked, or a saved model's single candidate, is not strict: the first one wins.)
    """
    found = [c for c in dict.fromkeys(find_not_mentioned(labels, [c]) for c in candidates) if c is not None]
    if len(found) > 1 and strict:
        raise DataError(f"{source or 'the training labels'}: the labels hold {' and '.join(map(repr, found))}, each of "
                        "which absa.not_mentioned reads as \"the aspect is not mentioned\". Say which one means that: "
                        f"--set 'absa.not_mentioned=[\"{found[-1]}\"]' (the other is then a real polarity).")
    return found[0] if found else (candidates[0] if candidates else "none")


def _columns_flags(cfg: Config) -> str:
    """absa-convert's flags for a long layout's aspect and polarity columns, where they are not its defaults."""
    defaults = type(cfg.absa).model_fields
    return "".join(f" --{flag} {value}" for flag, key, value in (("aspect-col", "aspect_col", cfg.absa.aspect_col),
                                                                  ("polarity-col", "polarity_col", cfg.absa.polarity_col))
                   if value != defaults[key].default)


def _cells(frame: pd.DataFrame, col: str) -> list[str]:
    return ["" if pd.isna(v) else str(v).strip() for v in frame[col]]


def _first_empty(values: list[str], refs: list[str], what: str, fix: str) -> None:
    empty = [i for i, v in enumerate(values) if not v]
    if empty:
        more = f" ({len(empty)} rows in all)" if len(empty) > 1 else ""
        raise DataError(f"{refs[empty[0]]}: {what} is empty{more}. {fix}")


#: What a split column holds (``data.split_col``): a detected aspect column of only these is one.
_SPLIT_NAMES = set(SPLIT_ALIASES)


def _named_once(names: list[str]) -> None:
    """Refuse an aspect named twice (--aspects food,food): it ended in an IndexError traceback."""
    twice = next((name for name in names if names.count(name) > 1), None)
    if twice is not None:
        raise DataError(f"--aspects (absa.aspects) names {twice!r} twice. Name each aspect once.")


def read_wide(raw: pd.DataFrame, refs: RowRefs, path: Path, cfg: Config, aspects: list[str] | None,
              not_mentioned: str | None) -> Table:
    """Read the wide layout: a text column and one label column per aspect (see the module doc)."""
    text_col, split_col = cfg.data.text_col, cfg.data.split_col
    check_columns(raw, path, {"--text-col": text_col, "--split-col": split_col})
    rows = refs.all(len(raw))
    check_strings(raw, list(raw.columns), rows)
    names = aspects or cfg.absa.aspects or [str(c) for c in raw.columns if c not in (text_col, split_col)]
    _named_once(names)
    check_repeated(raw, path, names)  # a repeated aspect column had been learnt as an aspect 'price.1'
    if not (aspects or cfg.absa.aspects) and {cfg.absa.aspect_col, cfg.absa.polarity_col} <= set(names):
        raise DataError(f"{path}: columns {cfg.absa.aspect_col!r} and {cfg.absa.polarity_col!r} look like the long "
                        "layout (one row per text and aspect), but the wide one (a column per aspect) was asked for. "
                        "Pass --set absa.layout=\"long\" (absa-convert: --layout long), or name the aspect columns with --aspects.")
    if not names:
        raise DataError(f"{path}: no aspect columns besides the text column {text_col!r}. Add one label column "
                        "per aspect, or use the long layout with --set absa.layout=\"long\" (absa-convert: --layout long).")
    for aspect in names:
        if aspect not in raw.columns and aspects and {cfg.absa.aspect_col, cfg.absa.polarity_col} <= set(raw.columns):
            nm = f" --not-mentioned {not_mentioned}" if not_mentioned else ""
            raise DataError(f"{path}: its columns {cfg.absa.aspect_col!r} and {cfg.absa.polarity_col!r} are the long "
                            "layout (one row per text, aspect and polarity), but the training file is in the wide one "
                            f"(a column per aspect). Give every file in one layout: `lstmtext absa-convert {path} OUT "
                            f"--text-col {text_col} --aspects {','.join(aspects)}{_columns_flags(cfg)}{nm}` rewrites it "
                            "as wide, with the training file's aspects and not-mentioned label.")
        if aspect not in raw.columns and aspects:  # the aspects of the training file, or of a saved model
            raise DataError(f"{path}: no column {aspect!r}, an aspect of the training data or model ({', '.join(aspects)})"
                            f". Columns in the file: {', '.join(repr(str(c)) for c in raw.columns)}. Give a file with "
                            "a column per aspect of the model (or rename its columns to them).")
        if aspect not in raw.columns:
            commas = [str(c) for c in raw.columns if "," in str(c)]
            hint = (f" --aspects splits at commas: name a column such as {commas[0]!r} with --set "
                    f"'absa.aspects={json.dumps([commas[0]])}'." if commas else "")
            raise DataError(f"{path}: no column {aspect!r} for aspect {aspect!r}. Columns in the file: "
                            f"{', '.join(repr(str(c)) for c in raw.columns)}. Fix --aspects (absa.aspects) or add the "
                            f"column.{hint}")
    texts = [str(t) for t in raw[text_col]]
    _first_empty([t.strip() if not pd.isna(t) else "" for t in raw[text_col]], rows, f"text in column {text_col!r}",
                 "Fill or remove these rows.")
    columns, detected = [], not (aspects or cfg.absa.aspects)
    for aspect in names:
        values = _cells(raw, aspect)
        distinct = len(set(values))
        if detected and set(values) <= _SPLIT_NAMES:  # absa-convert --split-col writes one: it is not an aspect
            raise DataError(f"{path}: column {aspect!r} holds only {', '.join(sorted(set(values)))}: a split column, not "
                            f"an aspect's labels. Pass --split-col {aspect} to use it, or name the aspect columns with "
                            "--aspects a,b,c.")
        if detected and distinct > max(20, len(values) // 2):  # a row id or a second text, not an aspect's labels
            raise DataError(f"{path}: column {aspect!r} has {distinct:,} different values in {len(values):,} rows: it "
                            "looks like an identifier or a text, not an aspect's labels. Name the aspect columns with "
                            "--aspects a,b,c (every column but the text is read as an aspect otherwise).")
        nm = not_mentioned or find_not_mentioned(set(values), cfg.absa.not_mentioned)
        candidates = ", ".join(map(repr, cfg.absa.not_mentioned))
        hint = f"e.g. {nm!r} " if nm else (f"one of {candidates}" if len(cfg.absa.not_mentioned) > 1 else candidates) + \
            " (absa.not_mentioned) "
        _first_empty(values, rows, f"aspect {aspect!r}", f"Fill it with a label ({hint}when the text does not "
                     "mention the aspect) or remove the row.")
        columns.append(values)
    if detected and len(columns) > 2:  # a metadata column (source: web, app) read as one more aspect
        label_sets = [set(col) for col in columns]
        for j, aspect in enumerate(names):
            if not label_sets[j] & set().union(*(s for k, s in enumerate(label_sets) if k != j)):
                raise DataError(f"{path}: column {aspect!r} shares no label with the other aspects (it holds "
                                f"{', '.join(sorted(label_sets[j])[:5])}): it looks like another kind of column, not "
                                "an aspect's labels. Name the aspect columns with --aspects a,b,c (every column but "
                                "the text is read as an aspect otherwise).")
    labels = [tuple(row) for row in zip(*columns)]
    nm = not_mentioned or not_mentioned_label({v for col in columns for v in col}, cfg.absa.not_mentioned, path)
    splits = split_values(raw, split_col, refs) if split_col else None
    return Table(Split(texts, labels, rows), splits, {"aspects": list(names), "not_mentioned": nm})


def read_long(raw: pd.DataFrame, refs: RowRefs, path: Path, cfg: Config, aspects: list[str] | None,
              not_mentioned: str | None) -> Table:
    """Read the long layout: one row per (text, aspect, polarity), grouped by text (see the module doc)."""
    text_col, split_col = cfg.data.text_col, cfg.data.split_col
    a_col, p_col = cfg.absa.aspect_col, cfg.absa.polarity_col
    check_columns(raw, path, {"--text-col": text_col, "--split-col": split_col})
    missing = [c for c in (a_col, p_col) if c not in raw.columns]
    if missing and aspects and set(aspects) <= set(map(str, raw.columns)):  # read beside a training file
        raise DataError(f"{path}: a column per aspect ({', '.join(aspects)}) is the wide layout, but the training file "
                        f"is in the long one (one row per text, aspect and polarity). Give every file in one layout: "
                        f"`lstmtext absa-convert TRAIN OUT --text-col {text_col}{_columns_flags(cfg)}` rewrites the "
                        "training file as wide; then train on OUT without absa.layout=\"long\".")
    if missing:
        raise DataError(f"{path}: no column {missing[0]!r} of the long layout (one row per text, aspect and polarity). "
                        f"Columns in the file: {', '.join(map(str, raw.columns))[:300]}. A file with a column per "
                        "aspect is the wide layout (absa.layout=\"wide\"; absa-convert --layout wide); otherwise name "
                        "the columns (absa.aspect_col / absa.polarity_col; absa-convert --aspect-col / --polarity-col).")
    at = refs.all(len(raw))
    check_strings(raw, [text_col, a_col, p_col], at)
    _first_empty([t.strip() if not pd.isna(t) else "" for t in raw[text_col]], at, f"text in column {text_col!r}",
                 "Fill or remove these rows.")
    asp, pol = _cells(raw, a_col), _cells(raw, p_col)
    for i, (a, p) in enumerate(zip(asp, pol)):
        if not a and p:
            raise DataError(f"{at[i]}: polarity {p!r} has no aspect in column {a_col!r}. Fill the aspect, or empty "
                            "both cells for a text that mentions no aspect.")
        if a and not p:
            raise DataError(f"{at[i]}: aspect {a!r} has no polarity in column {p_col!r}. Fill it or remove the row.")
    names = list(aspects or cfg.absa.aspects or sorted(set(asp) - {""}))
    _named_once(names)
    if not names:
        raise DataError(f"{path}: column {a_col!r} names no aspect. Fill it, or check absa.aspect_col.")
    position = {a: j for j, a in enumerate(names)}
    nm = not_mentioned or not_mentioned_label(set(pol) - {""}, cfg.absa.not_mentioned, path)
    splits = split_values(raw, split_col, refs) if split_col else None
    order: dict[str, int] = {}
    texts, labels, rows, text_splits = [], [], [], []
    seen: dict[tuple[int, str], tuple[str, str]] = {}
    for i, text in enumerate(str(t) for t in raw[text_col]):
        if text not in order:
            order[text] = len(texts)
            texts.append(text)
            labels.append([nm] * len(names))
            rows.append(at[i])
            text_splits.append(splits[i] if splits else "")
        k = order[text]
        if splits and splits[i] != text_splits[k]:
            raise DataError(f"{at[i]}: split {splits[i]!r} differs from {text_splits[k]!r} given for the same "
                            f"text at {rows[k]}. Give every row of a text the same split.")
        a, p = asp[i], pol[i]
        if not a:
            continue
        if a not in position:
            raise DataError(f"{at[i]}: aspect {a!r} is not one of the aspects ({', '.join(names)}). Add it to "
                            "--aspects (absa.aspects) or remove the row.")
        if (k, a) in seen and seen[(k, a)][0] != p:
            raise DataError(f"{at[i]}: aspect {a!r} of this text is {p!r} here but {seen[(k, a)][0]!r} at "
                            f"{seen[(k, a)][1]}. Keep one polarity per (text, aspect).")
        seen[(k, a)] = (p, at[i])
        labels[k][position[a]] = p
    by_text: dict[int, dict[str, str]] = {}
    for (k, a), (_, ref) in seen.items():
        by_text.setdefault(k, {})[a] = ref
    rows = [TextRows(ref, by_text.get(k, {})) for k, ref in enumerate(rows)]  # each aspect's own row too
    return Table(Split(texts, [tuple(row) for row in labels], rows), text_splits if splits else None,
                 {"aspects": names, "not_mentioned": nm})
