"""What a search leaves behind: results.csv and results.md, best.toml, the plots and report.html.

Everything here is rebuilt from the trial records (``search.trial_records``), so it can be written
after every trial and again after a resumed search.
"""

from __future__ import annotations

import csv
import html
import io
import statistics
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from lstmtext.config import Config  # noqa: E402
from lstmtext.experiments.space import Space, apply  # noqa: E402
from lstmtext.reports.html import figure_png, image, pre, table, write_page  # noqa: E402
from lstmtext.utils.atomic import atomic_path, write_json, write_text  # noqa: E402

RUN = ("epochs_run", "best_epoch", "train_seconds", "threads")
#: What one call of ``lstmtext search`` adds to the folder's record (a resume is another session).
SESSION = ("ran", "wall_seconds", "stopped_by_timeout", "mode", "workers", "threads_per_run", "load_average")


def score_columns(records: list[dict[str, Any]], metric: str) -> list[str]:
    """The recorded scores, valid before test and ``metric`` first in each (``valid_macro_f1``, ...)."""
    seen = list(dict.fromkeys(k for r in records for k in r if k.startswith(("valid_", "test_"))))
    return sorted(seen, key=lambda k: (k.startswith("test_"), k.split("_", 1)[1] != metric, seen.index(k)))


def shown_scores(metric: str) -> list[str]:
    """The two scores the tables show: the searched metric, and macro-F1 (accuracy when macro-F1 is the metric)."""
    return [metric, "accuracy" if metric == "macro_f1" else "macro_f1"]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:g}"
    return "" if value is None else str(value)


def _param(value: Any) -> str:
    """A searched value: four significant digits for a float (a sampled learning rate printed as 0.0085 beside
    0.000138699)."""
    return f"{value:.4g}" if isinstance(value, float) else _fmt(value)


def results_csv(records: list[dict[str, Any]], keys: list[str], metric: str = "macro_f1") -> str:
    """Every trial, one row each: number, state, the searched keys, the metric value, every recorded score (valid
    and test), the epochs and time, and a failed trial's error."""
    scores = score_columns(records, metric)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["trial", "state", *keys, "value", *scores, *RUN, "error"])
    for r in records:
        writer.writerow([r["trial"], r["state"], *(r["params"].get(k) for k in keys), r["value"],
                         *(r.get(s) for s in (*scores, *RUN)), r.get("error", "")])
    return buf.getvalue()


