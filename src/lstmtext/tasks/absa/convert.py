"""Rewriting aspect files: the long layout as the wide one, or any aspect file as multi-label data.

The multi-label reading asks "which aspects does this text talk about, and how": every aspect whose label is
not the not-mentioned one becomes the label ``<aspect>_<polarity>`` (HoASA: ``kebersihan_neg``, ``ac_pos``);
a polarity that joins two with ``_`` (HoASA's rare ``neg_pos``, both negative and positive) becomes both
labels (``ac_neg`` and ``ac_pos``). A text that mentions no aspect has no label.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from lstmtext.config import Config
from lstmtext.errors import ConfigError
from lstmtext.tasks.absa.task import AspectSentiment
from lstmtext.utils.atomic import write_text


def multilabel_labels(aspects: list[str], labels: tuple[str, ...], not_mentioned: str,
                      polarities: set[str] | None = None) -> list[str]:
    """The multi-label labels of one text's aspect labels (see the module doc)."""
    out = []
    for aspect, label in zip(aspects, labels):
        if label == not_mentioned:
            continue
        parts = label.split("_")
        if polarities is not None and len(parts) > 1 and all(p in polarities for p in parts):
            out += [f"{aspect}_{p}" for p in parts]
        else:
            out.append(f"{aspect}_{label}")
    return sorted(set(out))


def convert_aspect_file(path: str | Path, out: str | Path, config: Config,
                        to: Literal["wide", "multilabel"] = "wide", label_sep: str = "|") -> tuple[int, list[str], str]:
    """Write an aspect file (``config.absa`` says its layout) as a wide CSV or as multi-label CSV (text, labels).

    With ``config.data.split_col`` set, that column (one split per text) is written after the text column, so
    training on the output keeps the file's train / valid / test assignment.

    Returns:
        ``(texts written, aspects, the not-mentioned label)``.

    Raises:
        ConfigError: For a ``label_sep`` that occurs in a multi-label label (nothing is written).
    """
    table = AspectSentiment.read_file(path, config)
    aspects, nm = table.info["aspects"], table.info["not_mentioned"]
    text_col = config.data.text_col
    if to == "wide":
        frame = pd.DataFrame(table.split.labels, columns=aspects)
    else:
        singles = {label for row in table.split.labels for label in row if "_" not in label} - {nm}
        rows = [multilabel_labels(aspects, row, nm, singles) for row in table.split.labels]
        clash = next((label for labels in rows for label in labels if label_sep in label), None)
        if clash is not None:  # the file would not read back: the label would split in two
            raise ConfigError(f"--label-sep {label_sep!r} occurs in the label {clash!r} (aspect_polarity). Choose a "
                              "separator that no aspect or polarity name holds, e.g. '|' or ';'.")
        as_lists = Path(out).suffix.lower() == ".jsonl"  # a JSON list per text, as docs/multilabel.md shows JSONL
        frame = pd.DataFrame({"labels": rows if as_lists else [label_sep.join(labels) for labels in rows]})
    if table.split_values is not None:
        frame.insert(0, config.data.split_col, table.split_values)
    frame.insert(0, text_col, table.split.texts)
    write_text(out, _as_text(frame, Path(out)))
    return len(frame), aspects, nm


#: The output formats absa-convert writes, by file extension (all read back by train as they are named).
WRITES = (".csv", ".tsv", ".jsonl")


def check_output_name(out: Path) -> None:
    """Refuse an output name whose extension names a format :func:`convert_aspect_file` does not write."""
    if out.suffix.lower() not in WRITES:
        raise ConfigError(f"{out}: absa-convert writes {', '.join(WRITES)} files (by the name's extension); name the "
                          f"output e.g. {out.with_suffix('.csv')}.")


def _as_text(frame: pd.DataFrame, out: Path) -> str:
    suffix = out.suffix.lower()
    if suffix == ".jsonl":
        return frame.to_json(orient="records", lines=True, force_ascii=False)
    return frame.to_csv(index=False, sep="\t" if suffix == ".tsv" else ",")
