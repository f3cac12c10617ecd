"""Where a CSV/TSV file's rows are: whether a TSV file's quotes are quoting, and the line each data row starts
on, so that an error names ``file:line`` (JSONL: the row's line; Parquet: ``row i``)."""

from __future__ import annotations

import array
import csv
import functools
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np


def tsv_quoting(path: Path) -> int:
    """``csv.QUOTE_MINIMAL`` when the TSV file's quotes are CSV-style quoting (as pandas and spreadsheets write it:
    a field that starts with ``"`` ends with ``"`` before a tab or the line end, ``""`` inside, tabs and line breaks
    allowed within), else ``csv.QUOTE_NONE``: quotes are then text.

    TSV has no quoting of its own (IANA's text/tab-separated-values; IndoNLU's files), and a text such as
    ``"so late`` read with quote handling swallowed the tabs and line breaks up to the next quote: five rows
    became three, silently. So a quoted field that would span lines counts only where the lines are ragged (the
    pieces of a text broken by its line breaks hold fewer fields than the header): where every line holds as many
    tabs as the first, and at least one, a ``"`` opening one line's text and another closing a later one's are
    text. The whole file is scanned once while it is unchanged (reading it and naming its rows both ask), each
    line's tabs counted (0.2 s for 55 MB).
    """
    stat = path.stat()
    return _tsv_quoting(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _tsv_quoting(path: str, mtime_ns: int, size: int) -> int:
    quoted = inside = spanned = ragged = False  # inside: within a quoted field that spans lines
    tabs = None  # every non-blank line's tab count, while they agree
    with open(path, "rb") as fh:
        for line in fh:
            if not ragged and line.strip():
                count = line.count(b"\t")
                tabs = count if tabs is None else tabs
                ragged = count != tabs
            if not inside and b'"' not in line:
                continue
            body = line.rstrip(b"\r\n")
            pos = 0
            while True:
                if inside:  # look for the closing quote: "" is a quote within
                    end = body.find(b'"', pos)
                    if end < 0:
                        spanned = True
                        break  # the field goes on in the next line
                    if body[end + 1 : end + 2] == b'"':
                        pos = end + 2
                        continue
                    if end + 1 < len(body) and body[end + 1 : end + 2] != b"\t":
                        return csv.QUOTE_NONE  # text after the closing quote: '"great flight" said no one'
                    inside, pos = False, end + 2
                    if pos > len(body):
                        break
                elif body[pos : pos + 1] == b'"':  # a field that starts with a quote
                    quoted = inside = True
                    pos += 1
                else:  # an unquoted field: its quotes are text; go to the next field
                    tab = body.find(b"\t", pos)
                    if tab < 0:
                        break
                    pos = tab + 1
    if inside:
        return csv.QUOTE_NONE  # a quote that never closes would swallow the rest of the file
    if spanned and not ragged and tabs:  # a quoted field over several lines breaks the lines it spans into fewer
        return csv.QUOTE_NONE  # fields; lines that all hold the header's are rows: '"so late' ... 'is 15"' are texts
    # (one column: every line holds no tab, so that says nothing, and quoting is believed as before)
    return csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE


def csv_options(path: Path, fmt: str) -> dict[str, Any]:
    return {"sep": ",", "quoting": csv.QUOTE_MINIMAL} if fmt == "csv" else {"sep": "\t", "quoting": tsv_quoting(path)}


def _is_json_array(path: Path) -> bool:
    """Whether a JSON file is one array of records (``[{...}, ...]``), not one record a line."""
    try:
        with path.open("rb") as fh:
            return fh.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"[")
    except OSError:
        return False


class TextRows(str):
    """A text's ``file:line`` (its first row) that also knows the row of each of its fields: in a long aspect file a
    text has one row per aspect, and an error in, or a suspect label of, the aspect ``price`` is on the price row
    (:func:`row_of`), not the text's first row, where a user would have fixed the wrong label."""

    by_field: dict[str, str]

    def __new__(cls, first: str, by_field: dict[str, str]) -> TextRows:
        ref = super().__new__(cls, first)
        ref.by_field = dict(by_field)
        return ref

    def __reduce__(self) -> tuple[Any, ...]:  # to the process pools of compare, cv and audit, with its fields
        return (TextRows, (str(self), self.by_field))


