"""Reading JSONL files (one JSON object a line) and JSON arrays of records, a chunk of records at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from lstmtext.data.chunks import capped
from lstmtext.data.json_array import ITEM_CHARS, json_array_items
from lstmtext.errors import DataError


def starts_with(path: Path, prefix: bytes) -> bool:
    """Whether the file's first non-blank bytes are ``prefix``."""
    with path.open("rb") as fh:
        return fh.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip().startswith(prefix)


def json_object(path: Path, lineno: int, line: str) -> dict[str, Any]:
    """Line ``lineno`` (1-based) of a JSONL file as a dict, or a DataError naming it."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        where = f"{exc.msg.removesuffix(' at')} at column {exc.colno}"  # "Invalid control character at" was cut
        hint = " (a tab or line break inside a string is written \\t or \\n)" if "control character" in exc.msg else ""
        raise DataError(f"{path}:{lineno}: not a JSON object ({where}{hint}). Write one object per line.") from None
    if not isinstance(record, dict):
        raise DataError(f"{path}:{lineno}: not a JSON object (a {type(record).__name__}). Write one object per line.")
    return record


def jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The lines of a JSONL file that are not blank, with their numbers (from 1); a line longer than
    :data:`~lstmtext.data.json_array.ITEM_CHARS` characters is refused, not read whole (a file without line ends
    was one line of any size)."""
    with path.open(encoding="utf-8-sig") as fh:  # as CSV files are read, a byte-order mark is no text
        lineno = 0
        while line := fh.readline(ITEM_CHARS + 1):
            lineno += 1
            if len(line) > ITEM_CHARS and not line.endswith("\n"):  # (a line of ITEM_CHARS and its end is whole)
                raise DataError(f"{path}:{lineno}: the line runs past {ITEM_CHARS:,} characters. Write one object per "
                                "line, each with its own line end.")
            if line.strip():
                yield lineno, line


def check_jsonl_lines(path: Path) -> None:
    """Raise a DataError naming the first line of ``path`` that is not a JSON object (do nothing if none is)."""
    for lineno, line in jsonl_lines(path):
        json_object(path, lineno, line)


def records_frame(records: list[dict[str, Any]], index: list[int]) -> pd.DataFrame:
    """A frame of JSON records with each value as it was written: a column of numbers with a null in it would
    otherwise turn 123 into ``123.0`` (pandas' float column), a text or label the user did not write."""
    return pd.DataFrame(records, index=index, dtype=object)


def jsonl_chunks(path: Path, chunk_size: int, max_chars: int | None = None) -> Iterator[pd.DataFrame]:
    """Frames of at most ``chunk_size`` records of a JSONL file (or a JSON array of records), indexed by 0-based line
    (an array: by item); with ``max_chars`` a frame also ends once its lines (items: their texts) hold that many
    characters, so that a file of long texts is not read in chunks of any size.

    Raises:
        DataError: Naming the line (or item) that is not a JSON object, or a line past ``ITEM_CHARS`` characters.
    """
    if starts_with(path, b"["):  # a .json file may hold one JSON array of records (pandas' to_json(orient="records"))
        items = ((n, record, sum(len(v) for v in record.values() if isinstance(v, str)))
                 for n, record in enumerate(_array_records(path)))
    else:
        items = ((lineno - 1, json_object(path, lineno, line), len(line)) for lineno, line in jsonl_lines(path))
    for chunk in capped(items, chunk_size, max_chars, lambda item: item[2]):
        yield records_frame([record for _, record, _ in chunk], [index for index, _, _ in chunk])


def _array_records(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a JSON array, one at a time: the array is never held whole."""
    for n, record in enumerate(json_array_items(path)):
        if not isinstance(record, dict):
            raise DataError(f"{path}: item {n + 1} of the JSON array is not an object. Write an array of objects "
                            '(e.g. [{"text": "...", "label": "..."}]), or one object per line.')
        yield record
