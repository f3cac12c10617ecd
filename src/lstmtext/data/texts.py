"""Read texts to predict: plain lines, or a table's text column."""

from __future__ import annotations

import codecs
import io
import logging
import random
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from lstmtext.data.chunks import capped
from lstmtext.data.dataset import check_columns, check_repeated, nested_cell, shown_columns
from lstmtext.data.header import delimiter_hint
from lstmtext.data.io import (
    FORMATS,
    check_text_file,
    missing_file,
    not_utf8,
    one_column,
    parquet_file,
    read_chunks,
    read_table,
)
from lstmtext.data.lines import row_refs
from lstmtext.errors import DataError

log = logging.getLogger(__name__)


def read_texts(path: Path, text_col: str | None = None, defaults: Sequence[str] = ("text",), header: bool = True
               ) -> list[str]:
    """Texts from a table's ``text_col`` (CSV/TSV/JSONL/Parquet; without a ``header`` row the columns are text,
    label, ...) or, for other files, one per line."""
    return [text for _, texts in iter_texts(path, text_col, defaults=defaults, header=header, header_flag="--no-header")
            for text in texts]


def is_plain_text(path: Path, columns: Sequence[str] = ("text",), header: bool = True) -> bool:
    """Whether ``path`` is read as one text a line: standard input, any suffix that names no table, or a ``.txt``
    file unless its first line names one of ``columns`` among tab-separated ones (:func:`txt_table`: a training
    file, read as ``train`` reads a ``.txt``). The one place every reader of texts asks."""
    if str(path) == "-" or path.suffix.lower() not in FORMATS:
        return True
    return path.suffix.lower() == ".txt" and not txt_table(path, columns, header)


def sample_texts(path: Path, text_col: str | None = None, n: int = 8, seed: int = 0,
                 header: bool = True) -> tuple[str, list[str]]:
    """``(column, up to n texts)`` drawn at random (seeded) from a table's text column (default: ``text``; without
    ``header`` the columns are text, label), or from a plain text file's lines (column ``line``).

    Raises:
        DataError: For a table without that column, naming its columns and the likely fix (``--no-header``, ...),
            or one whose column is empty on every row.
    """
    if is_plain_text(Path(path), (text_col or "text",), header):
        rng, kept, seen = random.Random(seed), [], 0
        for _, texts in iter_texts(Path(path)):  # reservoir sampling: one pass, n texts held
            for text in texts:
                seen += 1
                if len(kept) < n:
                    kept.append(text)
                elif (k := rng.randrange(seen)) < n:
                    kept[k] = text
        return "line", kept
    frame = read_table(path, header=header)
    col = text_col or "text"  # as every other command reads a table (it previewed the first column: a date, a review
    check_columns(frame, Path(path), {"--text-col": col})  # read as the header), or says which column there is
    values = frame[col].dropna()
    if values.empty:  # an empty table to preview, printed without a word before
        raise DataError(f"{path}: column {col!r} holds no text in any of its {len(frame):,} rows. Check --text-col.")
    return col, [str(v) for v in values.sample(min(n, len(values)), random_state=seed)]


#: Texts per chunk of :func:`iter_texts` (what prediction holds in memory at once): above the pipeline's
#: PARALLEL_MIN_TEXTS, so a chain that is not compiled still cleans a big file on every core.
CHUNK_SIZE = 50_000
#: Characters per chunk of :func:`iter_texts`, at most (about, for a CSV/TSV file): 10,000 lines of 20,000
#: characters had been one chunk, cleaned and tokenised at once (4.6 GB to predict a 200 MB file).
CHUNK_CHARS = 8_000_000


def iter_texts(path: Path, text_col: str | None = None, chunk_size: int | None = None, defaults: Sequence[str] = ("text",),
               flag: str = "--text-col", header: bool = True, keep_blank: bool = False,
               header_flag: str | None = None) -> Iterator[tuple[list[str], list[str]]]:
    """``(where, texts)`` chunks of at most ``chunk_size`` texts, read without loading the whole file: ``where``
    names each text's row (``file:line``, or ``file row i`` for Parquet) for what is written back to the user.
    Without ``text_col`` a table's text column is the first of ``defaults`` it has (e.g. the column a model was
    trained on, then ``text``). ``flag`` is the option that names the column, for the error. A CSV/TSV file without
    a ``header`` row has the columns ``text``, ``label``, ... A plain text file's blank lines are skipped, or with
    ``keep_blank`` read as empty texts (so that answers line up with lines, as ``predict`` writes them); so are a
    one-column CSV/TSV file's (a spreadsheet's empty cell), while a table of several columns skips blank lines.
    ``header_flag``: the caller's option for a file without a header row, named in the missing-column error.

    Raises:
        DataError: For a missing file, a missing column, bytes that are not UTF-8, or no text at all (raised
            before the first chunk is yielded: nothing has been answered yet).
    """
    held: list[tuple[list[str], list[str]]] | None = []  # the chunks before the first text: yielded once one is found
    for where, texts in _iter_texts(Path(path), text_col, chunk_size or CHUNK_SIZE, list(dict.fromkeys(defaults)), flag,
                                    header, keep_blank, header_flag):
        if held is not None:
            held.append((where, texts))
            if not any(t.strip() for t in texts):
                continue
            yield from held
            held = None
            continue
        yield where, texts
    if held is not None:
        raise DataError(f"{path}: no texts to read (the file has no data rows, or only blank lines). Check the file.")


