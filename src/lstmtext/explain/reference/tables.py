"""Turn the reference's step-by-step records into ``rich`` tables (renderables only; the CLI prints them).

Every function takes a run from :mod:`lstmtext.explain.reference.examples` and returns a ``rich.table.Table``:
one row per quantity (named with its equation, as in the slides) and one column per time step.
"""

from __future__ import annotations

import numpy as np
from rich.table import Table

from lstmtext.explain.reference import lstm
from lstmtext.explain.reference.examples import CaseRun, GatesRun

_SIG = "\u03c3"  # sigma
_LSTM_FORWARD = (
    ("x_t", "input", lambda s: s.x),
    ("out_{t-1}", "previous output (h)", lambda s: s.h_prev),
    ("state_{t-1}", "previous state (c)", lambda s: s.c_prev),
    ("z_a", "W_a\u00b7x_t + U_a\u00b7out_{t-1} + b_a", lambda s: s.z["a"]),
    ("a_t", "tanh(z_a)  (candidate, PyTorch's g)", lambda s: s.a),
    ("z_i", "W_i\u00b7x_t + U_i\u00b7out_{t-1} + b_i", lambda s: s.z["i"]),
    ("i_t", f"{_SIG}(z_i)  (input gate)", lambda s: s.i),
    ("z_f", "W_f\u00b7x_t + U_f\u00b7out_{t-1} + b_f", lambda s: s.z["f"]),
    ("f_t", f"{_SIG}(z_f)  (forget gate)", lambda s: s.f),
    ("z_o", "W_o\u00b7x_t + U_o\u00b7out_{t-1} + b_o", lambda s: s.z["o"]),
    ("o_t", f"{_SIG}(z_o)  (output gate)", lambda s: s.o),
    ("state_t", "a_t\u2299i_t + f_t\u2299state_{t-1}", lambda s: s.c),
    ("out_t", "tanh(state_t)\u2299o_t", lambda s: s.h),
)
_LSTM_BACKWARD = (
    ("\u0394_t", "out_t - target_t", lambda g: g.delta),
    ("\u0394out_t", "passed back from t+1", lambda g: g.d_h_next),
    ("\u03b4out_t", "\u0394_t + \u0394out_t", lambda g: g.d_out),
    (
        "\u03b4state_t",
        "\u03b4out_t\u2299o_t\u2299(1-tanh\u00b2(state_t)) + \u03b4state_{t+1}\u2299f_{t+1}",
        lambda g: g.d_state,
    ),
    ("\u03b4a_t", "\u03b4state_t\u2299i_t\u2299(1-a_t\u00b2)", lambda g: g.d_a),
    ("\u03b4i_t", "\u03b4state_t\u2299a_t\u2299i_t\u2299(1-i_t)", lambda g: g.d_i),
    ("\u03b4f_t", "\u03b4state_t\u2299state_{t-1}\u2299f_t\u2299(1-f_t)", lambda g: g.d_f),
    ("\u03b4o_t", "\u03b4out_t\u2299tanh(state_t)\u2299o_t\u2299(1-o_t)", lambda g: g.d_o),
    ("\u03b4x_t", "W\u1d40\u00b7\u03b4gates_t", lambda g: g.d_x),
    ("\u0394out_{t-1}", "U\u1d40\u00b7\u03b4gates_t  (passed back)", lambda g: g.d_h_prev),
)
_RNN_FORWARD = (
    ("x_t", "input", lambda s: s.x),
    ("h_{t-1}", "previous hidden state", lambda s: s.h_prev),
    ("z_t", "W\u00b7x_t + U\u00b7h_{t-1} + b", lambda s: s.z),
    ("h_t", "\u03c6(z_t)", lambda s: s.h),
)
_RNN_BACKWARD = (
    ("\u0394_t", "h_t - target_t", lambda g: g.delta),
    ("\u0394h_t", "passed back from t+1", lambda g: g.d_h_next),
    ("\u03b4h_t", "\u0394_t + \u0394h_t", lambda g: g.d_out),
    ("\u03b4z_t", "\u03b4h_t\u2299\u03c6'(z_t)", lambda g: g.d_z),
    ("\u03b4x_t", "W\u1d40\u00b7\u03b4z_t", lambda g: g.d_x),
    ("\u0394h_{t-1}", "U\u1d40\u00b7\u03b4z_t  (passed back)", lambda g: g.d_h_prev),
)


