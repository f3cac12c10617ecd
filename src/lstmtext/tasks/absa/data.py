"""Read aspect-sentiment data (wide or long layout) into one row per text with one label per aspect.

Wide layout (IndoNLU CASA, HoASA): a text column and one label column per aspect. The aspects are the
columns named by ``absa.aspects`` (``--aspects``) or, by default, every column except the text and split
columns, in file order.

Long layout: one row per (text, aspect, polarity). Rows are grouped by their exact text (first appearance
gives the order and the split). An aspect that has no row for a text gets the *not-mentioned* label: the
first entry of ``absa.not_mentioned`` that occurs among the training file's labels, or the first entry
when none does. A row whose aspect and polarity are both empty keeps a text that mentions no aspect. The
aspects, unless named, are the sorted distinct values of the aspect column.

Every error is one line naming the file, the line and the aspect, and saying how to fix it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from lstmtext.config import Config
from lstmtext.data.dataset import SPLIT_ALIASES
from lstmtext.data.io import detect_format, read_table, row_ref
from lstmtext.errors import DataError

log = logging.getLogger(__name__)


@dataclass
class AspectSplit:
    """Texts with one label per aspect (``labels[i][j]``: text i, aspect j) and each text's ``file:line``."""

    texts: list[str]
    labels: list[list[str]]
    rows: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, index: np.ndarray) -> AspectSplit:
        """Return the rows at ``index``."""
        return AspectSplit([self.texts[i] for i in index], [self.labels[i] for i in index],
                           [self.rows[i] for i in index])


@dataclass
class AspectTable:
    """One file read as texts with aspect labels, plus its split column (if any) and not-mentioned label."""

    split: AspectSplit
    aspects: list[str]
    not_mentioned: str
    split_values: list[str] | None = None


@dataclass
class AspectData:
    """Train / valid (/ test) splits over the same aspects."""

    aspects: list[str]
    splits: dict[str, AspectSplit]
    source: str
    not_mentioned: str
    notes: list[str] = field(default_factory=list)

    @property
    def label_sets(self) -> dict[str, list[str]]:
        """``{aspect: sorted labels of the training split}``; the heads' classes, in this order."""
        train = self.splits["train"]
        return {a: sorted({row[j] for row in train.labels}) for j, a in enumerate(self.aspects)}


def not_mentioned_label(labels: set[str], candidates: list[str]) -> str:
    """Return the first of ``candidates`` found in ``labels``, else the first candidate."""
    return next((c for c in candidates if c in labels), candidates[0] if candidates else "none")


def _require(frame: pd.DataFrame, path: Path, cols: dict[str, str | None]) -> None:
    for option, col in cols.items():
        if col is not None and col not in frame.columns:
            raise DataError(f"{path}: no column {col!r} (given by {option}). Columns in the file: "
                            f"{', '.join(map(str, frame.columns))}. Pass the right name with {option}.")


def _cells(frame: pd.DataFrame, col: str) -> list[str]:
    return ["" if pd.isna(v) else str(v).strip() for v in frame[col]]


def _first_empty(values: list[str], refs: list[str], what: str, fix: str) -> None:
    empty = [i for i, v in enumerate(values) if not v]
    if empty:
        more = f" ({len(empty)} rows in all)" if len(empty) > 1 else ""
        raise DataError(f"{refs[empty[0]]}: {what} is empty{more}. {fix}")


def _split_values(frame: pd.DataFrame, col: str, refs: list[str]) -> list[str]:
    raw = [v.lower() for v in _cells(frame, col)]
    for i, v in enumerate(raw):
        if v not in SPLIT_ALIASES:
            raise DataError(f"{refs[i]}: split value {v!r} in column {col!r} is not one of train, valid (dev, "
                            "validation), test. Fix the value or drop --split-col.")
    return [SPLIT_ALIASES[v] for v in raw]


