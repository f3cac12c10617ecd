"""Canonical splits kept in a separate file keyed by row number (``row,split``), e.g. the news titles' split.csv.

``split.csv`` beside ``detik-news-title-balanced.csv`` names the split of each 0-based data row. Every
command that reads labelled data takes it as ``--split-file``, so every model and the baselines see the same
published split (rows the file does not list are left out); :func:`join_split_file` adds the split as a
column to a frame.
"""

from __future__ import annotations

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