def _column(columns: Sequence[str], text_col: str | None, defaults: list[str]) -> str:
    """``text_col``, or the first of ``defaults`` among ``columns`` (the first default when none is)."""
    return text_col or next((c for c in defaults if c in columns), defaults[0])


def txt_table(path: Path, columns: Sequence[str], header: bool = True) -> bool:
    """Whether the ``.txt`` file ``path`` is a tab-separated table, as ``train`` reads a ``.txt``: its first line
    (the header) is tab-separated and names one of ``columns``. A model's training file passed where texts are read
    one a line (``suggest --exclude``, ``predict --file``) had been read as lines of "text<TAB>label", which matched
    no text."""
    if not header or str(path) == "-" or path.suffix.lower() != ".txt" or not path.is_file():
        return False
    try:
        with path.open(encoding="utf-8-sig") as fh:
            first = fh.readline(64 * 1024)
    except (OSError, UnicodeDecodeError):
        return False  # read as lines, which says what is wrong with the file
    fields = [f.strip() for f in first.rstrip("\r\n").split("\t")]
    return len(fields) > 1 and any(c in fields for c in columns)


def _iter_texts(path: Path, text_col: str | None, chunk_size: int, defaults: list[str], flag: str, header: bool,
                keep_blank: bool, header_flag: str | None) -> Iterator[tuple[list[str], list[str]]]:
    plain = is_plain_text(path, [text_col] if text_col else defaults, header)
    if not plain and path.suffix.lower() == ".txt":
        log.info("%s: its first line names tab-separated columns: read as a table, as train reads a .txt", path)
    if plain and text_col is not None:
        raise DataError(f"{path}: {'standard input' if str(path) == '-' else 'a plain text file'} is read as one text "
                        f"a line, so {flag} does not apply. Drop {flag}, or give a .csv, .tsv, .jsonl or .parquet file.")
    if str(path) == "-":  # standard input: one text a line, decoded strictly (Python's own stdin may let bad bytes by)
        stream = _decoded_lines(sys.stdin.buffer) if hasattr(sys.stdin, "buffer") else sys.stdin
        yield from _lines(stream, "stdin", chunk_size, keep_blank, CHUNK_CHARS)
        return
    if not path.is_file():
        raise DataError(missing_file(path))
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        parquet = parquet_file(path)
        col = _column(parquet.schema_arrow.names, text_col, defaults)
        if col not in parquet.schema_arrow.names:
            raise DataError(f"{path}: no column {col!r}. Columns: {', '.join(parquet.schema_arrow.names)}. Use {flag}.")
        for chunk in capped(_parquet_texts(parquet, path, col, chunk_size), chunk_size, CHUNK_CHARS,
                            lambda row: len(row[1])):
            yield [f"{path} row {i}" for i, _ in chunk], [text for _, text in chunk]
        return
    if str(path) != "-":
        check_text_file(path)  # an archive, a workbook or UTF-16 without a mark: not lines of text
    if not plain:
        fmt = FORMATS[suffix]
        # with keep_blank a one-column file's blank lines are answered as empty texts, as a plain text file's are
        blank_rows = keep_blank and fmt in ("csv", "tsv") and one_column(path, fmt)
        for frame in read_chunks(path, fmt, chunk_size, header, blank_rows, max_chars=CHUNK_CHARS):
            col = _column(list(map(str, frame.columns)), text_col, ["text"] if not header else defaults)
            if col not in frame.columns:
                hint = delimiter_hint(path, fmt)  # not --no-header: that read the header line as a text
                raise DataError(f"{path}: no column {col!r}. Columns: {shown_columns(list(frame.columns))}. "
                                + (hint or f"Use {flag}" + (f", or {header_flag} for a file without a header row."
                                                            if header_flag and fmt != "jsonl" else ".")))
            check_repeated(frame, path, [col])  # train refuses a text column named twice; predict read the first
            refs = row_refs(path, frame.index, fmt, header, blank_rows)
            if (odd := nested_cell(frame[col])) is not None:  # its Python repr is no text
                raise DataError(f"{refs[odd[0]]}: {col!r} holds {odd[1]}, not a text. "
                                "Give it a string.")
            if fmt == "jsonl" and (lacking := _lacks_key(frame, col)) is not None:  # had been answered as an empty text
                keys = [str(k) for k, v in frame.iloc[lacking].items() if not _absent(v)]
                raise DataError(f"{refs[lacking]}: the record has no {col!r} key (its keys: {', '.join(keys) or 'none'}). "
                                f"Give every record its text under {col!r}, or name the key with {flag}.")
            yield refs, frame[col].fillna("").astype(str).tolist()
        return
    try:
        with path.open(encoding="utf-8-sig") as fh:  # a byte-order mark is not the first text's
            yield from _lines(_bounded(fh, str(path)), str(path), chunk_size, keep_blank, CHUNK_CHARS)
    except UnicodeDecodeError as exc:
        raise DataError(not_utf8(Path(path), exc)) from None