def _read_wide(raw: pd.DataFrame, refs: list[str], path: Path, cfg: Config, aspects: list[str] | None,
               not_mentioned: str | None) -> AspectTable:
    text_col, split_col = cfg.data.text_col, cfg.data.split_col
    _require(raw, path, {"--text-col": text_col, "--split-col": split_col})
    names = aspects or cfg.absa.aspects or [str(c) for c in raw.columns if c not in (text_col, split_col)]
    if not names:
        raise DataError(f"{path}: no aspect columns besides the text column {text_col!r}. Add one label column "
                        "per aspect, or use the long layout with --set absa.layout=\"long\".")
    for aspect in names:
        if aspect not in raw.columns:
            raise DataError(f"{path}: no column {aspect!r} for aspect {aspect!r}. Columns in the file: "
                            f"{', '.join(map(str, raw.columns))}. Fix --aspects (absa.aspects) or add the column.")
    texts = [str(t) for t in raw[text_col]]
    _first_empty([t.strip() if not pd.isna(t) else "" for t in raw[text_col]], refs, f"text in column {text_col!r}",
                 "Fill or remove these rows.")
    columns = []
    for aspect in names:
        values = _cells(raw, aspect)
        hint = f"e.g. {not_mentioned!r} " if not_mentioned else ""
        _first_empty(values, refs, f"aspect {aspect!r}", f"Fill it with a label ({hint}when the text does not "
                     "mention the aspect) or remove the row.")
        columns.append(values)
    labels = [list(row) for row in zip(*columns)]
    nm = not_mentioned or not_mentioned_label({v for col in columns for v in col}, cfg.absa.not_mentioned)
    splits = _split_values(raw, split_col, refs) if split_col else None
    return AspectTable(AspectSplit(texts, labels, list(refs)), list(names), nm, splits)


def _read_long(raw: pd.DataFrame, refs: list[str], path: Path, cfg: Config, aspects: list[str] | None,
               not_mentioned: str | None) -> AspectTable:
    text_col, split_col = cfg.data.text_col, cfg.data.split_col
    a_col, p_col = cfg.absa.aspect_col, cfg.absa.polarity_col
    _require(raw, path, {"--text-col": text_col, "absa.aspect_col": a_col, "absa.polarity_col": p_col,
                         "--split-col": split_col})
    _first_empty([t.strip() if not pd.isna(t) else "" for t in raw[text_col]], refs, f"text in column {text_col!r}",
                 "Fill or remove these rows.")
    asp, pol = _cells(raw, a_col), _cells(raw, p_col)
    for i, (a, p) in enumerate(zip(asp, pol)):
        if not a and p:
            raise DataError(f"{refs[i]}: polarity {p!r} has no aspect in column {a_col!r}. Fill the aspect, or empty "
                            "both cells for a text that mentions no aspect.")
        if a and not p:
            raise DataError(f"{refs[i]}: aspect {a!r} has no polarity in column {p_col!r}. Fill it or remove the row.")
    names = list(aspects or cfg.absa.aspects or sorted(set(asp) - {""}))
    if not names:
        raise DataError(f"{path}: column {a_col!r} names no aspect. Fill it, or check absa.aspect_col.")
    position = {a: j for j, a in enumerate(names)}
    nm = not_mentioned or not_mentioned_label(set(pol) - {""}, cfg.absa.not_mentioned)
    splits = _split_values(raw, split_col, refs) if split_col else None
    order: dict[str, int] = {}
    texts, labels, rows, text_splits = [], [], [], []
    seen: dict[tuple[int, str], tuple[str, str]] = {}
    for i, text in enumerate(str(t) for t in raw[text_col]):
        if text not in order:
            order[text] = len(texts)
            texts.append(text)
            labels.append([nm] * len(names))
            rows.append(refs[i])
            text_splits.append(splits[i] if splits else "")
        k = order[text]
        if splits and splits[i] != text_splits[k]:
            raise DataError(f"{refs[i]}: split {splits[i]!r} differs from {text_splits[k]!r} given for the same "
                            f"text at {rows[k]}. Give every row of a text the same split.")
        a, p = asp[i], pol[i]
        if not a:
            continue
        if a not in position:
            raise DataError(f"{refs[i]}: aspect {a!r} is not one of the aspects ({', '.join(names)}). Add it to "
                            "--aspects (absa.aspects) or remove the row.")
        if (k, a) in seen and seen[(k, a)][0] != p:
            raise DataError(f"{refs[i]}: aspect {a!r} of this text is {p!r} here but {seen[(k, a)][0]!r} at "
                            f"{seen[(k, a)][1]}. Keep one polarity per (text, aspect).")
        seen[(k, a)] = (p, refs[i])
        labels[k][position[a]] = p
    return AspectTable(AspectSplit(texts, labels, rows), names, nm, text_splits if splits else None)


def read_aspect_table(path: str | Path, cfg: Config, fmt: str | None = None, header: bool = True,
                      aspects: list[str] | None = None, not_mentioned: str | None = None) -> AspectTable:
    """Read one file in the layout ``cfg.absa.layout`` as one row per text with a label per aspect.

    Args:
        path: The data file (CSV/TSV/JSONL/Parquet).
        cfg: The run's config (``data.text_col``, ``data.split_col`` and the ``absa`` section).
        fmt: The file format; None: from the extension.
        header: Whether a CSV/TSV file has a header row.
        aspects: The aspects to read (e.g. a trained model's); None: ``cfg.absa.aspects`` or detect.
        not_mentioned: The label of aspects a long-layout text has no row for; None: from this file.

    Raises:
        DataError: For missing columns, empty cells, unknown aspects or conflicting rows.
    """
    path = Path(path)
    fmt = detect_format(path, fmt)
    raw = read_table(path, fmt, header=header).reset_index(drop=True)
    refs = [row_ref(path, i, fmt, header) for i in range(len(raw))]
    reader = _read_long if cfg.absa.layout == "long" else _read_wide
    return reader(raw, refs, path, cfg, aspects, not_mentioned)


