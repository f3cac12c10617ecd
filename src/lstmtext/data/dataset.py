"""Labelled texts in train / valid / test splits, and the task-independent half of reading them.

A task (:mod:`lstmtext.tasks`) reads the labels of a file; what every task shares lives here: the
:class:`Split` and :class:`LabelledData` containers, ``file:line`` references, column and cell checks that
name the file, row and fix, split columns, duplicate reports, and the random splits. Labels are opaque
here: a class name, or a tuple of names (one per aspect, or the set of a text's labels).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from lstmtext.config import DataConfig
from lstmtext.data.header import SEMICOLONS
from lstmtext.data.lines import row_ref, row_refs
from lstmtext.data.look_alikes import look_alike_hint
from lstmtext.errors import DataError

log = logging.getLogger(__name__)

SPLIT_ALIASES = {"train": "train", "valid": "valid", "validation": "valid", "val": "valid", "dev": "valid", "test": "test"}
SPLITS = ("train", "valid", "test")


@dataclass
class Split:
    """The texts of one split, one label per text (in the task's form) and, when known, each text's ``file:line``."""

    texts: list[str]
    labels: list[Any]
    rows: list[str] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, index: Sequence[int]) -> Split:
        """Return the rows at ``index``, in that order."""
        rows = [self.rows[i] for i in index] if self.rows is not None else None
        return Split([self.texts[i] for i in index], [self.labels[i] for i in index], rows)


def fingerprint(splits: dict[str, Split]) -> str:
    """A short hash of every split's texts and labels, in order: an experiment resumed in a folder checks it, so
    runs on other data (the same file edited, the same sizes) are not reused."""
    digest = hashlib.sha256()
    for name in sorted(splits):
        digest.update(f"\x00split {name}\x00".encode())
        for text, label in zip(splits[name].texts, splits[name].labels):
            digest.update(text.encode("utf-8", "surrogatepass") + b"\x1f")
            digest.update(json.dumps(label, sort_keys=True, default=str).encode() + b"\x1e")
    return digest.hexdigest()[:16]


@dataclass
class LabelledData:
    """Train / valid (/ test) splits, where they came from, and what was learnt while reading them.

    ``info`` holds what a task's reader found in the file and needs again (the aspects of an aspect file,
    the label names of a multi-label file). ``cleaned`` is the ``preprocess`` section the texts were already
    cleaned with (``compare`` cleans them once for every model); None: they are the file's.
    """

    splits: dict[str, Split]
    source: str
    n_duplicates: int = 0
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    cleaned: dict[str, Any] | None = None


@dataclass
class Table:
    """One file as a task read it: texts with labels, the split column's values (if any) and what it found."""

    split: Split
    split_values: list[str] | None = None
    info: dict[str, Any] = field(default_factory=dict)


class RowRefs:
    """``refs(i)``: the ``file:line`` of 0-based data row ``i`` (the header line of CSV/TSV counted)."""

    def __init__(self, path: Path, fmt: str, header: bool = True, index: Sequence[int] | None = None) -> None:
        self.path, self.fmt, self.header, self.index = path, fmt, header, index

    def __call__(self, i: int) -> str:
        return row_ref(self.path, int(self.index[i]) if self.index is not None else i, self.fmt, self.header)

    def all(self, n: int) -> list[str]:
        """The references of the first ``n`` rows."""
        return row_refs(self.path, self.index[:n] if self.index is not None else range(n), self.fmt, self.header)


def check_repeated(frame: pd.DataFrame, path: Path, names: Iterable[str | None]) -> None:
    """Raise a DataError when one of ``names`` (columns a task reads) is named twice in the file's header: pandas
    renamed the second ``label.1``, which was then dropped (a classifier read the first) or learnt as an aspect or
    label of its own, silently (:func:`lstmtext.data.io.read_table` keeps the renamed copies)."""
    repeated = frame.attrs.get("repeated_columns") or {}
    for name in names:
        original = repeated.get(str(name), name)
        if name is not None and original in repeated.values():
            copies = [k for k, v in repeated.items() if v == original]
            raise DataError(f"{path}: the header names column {original!r} {len(copies) + 1} times (pandas read the "
                            f"copies as {', '.join(map(repr, copies))}). Give every column its own name.")


def shown_columns(names: Sequence[str]) -> str:
    """A file's column names for an error: each cut at 40 characters, at most 12 of them (a file without a header
    row has its first texts as names)."""
    shown = ", ".join(n if len(n) <= 40 else n[:37] + "..." for n in map(str, names[:12]))
    return shown + (f", ... ({len(names)} columns)" if len(names) > 12 else "")