def _best_first(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The COMPLETE trials, best valid score first (the earlier trial on ties)."""
    return sorted((r for r in records if r["state"] == "COMPLETE"), key=lambda r: (-r["value"], r["trial"]))


def _still_failed(records: list[dict[str, Any]], done: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The FAIL trials whose point never completed (an interrupted trial run again on resume is no longer news), but
    not one killed before its point was drawn (no parameters, no error): it had stood as "failed {}: interrupted"
    in every report after, although no point was left out."""
    return [r for r in records if r["state"] == "FAIL" and (r["params"] or r.get("error"))
            and not any(d["params"] == r["params"] for d in done)]


def trials_table(done: list[dict[str, Any]], keys: list[str], metric: str) -> tuple[list[str], list[list[str]]]:
    """The header and cells of the trials table, best first, as results.md and report.html both show it (the page
    had one score column where the file had two)."""
    columns = [f"valid_{score}" for score in shown_scores(metric)]
    head = ["trial", *keys, *(c.replace("_", " ", 1) for c in columns), "epochs (best)", "train s"]
    rows = [[str(r["trial"]), *(_param(r["params"].get(k)) for k in keys), *(_fmt(r.get(c)) for c in columns),
             f"{r.get('epochs_run')} ({r.get('best_epoch')})", f"{r.get('train_seconds', 0):.0f}"] for r in done]
    return head, rows


def results_markdown(records: list[dict[str, Any]], keys: list[str], metric: str) -> str:
    """COMPLETE trials, best first, as a Markdown table of their valid scores (the best row in bold), then the chosen
    trial's test scores, read once. Every trial's test scores had stood beside their valid ones, inviting a choice
    on test; they stay in ``results.csv``."""
    done = _best_first(records)
    head, rows = trials_table(done, keys, metric)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, cells in enumerate(rows):
        lines.append("| " + " | ".join(f"**{c}**" if i == 0 else c for c in cells) + " |")
    if done and f"test_{metric}" in done[0]:  # as the HTML report decides it
        lines += ["", chosen_line(done[0], shown_scores(metric), metric)]
    failed = _still_failed(records, done)
    lines += [""] + [f"- trial {r['trial']} failed {r['params']}: {r.get('error', 'interrupted')}" for r in failed]
    return "\n".join(lines).rstrip() + "\n"


def chosen_line(best: dict[str, Any], shown: list[str], metric: str) -> str:
    """The chosen trial's test scores, said as read once, after the choice on valid."""
    tests = ", ".join(f"{score} {_fmt(best[f'test_{score}'])}" for score in shown if f"test_{score}" in best)
    return (f"Chosen on valid {metric}: trial {best['trial']}. Its test scores, read once: {tests}. (Every trial's "
            "test scores are in results.csv, not for choosing.)")


def plot_trials(records: list[dict[str, Any]], metric: str) -> bytes:
    """The valid metric of every COMPLETE trial in order, with the best so far as a step line."""
    done = sorted((r for r in records if r["state"] == "COMPLETE"), key=lambda r: r["trial"])
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    xs, ys = [r["trial"] for r in done], [r["value"] for r in done]
    ax.plot(xs, ys, "o", label="trial")
    best = [max(ys[: i + 1]) for i in range(len(ys))]
    ax.step([*xs, xs[-1] + 0.5], [*best, best[-1]], where="post", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"valid {metric}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # trials are numbered, not measured: no 0.5 ticks
    ax.grid(alpha=0.3)
    ax.legend(loc="best")  # wherever it covers the fewest points
    fig.tight_layout()
    return figure_png(fig, dpi=110)


def plot_heatmap(records: list[dict[str, Any]], space: Space, metric: str) -> bytes | None:
    """For a two-key grid: the valid metric per cell (mean of repeats); None for other searches."""
    if len(space.grid) != 2:
        return None
    (row_key, rows), (col_key, cols) = ((key, _ordered(values)) for key, values in space.grid.items())
    cells: dict[tuple[Any, Any], list[float]] = {}
    for r in records:
        if r["state"] == "COMPLETE":
            cells.setdefault((r["params"][row_key], r["params"][col_key]), []).append(r["value"])
    grid = [[statistics.fmean(cells[(a, b)]) if (a, b) in cells else float("nan") for b in cols] for a in rows]
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(cols), 1.2 + 0.7 * len(rows)))
    shown = ax.imshow(grid, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)), [_fmt(c) for c in cols])
    ax.set_yticks(range(len(rows)), [_fmt(r) for r in rows])
    ax.set_xlabel(col_key)
    ax.set_ylabel(row_key)
    for i, line in enumerate(grid):
        for j, value in enumerate(line):
            if value == value:  # not NaN
                ax.text(j, i, f"{value:.3f}", ha="center", va="center", color="white", fontsize=9)
    fig.colorbar(shown, ax=ax, label=f"valid {metric}")
    ax.set_title(f"valid {metric} per grid cell")
    fig.tight_layout()
    return figure_png(fig, dpi=110)


def _ordered(values: list[Any]) -> list[Any]:
    """A grid key's values in their own order (0.001, 0.003, 0.01), not as listed; as listed when they do not compare."""
    try:
        return sorted(values)
    except TypeError:
        return list(values)


