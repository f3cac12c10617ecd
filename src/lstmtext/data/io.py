"""Read a table of texts from CSV, TSV, JSONL or Parquet, whole or in chunks, with errors that name file, row and fix."""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lstmtext.data.header import PARSE_FIX, drop_extra, layout_options, mark_repeated, parse_fix
from lstmtext.data.jsonl import check_jsonl_lines, jsonl_chunks
from lstmtext.data.lines import csv_options, parser_error_line
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
    if suffix not in FORMATS and path.is_file():  # a workbook, an archive: renaming it (the advice below) led to
        check_text_file(path)  # a second error
    if suffix not in FORMATS:
        raise DataError(
            f"{path}: cannot tell the format from the extension {suffix!r}. "
            "Rename the file to .csv/.tsv/.jsonl/.parquet (train and evaluate also take --format)."
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


#: The first bytes of files that are not text, what they are and what to do (read as UTF-8 text, each was
#: answered with "byte 12 is not valid UTF-8 ... iconv -f cp1252", which converts nothing).
_NOT_TEXT = ((b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook is one)",
              "Export the sheet as CSV (Excel: Save As, \"CSV UTF-8\"), or unzip the archive"),
             (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel (.xls) or Word file", "Export the sheet as CSV (Excel: Save As, "
                                                                     "\"CSV UTF-8\")"),
             (b"\x1f\x8b", "gzip-compressed", "Decompress it first: `gunzip -c FILE > PLAIN`"),
             (b"\xfd7zXZ\x00", "xz-compressed", "Decompress it first: `unxz -c FILE > PLAIN`"))
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
            raise DataError(f"{path}: the file is {what}, not text. "
                            f"{fix.replace('FILE', str(path)).replace('PLAIN', str(plain_name(path)))}.")
    if _BZIP2.match(head):
        raise DataError(f"{path}: the file is bzip2-compressed, not text. Decompress it first: `bunzip2 -c {path} > "
                        f"{plain_name(path)}`.")
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


#: Extensions of compressed files: the name of the decompressed file drops them.
COMPRESSED = (".gz", ".xz", ".bz2", ".zip")


def plain_name(path: Path) -> Path:
    """The name to decompress ``path`` to: without its compression's extension (``data.csv.gz`` -> ``data.csv``),
    or beside it (``data.csv``, gzip-compressed, -> ``data-plain.csv``: `gunzip -k` refused the unknown suffix).
    Where no extension would be left (``data.gz``), the one its decompressed first line suggests: a name without
    one was refused next ("cannot tell the format")."""
    if path.suffix.lower() not in COMPRESSED:
        return path.with_name(f"{path.stem}-plain{path.suffix}")
    plain = path.with_suffix("")
    if plain.suffix.lower() in FORMATS:
        return plain
    return plain.with_name(plain.name + _sniff_extension(path))


def _sniff_extension(path: Path) -> str:
    """``.jsonl``, ``.tsv``, ``.csv`` or ``.txt`` from the first decompressed lines of a gzip, bzip2 or xz file: a
    table's lines split into the same number (2 or more) of fields; lines of prose do not (`.csv` had made every
    command read a corpus of one text a line as a table, and refuse it for its missing column)."""
    import bz2
    import gzip
    import lzma

    lines: list[str] = []
    for opener in (gzip.open, bz2.open, lzma.open):
        try:
            with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if line.strip():
                        lines.append(line.lstrip("\ufeff").rstrip("\r\n"))
                    if len(lines) == 20:
                        break
            break
        except (OSError, EOFError, lzma.LZMAError):  # not this compression, or cut short
            lines = []
            continue
    if lines and lines[0].lstrip().startswith(("{", "[")):
        return ".jsonl"
    for sep, ext in (("\t", ".tsv"), (",", ".csv"), (";", ".csv")):
        counts = {len(row) for row in csv.reader(lines, delimiter=sep)}
        if len(counts) == 1 and counts.pop() > 1 and (len(lines) > 1 or sep == "\t"):
            return ext
    return ".txt"


def parquet_file(path: Path) -> Any:
    """``pyarrow.parquet.ParquetFile`` of ``path``.

    Raises:
        DataError: For a file that is not a complete Parquet file (cut short, or another format named .parquet).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError, ValueError) as exc:  # ArrowInvalid: "magic bytes not found in footer"
        raise DataError(f"{path}: cannot read as parquet: {_first_line(exc)}. {PARSE_FIX['parquet']}") from None


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
                **csv_options(path, fmt),
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                encoding="utf-8",
                **layout_options(path, fmt, header),
            )
            frame = mark_repeated(drop_extra(frame, path, fmt), path, fmt, header)
            if not header:
                frame.columns = ["text", "label"][: frame.shape[1]] + [
                    f"col{i}" for i in range(2, frame.shape[1])
                ]
        elif fmt == "jsonl":
            frames = list(jsonl_chunks(path, sys.maxsize))  # numbered by data row, as before (blank lines skipped)
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
            check_jsonl_lines(path)  # names the first bad line
        raise DataError(_parse_error(path, fmt, exc)) from None
    if frame.empty:
        raise DataError(f"{path}: the file has no data rows.")
    return frame


def one_column(path: Path, fmt: str) -> bool:
    """Whether a CSV/TSV file's first line holds one field: in such a file a blank line is a row whose text is empty
    (how a spreadsheet writes an empty cell), not a line between rows."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            first = next(csv.reader(fh, delimiter=csv_options(path, fmt)["sep"]), [])
    except (csv.Error, UnicodeDecodeError, OSError):  # the reader that follows says what is wrong
        return False
    return len(first) == 1


def table_columns(path: str | Path, fmt: str | None = None) -> list[str]:
    """The column names of a data file, read from its header row (Parquet: its schema; JSON: its first record)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(missing_file(path))
    fmt = detect_format(path, fmt)
    if fmt == "parquet":
        return list(parquet_file(path).schema_arrow.names)
    check_text_file(path)
    if fmt in ("csv", "tsv"):  # the header alone (read_chunks would first scan a TSV whole for its quoting)
        try:
            return [str(c) for c in pd.read_csv(path, sep="," if fmt == "csv" else "\t", nrows=0,
                                                encoding="utf-8").columns]
        except UnicodeDecodeError as exc:
            raise DataError(not_utf8(path, exc)) from None
        except pd.errors.EmptyDataError:
            raise DataError(f"{path}: {_EMPTY}") from None
        except (pd.errors.ParserError, ValueError) as exc:
            raise DataError(_parse_error(path, fmt, exc)) from None
    return [str(c) for c in next(iter(read_chunks(path, fmt, 1))).columns]


def _gathered(reader: Any, chunk_size: int, step: int, max_chars: int | None) -> Iterator[pd.DataFrame]:
    """Frames of ``chunk_size`` rows from a pandas reader, read ``step`` rows at a time and, with ``max_chars``,
    ended as soon as they hold that many characters (rows sized by the ones before had let a block of long rows
    after short ones into one chunk of 60 million characters)."""
    parts: list[pd.DataFrame] = []
    rows = chars = 0
    per_row = 1.0  # characters per row of the last part read: the next part reads about what the cap has left
    while True:
        left = step if max_chars is None else int(min(step, max(1, (max_chars - chars) / per_row)))
        try:
            part = reader.get_chunk(min(left, chunk_size - rows))
        except StopIteration:
            break
        parts.append(part)
        rows += len(part)
        if max_chars is not None and len(part):
            got = sum(len(v) for col in part.columns for v in part[col].array if isinstance(v, str))
            chars, per_row = chars + got, max(got / len(part), 1.0)
        if rows >= chunk_size or (max_chars is not None and chars >= max_chars):
            yield parts[0] if len(parts) == 1 else pd.concat(parts)
            parts, rows, chars = [], 0, 0
    if parts:
        yield parts[0] if len(parts) == 1 else pd.concat(parts)


def read_chunks(path: str | Path, fmt: str | None, chunk_size: int, header: bool = True, blank_rows: bool = False,
                max_chars: int | None = None) -> Iterator[pd.DataFrame]:
    """Yield frames of at most ``chunk_size`` rows of strings, indexed by 0-based data row (for ``file:line`` errors).
    ``blank_rows``: a CSV/TSV file's blank lines are rows (of empty cells), not skipped. ``max_chars``: frames of
    about that many characters at most, whatever ``chunk_size`` says (a CSV/TSV file is read 256 rows at a time
    until one or the other is reached): what is cleaned and tokenised at once then does not grow with the texts'
    length (50,000 texts of 20,000 characters took 4.6 GB).

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
            yield from jsonl_chunks(path, chunk_size, max_chars)
            return
        step = chunk_size if max_chars is None else min(chunk_size, 256)
        with pd.read_csv(path, **csv_options(path, fmt), dtype=str, keep_default_na=False, na_values=[""],
                         encoding="utf-8", **layout_options(path, fmt, header), chunksize=step,
                         skip_blank_lines=not blank_rows) as reader:
            mode: list[str] = []  # the extra column's meaning, decided on the first chunk for every chunk
            for chunk in _gathered(reader, chunk_size, step, max_chars):  # the index runs on from chunk to chunk
                chunk = mark_repeated(drop_extra(chunk, path, fmt, mode), path, fmt, header)
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
        raise DataError(_parse_error(path, fmt, exc)) from None


def _parse_error(path: Path, fmt: str, exc: Exception) -> str:
    """A parser error as one line: ``file:line`` where pandas names a row (by its own count of rows, which is not
    the file's lines), and what to check."""
    message = _first_line(exc)
    found = parser_error_line(path, fmt, message) if fmt in ("csv", "tsv") else None
    if found is not None:
        return f"{path}:{found[0]}: cannot parse as {fmt}: {found[1]}. {parse_fix(path, fmt)}"
    return f"{path}: cannot parse as {fmt}: {message}. {parse_fix(path, fmt)}"


_EMPTY = "the file is empty. Give a file with a header row and data rows."
def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else type(exc).__name__


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