def row_of(ref: str, field: str | None) -> str:
    """The ``file:line`` of ``field`` (an aspect) in the text at ``ref``: its own row where the file has one
    (:class:`TextRows`), else ``ref``."""
    return getattr(ref, "by_field", {}).get(field, ref) if field is not None else ref


def row_ref(path: str | Path, index: int, fmt: str, header: bool = True) -> str:
    """Return ``file:line N`` for a 0-based data row (see :func:`row_refs`)."""
    return row_refs(path, [index], fmt, header)[0]


def row_refs(path: str | Path, indices: Iterable[int], fmt: str, header: bool = True, blank_rows: bool = False
             ) -> list[str]:
    """``file:line N`` for 0-based data rows: for CSV/TSV the line where each row starts, counting the header, line
    breaks inside quoted texts and blank lines (:func:`record_lines`; for a file over :data:`EXACT_LINES_MAX_BYTES`
    the row's number plus the header line, right for a file without them); JSONL: the row's line; Parquet: ``row i``.
    ``blank_rows``: the rows were read with blank lines as rows (:func:`read_chunks`)."""
    rows = np.fromiter(indices, dtype=np.int64)
    if fmt in ("csv", "tsv"):
        lines = rows + (2 if header else 1)
        starts = record_lines(Path(path), fmt, header, blank_rows)
        if starts is not None:
            known = rows < len(starts)
            lines[known] = starts[rows[known]]
        return [f"{path}:{n}" for n in lines.tolist()]
    if fmt == "jsonl":
        if _is_json_array(Path(path)):  # one JSON array: its items have no lines of their own (it read file:701)
            return [f"{path} item {n}" for n in (rows + 1).tolist()]
        return [f"{path}:{n}" for n in (rows + 1).tolist()]
    return [f"{path} row {n}" for n in rows.tolist()]


#: The largest file whose rows' first lines are counted (8 bytes a row, held while the file is in use).
EXACT_LINES_MAX_BYTES = 256 * 2**20


def record_lines(path: Path, fmt: str, header: bool = True, blank_rows: bool = False) -> np.ndarray | None:
    """The 1-based line on which each data row of a CSV/TSV file starts, as :func:`read_table` reads it (blank and
    whitespace-only lines skipped unless ``blank_rows``, line breaks inside quotes kept within their row, a
    byte-order mark ignored): one pass, kept while the file is unchanged. None for a file that cannot be read so or
    is over :data:`EXACT_LINES_MAX_BYTES`."""
    try:
        stat = path.stat()
    except OSError:
        return None
    if stat.st_size > EXACT_LINES_MAX_BYTES:
        return None
    return _record_lines(str(path), stat.st_mtime_ns, stat.st_size, fmt, header, blank_rows)


@functools.lru_cache(maxsize=4)
def _record_lines(path: str, mtime_ns: int, size: int, fmt: str, header: bool, blank_rows: bool
                  ) -> np.ndarray | None:
    options = csv_options(Path(path), fmt)
    csv.field_size_limit(sys.maxsize)  # a long text is one field: the csv module's default cap is 131,072 characters
    starts, end = array.array("q"), 0  # 8 bytes a row while counting, not a Python int each
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter=options["sep"], quoting=options["quoting"])
            for record in reader:
                start, end = end + 1, reader.line_num
                if blank_rows or (record and (len(record) > 1 or record[0].strip())):  # pandas skips blank lines
                    starts.append(start)
    except (csv.Error, UnicodeDecodeError, OSError):
        return None
    lines = np.frombuffer(starts, dtype=np.int64) if starts else np.zeros(0, dtype=np.int64)
    return lines[1:] if header else lines


_PANDAS_ERRORS = ((re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)"), 1,
                   lambda m: f"the row has {m[3]} fields, {m[1]} expected"),
                  (re.compile(r"EOF inside string starting at row (\d+)"), 0,
                   lambda m: "a quote opened in this row is never closed"))


def parser_error_line(path: Path, fmt: str, message: str) -> tuple[int, str] | None:
    """The line and a plain wording of a pandas parser error that names a row by its record number (``Expected 2
    fields in line 4, saw 4`` meant a row on line 6 of a file with a text over three lines), or None."""
    for pattern, base, wording in _PANDAS_ERRORS:
        if found := pattern.search(message):
            record = int(found[2] if base else found[1]) - base  # 0-based; the header and blank lines count
            starts = record_lines(path, fmt, header=False, blank_rows=True)
            return (int(starts[record]), wording(found)) if starts is not None and record < len(starts) else None
    return None
