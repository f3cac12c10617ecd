"""The ``lstmtext explain`` command: worked LSTM / RNN examples step by step, or a trained LSTM token by token.

The first argument decides: ``lstm`` or ``rnn`` runs a worked example (``--example``) or any small case
(``--weights FILE.json``) through the NumPy reference and prints its tables; anything else is a bundle
path, and the command shows how that LSTM's gates, cell state and prediction evolve over a text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from lstmtext.cli.common import console
from lstmtext.errors import ConfigError

WORKED = ("lstm", "rnn")
THESIS = ("bilstm", "cbow", "onehot")  # the thesis's worked cases: lstmtext.explain.reference.thesis_examples
HEADERS = {"i": "input i", "f": "forget f", "a": "cand. g", "o": "output o"}  # gate -> table column
EXAMPLES = {"slides": "the slides' two-step LSTM: forward, backward, gradients, SGD step",
            "gates": "the lecture's one-step gate arithmetic (3 decimals)"}
EPILOG = "\n\n".join([
    "Examples (run from the repository root):",
    "lstmtext explain lstm --example slides",
    "lstmtext explain lstm --example gates",
    "lstmtext explain lstm --weights docs/examples/slides_lstm.json",
    "lstmtext explain lstm --weights docs/examples/slides_lstm.json --inputs \"1,2; 0.5,3; 2,-1\" --targets \"0.5; 1.25; 0\"",
    "lstmtext explain rnn --weights docs/examples/rnn_small.json",
    "lstmtext explain rnn --weights docs/examples/rnn_small.json --inputs \"1,0; 0,1\" --targets \"0.5,0; 0,0.5\" --lr 0.5",
    "lstmtext explain bilstm   |   lstmtext explain bilstm --weights docs/examples/bilstm_small.json --lr 0.5",
    "lstmtext explain cbow   |   lstmtext explain cbow --weights docs/examples/cbow_small.json",
    "lstmtext explain onehot \"bukalapak bagus barang sesuai pengiriman cepat\"",
    "lstmtext explain runs/demo \"@united thanks for nothing, my bag is lost again\" --out explain.png",
    "A weights file holds \"cell\", \"weights\" and optionally \"inputs\", \"targets\", \"lr\", \"h0\", \"c0\" "
    "(see docs/explain.md).",
])


def explain(
    target: Annotated[str, typer.Argument(help="'lstm' or 'rnn' for a worked example; 'bilstm', 'cbow' or 'onehot' for the thesis's; or a saved model folder.", show_default=False)],
    text: Annotated[Optional[str], typer.Argument(help="With a model folder: the text to read token by token; with 'onehot': the sentence.", show_default=False)] = None,
    example: Annotated[Optional[str], typer.Option(help="Worked example: 'slides' (LSTM, two steps with BPTT) or 'gates' (one LSTM step).")] = None,
    weights: Annotated[Optional[Path], typer.Option(help="JSON weights file of a small case (see docs/examples/).")] = None,
    inputs: Annotated[Optional[str], typer.Option(help="Inputs, steps split by ';', e.g. \"1,2; 0.5,3\" (overrides the file's).")] = None,
    targets: Annotated[Optional[str], typer.Option(help="Per-step targets, e.g. \"0.5; 1.25\" (overrides the file's); none: forward only.")] = None,
    lr: Annotated[Optional[float], typer.Option(help="Learning rate of the SGD step (default: the file's, else 0.1).")] = None,
    decimals: Annotated[int, typer.Option(min=1, max=12, help="Decimals in the worked tables.")] = 5,
    out: Annotated[Optional[Path], typer.Option(help="With a model folder: write the heatmaps and probability plot to this PNG.")] = None,
    units: Annotated[bool, typer.Option(help="With --out: one heatmap per gate over hidden units instead of the means.")] = False,
) -> None:
    """Explain an LSTM: the source material's worked examples step by step, or a trained model token by token.

    `explain lstm --example slides|gates` and `explain lstm|rnn --weights FILE.json` print each gate's
    pre-activation and activation, the state and the output per step, then (with targets) the backward
    pass, the gradients and the SGD update. `explain MODEL "some text"` shows, for an LSTM/BiLSTM model
    with pooling=last, each token's mean gate activations, the cell-state norm and the class
    probabilities after each token (--out writes them as a PNG). `explain bilstm|cbow [--weights FILE.json]`
    and `explain onehot "TEXT"` work through the thesis's BiLSTM training step, word2vec CBOW step and
    one-hot table (docs/explain.md).
    """
    if target in THESIS and not _is_bundle(target):  # self-contained: the logic is in lstmtext.explain.reference
        from lstmtext.explain.reference.thesis_examples import run_thesis
        from lstmtext.explain.reference.thesis_tables import thesis_report

        given = [n for n, v in (("--example", example), ("--inputs", inputs), ("--targets", targets), ("--out", out),
                                ("--units", units or None)) if v is not None]
        for renderable in thesis_report(run_thesis(target, text, weights, lr, given), decimals):
            console.print(renderable)
        return
    if target in WORKED and not _is_bundle(target):
        if text is not None or out is not None or units:
            raise ConfigError(f"explain {target}: TEXT, --out and --units are for a model folder; "
                              "for a worked example give --example or --weights")
        _worked(target, example, weights, inputs, targets, lr, decimals)
        return
    given = [name for name, value in (("--example", example), ("--weights", weights), ("--inputs", inputs),
                                      ("--targets", targets), ("--lr", lr)) if value is not None]
    if given:
        raise ConfigError(f"explain {target}: {given[0]} is for the worked examples; write "
                          f"`lstmtext explain lstm {given[0]} ...` (the first argument must be 'lstm' or 'rnn')")
    if text is None:
        raise ConfigError(f"explain {target}: give the text to read, e.g. "
                          f"`lstmtext explain {target} \"my bag is lost\"` "
                          "(or 'lstm' / 'rnn' as the first argument for the worked examples)")
    _bundle(target, text, out, units)


def _is_bundle(target: str) -> bool:
    """A folder named like a worked example ('lstm', 'rnn') is read as a model only when it holds one."""
    return (Path(target) / "meta.json").is_file() or (Path(target) / "model" / "meta.json").is_file()


def _worked(cell: str, example: str | None, weights: Path | None, inputs: str | None, targets: str | None,
            lr: float | None, decimals: int) -> None:
    from lstmtext.explain.reference import examples, tables

    if (example is None) == (weights is None):
        choices = "--example slides|gates or --weights FILE.json" if cell == "lstm" else "--weights FILE.json"
        raise ConfigError(f"explain {cell}: give one of {choices}; "
                          "e.g. `lstmtext explain lstm --example slides`")
    if example is not None:
        if cell == "rnn":
            raise ConfigError("explain rnn: the source material has no worked RNN example; run a small case with "
                              "`lstmtext explain rnn --weights docs/examples/rnn_small.json`")
        if example not in EXAMPLES:
            raise ConfigError(f"explain lstm: --example must be one of {', '.join(EXAMPLES)}, got {example!r}")
        extra = [n for n, v in (("--inputs", inputs), ("--targets", targets), ("--lr", lr)) if v is not None]
        if extra:
            raise ConfigError(f"explain lstm: {extra[0]} goes with --weights; the examples use their own values "
                              "(docs/examples/slides_lstm.json is the slides' case as a weights file)")
        console.print(f"[bold]{example}[/]: {EXAMPLES[example]}")
        if example == "gates":
            console.print(tables.gates_example_table(examples.run_gates_example()))
            return
        _print_case(examples.run_slides_example(), decimals)
        return
    _print_case(_case_from_file(cell, weights, inputs, targets, lr), decimals)


def _case_from_file(cell: str, path: Path, inputs: str | None, targets: str | None, lr: float | None):
    from lstmtext.explain.reference import examples, weights_io

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
    if lr is not None and lr <= 0:
        raise ConfigError(f"--lr must be positive, got {lr:g}")
    return examples.run_case(wf.params, xs, ys, wf.lr if lr is None else lr, cell, wf.nonlinearity, wf.h0, wf.c0)


def _parse_targets(value: str, hidden: int):
    """Targets as (T, H); with H = 1 a plain list "0.5, 1.25" is one target per step."""
    from lstmtext.explain.reference import weights_io

    text = value.strip()
    if hidden == 1 and ";" not in text and not text.startswith("["):
        text = text.replace(",", ";")
    return weights_io.parse_inputs(text, hidden, "--targets")


def _sample(size: int) -> str:
    return "; ".join(",".join(str(v) for v in range(step, step + size)) for step in (1, 2))


def _print_case(run, decimals: int) -> None:
    from lstmtext.explain.reference import tables

    kind = "LSTM" if run.cell == "lstm" else f"Elman RNN ({run.nonlinearity})"
    hidden, size = run.steps[0].h.shape[0], run.xs.shape[1]
    console.print(f"{kind}: H = {hidden} hidden unit(s), D = {size} input(s), T = {len(run.xs)} step(s)")
    for table in tables.case_tables(run, decimals):
        console.print(table)
    if run.loss is not None:
        console.print(f"loss E = \u03a3_t 1/2 (out_t - target_t)\u00b2 = {run.loss:.{decimals}f}; "
                      f"the update uses lr = {run.lr:g}")
    else:
        console.print("no targets: forward pass only "
                      "(give --targets or \"targets\" in the file for BPTT and the update)")


def _bundle(path: str, text: str, out: Path | None, units: bool) -> None:
    from lstmtext.explain.bundle import GATE_ORDER, explain_bundle

    ex = explain_bundle(path, text, out, units=units)
    label, score = ex.predicted
    console.print(f"[bold]{ex.kind}[/] (architecture {ex.architecture!r}) from {path}")
    console.print(f"cleaned: {escape(repr(ex.cleaned))} \u2192 {len(ex.tokens)} token(s); "
                  f"prediction: [bold]{escape(label)}[/] ({score:.3f})")
    scope = "the hidden units of the last layer's forward direction" if ex.bidirectional or ex.num_layers > 1 \
        else "the hidden units"
    console.print(f"gates: mean activation over {scope}; P(class): the prediction after reading up to the token")
    table = Table(title="Reading token by token", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("token")
    for g in GATE_ORDER:
        table.add_column(HEADERS[g], justify="right")
    table.add_column("\u2016c_t\u2016", justify="right")
    for name in ex.labels:
        table.add_column(escape(f"P({name})"), justify="right")
    means, probs = ex.gate_means, ex.trace.probs
    for t, token in enumerate(ex.tokens):
        best = int(probs[t].argmax())
        cells = [f"[bold]{p:.3f}[/]" if k == best else f"{p:.3f}" for k, p in enumerate(probs[t])]
        table.add_row(str(t), escape(token), *(f"{means[g][t]:.3f}" for g in GATE_ORDER),
                      f"{ex.trace.cell_norm[t]:.3f}", *cells)
    console.print(table)
    if out is not None:
        console.print(f"wrote {out}")
    else:
        console.print("add --out FILE.png for the gate / cell-state heatmaps and the probability plot")
