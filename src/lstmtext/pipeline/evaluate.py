"""Score a saved model on a labelled file (``lstmtext evaluate``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lstmtext.utils.atomic import write_json, write_text
from lstmtext.inference.bundle import load_bundle
from lstmtext.data.dataset import read_labelled
from lstmtext.errors import DataError
from lstmtext.tasks.metrics import classification_metrics
from lstmtext.reports.markdown import split_markdown
from lstmtext.training.loop import predict_logits


def evaluate_file(bundle_path: Path, data: Path, text_col: str | None = None, label_col: str | None = None,
                  fmt: str | None = None, header: bool = True, out: Path | None = None) -> dict[str, Any]:
    """Return (and optionally write) the metrics of a bundle on a labelled file.

    Raises:
        DataError: If the file has labels the model does not know.
    """
    bundle = load_bundle(bundle_path)
    if isinstance(bundle.labels, dict):  # an aspect model: its own file layout and scores
        from lstmtext.tasks.absa.runner import evaluate_aspect_bundle

        return evaluate_aspect_bundle(bundle, data, text_col, fmt, header, out)
    cfg = bundle.config.data.model_copy(update={
        "text_col": text_col or bundle.config.data.text_col,
        "label_col": label_col or bundle.config.data.label_col,
        "split_col": None,
    })
    frame = read_labelled(data, cfg, fmt, header)
    labels = list(bundle.labels)
    unknown = sorted(set(frame["label"]) - set(labels))
    if unknown:
        raise DataError(f"{data}: label {unknown[0]!r} is not one the model knows ({', '.join(labels)}). Check --label-col.")
    seqs = bundle.encoder.encode(frame["text"].tolist())
    pred = predict_logits(bundle.model, seqs).argmax(1).numpy()
    metrics = classification_metrics([labels.index(y) for y in frame["label"]], pred, labels)
    if out is not None:
        write_json(out / "metrics.json", metrics)
        write_text(out / "report.md", "\n".join(split_markdown(str(data), metrics)))
    return metrics
