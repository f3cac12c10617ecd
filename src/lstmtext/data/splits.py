"""Canonical splits kept in a separate file keyed by row number (``row,split``), e.g. the news titles' split.csv.

``split.csv`` beside ``detik-news-title-balanced.csv`` names the split of each 0-based data row. Every
command that reads labelled data takes it as ``--split-file``, so every model and the baselines see the same
published split (rows the file does not list are left out); :func:`join_split_file` adds the split as a
column to a frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from lstmtext.data.dataset import SPLIT_ALIASES
from lstmtext.data.io import read_table
from lstmtext.data.lines import row_ref
from lstmtext.errors import DataError


def read_split_file(split_csv: str | Path) -> pd.Series:
    """Read a ``row,split`` file into a Series of split names (train/valid/test) indexed by row number.

    Raises:
        DataError: If the file is missing, lacks the columns, repeats a row or has an unknown split name.
    """
    path = Path(split_csv)
    if not path.exists():
        raise DataError(f"{path}: split file not found. Give the row,split file that belongs to the data.")
    table = read_table(path, "csv")  # what every data file gets: a folder, encoding, archive, empty, parse errors
    if not {"row", "split"} <= set(table.columns):
        raise DataError(f"{path}: a split file needs columns 'row' and 'split'. Got {', '.join(map(str, table.columns))}.")
    rows = table["row"].fillna("").str.strip()
    bad = ~rows.str.fullmatch(r"[0-9]{1,18}(\.0*)?")  # ASCII digits (not '٣'); 3.0 as pandas writes a float column
    if bad.any():  # int('x') failed with a traceback; '1.5' was cut to row 1
        first = int(bad.to_numpy().nonzero()[0][0])
        raise DataError(f"{row_ref(path, int(table.index[first]), 'csv')}: row {rows.iloc[first]!r} is not a "
                        "row number. Give each data row's 0-based number (0, 1, 2, ...).")
    table["row"] = rows.str.split(".").str[0].astype(int)
    if table["row"].duplicated().any():
        row = int(table.loc[table["row"].duplicated(), "row"].iloc[0])
        raise DataError(f"{path}: row {row} is listed twice. Each data row may have one split.")
    names = table["split"].fillna("").astype(str).str.strip().str.lower()
    unknown = sorted(set(names) - set(SPLIT_ALIASES))
    if unknown:
        raise DataError(f"{path}: split value {unknown[0]!r} is not one of train, valid (dev, validation), test.")
    return pd.Series(names.map(SPLIT_ALIASES).to_numpy(), index=table["row"].astype(int).to_numpy(), name="split")


def join_split_file(frame: pd.DataFrame, split_csv: str | Path) -> pd.DataFrame:
    """Return ``frame`` with a ``split`` column from ``split_csv``; row ``i`` is the frame's i-th row (0-based).

    Rows the split file does not list are dropped (a subset split is allowed).

    Raises:
        DataError: If the split file names a row the frame does not have, or is malformed.
    """
    rows, names = split_file_rows(split_csv, len(frame))
    out = frame.reset_index(drop=True).iloc[rows].copy()
    out["split"] = names
    return out


def split_file_rows(split_csv: str | Path, n_rows: int) -> tuple[np.ndarray, list[str]]:
    """The data rows a ``row,split`` file lists (sorted) and their split names.

    Raises:
        DataError: If the split file is malformed or names a row the data does not have.
    """
    split = read_split_file(split_csv).sort_index()
    if len(split) and (split.index.max() >= n_rows or split.index.min() < 0):
        raise DataError(outside_the_data(split_csv, int(split.index.max()), n_rows))
    return split.index.to_numpy(), split.tolist()


def outside_the_data(split_csv: str | Path, row: int, n_rows: int) -> str:
    """The error for a split file naming row ``row`` of data with ``n_rows`` rows."""
    return f"{split_csv}: row {row} is outside the data ({n_rows} rows). Is it the split file of this data file?"


def training_texts(path: Path, col: str, split_file: str | Path | None, split_col: str | None, header: bool,
                   chunk_size: int) -> Iterator[list[str]]:
    """The texts of a table's training rows, ``chunk_size`` rows of the table at a time (never the whole table):
    by a split column, or by a split file (its rows are the table's 0-based data rows, as ``train --split-file``
    reads them).

    Raises:
        DataError: For a missing column, a bad split value or split file, or a split file naming a row the table
            does not have (found at its end: before any vector is trained).
    """
    from lstmtext.data.dataset import RowRefs, check_columns, split_values
    from lstmtext.data.io import detect_format, parquet_file, read_chunks

    fmt = detect_format(path)
    columns = {"--text-col": col, "--split-col": split_col}
    listed = read_split_file(split_file) if split_file is not None else None
    train = np.sort(listed.index.to_numpy()[listed.to_numpy() == "train"]) if listed is not None else None
    if fmt == "parquet":  # only the two columns, a batch of rows at a time
        parquet = parquet_file(path)
        check_columns(pd.DataFrame(columns=parquet.schema_arrow.names), path, columns)
        frames: Iterable[pd.DataFrame] = (batch.to_pandas() for batch in parquet.iter_batches(
            batch_size=chunk_size, columns=[c for c in dict.fromkeys((col, split_col)) if c is not None]))
    else:
        frames = read_chunks(path, None, chunk_size, header=header)
    start = 0  # the running row number: what a split file's rows count (a JSONL chunk's index is its lines)
    for frame in frames:
        check_columns(frame, path, columns)
        rows = np.arange(start, start + len(frame))
        if train is not None:
            at = np.minimum(np.searchsorted(train, rows), max(len(train) - 1, 0))
            keep = train[at] == rows if len(train) else np.zeros(len(frame), dtype=bool)
        else:
            refs = RowRefs(path, fmt, header, index=rows if fmt == "parquet" else frame.index)
            keep = np.asarray(split_values(frame, str(split_col), refs)) == "train"
        start += len(frame)
        yield frame.loc[keep, col].dropna().astype(str).tolist()
    if listed is not None and len(listed) and int(listed.index.max()) >= start:
        raise DataError(outside_the_data(split_file, int(listed.index.max()), start))
