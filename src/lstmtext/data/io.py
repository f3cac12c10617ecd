"""Read a table of texts from CSV, TSV, JSONL or Parquet, whole or in chunks, with errors that name file, row and fix."""

from __future__ import annotations

import array
import csv
import functools
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lstmtext.errors import DataError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


def detect_format(path: Path, fmt: str | None = None) -> str:
    """Return ``csv``, ``tsv``, ``jsonl`` or ``parquet`` from ``fmt`` or the file's extension.

    Raises:
        DataError: If the format cannot be told.
    """
    if path.is_dir():
        raise DataError(missing_file(path))
    if str(path) == "-":
        raise DataError(missing_file(path))
    if fmt:
        fmt = fmt.lower()
        if fmt not in set(FORMATS.values()):
            raise DataError(f"{path}: unknown format {fmt!r}. Use one of csv, tsv, jsonl, parquet.")
        return fmt
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise DataError(
            f"{path}: cannot tell the format from the extension {suffix!r}. "
            "Rename the file to .csv/.tsv/.jsonl/.parquet or pass --format."
        )
    return FORMATS[suffix]


def locate_bad_bytes(path: Path, exc: UnicodeDecodeError) -> str:
    """Return ``line N`` for the first undecodable byte of ``path``."""
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as line_exc:
                return f"line {lineno}, byte {line_exc.start + 1} ({raw[line_exc.start:line_exc.start + 1]!r})"
    return f"byte {exc.start}"


def _starts_with(path: Path, prefix: bytes) -> bool:
    """Whether the file's first non-blank bytes are ``prefix``."""
    with path.open("rb") as fh:
        return fh.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip().startswith(prefix)


#: The first bytes of files that are not text, what they are and what to do (read as UTF-8 text, each was
#: answered with "byte 12 is not valid UTF-8 ... iconv -f cp1252", which converts nothing).
_NOT_TEXT = ((b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook is one)",
              "Export the sheet as CSV (Excel: Save As, \"CSV UTF-8\"), or unzip the archive"),
             (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel (.xls) or Word file", "Export the sheet as CSV (Excel: Save As, "
                                                                     "\"CSV UTF-8\")"),
             (b"\x1f\x8b", "gzip-compressed", "Decompress it first (`gunzip -k FILE`)"),
             (b"\xfd7zXZ\x00", "xz-compressed", "Decompress it first (`unxz -k FILE`)"))
_BZIP2 = re.compile(rb"BZh[1-9]1AY&SY")  # the stream header and the first block's magic


