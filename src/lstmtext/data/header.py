"""A CSV/TSV header against its rows: a column named twice, and rows with one field past the header's last (a
delimiter ending every row, or unnamed row names), which pandas read by shifting every column name, silently; and
what to check in a file that did not parse."""

from __future__ import annotations

import csv
import functools
import logging
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from lstmtext.data.lines import csv_options, row_ref
from lstmtext.errors import DataError

log = logging.getLogger(__name__)

#: What to check in a file of each format that did not parse.
PARSE_FIX = {"csv": "Check quoting and the delimiter (a comma).", "tsv": "Check quoting and the delimiter (a tab).",
        "jsonl": "Write one JSON object per line.",
        "parquet": "The file is not a complete Parquet file: write it again (e.g. pandas' to_parquet)."}


#: The advice for a CSV file whose fields are separated by semicolons (a spreadsheet's export in many locales).
SEMICOLONS = "Its first line is separated by semicolons: save the file with commas, or as TSV (tabs)."


def delimiter_hint(path: Path, fmt: str) -> str | None:
    """What a CSV file's first line says about its real layout: semicolons or tabs and no comma (a spreadsheet's
    export in many locales), or JSON; None when it says nothing. Every command that reads a table gives this
    advice, so it names only what each of them has: the file's name (train and evaluate also take --format)."""
    if fmt != "csv":
        return None
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
    except OSError:  # unreadable: the error being reported says why
        first = ""
    if ";" in first and "," not in first:
        return SEMICOLONS
    if "\t" in first and "," not in first:
        return "Its first line is separated by tabs: name the file .tsv (train and evaluate also take --format tsv)."
    if first.lstrip("\ufeff \t").startswith(("{", "[")):
        return ("It looks like JSON: name the file .jsonl (one object a line) or .json (train and evaluate also take "
                "--format jsonl).")
    return None


def parse_fix(path: Path, fmt: str) -> str:
    """What to check in a file that did not parse as ``fmt``: :func:`delimiter_hint`, else the format's own advice."""
    return delimiter_hint(path, fmt) or PARSE_FIX[fmt]


#: The name given to the field a CSV/TSV row has past its header's last column (a trailing delimiter, or row names).
_EXTRA = "\x00extra"


def header_names(path: Path, fmt: str) -> tuple[list[str], bool, dict[str, str]]:
    """The header's column names as pandas names them (a repeated name's later copies ``label.1``, ...), whether the
    first data row holds exactly one field more than the header, and ``{renamed copy: name}`` of repeated names.

    One field more is a delimiter ending every row (some exports) or, when that field is filled, a first column
    of row names the header does not name (R's ``write.table``): pandas took the first column as the row index
    either way and shifted every name one column left, so a model learnt its texts from the labels, silently.
    The rows are read with an extra column named :data:`_EXTRA` and sorted out by :func:`drop_extra`.

    Raises:
        DataError: For a first data row with two or more fields past the header's (pandas dropped them).
    """
    stat = path.stat()
    return _header_layout(str(path), stat.st_mtime_ns, stat.st_size, fmt)


@functools.lru_cache(maxsize=8)
def _header_layout(path: str, mtime_ns: int, size: int, fmt: str) -> tuple[list[str], bool, dict[str, str]]:
    options = csv_options(Path(path), fmt)
    csv.field_size_limit(sys.maxsize)
    records: list[list[str]] = []
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh, delimiter=options["sep"], quoting=options["quoting"]):
                if any(cell.strip() for cell in row):  # pandas skips blank lines
                    records.append(row)
                if len(records) == 2:
                    break
    except (UnicodeDecodeError, csv.Error):  # pandas' reading reports these with its own words
        return [], False, {}
    if not records:
        return [], False, {}
    if re.match(r'\s*[\[{]\s*"', options["sep"].join(records[0])):  # JSON read as a table: its fields are any
        raise DataError(f"{path}: cannot parse as {fmt}: its first line is a JSON object. {parse_fix(Path(path), fmt)}")
    names, seen, repeated = [], Counter[str](), {}
    for i, name in enumerate(records[0]):
        name = name or f"Unnamed: {i}"  # as pandas names an empty header cell
        if seen[name] and name.strip():
            repeated[f"{name}.{seen[name]}"] = name
            names.append(f"{name}.{seen[name]}")
        else:
            names.append(name)
        seen[name] += 1
    if len(records) == 2 and len(records[1]) > len(names) + 1:
        raise DataError(f"{path}: the first data row has {len(records[1])} fields, the header names {len(names)}. "
                        + (delimiter_hint(Path(path), fmt) or f"Quote the fields that hold a "
                           f"{'comma' if fmt == 'csv' else 'tab'}, or name every column in the header."))
    return names, len(records) == 2 and len(records[1]) == len(names) + 1, repeated


