"""Read texts to predict: plain lines, or a table's text column."""

from __future__ import annotations

from pathlib import Path

from lstmtext.data.io import FORMATS, read_table
from lstmtext.errors import DataError


def read_texts(path: Path, text_col: str | None = None) -> list[str]:
    """Texts from a table's ``text_col`` (CSV/TSV/JSONL/Parquet) or, for other files, one per line."""
    if path.suffix.lower() in FORMATS and path.suffix.lower() != ".txt":
        frame = read_table(path)
        col = text_col or "text"
        if col not in frame.columns:
            raise DataError(f"{path}: no column {col!r}. Columns: {', '.join(map(str, frame.columns))}. Use --text-col.")
        return frame[col].fillna("").astype(str).tolist()
    if not path.is_file():
        raise DataError(f"{path}: file not found.")
    return [line.rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def sample_texts(path: Path, text_col: str | None = None, n: int = 8, seed: int = 0) -> tuple[str, list[str]]:
    """``(column, up to n texts)`` drawn at random (seeded) from a table's text column (default: ``text``, else the first)."""
    frame = read_table(path)
    col = text_col or ("text" if "text" in frame.columns else str(frame.columns[0]))
    if col not in frame.columns:
        raise DataError(f"{path}: no column {col!r}. Columns: {', '.join(map(str, frame.columns))}. Use --text-col.")
    values = frame[col].dropna()
    return col, [str(v) for v in values.sample(min(n, len(values)), random_state=seed)]
