"""Self-contained HTML reports: one file per run or experiment, figures embedded as base64 PNG, no other files.

The small builders (``table``, ``image``, ``page``) and the sections of a run's page (facts, curves, data,
mistakes) are what runs, tasks and experiments compose their pages from; nothing here runs a model.
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

from lstmtext.reports.markdown import LAST_EPOCH_WEIGHTS, chosen_cuts_line, p_cut, stopped_early  # noqa: E402
from lstmtext.reports.plots import curves_figure  # noqa: E402
from lstmtext.utils.atomic import write_text  # noqa: E402
from lstmtext.utils.progress import seconds  # noqa: E402

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


def markdown_table(text: str) -> str:
    """The pipe tables of ``text`` (the Markdown an experiment writes to its ``.md``) as HTML tables, ``**bold**``
    cells in bold; other lines as paragraphs. One source for both files, so they never disagree."""
    parts, rows = [], []

    def cell(tag: str, raw: str) -> str:
        raw = raw.strip()
        bold = raw.startswith("**") and raw.endswith("**") and len(raw) > 3
        shown = html.escape(raw[2:-2] if bold else raw)
        numeric = ' class="n"' if tag == "td" and shown[:1].isdigit() else ""
        return f"<{tag}{numeric}>{'<b>' + shown + '</b>' if bold else shown}</{tag}>"

    def flush() -> None:
        if rows:
            head = "".join(cell("th", c) for c in rows[0])
            body = "".join("<tr>" + "".join(cell("td", c) for c in row) + "</tr>" for row in rows[1:])
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            rows.clear()

    for line in text.splitlines():
        line = line.strip()
        if line.startswith("|") and line.endswith("|"):
            cells = line[1:-1].split("|")
            if not all(set(c.strip()) <= set(":-") and c.strip() for c in cells):  # not the |---| line
                rows.append(cells)
            continue
        flush()
        if line:
            parts.append(f"<p>{html.escape(line)}</p>")
    flush()
    return "\n".join(parts)


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
    return figure_png(curves_figure(history))


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


def confusion_png(m: dict[str, Any], title: str) -> bytes:
    """A confusion-matrix heatmap of one split's metrics (``confusion_matrix``, ``labels``) as PNG bytes."""
    from lstmtext.reports.plots import draw_confusion

    size = max(4.0, 0.55 * len(m["labels"]) + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    draw_confusion(ax, m["confusion_matrix"], m["labels"], title)
    fig.tight_layout()
    return figure_png(fig)


def data_section(data: Any, counts: dict[str, Counter]) -> list[str]:
    """Split sizes, class counts per split (``counts``: split -> class -> rows) and the length histogram."""
    seen = [c for split in counts.values() for c in split]  # in the order the task counts them (aspects: the file's)
    classes = list(dict.fromkeys(seen))
    rows = [[c, *(counts[name].get(c, 0) for name in counts)] for c in classes]
    rows.append(["all", *(len(split) for split in data.splits.values())])
    return ["<h2>Data</h2>", f"<p>{html.escape(str(data.source))}</p>",  # its notes are among the run's (run_facts)
            table(["class", *counts], rows), image(_lengths_png(data), "text length histogram")]


def run_facts(summary: dict[str, Any]) -> list[str]:
    """The run's facts (architecture, parameters, epochs, seconds, seed) as a table."""
    facts = [["task", summary.get("task")], ["architecture", summary.get("architecture")],
             ["model", summary.get("model")],
             ["parameters", summary.get("n_parameters")], ["vocabulary", summary.get("vocab_size")],
             ["epochs run", f"{summary.get('epochs_run')}{stopped_early(summary)}"],
             ["best epoch", summary.get("best_epoch")],
             ["weights", LAST_EPOCH_WEIGHTS.removeprefix("; ") if summary.get("restore_best") is False else None],
             ["train seconds", seconds(summary["train_seconds"]) if summary.get("train_seconds") is not None else None],
             ["precision", summary.get("precision")],
             ["processes", summary.get("processes") if summary.get("processes", 1) > 1 else None],
             ["streamed", "yes" if summary.get("streamed") else None],
             ["seed", summary.get("seed")]]
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in summary.get("notes", []))
    return ["<h2>Run</h2>", table(["", "value"], [f for f in facts if f[1] is not None]),
            f"<h3>Notes</h3><ul>{notes}</ul>" if notes else ""]


