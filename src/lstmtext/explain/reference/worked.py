"""The worked LSTM / RNN examples of ``lstmtext explain lstm|rnn``: the slides' and the lecture's cases, or any
small case from a JSON weights file, as records and the tables that show them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text

from lstmtext.errors import ConfigError
from lstmtext.explain.reference import examples, tables, weights_io

EXAMPLES = {"slides": "the slides' two-step LSTM: forward, backward, gradients, SGD step",
            "gates": "the lecture's one-step gate arithmetic (3 decimals)"}


def run_worked(cell: str, example: str | None, weights: Path | None, inputs: str | None = None,
               targets: str | None = None, lr: float | None = None) -> Any:
    """The record of a worked example (``example``) or of the small case in ``weights``.

    Raises:
        ConfigError: One line for every option that does not fit (which, and the fix).
    """
    if (example is None) == (weights is None):
        choices = "--example slides|gates or --weights FILE.json" if cell == "lstm" else "--weights FILE.json"
        raise ConfigError(f"explain {cell}: give one of {choices}; "
                          "e.g. `lstmtext explain lstm --example slides`")
    if example is not None:
        if cell == "rnn":
            raise ConfigError("explain rnn: the source material has no worked RNN example; run a small case with "
                              "`lstmtext explain rnn --weights rnn_small`")
        if example not in EXAMPLES:
            raise ConfigError(f"explain lstm: --example must be one of {', '.join(EXAMPLES)}, got {example!r}")
        extra = [n for n, v in (("--inputs", inputs), ("--targets", targets), ("--lr", lr)) if v is not None]
        if extra:
            raise ConfigError(f"explain lstm: {extra[0]} goes with --weights; the examples use their own values "
                              "(slides_lstm is the slides' case as a weights file)")
        return examples.run_gates_example() if example == "gates" else examples.run_slides_example()
    return _case_from_file(cell, weights, inputs, targets, lr)


def _case_from_file(cell: str, path: Path, inputs: str | None, targets: str | None, lr: float | None):
    wf = weights_io.load_weights(path)
    if wf.cell != cell:
        raise ConfigError(f"{path}: \"cell\" is {wf.cell!r}, but the command says {cell!r}; "
                          f"run `lstmtext explain {wf.cell} --weights {path}`")
    first_w = wf.params["W_a"] if cell == "lstm" else wf.params["W"]  # (H, D)
    hidden, size = first_w.shape
    xs = weights_io.parse_inputs(inputs, size, "--inputs") if inputs is not None else wf.inputs
    if xs is None:
        raise ConfigError(f"{path}: no \"inputs\" in the file; give them, e.g. --inputs \"{_sample(size)}\"")
    ys = _parse_targets(targets, hidden) if targets is not None else wf.targets
    if ys is not None and len(ys) != len(xs):
        source = "--targets" if targets is not None else f"{path}: targets"
        raise ConfigError(f"{source}: {len(ys)} steps of targets for {len(xs)} input steps; give one per step"
                          + ("" if targets is not None else " (or pass --targets with --inputs)"))
    if lr is not None:
        weights_io.learning_rate(lr, "--lr")
    return examples.run_case(wf.params, xs, ys, wf.lr if lr is None else lr, cell, wf.nonlinearity, wf.h0, wf.c0)


def _parse_targets(value: str, hidden: int):
    """Targets as (T, H); with H = 1 a plain list "0.5, 1.25" is one target per step."""
    text = value.strip()
    if hidden == 1 and ";" not in text and not text.startswith("["):
        text = text.replace(",", ";")
    return weights_io.parse_inputs(text, hidden, "--targets")


def _sample(size: int) -> str:
    return "; ".join(",".join(str(v) for v in range(step, step + size)) for step in (1, 2))


def worked_report(run: Any, decimals: int, example: str | None = None) -> list[Any]:
    """What ``lstmtext explain lstm|rnn`` prints for a record: a title line, the tables, the loss line."""
    if isinstance(run, examples.GatesRun):
        return [Text.from_markup(f"[bold]gates[/]: {EXAMPLES['gates']}"), tables.gates_example_table(run)]
    out: list[Any] = [Text.from_markup(f"[bold]{example}[/]: {EXAMPLES[example]}")] if example else []
    kind = "LSTM" if run.cell == "lstm" else f"Elman RNN ({run.nonlinearity})"
    hidden, size = run.steps[0].h.shape[0], run.xs.shape[1]
    out.append(f"{kind}: H = {hidden} hidden unit(s), D = {size} input(s), T = {len(run.xs)} step(s)")
    out += tables.case_tables(run, decimals)
    if run.loss is not None:
        out.append(f"loss E = \u03a3_t 1/2 (out_t - target_t)\u00b2 = {run.loss:.{decimals}f}; "
                   f"the update uses lr = {run.lr:g}")
    else:
        out.append("no targets: forward pass only "
                   "(give --targets or \"targets\" in the file for BPTT and the update)")
    return out
