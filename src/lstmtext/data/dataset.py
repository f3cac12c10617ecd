"""Turn a data file (or train/valid/test files) into checked, split, labelled texts.

Every check a user can fail says which file and row, what was wrong and how to fix it: unknown
columns, empty texts, missing labels, fewer than two classes, a class absent from the training split.
Duplicate rows are always reported and dropped before splitting when asked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from lstmtext.config import DataConfig
from lstmtext.data.io import detect_format, read_table, row_ref
from lstmtext.errors import DataError

log = logging.getLogger(__name__)

SPLIT_ALIASES = {"train": "train", "valid": "valid", "validation": "valid", "val": "valid", "dev": "valid", "test": "test"}


@dataclass
class Split:
    """The texts and labels of one split."""

    texts: list[str]
    labels: list[str]

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class LabelledData:
    """Train / valid / test splits plus what was learnt while reading them."""

    splits: dict[str, Split]
    source: str
    n_duplicates: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def classes(self) -> list[str]:
        """Sorted labels of the training split."""
        return sorted(set(self.splits["train"].labels))


def _check_columns(frame: pd.DataFrame, path: Path, cols: dict[str, str | None]) -> None:
    for option, col in cols.items():
        if col is not None and col not in frame.columns:
            raise DataError(
                f"{path}: no column {col!r} (given by {option}). "
                f"Columns in the file: {', '.join(map(str, frame.columns))}. Pass the right name with {option}."
            )


def _check_cells(frame: pd.DataFrame, path: Path, col: str, what: str, fmt: str, header: bool) -> None:
    values = frame[col]
    bad = values.isna() | (values.astype(str).str.strip() == "")
    if bad.any():
        rows = [row_ref(path, int(i), fmt, header).rsplit(":", 1)[-1] for i in list(bad[bad].index[:5])]
        where = row_ref(path, int(bad[bad].index[0]), fmt, header)
        more = f" ({int(bad.sum())} rows in all; first at lines {', '.join(rows)})" if bad.sum() > 1 else ""
        raise DataError(f"{where}: {what} {col!r} is empty{more}. Fill or remove these rows.")


def read_labelled(path: str | Path, cfg: DataConfig, fmt: str | None = None, header: bool = True) -> pd.DataFrame:
    """Read a file and return a frame with columns ``text``, ``label`` and, if configured, ``split``.

    Raises:
        DataError: For unknown columns, empty texts or missing labels.
    """
    path = Path(path)
    fmt = detect_format(path, fmt)
    frame = read_table(path, fmt, header=header).reset_index(drop=True)
    _check_columns(frame, path, {"--text-col": cfg.text_col, "--label-col": cfg.label_col, "--split-col": cfg.split_col})
    _check_cells(frame, path, cfg.text_col, "text in column", fmt, header)
    _check_cells(frame, path, cfg.label_col, "label in column", fmt, header)
    out = pd.DataFrame({"text": frame[cfg.text_col].astype(str), "label": frame[cfg.label_col].astype(str).str.strip()})
    if cfg.split_col is not None:
        raw = frame[cfg.split_col].astype(str).str.strip().str.lower()
        unknown = sorted(set(raw) - set(SPLIT_ALIASES))
        if unknown:
            first = int(raw[~raw.isin(list(SPLIT_ALIASES))].index[0])
            raise DataError(
                f"{row_ref(path, first, fmt, header)}: split value {unknown[0]!r} in column {cfg.split_col!r} "
                "is not one of train, valid (dev, validation), test. Fix the value or drop --split-col."
            )
        out["split"] = raw.map(SPLIT_ALIASES)
    return out


def _dedupe(frame: pd.DataFrame, drop: bool, source: str, notes: list[str]) -> tuple[pd.DataFrame, int]:
    dup = frame.duplicated(subset=["text", "label"], keep="first")
    n = int(dup.sum())
    if n:
        action = "dropped" if drop else "kept (use --drop-duplicates to drop them before splitting)"
        msg = f"{source}: {n} duplicate (text, label) rows {action}"
        log.warning(msg)
        notes.append(msg)
        if drop:
            frame = frame[~dup].reset_index(drop=True)
    return frame, n


def split_frame(frame: pd.DataFrame, cfg: DataConfig) -> dict[str, pd.DataFrame]:
    """Split stratified by label: first train vs the rest, then the rest into valid and test.

    Raises:
        DataError: If a class has too few rows to be stratified.
    """
    held = cfg.valid_size + cfg.test_size
    try:
        train, rest = train_test_split(frame, test_size=held, stratify=frame["label"], random_state=cfg.split_seed)
        if cfg.test_size == 0:
            return {"train": train, "valid": rest}
        valid, test = train_test_split(
            rest, test_size=cfg.test_size / held, stratify=rest["label"], random_state=cfg.split_seed
        )
    except ValueError as exc:
        counts = frame["label"].value_counts()
        raise DataError(
            f"cannot make a stratified split ({exc}). Smallest class: {counts.index[-1]!r} with {counts.iloc[-1]} rows. "
            "Add rows, merge rare classes, or give a split column (--split-col)."
        ) from None
    return {"train": train, "valid": valid, "test": test}


def check_classes(splits: dict[str, Split], source: str) -> None:
    """Raise a DataError unless training has >= 2 classes and holds every class seen elsewhere."""
    train_classes = set(splits["train"].labels)
    if len(train_classes) < 2:
        raise DataError(
            f"{source}: the training split has {len(train_classes)} class ({sorted(train_classes)}); "
            "a classifier needs at least two. Check --label-col."
        )
    for name, split in splits.items():
        missing = sorted(set(split.labels) - train_classes)
        if missing:
            raise DataError(
                f"{source}: class {missing[0]!r} appears in the {name} split but not in the training split. "
                "Move some of its rows into training or drop them."
            )


def load_data(
    path: str | Path,
    cfg: DataConfig,
    fmt: str | None = None,
    valid_path: str | Path | None = None,
    test_path: str | Path | None = None,
    header: bool = True,
) -> LabelledData:
    """Read, check and split a labelled data set.

    Splits come from, in order of preference: separate ``valid_path``/``test_path`` files, the
    ``split_col`` column, or a stratified split made here (``valid_size``, ``test_size``, ``split_seed``).
    """
    notes: list[str] = []
    frame, n_dup = _dedupe(read_labelled(path, cfg, fmt, header), cfg.drop_duplicates, str(path), notes)
    if valid_path is not None or test_path is not None:
        parts = {"train": frame}
        for name, extra in (("valid", valid_path), ("test", test_path)):
            if extra is not None:
                parts[name] = read_labelled(extra, cfg.model_copy(update={"split_col": None}), fmt, header)
        if "valid" not in parts:
            parts["train"], parts["valid"] = split_frame(frame, cfg.model_copy(update={"test_size": 0.0})).values()
    elif "split" in frame.columns:
        parts = {name: frame[frame["split"] == name] for name in ("train", "valid", "test")}
        parts = {k: v for k, v in parts.items() if len(v)}
        if "train" not in parts or "valid" not in parts:
            raise DataError(f"{path}: column {cfg.split_col!r} must mark at least some rows train and some valid.")
    else:
        parts = split_frame(frame, cfg)
    splits = {k: Split(v["text"].tolist(), v["label"].tolist()) for k, v in parts.items()}
    check_classes(splits, str(path))
    return LabelledData(splits=splits, source=str(path), n_duplicates=n_dup, notes=notes)


def bundled_airline_path() -> Path:
    """Return the path of the bundled airline tweets (``Tweets.csv``, with ``split.csv`` beside it)."""
    return Path(str(resources.files("lstmtext.resources").joinpath("data/airline-tweets/Tweets.csv")))


def load_bundled_airline(cfg: DataConfig | None = None) -> LabelledData:
    """Load the bundled airline tweets with their canonical split (train 11,588 / valid 1,448 / test 1,449).

    As the split was made: repeated ``tweet_id`` rows are dropped (first kept), then joined on ``tweet_id``.
    """
    path = bundled_airline_path()
    tweets = pd.read_csv(path, dtype={"tweet_id": str}, keep_default_na=False)
    split = pd.read_csv(path.with_name("split.csv"), dtype={"tweet_id": str})
    tweets = tweets.drop_duplicates(subset="tweet_id", keep="first").merge(split, on="tweet_id", how="inner")
    parts = {
        name: Split(group["text"].tolist(), group["airline_sentiment"].tolist())
        for name, group in tweets.groupby("split", sort=False)
    }
    splits = {name: parts[name] for name in ("train", "valid", "test")}
    return LabelledData(splits=splits, source=f"{path} (canonical split)")
