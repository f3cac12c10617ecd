"""Score a saved model on a labelled file (``lstmtext evaluate``), for every task."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np

from lstmtext.data.dataset import SPLIT_ALIASES, warn
from lstmtext.data.io import read_table, table_columns
from lstmtext.encoding.vocab import knows_a_word
from lstmtext.errors import ConfigError
from lstmtext.inference.engines import load_predictor
from lstmtext.pipeline.prepare import masked_labels
from lstmtext.pipeline.seen import count_seen, read_seen
from lstmtext.reports.html import calibration_section, write_page
from lstmtext.reports.markdown import calibration_lines
from lstmtext.tasks.calibration import calibration_report, uncalibrate
from lstmtext.utils.atomic import write_json, write_text


def evaluate_file(bundle_path: str | Path, data: str | Path, text_col: str | None = None, label_col: str | None = None,
                  fmt: str | None = None, header: bool = True, out: str | Path | None = None,
                  engine: str = "torch", label_sep: str | None = None,
                  onnx_path: str | Path | None = None, threads: int | None = None) -> dict[str, Any]:
    """Return (and with ``out`` write ``metrics.json``, ``report.md`` and the split's figure) the scores of a bundle
    on a labelled file in its task's layout, predicted with ``engine`` (see
    :func:`lstmtext.inference.engines.load_predictor`). ``label_col`` may name several 0/1 columns (``a,b,c``) and
    ``label_sep`` what separates a text's labels, for multi-label models (the file's own, not the training file's);
    ``onnx_path`` an exported graph for the onnx engines (default: the bundle's ``model.onnx``); ``threads`` the
    model's CPU threads (default: ``OMP_NUM_THREADS``, else every core).

    Raises:
        ConfigError: For ``label_sep`` or several label columns with a task that reads neither.
        DataError: If the file lacks a column or has labels the model does not know.
    """
    predictor = load_predictor(bundle_path, engine, onnx_path, threads=threads)
    bundle = predictor.bundle
    if label_col and not bundle.task.reads_label_col:  # it was ignored without a word
        absa = bundle.config.absa  # the file's layout is told from its columns, as below
        raise ConfigError(f"--label-col does not apply to this model (--task {bundle.task.name}): its labels are its "
                          f"aspect columns ({', '.join(bundle.task.group_names())}), or in a long file its "
                          f"{absa.aspect_col!r} and {absa.polarity_col!r} columns. Leave --label-col out.")
    if not header:  # a file without a header row has its columns named text, label (--no-header)
        text_col = text_col or "text"
        if bundle.task.annotation_columns() == [bundle.config.data.label_col]:
            label_col = label_col or "label"
    data_cfg = bundle.config.data.model_copy(update={k: v for k, v in (("text_col", text_col), ("label_col", label_col))
                                                     if v is not None})
    config = bundle.config.model_copy(update={"data": data_cfg}, deep=True)
    task = bundle.task
    given = label_sep is not None or (label_col and "," in label_col)
    if given:  # the file's own label options
        columns = [c.strip() for c in label_col.split(",") if c.strip()] if label_col and "," in label_col else None
        task.file_label_options(config, label_sep, columns)
    elif header:  # the file's own layout (an aspect file: wide or long), not the training file's, unless given
        task.match_layout(config, lambda: table_columns(data, fmt))
    split = task.read_labelled(data, fmt, header, config)
    notes: list[str] = []
    cleaned = predictor.encoder.pipeline.clean_many(split.texts)  # once: counted below, then encoded
    seen = read_seen(bundle_path)  # the run folder's fingerprints of the training texts, where it kept them
    trained = 0 if seen is not None else _training_rows(data, fmt, header, bundle.config.data.split_col)
    if seen is not None and (shared := count_seen(cleaned, seen)):
        which = ("its one text was a training text" if len(split) == 1 else
                 f"{shared:,} of its {len(split):,} texts {'was a training text' if shared == 1 else 'were training texts'}")
        warn(notes, f"{data}: {which} of this model (its run "
                    "folder's training_texts.json), so the scores overstate how the model does on new texts. Score a "
                    "file of texts it was not trained on (the training run's own test scores are in its metrics.json).")
    if trained:  # the training file itself, most likely
        warn(notes, f"{data}: {trained:,} of its rows are training rows by the split column "
                    f"{bundle.config.data.split_col!r} the model was trained with, and evaluate scores every row, so the "
                    "scores overstate how the model does on new texts. Give a file of the held-out rows alone (those "
                    "whose split is test), or read the training run's own test scores (its metrics.json).")
    note = masked_labels(data, "", split, lambda label: repr(task.describe(label)))
    if note:
        warn(notes, note)
    sequences = predictor.encoder.encode_cleaned(cleaned)
    unread = [i for i, ids in enumerate(sequences) if not knows_a_word(ids)]
    if unread:  # as predict says it: scored all the same, on the model's guess for an empty text
        where = split.rows[unread[0]] if split.rows else f"text {unread[0] + 1}"
        warn(notes, f"{data}: {len(unread):,} of its {len(split):,} texts have no word the model knows after cleaning "
                    f"(first: {where}); each is scored on the model's guess for an empty text.")
    proba = predictor.proba_from_ids(sequences)
    targets = task.targets(split.labels)
    metrics = {**task.metrics(targets, proba), "engine": predictor.engine,
               "calibration": _calibration(bundle, proba, targets, sequences), **({"notes": notes} if notes else {})}
    if out is not None:
        out = Path(out)
        write_json(out / "metrics.json", metrics)
        # the warnings first, as a training run's report has them: a masked-label file's scores say nothing
        said = [f"- note: {note}" for note in notes] + ([""] if notes else [])
        name = Path(data).name
        write_text(out / "report.md", "\n".join([*said, *task.split_markdown(str(data), metrics),
                                                 *calibration_lines({name: metrics})]))
        task.plot_split(name, metrics, out / f"{task.figure_stem}.png")
        parts = [*(f"<p><b>Note:</b> {html.escape(note)}</p>" for note in notes), *task.html_metrics({name: metrics}),
                 *calibration_section({name: metrics})]
        write_page(out / "report.html", f"lstmtext evaluate: {bundle.path} on {data}", parts)
    return metrics


def _calibration(bundle: Any, proba: np.ndarray, targets: np.ndarray, sequences: Any) -> dict[str, Any]:
    """ECE before and after the model's temperatures, reliability, accuracy against coverage, and what the cuts
    chosen on the training run's valid split answer on this file (``at_chosen_cuts``: the check docs/trust.md
    asks for before deploying ``--min-confidence``). ``evaluate --out`` had written none of it.

    The probabilities before the temperatures are read back from the engine's (:func:`uncalibrate`), except below a
    temperature of 0.5, where float32 probabilities saturate (ECE before read 0.21 for 0.16 at T 0.1): there the
    PyTorch model gives them."""
    task = bundle.task
    temperatures = task.state.get("temperatures")
    valid = (bundle.metrics.get("valid") or {}).get("calibration") or {}
    chosen = {k: v["min_confidence"] for k, v in valid.get("coverage_table", {}).items() if k != "100%"} or None
    if temperatures and min(temperatures) < 0.5:
        from lstmtext.encoding.batching import predict_logits

        raw = task.probabilities(predict_logits(bundle.model, sequences, 256), calibrated=False)
    else:
        raw = uncalibrate(proba, temperatures, task.layout)
    return calibration_report(raw, proba, targets, task.layout, temperatures, task.decision_cuts(), chosen)


def _training_rows(data: str | Path, fmt: str | None, header: bool, split_col: str | None) -> int:
    """How many rows of ``data`` its ``split_col`` (the model's training split column) marks as training rows."""
    if not split_col or not header or split_col not in table_columns(data, fmt):
        return 0
    values = read_table(data, fmt)[split_col].astype(str).str.strip().str.lower()
    return int(values.map(SPLIT_ALIASES).eq("train").sum())