def mistakes_section(found: Sequence[dict[str, Any]], split: str) -> list[str]:
    """The most confident mistakes of ``split`` (records ``probability``, ``true``, ``predicted``, ``text`` and,
    when explained, ``why``: the tokens that pushed the wrong prediction)."""
    why = any("why" in m for m in found)
    head = ["probability", "true", "predicted", "text"] + (["pushed by (occlusion)"] if why else [])
    rows = [[m["probability"], m["true"], m["predicted"], m["text"]] + ([m.get("why", "")] if why else [])
            for m in found]
    return [f"<h2>Most confident mistakes ({html.escape(split)} split)</h2>",
            table(head, rows) if found else "<p>No mistakes.</p>"]


def curves_section(history: Sequence[dict[str, Any]]) -> list[str]:
    """The training curves (loss and the monitored scores, train against valid)."""
    return ["<h2>Training curves</h2>", image(_curves_png(history), "training curves")] if history else []


def _calibration_png(name: str, cal: dict[str, Any]) -> bytes:
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.6))
    left.plot([0, 1], [0, 1], ":", color="grey", label="perfect")
    # without a fitted temperature the two curves are one: drawn once, not labelled "calibrated"
    lines = (("reliability_before", "s--", "before"), ("reliability_after", "o-", "calibrated")) \
        if cal.get("temperatures") else (("reliability_before", "o-", "model's own, not calibrated"),)
    for key, style, label in lines:
        rel = cal[key]
        left.plot(rel["confidence"], rel["accuracy"], style, label=f"{label} (ECE {cal['ece_' + key.split('_')[1]]:.3f})")
    left.set_xlabel("confidence")
    left.set_ylabel("accuracy")
    left.set_title(f"{name}: reliability")
    left.legend(loc="best", fontsize=8)  # upper left hid the low-confidence bins that came out right
    left.grid(alpha=0.3)
    cov = cal["coverage"]
    right.plot(cov["coverage"], cov["accuracy"], "o-", markersize=3)
    right.set_xlabel("coverage (share answered, most confident first)")
    right.set_ylabel("accuracy")
    right.set_title(f"{name}: accuracy against coverage")
    right.invert_xaxis()
    right.grid(alpha=0.3)
    fig.tight_layout()
    return figure_png(fig)


def calibration_section(metrics: dict[str, dict[str, Any]]) -> list[str]:
    """Calibration of each split: ECE before and after, the reliability diagram, accuracy against coverage."""
    splits = {name: m["calibration"] for name, m in metrics.items() if "calibration" in m}
    if not splits:
        return []
    rows = []
    for name, cal in splits.items():
        t = cal["coverage_table"]
        rows.append([name, cal["decisions"], cal["ece_before"], cal["ece_after"], cal["mean_confidence"],
                     cal["accuracy"], t["100%"]["accuracy"],
                     *(f"{t[c]['accuracy']:.4f} (P {p_cut(t[c]['min_confidence'])})" for c in ("90%", "80%"))])
    fitted = any(cal.get("temperatures") for cal in splits.values())
    how = ("Probabilities are temperature-scaled on the valid split." if fitted else "Probabilities are the model's "
           "own: no temperature was fitted (the run's notes say why), so ECE before and after are the same.")
    parts = ["<h2>Calibration and unsure answers</h2>",
             f"<p>{how} ECE: expected calibration error over 15 "
             "confidence bins. Coverage: the share of decisions answered when the least confident are answered "
             "as unsure (<code>predict --min-confidence P</code>, P in brackets). Accuracy is at 0.5 per label for "
             "multi-label models; the coverage columns use the tuned thresholds.</p>",
             table(["split", "decisions", "ECE before", "ECE after", "mean confidence", "accuracy",
                    "accuracy at 100%", "at 90% (P)", "at 80% (P)"], rows)]
    parts += [f"<p>{html.escape(chosen_cuts_line(name, cal))}</p>" for name, cal in splits.items()
              if cal.get("at_chosen_cuts")]
    parts += [image(_calibration_png(name, cal), f"calibration, {name}") for name, cal in splits.items()]
    return parts
