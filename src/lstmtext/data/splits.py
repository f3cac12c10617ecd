"""Canonical splits kept in a separate file keyed by row number (``row,split``), e.g. the news titles' split.csv.

``split.csv`` beside ``detik-news-title-balanced.csv`` names the split of each 0-based data row. This module
joins such a file onto the data, so every model and the baselines see the same published split:

    >>> from lstmtext.config import DataConfig
    >>> cfg = DataConfig(text_col="title", label_col="category")
    >>> data = load_with_split_file("detik-news-title-balanced.csv", "split.csv", cfg)

On the command line: ``lstmtext compare DATA --split-file split.csv``, or for ``train``, write the joined
file once with :func:`join_split_file` (see docs/compare.md).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lstmtext.config import DataConfig
from lstmtext.data.dataset import SPLIT_ALIASES, LabelledData, Split, check_classes, read_labelled
from lstmtext.errors import DataError


def read_split_file(split_csv: str | Path) -> pd.Series:
    """Read a ``row,split`` file into a Series of split names (train/valid/test) indexed by row number.

    Raises:
        DataError: If the file is missing, lacks the columns, repeats a row or has an unknown split name.
    """
    path = Path(split_csv)
    try:
        table = pd.read_csv(path)
    except FileNotFoundError:
        raise DataError(f"{path}: split file not found. Give the row,split file that belongs to the data.") from None
    if not {"row", "split"} <= set(table.columns):
        raise DataError(f"{path}: a split file needs columns 'row' and 'split'. Got {', '.join(map(str, table.columns))}.")
    if table["row"].duplicated().any():
        row = int(table.loc[table["row"].duplicated(), "row"].iloc[0])
        raise DataError(f"{path}: row {row} is listed twice. Each data row may have one split.")
    names = table["split"].astype(str).str.strip().str.lower()
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
    split = read_split_file(split_csv)
    if len(split) and (split.index.max() >= len(frame) or split.index.min() < 0):
        raise DataError(f"{split_csv}: row {int(split.index.max())} is outside the data ({len(frame)} rows). "
                        "Is it the split file of this data file?")
    out = frame.reset_index(drop=True).iloc[split.index.sort_values()].copy()
    out["split"] = split.sort_index().to_numpy()
    return out


def load_with_split_file(path: str | Path, split_csv: str | Path, cfg: DataConfig, fmt: str | None = None,
                         header: bool = True) -> LabelledData:
    """Read and check ``path`` (columns from ``cfg``) and split it by the row-numbered ``split_csv``.

    ``cfg.drop_duplicates`` is ignored (dropping rows would shift the row numbers); duplicates are reported.

    Raises:
        DataError: For the data checks of :func:`lstmtext.data.read_labelled`, a bad split file, or a split
            without train or valid rows.
    """
    frame = read_labelled(path, cfg.model_copy(update={"split_col": None}), fmt, header)
    n_dup = int(frame.duplicated(subset=["text", "label"]).sum())
    notes = [f"{path}: {n_dup} duplicate (text, label) rows kept (the split file fixes the rows)"] if n_dup else []
    joined = join_split_file(frame, split_csv)
    splits = {name: Split(part["text"].tolist(), part["label"].tolist())
              for name in ("train", "valid", "test") if len(part := joined[joined["split"] == name])}
    if "train" not in splits or "valid" not in splits:
        raise DataError(f"{split_csv}: the split file must mark some rows train and some valid.")
    check_classes(splits, str(path))
    return LabelledData(splits=splits, source=f"{path} (split {split_csv})", n_duplicates=n_dup, notes=notes)