def check_labels(split: AspectSplit, label_sets: dict[str, list[str]]) -> None:
    """Raise a DataError naming the first row and aspect whose label is not in ``label_sets``."""
    for j, (aspect, known) in enumerate(label_sets.items()):
        allowed = set(known)
        for row, labels in zip(split.rows, split.labels):
            if labels[j] not in allowed:
                raise DataError(f"{row}: aspect {aspect!r} has label {labels[j]!r}, which is not one of "
                                f"{', '.join(known)} (the labels it has in training). Fix the label, or add "
                                "training rows with it.")


def _random_split(split: AspectSplit, size: float, seed: int) -> tuple[AspectSplit, AspectSplit]:
    keep, held = train_test_split(np.arange(len(split)), test_size=size, random_state=seed)
    return split.take(np.sort(keep)), split.take(np.sort(held))


def _parts(table: AspectTable, path: Path, cfg: Config, fmt: str | None, valid_path: str | Path | None,
           test_path: str | Path | None, header: bool) -> dict[str, AspectSplit]:
    data = cfg.data
    if valid_path is not None or test_path is not None:
        parts = {"train": table.split}
        plain = cfg.model_copy(update={"data": data.model_copy(update={"split_col": None})})
        for name, extra in (("valid", valid_path), ("test", test_path)):
            if extra is not None:
                parts[name] = read_aspect_table(extra, plain, fmt, header, table.aspects, table.not_mentioned).split
        if "valid" not in parts:
            parts["train"], parts["valid"] = _random_split(table.split, data.valid_size, data.split_seed)
        return parts
    if table.split_values is not None:
        values = np.array(table.split_values)
        parts = {n: table.split.take(np.flatnonzero(values == n)) for n in ("train", "valid", "test")}
        parts = {n: s for n, s in parts.items() if len(s)}
        if "train" not in parts or "valid" not in parts:
            raise DataError(f"{path}: column {data.split_col!r} must mark some texts train and some valid.")
        return parts
    train, rest = _random_split(table.split, data.valid_size + data.test_size, data.split_seed)
    if data.test_size == 0:
        return {"train": train, "valid": rest}
    valid, test = _random_split(rest, data.test_size / (data.valid_size + data.test_size), data.split_seed)
    return {"train": train, "valid": valid, "test": test}


def load_aspect_data(path: str | Path, cfg: Config, fmt: str | None = None, valid_path: str | Path | None = None,
                     test_path: str | Path | None = None, header: bool = True) -> AspectData:
    """Read, check and split an aspect-sentiment data set.

    Splits come from separate ``valid_path``/``test_path`` files (read with the training file's aspects),
    else ``data.split_col``, else a random split here (``valid_size``, ``test_size``, ``split_seed``).

    Raises:
        DataError: For unreadable files, an aspect with one training label, or labels training never uses.
    """
    path = Path(path)
    table = read_aspect_table(path, cfg, fmt, header)
    data = AspectData(table.aspects, _parts(table, path, cfg, fmt, valid_path, test_path, header), str(path),
                      table.not_mentioned)
    for aspect, labels in data.label_sets.items():
        if len(labels) < 2:
            raise DataError(f"{path}: aspect {aspect!r} has only the label {labels[0]!r} in the training split, so "
                            "its head has nothing to learn. Leave it out of --aspects or add rows with other labels.")
    for split in data.splits.values():
        check_labels(split, data.label_sets)
    n_dup = len(data.splits["train"]) - len(set(data.splits["train"].texts))
    if n_dup:
        data.notes.append(f"{path}: {n_dup} repeated texts in the training split (kept)")
    log.info("aspects %s; split sizes %s", data.aspects, {k: len(v) for k, v in data.splits.items()})
    return data


def encode_labels(split: AspectSplit, label_sets: dict[str, list[str]]) -> np.ndarray:
    """Return class ids ``(N, A)`` int64, each aspect's labels numbered in ``label_sets`` order."""
    index = [{label: i for i, label in enumerate(labels)} for labels in label_sets.values()]
    return np.array([[index[j][v] for j, v in enumerate(row)] for row in split.labels], dtype=np.int64).reshape(
        len(split), len(label_sets))
