"""Self-contained HTML reports: one file per run or experiment, figures embedded as base64 PNG, no other files.

``write_run_html`` writes a training run's ``report.html`` (config, data summary with class counts and a
length histogram, training curves, metrics, confusion matrices and the most confident mistakes). The
small builders (``table``, ``image``, ``page``) are what the experiment commands compose their pages from.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lstmtext.utils.atomic import write_text  # noqa: E402

_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.6em 0 1.2em}th,td{border:1px solid #ccc;padding:.25em .6em}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:.85em}img{max-width:100%}
h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}.muted{color:#666}"""


def figure_png(fig: Any, dpi: int = 100) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def image(png: bytes, alt: str) -> str:
    """An ``<img>`` holding ``png`` inline as a base64 data URI."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f'<td class="n">{value:.4f}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="n">{value:,}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An HTML table; floats get 4 decimals, ints thousands separators, everything is escaped."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def pre(text: str) -> str:
    """Preformatted, escaped text (configs, logs)."""
    return f"<pre>{html.escape(text)}</pre>"


def page(title: str, parts: Sequence[str]) -> str:
    """A whole HTML document: the title, a timestamp, then ``parts`` (HTML fragments) in order."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
            f'<p class="muted">written {stamp} by lstmtext</p>\n{body}\n</body></html>\n')


def write_page(path: str | Path, title: str, parts: Sequence[str]) -> Path:
    """Write :func:`page` to ``path`` atomically."""
    return write_text(path, page(title, parts))


def _curves_png(history: Sequence[dict[str, Any]]) -> bytes:
    keys = [k for k in ("loss", "accuracy", "macro_f1") if f"valid_{k}" in history[0]]
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.3), squeeze=False)
    epochs = [h["epoch"] for h in history]
    for ax, key in zip(axes[0], keys):
        for split in ("train", "valid"):
            if f"{split}_{key}" in history[0]:
                ax.plot(epochs, [h[f"{split}_{key}"] for h in history], marker="o", label=split)
        ax.set_title(key.replace("_", "-"))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return figure_png(fig)


def _lengths_png(data: Any) -> bytes:
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    for name, split in data.splits.items():
        ax.hist([len(t.split()) for t in split.texts], bins=30, alpha=0.5, label=f"{name} ({len(split):,})")
    ax.set_xlabel("tokens per text (whitespace, before cleaning)")
    ax.set_ylabel("texts")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return figure_png(fig)


def _confusion_png(m: dict[str, Any], title: str) -> bytes:
    from lstmtext.reports.plots import draw_confusion

    size = max(4.0, 0.55 * len(m["labels"]) + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    draw_confusion(ax, m["confusion_matrix"], m["labels"], title)
    fig.tight_layout()
    return figure_png(fig)


def data_section(data: Any) -> list[str]:
    """Split sizes, class counts per split and the length histogram of a ``LabelledData``."""
    counts = {name: Counter(split.labels) for name, split in data.splits.items()}
    classes = sorted(set().union(*counts.values()))
    rows = [[c, *(counts[name].get(c, 0) for name in counts)] for c in classes]
    rows.append(["all", *(len(split) for split in data.splits.values())])
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in data.notes)
    return ["<h2>Data</h2>", f"<p>{html.escape(str(data.source))}</p>", f"<ul>{notes}</ul>" if notes else "",
            table(["class", *counts], rows), image(_lengths_png(data), "text length histogram")]


def metrics_section(metrics: dict[str, dict[str, Any]]) -> list[str]:
    """Scores per split, the per-class table and the confusion matrix of each split."""
    parts = ["<h2>Metrics</h2>", table(["split", "n", "accuracy", "macro-F1", "weighted-F1"],
                                       [[k, m["n"], m["accuracy"], m["macro_f1"], m["weighted_f1"]]
                                        for k, m in metrics.items()])]
    for name, m in metrics.items():
        rows = [[label, c["precision"], c["recall"], c["f1"], c["support"]] for label, c in m["per_class"].items()]
        parts += [f"<h3>{html.escape(name)} split</h3>", table(["class", "precision", "recall", "F1", "support"], rows),
                  image(_confusion_png(m, f"{name} split (rows: true)"), f"confusion matrix, {name}")]
    return parts


def confident_mistakes(model: Any, encoder: Any, labels: Sequence[str], texts: Sequence[str],
                       gold: Sequence[str], n: int = 10, batch_size: int = 1024) -> list[dict[str, Any]]:
    """The ``n`` wrong predictions the model was surest of, most confident first.

    Returns:
        Records ``{"text", "true", "predicted", "probability"}``.
    """
    from lstmtext.training.loop import predict_logits

    probs = predict_logits(model, encoder.encode(list(texts)), batch_size).softmax(1)
    top, pred = probs.max(1)
    wrong = [i for i in range(len(texts)) if labels[int(pred[i])] != gold[i]]
    wrong.sort(key=lambda i: -float(top[i]))
    return [{"text": texts[i], "true": gold[i], "predicted": labels[int(pred[i])], "probability": float(top[i])}
            for i in wrong[:n]]


def write_run_html(out_dir: str | Path, config: Any, data: Any, metrics: dict[str, dict[str, Any]],
                   history: Sequence[dict[str, Any]], *, model: Any = None, encoder: Any = None,
                   labels: Sequence[str] | None = None, summary: dict[str, Any] | None = None,
                   n_mistakes: int = 10) -> Path:
    """Write ``out_dir/report.html``: one self-contained page describing a training run.

    Args:
        out_dir: The run's output folder.
        config: The run's resolved :class:`~lstmtext.config.Config`.
        data: The ``LabelledData`` the run trained and was scored on.
        metrics: ``{split: classification metrics}`` as :func:`lstmtext.pipeline.run.evaluate_splits` returns them.
        history: One record per epoch (``train_loss``, ``valid_macro_f1``, ...).
        model: The trained model; with ``encoder`` and ``labels`` it adds the most confident mistakes.
        encoder: The fitted text encoder.
        labels: Class names by id.
        summary: The run summary (architecture, parameters, seconds); shown at the top when given.
        n_mistakes: How many confident mistakes to list.

    Returns:
        The path written.
    """
    from lstmtext.config.toml import config_to_toml

    parts: list[str] = []
    if summary:
        facts = [["architecture", summary.get("architecture")], ["parameters", summary.get("n_parameters")],
                 ["vocabulary", summary.get("vocab_size")], ["epochs run", summary.get("epochs_run")],
                 ["best epoch", summary.get("best_epoch")], ["train seconds", summary.get("train_seconds")],
                 ["seed", summary.get("seed")]]
        parts += ["<h2>Run</h2>", table(["", "value"], [f for f in facts if f[1] is not None])]
    parts += metrics_section(metrics)
    if history:
        parts += ["<h2>Training curves</h2>", image(_curves_png(history), "training curves")]
    parts += data_section(data)
    split = "test" if "test" in data.splits else "valid"
    if model is not None and encoder is not None and labels is not None and split in data.splits:
        found = confident_mistakes(model, encoder, labels, data.splits[split].texts, data.splits[split].labels,
                                   n_mistakes, config.train.eval_batch_size)
        parts += [f"<h2>Most confident mistakes ({split} split)</h2>",
                  table(["probability", "true", "predicted", "text"],
                        [[m["probability"], m["true"], m["predicted"], m["text"]] for m in found])
                  if found else "<p>No mistakes.</p>"]
    parts += ["<h2>Config</h2>", pre(config_to_toml(config))]
    title = f"lstmtext run: {config.model.name} on {data.source}"
    return write_page(Path(out_dir) / "report.html", title, parts)