def drop_extra(frame: pd.DataFrame, path: Path, fmt: str, mode: list[str] | None = None) -> pd.DataFrame:
    """``frame`` without the :data:`_EXTRA` column: dropped where it is empty on every row (a trailing delimiter),
    the first column dropped as row names where it is filled on every row and the first column's values are
    unique (R's ``write.table``; pandas' reading before). ``mode``: a chunked read's decision, made on its first
    chunk and held to by the others (``["drop"]`` or ``["names"]``; empty before the first).

    Raises:
        DataError: For rows that fill it on some rows only, a first column with repeats (data, not row names), or a
            chunk that does not keep the first chunk's layout.
    """
    if _EXTRA not in frame.columns:
        return frame
    filled = frame[_EXTRA].notna().to_numpy()
    decided = mode[0] if mode else None
    if filled.all() and decided != "drop" and (decided == "names" or frame.iloc[:, 0].is_unique):
        if not mode:  # once per file (a chunked read decides on its first chunk): the user's first column is gone
            log.warning("%s: every row has one more field than the header names, and the first field of each is read "
                        "as the row's name (as R's write.table writes them: %s) and left out. If that field is data, "
                        "name its column in the header.", path, ", ".join(repr(str(v)[:30]) for v in frame.iloc[:2, 0]))
        if mode is not None and not mode:
            mode.append("names")
        names = [c for c in frame.columns if c != _EXTRA]
        out = frame.iloc[:, 1:]  # row names first: each name moves one column right
        out.columns = names
        return out
    if filled.all() and decided is None:
        raise DataError(f"{path}: every row has {len(frame.columns)} fields, one more than the header names, and the "
                        "first column repeats values, so it holds no row names. "
                        + (delimiter_hint(path, fmt) or "Name the missing column in the header."))
    if filled.any() or decided == "names":
        first = int(filled.nonzero()[0][0]) if decided != "names" else int((~filled).nonzero()[0][0])
        where = row_ref(path, int(frame.index[first]), fmt)
        # a header of another delimiter says more than the row
        fix = delimiter_hint(path, fmt) or (f"Add the column's name to the header, or quote the field that holds a "
                                            f"{'comma' if fmt == 'csv' else 'tab'}.")
        if decided == "names":
            raise DataError(f"{where}: the row has {len(frame.columns) - 1} fields, as many as the header names, but "
                            "the rows before it have one more (row names first). Give every row the same fields.")
        raise DataError(f"{where}: the row has {len(frame.columns)} fields, one more than the header names, and fills "
                        f"the last ({str(frame[_EXTRA].iloc[first])[:40]!r}) where other rows leave it empty. {fix}")
    if mode is not None and not mode:
        mode.append("drop")
    return frame.drop(columns=_EXTRA)


def layout_options(path: Path, fmt: str, header: bool) -> dict[str, Any]:
    """``read_csv``'s header options: never a row index from the data (``index_col=False``), and the extra column's
    name where the rows hold one more field than the header (:func:`header_names`)."""
    if not header:
        return {"header": None, "index_col": False}
    names, extra, _ = header_names(path, fmt)
    if not extra:
        return {"header": 0, "index_col": False}
    return {"header": 0, "names": [*names, _EXTRA], "index_col": False}


def mark_repeated(frame: pd.DataFrame, path: Path, fmt: str, header: bool) -> pd.DataFrame:
    """Keep ``{renamed copy: name}`` of the header's repeated names in ``frame.attrs["repeated_columns"]``: the
    readers of a column refuse one named twice (:func:`lstmtext.data.dataset.check_columns`), and a file whose
    other columns repeat a name is still read."""
    if header and fmt in ("csv", "tsv"):
        frame.attrs["repeated_columns"] = header_names(path, fmt)[2]
    return frame
