"""Reading a multi-label file's labels: the ``delimited`` layout (one column of label names separated by
``multilabel.label_sep``, or a JSON list) and the ``columns`` layout (one 0/1 column per label), each cell checked
with a one-line error naming its row; and the check that a text is on one row only.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lstmtext.config import Config
from lstmtext.data.dataset import RowRefs, Split, check_columns
from lstmtext.errors import DataError

#: Delimiters suggested when ``label_sep`` splits nothing.
log = logging.getLogger(__name__)
_OTHER_SEPARATORS = ("|", ";", ",", "/", " ")
_TRUE, _FALSE = {"1", "1.0", "true", "yes"}, {"0", "0.0", "false", "no"}
#: ``lstmtext suggest`` writes this in a label-names cell of ``to_label.csv``; training refuses it until replaced.
NOT_LABELLED = "?"


def json_list(cell: Any, where: str, col: str) -> list[Any] | tuple[Any, ...] | None:
    """The labels of a cell holding a list: a JSONL list, or the JSON text of one in a CSV cell (``["a", "b"]``)."""
    if isinstance(cell, (list, tuple)):
        return cell
    if not isinstance(cell, str) or not (cell.strip().startswith("[") and cell.strip().endswith("]")):
        return None
    try:
        value = json.loads(cell)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: column {col!r} holds {cell[:60]!r}, which looks like a JSON list but is not one "
                        f"({exc.msg}). Write it as [\"a\", \"b\"], with double quotes.") from None
    if not isinstance(value, list) or any(isinstance(x, (list, dict)) for x in value):
        raise DataError(f"{where}: column {col!r} holds {cell[:60]!r}: a list of label names was expected.")
    if any(x is None for x in value):  # it had become a label named 'None'
        raise DataError(f"{where}: column {col!r} holds {cell[:60]!r}, with null among the labels. Leave it out of the "
                        "list (a text with no label is an empty list, []).")
    return value


def parse_delimited(frame: pd.DataFrame, refs: RowRefs, path: Path, config: Config) -> list[tuple[str, ...]]:
    """Each row's labels (sorted, no repeats; an empty cell: none) from ``data.label_col``, split by
    ``multilabel.label_sep`` or read as a JSON list, one layout per file.

    Raises:
        DataError: For a cell ``suggest`` left unlabelled, a label holding the separator, a file mixing lists and
            separated names, or a separator that splits no cell where another one would.
    """
    col, sep = config.data.label_col, config.multilabel.label_sep
    cells = frame[col].tolist()
    kinds = {}
    labels = []
    for i, cell in enumerate(cells):
        if isinstance(cell, str) and cell.strip() == NOT_LABELLED:
            raise DataError(f"{refs(i)}: column {col!r} holds {NOT_LABELLED!r}, which lstmtext suggest writes for a text "
                            f"not labelled yet. Replace it with the text's labels (separated by {sep!r}), or empty the "
                            "cell for a text with no label.")
        listed = json_list(cell, refs(i), col)
        if listed is not None:
            kind, parts = "list", [str(x).strip() for x in listed]
            # every CSV output and report joins a text's labels with the separator: ["a|b"] read back as two
            if joined := next((p for p in parts if sep in p), None):
                raise DataError(f"{refs(i)}: the label {joined!r} holds {sep!r}, which joins a text's labels in every "
                                f"CSV output, so it would read back as two labels. Rename the label, or pick another "
                                f"--label-sep that no label holds.")
        elif cell is None or (isinstance(cell, float) and np.isnan(cell)) or str(cell).strip() == "":
            labels.append(())
            continue
        else:
            kind, parts = "text", [x.strip() for x in str(cell).split(sep)]
        kinds.setdefault(kind, i)
        if len(kinds) > 1:
            first, other = sorted(kinds.items(), key=lambda kv: kv[1])
            raise DataError(f"{refs(i)}: column {col!r} mixes layouts: row {refs(first[1])} holds a {first[0]} of "
                            f"labels, this row a {other[0]}. Write every row the same way (a JSON list, or labels "
                            f"separated by {sep!r}).")
        labels.append(tuple(sorted({p for p in parts if p})))
    text_cells = [str(c) for c in cells if isinstance(c, str) and c.strip()] if "text" in kinds else []
    for other in ("|", ";"):  # --label-sep '_' over 'ac_neg|wifi_pos' learnt labels such as 'neg|wifi'
        held = [c for c in text_cells if other != sep and other in c and sep in c]
        if other not in sep and len(held) >= max(1, len(text_cells) // 20):  # said, not refused: 'a;b' may be a label
            log.warning("%s: --label-sep %r leaves %r inside the labels of %d cells of column %r (e.g. %r): if %r "
                        "separates the labels, pass --label-sep %r.", path, sep, other, len(held), col, held[0], other,
                        other)
    if text_cells and not any(sep in c for c in text_cells):
        for other in _OTHER_SEPARATORS:
            if other != sep and sum(other in c for c in text_cells) >= max(1, len(text_cells) // 20):
                raise DataError(f"{path}: --label-sep {sep!r} splits no cell of column {col!r}, but {other!r} appears "
                                f"in {sum(other in c for c in text_cells)} of them (e.g. {next(c for c in text_cells if other in c)!r}). "
                                f"Pass --label-sep {other!r}.")
    return labels


def parse_columns(frame: pd.DataFrame, refs: RowRefs, path: Path, config: Config,
                  names: list[str] | None) -> tuple[list[tuple[str, ...]], list[str]]:
    """Each row's labels from one 0/1 column per label (``names``, else ``multilabel.labels``, else every column
    but the text and split columns), and the label names in that order.

    Raises:
        DataError: For a missing label column, or a cell that is not 0 or 1 (naming its row).
    """
    cfg = config.data
    names = names or config.multilabel.labels or [str(c) for c in frame.columns if c not in (cfg.text_col, cfg.split_col)]
    if not names:
        raise DataError(f"{path}: no label columns besides the text column {cfg.text_col!r}. Add one 0/1 column per "
                        "label, or use --set multilabel.layout=\"delimited\" with a column of label names.")
    twice = next((name for name in names if names.count(name) > 1), None)
    if twice is not None:  # trained as two outputs of one name, and predict's probabilities lost one
        raise DataError(f"{path}: the label column {twice!r} is named twice (--label-col, multilabel.labels). Name each "
                        "label column once.")
    sep = config.multilabel.label_sep
    joined = next((name for name in names if sep in name), None)
    if joined is not None:  # every CSV output joins a text's labels with it: 'staff|crew' read back as two labels
        raise DataError(f"{path}: the label column {joined!r} holds {sep!r}, which joins a text's labels in every CSV "
                        "output, so it would read back as two labels. Rename the column, or pick another --label-sep "
                        "that no label holds.")
    check_columns(frame, path, {f"multilabel.labels ({name!r})": name for name in names})
    flags = []
    for name in names:
        column = []
        for i, cell in enumerate(frame[name].tolist()):
            value = str(cell).strip().lower() if cell is not None else ""
            if value in _TRUE:
                column.append(True)
            elif value in _FALSE:
                column.append(False)
            else:
                empty = cell is None or (isinstance(cell, float) and cell != cell) or not str(cell).strip()
                raise DataError(f"{refs(i)}: column {name!r} " + ("is empty" if empty else f"holds {cell!r}")  # not 'nan'
                                + "; the columns layout needs 0 or 1 (1: the text has the label). Fix the cell, or use "
                                "--set multilabel.layout=\"delimited\" for a column of label names.")
        flags.append(column)
    return [tuple(n for n, on in zip(names, row) if on) for row in zip(*flags)], list(names)


def check_one_row_per_text(split: Split, config: Config) -> None:
    """Refuse a text on two rows with other labels: the long form (one row per text and label) trained each row as
    if its text had that label alone, and put copies of one text in train and test alike.

    Raises:
        DataError: Naming both rows and how to write them as one.
    """
    first: dict[str, int] = {}
    for i, (text, labels) in enumerate(zip(split.texts, split.labels)):
        j = first.setdefault(text, i)
        if j != i and split.labels[j] != labels:
            how = (f"in one row, separated by {config.multilabel.label_sep!r}" if config.multilabel.layout != "columns"
                   else "in one row, a 1 in each of its label columns")
            raise DataError(f"{split.rows[j]} and {split.rows[i]}: the text {' '.join(text.split())[:60]!r} is on two rows "
                            f"with other labels ({', '.join(split.labels[j]) or 'none'}; {', '.join(labels) or 'none'}). "
                            f"A multi-label file gives all of a text's labels {how}: merge the rows.")