def check_text_file(path: Path) -> None:
    """Refuse a file that is not text before it is read as one: an archive, a workbook, a compressed or Parquet
    file (by its first bytes), or one with NUL bytes (UTF-16 without a byte-order mark, whose lines were read as
    texts of letters and NULs).

    Raises:
        DataError: Naming what the file is and how to turn it into UTF-8 text.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:  # the reader's own error says why
        return
    for magic, what, fix in _NOT_TEXT:
        if head.startswith(magic):
            raise DataError(f"{path}: the file is {what}, not text. {fix.replace('FILE', str(path))}.")
    if _BZIP2.match(head):
        raise DataError(f"{path}: the file is bzip2-compressed, not text. Decompress it first (`bunzip2 -k {path}`).")
    if head.startswith(b"PAR1") and _ends_with(path, b"PAR1"):
        raise DataError(f"{path}: the file is a Parquet file, not text. Give it the .parquet extension.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(not_utf8(path, UnicodeDecodeError("utf-8", head, 0, 1, "")))
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if max(even, odd) > len(head) // 4:  # ASCII in UTF-16: every other byte a NUL (a stray NUL is no encoding)
        little = odd > even  # little-endian: the NULs fall on the odd bytes
        raise DataError(f"{path}: the file holds NUL bytes: it is probably UTF-16 without a byte-order mark; "
                        f"lstmtext reads UTF-8. Convert it: `iconv -f utf-16{'le' if little else 'be'} -t utf-8 {path} > "
                        f"{path.stem}-utf8{path.suffix}`.")


def _ends_with(path: Path, suffix: bytes) -> bool:
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - len(suffix)))
        return fh.read() == suffix


def missing_file(path: Path) -> str:
    """The one-line error for a data path that is not a file: a folder, standard input where a file is needed, or
    nothing there."""
    if str(path) == "-":  # predict, suggest, pretrain, embed and detect-lang read lines from standard input
        return ("-: this command reads a labelled file, not standard input. Save the input to a file (e.g. "
                "`cat > data.csv`) and give its path.")
    if path.is_dir():
        return f"{path}: is a folder, not a data file. Give a .csv, .tsv, .jsonl, .parquet or text file inside it."
    return f"{path}: file not found. Check the path (relative paths start at {Path.cwd()})."


def not_utf8(path: Path, exc: UnicodeDecodeError) -> str:
    """The one-line error for a file that is not UTF-8: where, and how to convert it (UTF-16, as Excel's
    "Unicode Text" saves, is recognised by its byte-order mark)."""
    with path.open("rb") as fh:
        head = fh.read(2)
    if head in (b"\xff\xfe", b"\xfe\xff"):
        return (f"{path}: the file is UTF-16 (it starts with a UTF-16 byte-order mark, as Excel's \"Unicode Text\" "
                f"saves); lstmtext reads UTF-8. Convert it: `iconv -f utf-16 -t utf-8 {path} > {path.stem}-utf8{path.suffix}`.")
    return (f"{path}: {locate_bad_bytes(path, exc)} is not valid UTF-8. Re-save the file as UTF-8 (from Windows "
            f"Excel files usually: `iconv -f cp1252 -t utf-8 {path} > {path.stem}-utf8{path.suffix}`).")


def file_identity(path: str | Path) -> list[Any]:
    """``[absolute path, size, modification time]`` of a file (sizes None when it is not there): what a resume
    compares to tell that its input is the one it started from."""
    path = Path(path)
    try:
        stat = path.stat()
        return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]
    except OSError:
        return [str(path.resolve()), None, None]


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


def _csv_options(path: Path, fmt: str) -> dict[str, Any]:
    return {"sep": ",", "quoting": csv.QUOTE_MINIMAL} if fmt == "csv" else {"sep": "\t", "quoting": tsv_quoting(path)}


#: The name given to the field a CSV/TSV row has past its header's last column (a trailing delimiter, or row names).
_EXTRA = "\x00extra"


def _header_names(path: Path, fmt: str) -> tuple[list[str], bool, dict[str, str]]:
    """The header's column names as pandas names them (a repeated name's later copies ``label.1``, ...), whether the
    first data row holds exactly one field more than the header, and ``{renamed copy: name}`` of repeated names.

    One field more is a delimiter ending every row (some exports) or, when that field is filled, a first column
    of row names the header does not name (R's ``write.table``): pandas took the first column as the row index
    either way and shifted every name one column left, so a model learnt its texts from the labels, silently.
    The rows are read with an extra column named :data:`_EXTRA` and sorted out by :func:`_drop_extra`.

    Raises:
        DataError: For a first data row with two or more fields past the header's (pandas dropped them).
    """
    stat = path.stat()
    return _header_layout(str(path), stat.st_mtime_ns, stat.st_size, fmt)


@functools.lru_cache(maxsize=8)
def _header_layout(path: str, mtime_ns: int, size: int, fmt: str) -> tuple[list[str], bool, dict[str, str]]:
    options = _csv_options(Path(path), fmt)
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
        raise DataError(f"{path}: cannot parse as {fmt}: its first line is a JSON object. {_fix(Path(path), fmt)}")
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
                        f"Quote the fields that hold a {'comma' if fmt == 'csv' else 'tab'}, or name every column in "
                        "the header.")
    return names, len(records) == 2 and len(records[1]) == len(names) + 1, repeated


def _drop_extra(frame: pd.DataFrame, path: Path, fmt: str, mode: list[str] | None = None) -> pd.DataFrame:
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
        if mode is not None and not mode:
            mode.append("names")
        names = [c for c in frame.columns if c != _EXTRA]
        out = frame.iloc[:, 1:]  # row names first: each name moves one column right
        out.columns = names
        return out
    if filled.all() and decided is None:
        raise DataError(f"{path}: every row has {len(frame.columns)} fields, one more than the header names, and the "
                        "first column repeats values, so it holds no row names. Name the missing column in the header.")
    if filled.any() or decided == "names":
        first = int(filled.nonzero()[0][0]) if decided != "names" else int((~filled).nonzero()[0][0])
        where = row_ref(path, int(frame.index[first]), fmt)
        fix = _fix(path, fmt)  # a header of another delimiter says more than the row
        fix = fix if fix != _FIX[fmt] else (f"Add the column's name to the header, or quote the field that holds a "
                                            f"{'comma' if fmt == 'csv' else 'tab'}.")
        if decided == "names":
            raise DataError(f"{where}: the row has {len(frame.columns) - 1} fields, as many as the header names, but "
                            "the rows before it have one more (row names first). Give every row the same fields.")
        raise DataError(f"{where}: the row has {len(frame.columns)} fields, one more than the header names, and fills "
                        f"the last ({str(frame[_EXTRA].iloc[first])[:40]!r}) where other rows leave it empty. {fix}")
    if mode is not None and not mode:
        mode.append("drop")
    return frame.drop(columns=_EXTRA)


def _layout_options(path: Path, fmt: str, header: bool) -> dict[str, Any]:
    """``read_csv``'s header options: never a row index from the data (``index_col=False``), and the extra column's
    name where the rows hold one more field than the header (:func:`_header_names`)."""
    if not header:
        return {"header": None, "index_col": False}
    names, extra, _ = _header_names(path, fmt)
    if not extra:
        return {"header": 0, "index_col": False}
    return {"header": 0, "names": [*names, _EXTRA], "index_col": False}


def _mark_repeated(frame: pd.DataFrame, path: Path, fmt: str, header: bool) -> pd.DataFrame:
    """Keep ``{renamed copy: name}`` of the header's repeated names in ``frame.attrs["repeated_columns"]``: the
    readers of a column refuse one named twice (:func:`lstmtext.data.dataset.check_columns`), and a file whose
    other columns repeat a name is still read."""
    if header and fmt in ("csv", "tsv"):
        frame.attrs["repeated_columns"] = _header_names(path, fmt)[2]
    return frame


def read_table(path: str | Path, fmt: str | None = None, header: bool = True) -> pd.DataFrame:
    """Read a data file into a DataFrame of strings (missing cells stay NaN).

    Args:
        path: The file.
        fmt: ``csv``, ``tsv``, ``jsonl`` or ``parquet``; None: from the extension.
        header: Whether CSV/TSV files have a header row (IndoNLU's TSV files have none).

    Raises:
        DataError: If the file is missing, not UTF-8, or not parseable as ``fmt``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(missing_file(path))
    fmt = detect_format(path, fmt)
    if fmt != "parquet":
        check_text_file(path)
    try:
        if fmt in ("csv", "tsv"):
            frame = pd.read_csv(
                path,
                **_csv_options(path, fmt),
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                encoding="utf-8",
                **_layout_options(path, fmt, header),
            )
            frame = _mark_repeated(_drop_extra(frame, path, fmt), path, fmt, header)
            if not header:
                frame.columns = ["text", "label"][: frame.shape[1]] + [
                    f"col{i}" for i in range(2, frame.shape[1])
                ]
        elif fmt == "jsonl":
            frames = list(_jsonl_chunks(path, sys.maxsize))  # numbered by data row, as before (blank lines skipped)
            frame = pd.concat(frames).reset_index(drop=True) if frames else pd.DataFrame()
        else:
            frame = _parquet_values(pd.read_parquet(path), path)
    except UnicodeDecodeError as exc:
        raise DataError(not_utf8(path, exc)) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: {_EMPTY}") from None
    except DataError:  # the JSON reader's own, naming the line: a ValueError too
        raise
    except (pd.errors.ParserError, ValueError, TypeError, OSError) as exc:  # TypeError: a JSONL line of a list
        if fmt == "jsonl":
            _check_jsonl_lines(path)  # names the first bad line
        raise DataError(f"{path}: cannot parse as {fmt}: {_first_line(exc)}. {_fix(path, fmt)}") from None
    if frame.empty:
        raise DataError(f"{path}: the file has no data rows.")
    return frame


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
    options = _csv_options(Path(path), fmt)
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


def one_column(path: Path, fmt: str) -> bool:
    """Whether a CSV/TSV file's first line holds one field: in such a file a blank line is a row whose text is empty
    (how a spreadsheet writes an empty cell), not a line between rows."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            first = next(csv.reader(fh, delimiter=_csv_options(path, fmt)["sep"]), [])
    except (csv.Error, UnicodeDecodeError, OSError):  # the reader that follows says what is wrong
        return False
    return len(first) == 1


def table_columns(path: str | Path, fmt: str | None = None) -> list[str]:
    """The column names of a data file, read from its header row (Parquet: its schema; JSON: its first record)."""
    path = Path(path)
    fmt = detect_format(path, fmt)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    if fmt in ("csv", "tsv"):  # the header alone (read_chunks would first scan a TSV whole for its quoting)
        return [str(c) for c in pd.read_csv(path, sep="," if fmt == "csv" else "\t", nrows=0, encoding="utf-8").columns]
    return [str(c) for c in next(iter(read_chunks(path, fmt, 1))).columns]


def read_chunks(path: str | Path, fmt: str | None, chunk_size: int, header: bool = True, blank_rows: bool = False
                ) -> Iterator[pd.DataFrame]:
    """Yield frames of at most ``chunk_size`` rows of strings, indexed by 0-based data row (for ``file:line`` errors).
    ``blank_rows``: a CSV/TSV file's blank lines are rows (of empty cells), not skipped.

    Raises:
        DataError: If the file is missing, Parquet, not UTF-8 or not parseable.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(missing_file(path))
    fmt = detect_format(path, fmt)
    if fmt == "parquet":
        raise DataError(f"{path}: --stream reads csv, tsv and jsonl files, not parquet. Convert the file or drop --stream.")
    check_text_file(path)
    try:
        if fmt == "jsonl":
            yield from _jsonl_chunks(path, chunk_size)
            return
        with pd.read_csv(path, **_csv_options(path, fmt), dtype=str, keep_default_na=False, na_values=[""],
                         encoding="utf-8", **_layout_options(path, fmt, header), chunksize=chunk_size,
                         skip_blank_lines=not blank_rows) as reader:
            mode: list[str] = []  # the extra column's meaning, decided on the first chunk for every chunk
            for chunk in reader:  # the index runs on from chunk to chunk
                chunk = _mark_repeated(_drop_extra(chunk, path, fmt, mode), path, fmt, header)
                if not header:
                    chunk.columns = ["text", "label"][: chunk.shape[1]] + [f"col{i}" for i in range(2, chunk.shape[1])]
                yield chunk
    except UnicodeDecodeError as exc:
        raise DataError(not_utf8(path, exc)) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: {_EMPTY}") from None
    except (pd.errors.ParserError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path}: cannot parse as {fmt}: {_first_line(exc)}. {_fix(path, fmt)}") from None


_EMPTY = "the file is empty. Give a file with a header row and data rows."
_FIX = {"csv": "Check quoting and the delimiter (a comma).", "tsv": "Check quoting and the delimiter (a tab).",
        "jsonl": "Write one JSON object per line.",
        "parquet": "The file is not a complete Parquet file: write it again (e.g. pandas' to_parquet)."}


#: The advice for a CSV file whose fields are separated by semicolons (a spreadsheet's export in many locales).
SEMICOLONS = "Its first line is separated by semicolons: save the file with commas, or as TSV (tabs)."


def _fix(path: Path, fmt: str) -> str:
    """What to check in a file that did not parse as ``fmt``: for a CSV whose first line has semicolons and no
    comma (a spreadsheet's export in many locales), that delimiter."""
    if fmt == "csv":
        try:
            with path.open(encoding="utf-8", errors="replace") as fh:
                first = fh.readline()
        except OSError:  # unreadable: the error being reported says why
            first = ""
        if ";" in first and "," not in first:
            return SEMICOLONS
        if "\t" in first and "," not in first:
            return "Its first line is separated by tabs: name the file .tsv, or pass --format tsv."
        if first.lstrip("\ufeff \t").startswith(("{", "[")):
            return "It looks like JSON: name the file .jsonl (one object a line) or .json, or pass --format jsonl."
    return _FIX[fmt]


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else type(exc).__name__


def _json_object(path: Path, lineno: int, line: str) -> dict[str, Any]:
    """Line ``lineno`` (1-based) of a JSONL file as a dict, or a DataError naming it."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{lineno}: not a JSON object ({exc.msg}). Write one object per line.") from None
    if not isinstance(record, dict):
        raise DataError(f"{path}:{lineno}: not a JSON object (a {type(record).__name__}). Write one object per line.")
    return record


def _check_jsonl_lines(path: Path) -> None:
    """Raise a DataError naming the first line of ``path`` that is not a JSON object (do nothing if none is)."""
    with path.open(encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, start=1):
            if line.strip():
                _json_object(path, lineno, line)


def _records_frame(records: list[dict[str, Any]], index: list[int]) -> pd.DataFrame:
    """A frame of JSON records with each value as it was written: a column of numbers with a null in it would
    otherwise turn 123 into ``123.0`` (pandas' float column), a text or label the user did not write."""
    return pd.DataFrame(records, index=index, dtype=object)


def _jsonl_chunks(path: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    if _starts_with(path, b"["):  # a .json file may hold one JSON array of records (pandas' to_json(orient="records"))
        with path.open(encoding="utf-8-sig") as fh:  # not streamable: read whole; a byte-order mark is no text
            try:
                records = json.load(fh)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno}). Write an array "
                                "of objects, or one object per line.") from None
        odd = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None) if isinstance(records, list) else 0
        if odd is not None:
            raise DataError(f"{path}: item {odd + 1} of the JSON array is not an object. Write an array of objects "
                            '(e.g. [{"text": "...", "label": "..."}]), or one object per line.')
        for start in range(0, len(records), chunk_size):
            yield _records_frame(records[start : start + chunk_size], list(range(start, min(start + chunk_size,
                                                                                               len(records)))))
        return
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    with path.open(encoding="utf-8-sig") as fh:  # as CSV files are read, a byte-order mark is no text
        for lineno, line in enumerate(fh):
            if not line.strip():
                continue
            records.append(_json_object(path, lineno + 1, line))
            lines.append(lineno)
            if len(records) == chunk_size:
                yield _records_frame(records, lines)
                records, lines = [], []
    if records:
        yield _records_frame(records, lines)


def _parquet_values(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """A Parquet frame with list cells as Python lists (pyarrow gives numpy arrays, whose repr ``['a' 'b']`` had
    been read as a text or a label; as lists the tasks read them as JSON lists are read: a multi-label list of
    labels, or a one-line error for a text). Bytes stay bytes: a task refuses them in a column it reads
    (:func:`lstmtext.data.dataset.nested_cell`)."""
    for col in frame.columns:
        values = frame[col]
        if values.dtype != object:
            continue
        if any(isinstance(v, np.ndarray) for v in values):
            frame[col] = [v.tolist() if isinstance(v, np.ndarray) else v for v in values]
    return frame
