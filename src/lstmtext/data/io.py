"""Read a table of labelled texts from CSV, TSV, JSONL or Parquet, with errors that name file, row and fix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lstmtext.errors import DataError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


def detect_format(path: Path, fmt: str | None = None) -> str:
    """Return ``csv``, ``tsv``, ``jsonl`` or ``parquet`` from ``fmt`` or the file's extension.

    Raises:
        DataError: If the format cannot be told.
    """
    if fmt:
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


def _locate_bad_bytes(path: Path, exc: UnicodeDecodeError) -> str:
    """Return ``line N`` for the first undecodable byte of ``path``."""
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as line_exc:
                return f"line {lineno}, byte {line_exc.start + 1} ({raw[line_exc.start:line_exc.start + 1]!r})"
    return f"byte {exc.start}"


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
        raise DataError(f"{path}: file not found. Check the path (relative paths start at {Path.cwd()}).")
    fmt = detect_format(path, fmt)
    try:
        if fmt in ("csv", "tsv"):
            frame = pd.read_csv(
                path,
                sep="," if fmt == "csv" else "\t",
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                encoding="utf-8",
                header=0 if header else None,
            )
            if not header:
                frame.columns = ["text", "label"][: frame.shape[1]] + [
                    f"col{i}" for i in range(2, frame.shape[1])
                ]
        elif fmt == "jsonl":
            frame = pd.read_json(path, lines=True, dtype=False, encoding="utf-8")
        else:
            frame = pd.read_parquet(path)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: {_locate_bad_bytes(path, exc)} is not valid UTF-8. "
            "Re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)."
        ) from None
    except (pd.errors.ParserError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot parse as {fmt}: {first}. Check quoting and the delimiter.") from None
    if frame.empty:
        raise DataError(f"{path}: the file has no data rows.")
    return frame


def row_ref(path: str | Path, index: int, fmt: str, header: bool = True) -> str:
    """Return ``file:line N`` for a 0-based data row (counting the header line of CSV/TSV)."""
    if fmt in ("csv", "tsv"):
        return f"{path}:{index + (2 if header else 1)}"
    if fmt == "jsonl":
        return f"{path}:{index + 1}"
    return f"{path} row {index}"