def _absent(value: Any) -> bool:
    """Whether a JSON record's cell stands for a key the record does not have (pandas fills it with NaN; a null
    written in the record is None)."""
    return isinstance(value, float) and value != value


def _lacks_key(frame: Any, col: str) -> int | None:
    """The position of the first record of a JSONL chunk without the key ``col``, or None."""
    return next((i for i, v in enumerate(frame[col].array) if _absent(v)), None)


def _decoded_lines(raw: Any, cap: int | None = None) -> Iterator[str]:
    """The lines of a byte stream (standard input): UTF-8, ended by ``\\n``, ``\\r\\n`` or a lone ``\\r`` (as Python's
    text mode reads a file), each at most ``cap`` characters (:func:`_bounded`: a 200 MB line through ``--file -``
    took 1.9 GB); a line that is not UTF-8 is named, with its first bad byte.

    Raises:
        DataError: For a line that is not UTF-8: its number, and the first bad byte's place in it and value.
    """
    buffered = raw if hasattr(raw, "peek") else io.BufferedReader(raw)  # a BytesIO has no peek
    bom = len(codecs.BOM_UTF8) if buffered.peek(3)[:3] == codecs.BOM_UTF8 else 0  # bytes of line 1 the decoder drops
    # undecodable bytes become lone surrogates, found line by line (a strict decoder fails a whole block ahead)
    text = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="surrogateescape", newline=None)  # a BOM: no text's
    try:
        for lineno, line in enumerate(_bounded(text, "stdin", cap or LINE_CHARS), start=1):
            bad = _SURROGATE.search(line)
            if bad is not None:
                at = len(line[:bad.start()].encode("utf-8", "surrogateescape")) + (bom if lineno == 1 else 0)
                raise DataError(f"stdin: line {lineno}, byte {at + 1} ({bad.group().encode('utf-8', 'surrogateescape')!r}) "
                                "is not valid UTF-8. Send UTF-8 text (e.g. through `iconv -f cp1252 -t utf-8`).")
            yield line
    finally:
        text.detach()  # not closed with the wrapper (what it had read ahead is gone: nothing reads it after)
        if buffered is not raw:
            buffered.detach()


_SURROGATE = re.compile("[\udc80-\udcff]")


#: The most characters of one line of a plain text file or of standard input that are read; the rest of such a
#: line is skipped unread (a 200 MB line took 2.1 GB to read whole, then was cut at preprocess.max_chars).
LINE_CHARS = 10_000_000


def _bounded(fh: Any, name: str, cap: int = LINE_CHARS) -> Iterator[str]:
    """The lines of text file ``fh`` (line ends kept), each at most ``cap`` characters: a longer line's first ``cap``
    characters, with a warning, while its rest is read in pieces and dropped."""
    lineno = 0
    while piece := fh.readline(cap):
        lineno += 1
        if len(piece) == cap and not piece.endswith(("\n", "\r")):
            rest = 0
            while (more := fh.readline(cap)) and not more.endswith(("\n", "\r")):
                rest += len(more)
            rest += len(more.rstrip("\r\n"))
            if rest:  # a line of exactly cap characters was read whole
                log.warning("%s:%d: the line holds %s characters; only its first %s are read", name, lineno,
                            f"{cap + rest:,}", f"{cap:,}")
        yield piece


def _lines(fh: Iterable[str], name: str, chunk_size: int, keep_blank: bool, max_chars: int
           ) -> Iterator[tuple[list[str], list[str]]]:
    """``(where, texts)`` chunks of the lines of ``fh`` (at most ``chunk_size`` lines and about ``max_chars``
    characters), each named ``name:line``; blank ones only with ``keep_blank`` (as empty texts)."""
    rows = ((f"{name}:{lineno}", line.rstrip("\r\n")) for lineno, line in enumerate(fh, start=1)
            if keep_blank or line.strip())
    for chunk in capped(rows, chunk_size, max_chars, lambda row: len(row[1])):
        yield [where for where, _ in chunk], [text for _, text in chunk]


def _parquet_texts(parquet: Any, path: Path, col: str, chunk_size: int) -> Iterator[tuple[int, str]]:
    """``(row, text)`` of a Parquet file's column ``col``, read a batch at a time.

    Raises:
        DataError: For a cell holding bytes, a list or a map: its Python repr is no text.
    """
    start = 0
    for batch in parquet.iter_batches(batch_size=min(chunk_size, 1024), columns=[col]):
        values = batch.column(0).to_pylist()
        odd = next((i for i, t in enumerate(values) if isinstance(t, (list, dict, bytes))), None)
        if odd is not None:
            what = "bytes (a binary column)" if isinstance(values[odd], bytes) else \
                f"a {'list' if isinstance(values[odd], list) else 'map'}"
            raise DataError(f"{path} row {start + odd}: {col!r} holds {what}, not a text. Give it a string column.")
        yield from enumerate(("" if t is None else str(t) for t in values), start)
        start += len(values)
