"""What ``lstmtext compare`` reads before any model trains: the data, read and split as the task's settings say;
the one cleaning every model shares; and the settings every model starts from beyond its preset.

The command line and a Python user get the same comparison from the same arguments (the flags of
:func:`lstmtext.pipeline.options.run_config`, ``--set`` items, file paths).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lstmtext.config import parse_override
from lstmtext.data import LabelledData
from lstmtext.pipeline import load_data
from lstmtext.pipeline.language_model import lm_cleaning_choice
from lstmtext.pipeline.options import run_config, unlabelled_data
from lstmtext.tasks import get_task


def comparison_inputs(data: Path | None, overrides: Sequence[str] = (), *, task: str | None = None,
                      text_col: str | None = None, label_col: str | None = None, split_col: str | None = None,
                      split_file: Path | None = None, valid: Path | None = None, test: Path | None = None,
                      header: bool = True, aspects: str | None = None, label_sep: str | None = None,
                      preprocess: str | None = None, unlabelled: Path | None = None,
                      unlabelled_col: str | None = None) -> tuple[LabelledData, dict[str, Any], str | None]:
    """The labelled data, the ``base`` settings and the cleaning of a comparison (what
    :func:`~lstmtext.experiments.compare.compare` takes).

    The data is read with the ``overrides`` that say how (the ``data`` section's and the task's own sections',
    e.g. ``absa.layout="long"``, the fix a layout error names); the rest are each model's. ``preprocess`` None
    is the language model's cleaning where ``train.pretrained`` names one (as ``train --pretrained`` cleans), else
    each run's own preset's, cleaned once by :func:`compare`.
    """
    reading = [item for item in overrides if parse_override(item)[0][0] in ("data", *get_task(task or "classify").sections)]
    cfg = run_config(None, None, reading, task=task, text_col=text_col, label_col=label_col, split_col=split_col,
                     aspects=aspects, label_sep=label_sep)
    if preprocess is None:
        named = [value for item in overrides for key, value in [parse_override(item)] if key == ["train", "pretrained"]]
        lm = str(named[-1]).strip() if named else ""  # the last one given, as the config reads them
        preprocess = lm_cleaning_choice(lm) if lm and lm.lower() != "none" else None
    labelled = load_data(cfg, data, valid_path=valid, test_path=test, split_file=split_file, header=header)
    base: dict[str, Any] = {"task": cfg.task}  # what every model shares beyond its preset: the task, how labels were read
    if "aspects" in labelled.info:  # the aspects found in the file (detected, or --aspects)
        base["absa"] = {"aspects": list(labelled.info["aspects"])}
    if label_sep:
        base["multilabel"] = {"label_sep": label_sep}
    if unlabelled is not None or unlabelled_col:  # --unlabelled-col alone: refused, not ignored
        base["data"] = unlabelled_data(unlabelled, unlabelled_col or text_col)
    return labelled, base, preprocess