def with_sessions(out_dir: str | Path, summary: dict[str, Any]) -> dict[str, Any]:
    """``summary`` of this call with the folder's earlier calls: ``sessions`` lists each call's facts (``SESSION``)
    and ``ran`` and ``wall_seconds`` become totals, so a resume that runs nothing keeps the first run's figures."""
    import json

    path = Path(out_dir) / "search.json"
    earlier: list[dict[str, Any]] = []
    if path.is_file():
        before = json.loads(path.read_text(encoding="utf-8"))
        earlier = before.get("sessions") or [{k: before[k] for k in SESSION if k in before}]
    sessions = [*earlier, {k: summary[k] for k in SESSION if k in summary}]
    return {**summary, "sessions": sessions, "ran": sum(x.get("ran", 0) for x in sessions),
            "wall_seconds": round(sum(x.get("wall_seconds", 0.0) for x in sessions), 2)}


def write_search_report(out_dir: str | Path, records: list[dict[str, Any]], space: Space, metric: str,
                        config: Config, summary: dict[str, Any]) -> dict[str, Path]:
    """Write results.csv/.md, best.toml (the base config with the best trial's values), the plots and report.html.

    Args:
        out_dir: The search's folder.
        records: Trial records (``search.trial_records``).
        space: What was searched.
        metric: The valid metric maximised.
        config: The base config (with its real cleaning chain).
        summary: What :func:`lstmtext.experiments.search.search` returned, plus settings to show.

    Returns:
        The paths written, by kind.
    """
    from lstmtext.config.toml import config_to_toml

    out = Path(out_dir)
    keys = space.keys
    paths = {"csv": write_text(out / "results.csv", results_csv(records, keys, metric)),
             "markdown": write_text(out / "results.md", results_markdown(records, keys, metric)),
             "json": write_json(out / "search.json", {**summary, "metric": metric, "space": space.to_dict(),
                                                       "trials": records})}
    parts = ["<h2>Settings</h2>", table(["setting", "value"], [[k, str(v)] for k, v in summary.items()
                                                                 if k not in ("best", "trials", "sessions")])]
    if len(summary.get("sessions", [])) > 1:  # resumed: what each call ran, where and how long
        parts += ["<h2>Sessions</h2>", table(list(SESSION), [[str(x.get(k, "")) for k in SESSION]
                                                              for x in summary["sessions"]])]
    best = summary.get("best")
    if best:
        best_config = apply(config, best["params"])
        header = f"best of the search in {out} (trial {best['trial']}, valid {metric} {best['value']:.4f})"
        paths["best"] = write_text(out / "best.toml", config_to_toml(best_config, header=header))
        parts += ["<h2>Best trial</h2>", table(["key", "value"], [[k, str(v)] for k, v in best["params"].items()]
                                                + [[f"valid {metric}", best["value"]]])]
    pngs = {"trials": plot_trials(records, metric)} if any(r["state"] == "COMPLETE" for r in records) else {}
    heat = plot_heatmap(records, space, metric) if pngs else None
    if heat is not None:
        pngs["heatmap"] = heat
    for name in {"trials", "heatmap"} - set(pngs):  # an earlier search's figure must not stand beside these results
        (out / f"search_{name}.png").unlink(missing_ok=True)
    for name, png in pngs.items():
        path = out / f"search_{name}.png"
        with atomic_path(path) as tmp:
            tmp.write_bytes(png)
        paths[name] = path
        parts.append(image(png, f"search {name}"))
    done = _best_first(records)
    parts += ["<h2>Trials (best first)</h2>", table(*trials_table(done, keys, metric))]
    if done and f"test_{metric}" in done[0]:
        parts.append(f"<p>{html.escape(chosen_line(done[0], shown_scores(metric), metric))}</p>")
    failed = _still_failed(records, done)
    if failed:
        parts += ["<h2>Failed trials</h2>", table(["trial", *keys, "error"], [
            [r["trial"], *(str(r["params"].get(k)) for k in keys), r.get("error", "interrupted")] for r in failed])]
    if best:
        parts += ["<h2>Best config</h2>", pre(paths["best"].read_text(encoding="utf-8"))]
    paths["html"] = write_page(out / "report.html", f"lstmtext search ({len(done)} trials)", parts)
    return paths
