"""Word-vector files: read word2vec text or binary, fastText ``.vec`` and GloVe ``.txt`` (with or without a ``count
dim`` header, gzip-compressed or not), and write word2vec text, with one-line errors that name the file and line."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from lstmtext.errors import ConfigError, DataError

log = logging.getLogger(__name__)


def _zipped(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _open_text(path: Path):
    """The file as text: UTF-8 (a byte-order mark dropped), gzip-compressed when it is (vectors often ship so)."""
    import gzip

    return gzip.open(path, "rt", encoding="utf-8-sig", errors="replace") if _zipped(path) else \
        path.open(encoding="utf-8-sig", errors="replace")


def _head(path: Path, size: int = 1 << 16) -> bytes:
    """The file's first bytes, decompressed if it is gzip."""
    import gzip

    with (gzip.open(path, "rb") if _zipped(path) else path.open("rb")) as fh:
        return fh.read(size)


def _is_binary(head: bytes) -> bool:
    """Whether a vectors file is word2vec's binary format, by its content, not its name: a ``count dim`` header, then
    a first vector that does not read as text (a word and ``dim`` numbers, space or tab separated). A text file named
    ``.bin`` was read as binary into vectors of 1e-19; a binary one is never text past its header."""
    first, _, rest = head.partition(b"\n")
    header = first.split()
    if len(header) != 2 or not all(p.isdigit() for p in header):
        return False  # GloVe's text has no header; word2vec's binary always has one
    line = rest.split(b"\n", 1)[0]
    if b"\0" in line:
        return True
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return True
    if len(_fields(text)) == int(header[1]) + 1:  # a word and dim values (numbers or not: the reader names a bad one)
        return False
    return any(ord(c) < 32 and c not in "\t\r" for c in text)  # bytes of floats, not a ragged text line


def _fields(line: str) -> list[str]:
    """A vectors line split on ASCII spaces and tabs alone: words may hold other whitespace (``new\xa0york``, an
    ideographic space in fastText's wiki.ru.vec), which ``str.split()`` would cut, refusing the whole file."""
    return [p for p in re.split(r"[ \t]", line.rstrip("\r\n")) if p]


def read_vectors(path: str | Path, keep: set[str] | None = None) -> tuple[dict[str, np.ndarray], int]:
    """Read word vectors: word2vec text (``N D`` header) or binary (``.bin``), fastText ``.vec``, GloVe ``.txt``.

    Args:
        path: The vectors file. Text files may or may not start with a ``count dim`` header line.
        keep: Only return these words (saves memory on large files); None: every word.

    Returns:
        ``({word: vector}, dimension of the file's vectors)``.

    Raises:
        ConfigError: If the file is missing or empty.
        DataError: If a line has a different number of values than the first vector.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"model.embedding.path: no file {str(path)!r}. Give the path of a word2vec/fastText/GloVe file.")
    head = _head(path)
    if head[:4] in (b"\xba\x16\x4f\x2f", b"\x2f\x4f\x16\xba") or _is_binary(head):
        if head[:4] in (b"\xba\x16\x4f\x2f", b"\x2f\x4f\x16\xba"):  # fastText's own model file (its magic number)
            raise DataError(f"{path}: a fastText model (.bin), not word vectors. Give the .vec file fastText writes "
                            "beside it (or word2vec's binary format).")
        from gensim.models import KeyedVectors

        try:
            kv = KeyedVectors.load_word2vec_format(str(path), binary=True, unicode_errors="replace")
        except (ValueError, EOFError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: not a word2vec binary file ({str(exc).splitlines()[0][:120]}). Give a "
                            "word2vec/fastText/GloVe text file, or word2vec's binary format.") from None
        vectors = {w: kv[w] for w in kv.index_to_key if keep is None or w in keep}
        _check_finite(path, vectors)
        return vectors, int(kv.vector_size)
    out: dict[str, np.ndarray] = {}
    dim = declared = None
    lines = 0  # vector lines read
    with _open_text(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            parts = _fields(line)
            if lineno == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                declared, dim = int(parts[0]), int(parts[1])  # word2vec / fastText header: count, dimension
                continue
            if len(parts) < 2:
                continue
            lines += 1
            dim = dim or len(parts) - 1
            if len(parts) - 1 != dim:
                said = f"the header (line 1) says {dim}" if declared is not None else f"the file's vectors have {dim}"
                raise DataError(f"{path}:{lineno}: {len(parts) - 1} values where {said}. Check the file is "
                                "word2vec/GloVe text (word, then numbers, space separated).")
            if keep is None or parts[0] in keep:
                try:
                    out[parts[0]] = vector = np.asarray(parts[1:], dtype=np.float32)
                except ValueError:
                    bad = next(p for p in parts[1:] if not _is_number(p))
                    if "\ufffd" in bad:  # read with errors="replace": the bytes there are not UTF-8
                        raise DataError(f"{path}:{lineno}: bytes that are not UTF-8 (read as {bad!r}). Vectors files "
                                        "are UTF-8 text: convert it (e.g. `iconv -f latin1 -t utf-8`).") from None
                    raise DataError(f"{path}:{lineno}: {bad!r} is not a number (word {parts[0]!r}). Vectors are "
                                    "numbers with a dot for decimals, space separated.") from None
                if not np.isfinite(vector).all():  # a NaN trained a model of NaNs, saved before the report failed
                    raise DataError(f"{path}:{lineno}: the vector of {parts[0]!r} holds nan or inf. Fix or drop "
                                    "that line.")
    if dim is None:
        raise ConfigError(f"model.embedding.path: {path} holds no vectors. Give a word2vec/fastText/GloVe text file.")
    if declared is not None and declared != lines:  # cut short (a download), or lines lost: gensim refuses it
        log.warning("%s: its header says %s vectors, the file holds %s%s", path, f"{declared:,}", f"{lines:,}",
                    ": is it cut short?" if lines < declared else " (the header's count is wrong)")
    if mangled := sum("\ufffd" in word for word in out):  # read with errors="replace": never a vocabulary word
        log.warning("%s: %d of its words hold bytes that are not UTF-8, so they match no word of the texts. Vectors "
                    "files are UTF-8 text: convert it (e.g. `iconv -f latin1 -t utf-8`).", path, mangled)
    return out, dim


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_finite(path: Path, vectors: dict[str, np.ndarray]) -> None:
    bad = next((w for w, v in vectors.items() if not np.isfinite(v).all()), None)
    if bad is not None:
        raise DataError(f"{path}: the vector of {bad!r} holds nan or inf. Fix the file.")


def write_word2vec_text(path: str | Path, vectors: dict[str, np.ndarray]) -> Path:
    """Write ``{word: vector}`` in word2vec text format (``count dim`` header, then ``word v1 v2 ...``), atomically."""
    from lstmtext.utils.atomic import write_text

    dim = len(next(iter(vectors.values()))) if vectors else 0
    lines = [f"{len(vectors)} {dim}"]
    lines += [word + " " + " ".join(f"{x:.6g}" for x in vec) for word, vec in vectors.items()]
    return write_text(path, "\n".join(lines) + "\n")
