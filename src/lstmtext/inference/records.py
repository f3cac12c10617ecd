"""Writing prediction records: JSON lines (``{"text", ...record}``) or CSV (text, the task's columns, then
``no_known_word``: true for a text with no word the model knows, whose answer is the model's prior, and
``truncated``: true for a text longer than the model reads)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from typing import IO

from lstmtext.errors import DataError
from lstmtext.tasks import Prediction, Task


def write_predictions(out: IO[str], texts: Sequence[str], predictions: Sequence[Prediction], task: Task,
                      fmt: str, header: bool = True) -> None:
    """Write one record per text in ``fmt`` (``json``: JSON lines; ``csv``: a header unless not ``header``, as for
    a later chunk of the same output, then one row per text).

    Raises:
        DataError: If ``fmt`` is neither json nor csv.
    """
    if fmt == "json":
        for text, p in zip(texts, predictions):
            out.write(json.dumps({"text": text, **p.to_dict()}, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        writer = csv.writer(out)
        if header:
            writer.writerow(["text", *task.csv_header(), "no_known_word", "truncated"])
        for text, p in zip(texts, predictions):
            writer.writerow([text, *task.csv_row(p), str(p.no_known_word).lower(), str(p.truncated).lower()])
    else:
        raise DataError(f"--format {fmt!r}: use json or csv.")