def format_value(value, decimals: int = 5) -> str:
    """Format a number or array to ``decimals`` places: size 1 as a scalar, one row as a flat list.

    Negative zero prints as zero (the slides' delta f_0 = 0).
    """
    arr = np.asarray(value, dtype=np.float64)
    arr = np.round(arr, decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
    if arr.size == 1:
        return f"{arr.item():.{decimals}f}"
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 1:
        return "[" + ", ".join(f"{v:.{decimals}f}" for v in arr) + "]"
    return "[" + ", ".join(format_value(row, decimals) for row in arr) + "]"


def _step_table(title: str, rows, records, order: list[int], decimals: int) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("quantity", style="bold")
    table.add_column("equation", style="dim")
    for t in order:
        table.add_column(f"t={t}", justify="right")
    for name, equation, get in rows:
        table.add_row(name, equation, *(format_value(get(records[t]), decimals) for t in order))
    return table


def forward_table(run: CaseRun, decimals: int = 5) -> Table:
    """The forward pass: each gate's pre-activation and activation, the state and the output, per step."""
    rows = _LSTM_FORWARD if run.cell == "lstm" else _RNN_FORWARD
    title = "Forward pass" + ("" if run.cell == "lstm" else f" (Elman RNN, \u03c6 = {run.nonlinearity})")
    return _step_table(title, rows, run.steps, list(range(len(run.steps))), decimals)


def backward_table(run: CaseRun, decimals: int = 5) -> Table:
    """Backpropagation through time, last step first (needs a run with targets)."""
    if run.grads is None:
        raise ValueError("backward_table: the run has no targets, so no backward pass")
    rows = _LSTM_BACKWARD if run.cell == "lstm" else _RNN_BACKWARD
    title = "Backward pass (loss 1/2 (out_t - target_t)\u00b2 at every step)"
    return _step_table(title, rows, run.grads.steps, list(range(len(run.steps)))[::-1], decimals)


def _groups(run: CaseRun) -> list[tuple[str, str]]:
    """(row label, parameter-name suffix) of each gate (LSTM) or of the single cell (RNN)."""
    return [(g, f"_{g}") for g in lstm.GATES] if run.cell == "lstm" else [("Elman", "")]


def gradients_table(run: CaseRun, decimals: int = 5) -> Table:
    """dE/dW = sum_t delta gates_t (x) x_t, dE/dU = sum_t delta gates_t (x) out_{t-1}, dE/db = sum_t delta gates_t."""
    if run.grads is None:
        raise ValueError("gradients_table: the run has no targets, so no gradients")
    table = Table(title="Gradients, summed over the steps", title_justify="left")
    table.add_column("gate" if run.cell == "lstm" else "cell", style="bold")
    d, prev = ("\u03b4gates_t", "out_{t-1}") if run.cell == "lstm" else ("\u03b4z_t", "h_{t-1}")
    for name in (f"\u03b4W = \u03a3 {d}\u2297x_t", f"\u03b4U = \u03a3 {d}\u2297{prev}", f"\u03b4b = \u03a3 {d}"):
        table.add_column(name, justify="right")
    grads = run.grads.params
    for label, sfx in _groups(run):
        table.add_row(label, *(format_value(grads[f"{k}{sfx}"], decimals) for k in ("W", "U", "b")))
    return table


def update_table(run: CaseRun, decimals: int = 5) -> Table:
    """The SGD step theta_new = theta_old - lr * dE/dtheta for every parameter."""
    if run.updated is None:
        raise ValueError("update_table: the run has no targets, so no update")
    table = Table(title=f"SGD update, \u03b8_new = \u03b8_old - {run.lr:g} \u00d7 \u03b4\u03b8", title_justify="left")
    for name in ("parameter", "old", "gradient", "new"):
        table.add_column(name, justify="left" if name == "parameter" else "right")
    for _, sfx in _groups(run):
        for k in ("W", "U", "b"):
            key = f"{k}{sfx}"
            table.add_row(
                key, *(format_value(v[key], decimals) for v in (run.params, run.grads.params, run.updated))
            )
    return table


def case_tables(run: CaseRun, decimals: int = 5) -> list[Table]:
    """All tables of a run in reading order: forward, then (with targets) backward, gradients, update."""
    tables = [forward_table(run, decimals)]
    if run.grads is not None:
        tables += [backward_table(run, decimals), gradients_table(run, decimals), update_table(run, decimals)]
    return tables


def _num(v: float) -> str:
    return f"{v:g}"


def _sum(terms: list[str]) -> str:
    """Join terms with + and -, writing "a + -b" as "a - b"."""
    out = terms[0]
    for term in terms[1:]:
        out += f" - {term[1:]}" if term.startswith("-") else f" + {term}"
    return out


def gates_example_table(run: GatesRun) -> Table:
    """The lecture's one-step example: each gate's arithmetic, then the cell state and hidden state.

    The "lecture" column rounds every intermediate to 3 decimals as the lecture does; "exact" does not
    (the cell state differs in the third decimal: the lecture's 2.946 is 0.997*2 + 0.986*0.966).
    """
    d = run.decimals
    start = f"x_t = {_num(run.x)}, h_(t-1) = {_num(run.h_prev)}, c_(t-1) = {_num(run.c_prev)}"
    table = Table(title=f"LSTM gates, one step from {start}", title_justify="left")
    for name in ("quantity", "arithmetic", "pre-activation", f"lecture ({d} dp)", "exact"):
        table.add_column(name, justify="left" if name in ("quantity", "arithmetic") else "right")
    names = {"f": ("f_t", _SIG), "i": ("i_t", _SIG), "a": ("g_t (candidate)", "tanh"), "o": ("o_t", _SIG)}
    hand, exact = run.hand, run.exact
    for g in ("f", "i", "a", "o"):
        w_x, b_x, w_h, b_h = run.terms[g]
        label, fn = names[g]
        w = [f"{v:.2f}" if v else "0" for v in (w_x, b_x, w_h, b_h)]
        arithmetic = f"{fn}({_sum([f'{w[0]}*{_num(run.x)}', w[1], f'{w[2]}*{_num(run.h_prev)}', w[3]])})"
        table.add_row(
            label, arithmetic, format_value(hand.z[g], 2), format_value(getattr(hand, g), d),
            format_value(getattr(exact, g), 5),
        )
    c_arith = (
        f"f_t*c_(t-1) + i_t*g_t = {format_value(hand.f, d)}*{_num(run.c_prev)} + "
        f"{format_value(hand.i, d)}*{format_value(hand.a, d)}"
    )
    table.add_row("c_t", c_arith, "", format_value(hand.c, d), format_value(exact.c, 5))
    h_arith = f"o_t*tanh(c_t) = {format_value(hand.o, d)}*{format_value(hand.tanh_c, d)}"
    table.add_row("h_t", h_arith, "", format_value(hand.h, d), format_value(exact.h, 5))
    return table