def check_columns(frame: pd.DataFrame, path: Path, cols: dict[str, str | None]) -> None:
    """Raise a DataError naming the option whose column the file lacks, and the file's columns, or that the file
    names twice (:func:`check_repeated`)."""
    check_repeated(frame, path, cols.values())
    for option, col in cols.items():
        if col is not None and col not in frame.columns:
            names = [str(c) for c in frame.columns]
            raise DataError(f"{path}: no column {col!r} (given by {option}). Columns in the file: "
                            f"{shown_columns(names)}. {_column_fix(names, path, option, col)}")


def _column_fix(names: list[str], path: Path, option: str, col: str = "") -> str:
    """The likeliest fix for a missing column: the name with other spaces or case, another format, no header line,
    or another column name."""
    near = next((n for n in names if n != col and n.strip().casefold() == col.strip().casefold()), None)
    if near is not None:  # 'text ' in a header is easy to miss in a list of names
        return f"The file has {near!r} (other spaces or case): pass {option} {near!r}, or fix the header."
    fmt = "TSV" if path.suffix.lower() in (".tsv", ".txt") else "CSV" if path.suffix.lower() == ".csv" else ""
    if len(names) == 1 and fmt:
        other = "csv" if fmt == "TSV" and "," in names[0] else "tsv" if fmt == "CSV" and "\t" in names[0] else None
        if other:
            return (f"It was read as {fmt} (from its extension) but looks like {other.upper()}: name the file "
                    f".{other} (train and evaluate also take --format {other}).")
        if fmt == "CSV" and ";" in names[0]:
            return SEMICOLONS
    if any(len(n) > 40 or n.count(" ") >= 4 for n in names):
        return ("The first line looks like data, not a header: pass --no-header (the columns are then text, label, "
                "col2, ...).")
    if option == "--label-col" and len(names) >= 3:  # the text and several label columns: an aspect file, likely
        return (f"Pass the right name with {option}; a file with a label column per aspect is read with --task absa, "
                "one with a 0/1 column per label with --task multilabel --label-col a,b,c.")
    return f"Pass the right name with {option}."


def nested_cell(values: Any) -> tuple[int, str] | None:
    """The first cell of ``values`` that holds a JSON object or list (a JSON-lines file's, or a Parquet list) or bytes
    (a binary Parquet column), and what it holds, said as the errors say it: its Python repr would pass for a text
    or a label."""
    if values.dtype != object:
        return None
    kinds = {dict: "a JSON object", list: "a JSON list", bytes: "bytes (a binary column)"}
    return next(((i, kinds[type(v)]) for i, v in enumerate(values) if type(v) in kinds), None)


def check_strings(frame: pd.DataFrame, columns: Sequence[str], refs: Sequence[str]) -> None:
    """Raise a DataError at the first cell of ``columns`` that holds a JSON object or list (``refs``: each row's
    ``file:line``)."""
    for col in columns:
        if col in frame.columns and (odd := nested_cell(frame[col])) is not None:
            raise DataError(f"{refs[odd[0]]}: column {col!r} holds {odd[1]}, not a string. Give it a string.")


def check_cells(frame: pd.DataFrame, col: str, what: str, refs: RowRefs) -> None:
    """Raise a DataError naming the first rows whose cell in ``col`` is missing, blank, or a JSON object or list."""
    values = frame[col]
    if (odd := nested_cell(values)) is not None:
        raise DataError(f"{refs(odd[0])}: {what} {col!r} holds {odd[1]}, not a string. Give it a string.")
    bad = (values.isna() | (values.astype(str).str.strip() == "")).to_numpy()
    if bad.any():
        where = np.flatnonzero(bad)
        lines = [refs(int(i)).rsplit(":", 1)[-1] for i in where[:5]]
        more = f" ({len(where)} rows in all; first at lines {', '.join(lines)})" if len(where) > 1 else ""
        raise DataError(f"{refs(int(where[0]))}: {what} {col!r} is empty{more}. Fill or remove these rows.")


def split_values(frame: pd.DataFrame, col: str, refs: RowRefs) -> list[str]:
    """The ``train``/``valid``/``test`` name of every row from a split column (aliases such as ``dev`` accepted)."""
    raw = frame[col].astype(str).str.strip().str.lower()
    bad = ~raw.isin(list(SPLIT_ALIASES))
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        value = "empty" if pd.isna(frame[col].iloc[first]) else f"{raw.iloc[first]!r}"  # not 'nan'
        raise DataError(f"{refs(first)}: split value {value} in column {col!r} is not one of train, "
                        "valid (dev, validation), test. Fix the value or drop --split-col.")
    return raw.map(SPLIT_ALIASES).tolist()


