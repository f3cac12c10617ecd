"""The items of a JSON array file (pandas' ``to_json(orient="records")`` writes one), read one at a time.

``json.load`` held the whole array, and a Python object for every value in it, at once: several times the
file's size in memory, even under ``--stream``. Here the file is read in pieces and each item decoded as soon
as it is whole, so memory holds one piece and one item. An error names the line and column, as ``json.load``'s
did.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lstmtext.errors import DataError

#: Characters read at a time.
PIECE = 1 << 20
#: The most characters one item may take: an item still open past this is refused (a missing ``}`` would
#: otherwise read the rest of the file into one item).
ITEM_CHARS = 100_000_000
_SPACE = " \t\n\r"
_ADVICE = "Write an array of objects, or one object per line."


class _Reader:
    """A window on the file's text: ``buf[pos:]`` is unread; lines and columns count from the file's start."""

    def __init__(self, fh: Any, path: Path, piece: int) -> None:
        self.fh, self.path, self.piece = fh, path, piece
        self.buf, self.pos, self.eof = "", 0, False
        self.lines_before = 0  # newlines in the text dropped before buf
        self.column_before = 0  # characters after the last of them, in the text dropped before buf

    def more(self) -> bool:
        """Drop the read part of the window and read another piece (as long as what is unread, at least): False at
        the end of the file."""
        if self.eof:
            return False
        dropped = self.buf[: self.pos]
        newlines = dropped.count("\n")
        self.lines_before += newlines
        self.column_before = len(dropped) - dropped.rfind("\n") - 1 if newlines else self.column_before + len(dropped)
        self.buf, self.pos = self.buf[self.pos:], 0
        text = self.fh.read(max(self.piece, len(self.buf)))  # doubling: a long item is decoded O(length) times over
        self.eof = not text
        self.buf += text
        return not self.eof

    def skip_space(self) -> str:
        """The next character that is not white space ('' at the end of the file), left unread."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _SPACE:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return ""

    def where(self, at: int) -> tuple[int, int]:
        """The line and column (from 1, as ``json.load`` counts them) of window position ``at``."""
        newlines = self.buf.count("\n", 0, at)
        column = at - self.buf.rfind("\n", 0, at) if newlines else self.column_before + at + 1
        return self.lines_before + newlines + 1, column

    def error(self, msg: str, at: int | None = None) -> DataError:
        """A DataError for ``msg`` at window position ``at`` (default: the unread part's start)."""
        line, column = self.where(self.pos if at is None else at)
        return DataError(f"{self.path}:{line}: not valid JSON ({msg}, column {column}). {_ADVICE}")


def json_array_items(path: Path, piece: int = PIECE, item_chars: int = ITEM_CHARS) -> Iterator[Any]:
    """Each item of the JSON array in ``path`` (the file's first character that is not white space is ``[``), in
    order, decoded as it is read.

    Raises:
        DataError: Where the file stops being valid JSON (its line and column), or for an item longer than
            ``item_chars`` characters (or one that never ends).
    """
    decoder = json.JSONDecoder()
    with Path(path).open(encoding="utf-8-sig") as fh:  # a byte-order mark is no text
        reader = _Reader(fh, Path(path), piece)
        if reader.skip_space() != "[":
            raise reader.error("Expecting '['")
        reader.pos += 1
        first = True
        while True:
            nxt = reader.skip_space()
            if first and nxt == "]":
                break
            yield _item(reader, decoder, item_chars)
            first = False
            nxt = reader.skip_space()
            if nxt == "]":
                break
            if nxt != ",":
                raise reader.error("Expecting ',' delimiter")
            reader.pos += 1
        reader.pos += 1
        if reader.skip_space():
            raise reader.error("Extra data")


def _item(reader: _Reader, decoder: json.JSONDecoder, item_chars: int) -> Any:
    """Decode the value that starts at the window's unread part, reading more of the file while it is cut short."""
    while True:
        try:
            value, end = decoder.raw_decode(reader.buf, reader.pos)
        except json.JSONDecodeError as exc:
            # An error well before the window's end is in the file itself; more text cannot mend it. An unterminated
            # string names where it starts, however far the decoder read: that one always reads on.
            near_end = exc.pos >= len(reader.buf) - 64 or exc.msg.startswith("Unterminated string")
            if not near_end or reader.eof:
                raise reader.error(exc.msg, exc.pos) from None
        else:
            # a number near the window's end may go on in the next piece ("0." of "0.5" decodes as 0); an object,
            # a list or a string ends with its own closing character
            cut = isinstance(value, (int, float)) and not isinstance(value, bool) and end >= len(reader.buf) - 64
            if not cut or reader.eof:
                reader.pos = end
                return value
        if len(reader.buf) - reader.pos > item_chars:
            line, column = reader.where(reader.pos)
            raise DataError(f"{reader.path}:{line}: the JSON array's item at column {column} runs past {item_chars:,} "
                            f"characters (or is never closed). {_ADVICE}")
        reader.more()
