"""Read texts to predict (plain lines or a table column) and write predictions as JSON lines or CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import IO

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


def write_predictions(out: IO[str], texts: Sequence[str], predictions: Sequence, top_k: int, fmt: str) -> None:
    """Write one record per text: JSON lines, or CSV with text, label, score and the top-k classes."""
    if fmt == "json":
        for text, p in zip(texts, predictions):
            out.write(json.dumps({"text": text, **p.to_dict(top_k)}, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(["text", "label", "score", "top_k"])
        for text, p in zip(texts, predictions):
            writer.writerow([text, p.label, f"{p.score:.6f}", json.dumps(p.to_dict(top_k)["scores"])])
    else:
        raise DataError(f"--format {fmt!r}: use json or csv.")