def warn(notes: list[str] | None, msg: str) -> None:
    """Log ``msg`` and keep it in the run's ``notes`` (they go to metrics.json and the reports)."""
    log.warning(msg)
    if notes is not None:
        notes.append(msg)


def report_duplicates(split: Split, drop: bool, source: str, notes: list[str], hint: str = "") -> tuple[list[int] | None, int]:
    """Report repeated (text, label) rows in ``notes`` and the log (``hint``: how to drop them, when kept).

    Returns:
        ``(rows to keep, number of repeats)``: with ``drop`` the first row of each repeat is kept; without,
        ``None`` (keep every row).
    """
    seen: set[tuple[str, Hashable]] = set()
    keep = []
    for i, pair in enumerate(zip(split.texts, split.labels)):
        if pair not in seen:
            seen.add(pair)
            keep.append(i)
    n = len(split) - len(keep)
    if n:
        action = "dropped" if drop else f"kept{f' ({hint})' if hint else ''}"
        warn(notes, f"{source}: {n:,} duplicate (text, label) row{'s' if n != 1 else ''} {action}")
    first: dict[str, int] = {}
    other: dict[str, int] = {}  # a text given another label on a later row: the first such row
    for i, (text, label) in enumerate(zip(split.texts, split.labels)):
        j = first.setdefault(text, i)
        if split.labels[j] != label:
            other.setdefault(text, i)
    if other:  # the model is taught both labels for one text (the airline tweets hold 25 such texts)
        text, i = next(iter(other.items()))
        j = first[text]
        at = (lambda k: split.rows[k] if split.rows is not None else f"row {k}")  # noqa: E731
        warn(notes, f"{source}: {len(other):,} text{'s' if len(other) != 1 else ''} appear{'' if len(other) != 1 else 's'} "
                    f"on rows with different labels (first: {text[:60]!r}, {split.labels[j]!r} at {at(j)} and "
                    f"{split.labels[i]!r} at {at(i)}): the model is taught both. Fix the ones that are wrong "
                    "(lstmtext audit ranks the rows whose label looks wrong)")
    return (keep if drop and n else None), n


def random_split(split: Split, cfg: DataConfig, stratify: Callable[[Any], Hashable] | None,
                 test: bool = True, source: str = "the data", notes: list[str] | None = None,
                 needs: Callable[[Any], Iterable[Hashable]] | None = None) -> dict[str, Split]:
    """Split at random into train / valid (/ test) with ``cfg.valid_size``, ``cfg.test_size`` and ``cfg.split_seed``.

    With ``stratify`` (a function from a label to its stratum) each split keeps the strata's shares and
    the rows come in the order the split drew them; without, the rows keep their file order. A stratum too
    small to reach every split is logged (and added to ``notes``): its scores there are empty. ``needs`` (a
    label's parts the training rows must hold for the model to learn them: an aspect's label, a multi-label
    label) moves into training one held-out row for each part the draw left out of it, and says so.

    Raises:
        DataError: If a stratum has too few rows to be stratified, naming ``source`` and the stratum.
    """
    test_size = cfg.test_size if test else 0.0
    held = cfg.valid_size + test_size
    rows = np.arange(len(split))
    keys = [stratify(y) for y in split.labels] if stratify is not None else None
    second = False
    try:
        train, rest = train_test_split(rows, test_size=held, stratify=keys, random_state=cfg.split_seed)
        if test_size == 0:
            parts = {"train": train, "valid": rest}
        else:
            rest = np.sort(rest) if keys is None else rest  # unstratified: the held rows in file order
            rest_keys = [keys[i] for i in rest] if keys is not None else None
            second = True  # valid and test from the held rows: their counts, not the file's, are what fell short
            valid, tested = train_test_split(rest, test_size=test_size / held, stratify=rest_keys,
                                             random_state=cfg.split_seed)
            parts = {"train": train, "valid": valid, "test": tested}
    except ValueError as exc:
        if keys is None:
            raise DataError(f"{source}: cannot split {len(split)} rows into train, valid and test ({exc}). Add rows "
                            "or give a split column (--split-col).") from None
        counts = pd.Series(keys).value_counts()
        shares = f"{cfg.valid_size:.0%} valid" + (f", {test_size:.0%} test" if test_size else "")
        short = re.search(r"(train|test)_size = (\d+) should be greater or equal to the number of classes = (\d+)",
                          str(exc))
        if second and not short:
            held_counts = Counter(rest_keys)
            few = min(held_counts, key=lambda k: (held_counts[k], str(k)))
            raise DataError(f"{source}: {len(split)} rows split {shares} hold out {len(rest)}, with "
                            f"{held_counts[few]} of class {str(few)!r}: too few to share between valid and test. Hold "
                            "out bigger shares (data.valid_size, data.test_size), give a split column (--split-col), "
                            "or add rows.") from None
        if short:  # every class has rows enough, but a share holds fewer rows than there are classes
            n_rows, k = int(short[2]), short[3]
            # sklearn's train/test: of the whole, training and the held-out rows; of the held rows, valid and test
            part, fix = {(False, "train"): ("the training split", "Hold out smaller shares (data.valid_size, "
                                                                 "data.test_size)"),
                         (False, "test"): ("the valid split" if not test_size else "the held-out rows",
                                           "Set a larger data.valid_size where lstmtext makes the split"),
                         (True, "train"): ("the valid split", "Set a larger data.valid_size where lstmtext makes the "
                                                              "split"),
                         (True, "test"): ("the test split", "Set a larger data.test_size")}[(second, short[1])]
            raise DataError(f"{source}: {len(split)} rows split {shares} leave {n_rows} row{'s' if n_rows != 1 else ''} "
                            f"in {part}, fewer than the {k} classes a stratified split puts in each. {fix}, give a "
                            "split column (--split-col), or add rows.") from None
        n, rare = counts.iloc[-1], str(counts.index[-1])
        several = next((sep for sep in ("|", ";", ",") if sep in rare), None)
        hint = (f" Its name looks like several labels: for texts with any number of labels, pass --task multilabel "
                f"--label-sep '{several}'." if several else look_alike_hint(rare, Counter(map(str, keys))))
        raise DataError(f"{source}: class {rare!r} has {n} row{'s' if n != 1 else ''}, too few for a stratified "
                        f"split ({shares}). Add rows of it, merge it into another class, or give a split column "
                        f"(--split-col).{hint}") from None
    if keys is None:
        parts = _train_holds_every_part(split, parts, needs, source, notes) if needs is not None else parts
        parts = {name: np.sort(index) for name, index in parts.items()}
    else:
        everywhere = set(keys)
        for name, index in parts.items():
            missing = sorted(map(str, everywhere - {keys[i] for i in index}))
            if missing:
                warn(notes, f"{source}: no {name} row of class {', '.join(map(repr, missing))} (too few rows to reach "
                            f"every split): its {name} scores are empty and left out of the macro averages")
    return {name: split.take(index) for name, index in parts.items()}


def _train_holds_every_part(split: Split, parts: dict[str, np.ndarray], needs: Callable[[Any], Iterable[Hashable]],
                            source: str, notes: list[str] | None) -> dict[str, np.ndarray]:
    """``parts`` with one valid or test row moved into training for each part of a label (``needs``) that no
    training row has: left where the draw put it, the run stops, as the model cannot learn it (IndoNLU HoASA's rare
    ``neg_pos``: with the default seed 42, and 5 of seeds 0-8)."""
    seen = {part for i in parts["train"] for part in needs(split.labels[i])}
    moved: dict[str, list[int]] = {name: [] for name in parts if name != "train"}
    for name, rows in moved.items():
        for i in parts[name]:
            new = {part for part in needs(split.labels[i]) if part not in seen}
            if new:
                rows.append(int(i))
                seen |= new
    n = sum(map(len, moved.values()))
    if not n:
        return parts
    out = {"train": np.concatenate([parts["train"], *(np.asarray(rows, dtype=np.int64) for rows in moved.values())])}
    out.update({name: np.setdiff1d(parts[name], rows) for name, rows in moved.items()})
    emptied = next((name for name, rows in out.items() if not len(rows)), None)
    if emptied is not None:  # it went on and ended in a traceback scoring an empty split
        raise DataError(f"{source}: {len(split)} rows are too few to split: each {emptied} row holds a label no "
                        f"training row has, and moved into training, they leave the {emptied} split empty. Add rows, "
                        "or give a split column (--split-col).")
    where = " and ".join(f"{len(rows)} {name}" for name, rows in moved.items() if rows)
    warn(notes, f"{source}: {where} row{'s' if n > 1 else ''} moved into training: {'each holds' if n > 1 else 'it holds'}"
                " a label the random split had left out of training, which the model could not learn otherwise")
    return out


def partition(split: Split, values: Sequence[str], source: str, what: str) -> dict[str, Split]:
    """Split rows by their split names (file order kept); train and valid must not be empty.

    Raises:
        DataError: If no row is train or none is valid; ``what`` names the split column or file in the message.
    """
    names = np.asarray(values)
    parts = {name: split.take(np.flatnonzero(names == name)) for name in SPLITS}
    parts = {name: part for name, part in parts.items() if len(part)}
    if "train" not in parts or "valid" not in parts:
        raise DataError(f"{source}: {what} must mark at least some rows train and some valid.")
    return parts
