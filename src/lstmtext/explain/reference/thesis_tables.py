"""The thesis's BiLSTM, CBOW and one-hot runs as ``rich`` tables, each named with its equations (renderables only).

:func:`thesis_report` returns everything ``lstmtext explain bilstm|cbow|onehot`` prints, in reading order.
"""

from __future__ import annotations

import numpy as np
from rich.markup import escape
from rich.table import Table

from lstmtext.explain.reference import bilstm, cbow, onehot
from lstmtext.explain.reference.tables import format_value
from lstmtext.explain.reference.thesis_examples import ThesisRun

_SIG, _DOT, _ODOT, _OTIMES, _T = "\u03c3", "\u00b7", "\u2299", "\u2297", "\u1d40"
_D, _SUM, _CT = "\u03b4", "\u03a3", "C\u0303"  # delta, Sigma, C-tilde
_GATE_NAMES = {"f": "f", "i": "i", "c": _CT, "o": "o"}


def _table(title: str, columns: list[str], rows: list[list[str]], left: int = 2) -> Table:
    """A table whose first ``left`` columns are labels (left-aligned) and the rest numbers (right-aligned)."""
    table = Table(title=title, title_justify="left")
    for k, name in enumerate(columns):
        table.add_column(name, justify="left" if k < left else "right",
                         style="bold" if k == 0 else ("dim" if k < left else None))
    for row in rows:
        table.add_row(*row)
    return table


def _per_step(title: str, spec, records, decimals: int) -> Table:
    rows = [[name, eq, *(format_value(get(r), decimals) for r in records)] for name, eq, get in spec]
    return _table(title, ["quantity", "equation", *(f"t={r.t}" for r in records)], rows)


def _forward_spec(prev: str):
    p = f"h_{{{prev}}}"
    net = lambda g: f"W_{g}{_DOT}x_t + U_{g}{_DOT}{p} + b_{g}"  # noqa: E731
    return [
        ("x_t", "input", lambda s: s.x),
        (p, "previous hidden state of this layer", lambda s: s.h_prev),
        (f"c_{{{prev}}}", "previous cell state", lambda s: s.c_prev),
        ("net_f", net("f"), lambda s: s.net["f"]),
        ("f_t", f"{_SIG}(net_f)  (2.16)", lambda s: s.f),
        ("net_i", net("i"), lambda s: s.net["i"]),
        ("i_t", f"{_SIG}(net_i)  (2.17)", lambda s: s.i),
        ("net_c", net("c"), lambda s: s.net["c"]),
        (f"{_CT}_t", "tanh(net_c)  (2.18)", lambda s: s.c_tilde),
        ("c_t", f"f_t{_ODOT}c_{{{prev}}} + i_t{_ODOT}{_CT}_t  (2.19)", lambda s: s.c),
        ("net_o", net("o"), lambda s: s.net["o"]),
        ("o_t", f"{_SIG}(net_o)  (2.20)", lambda s: s.o),
        ("h_t", f"o_t{_ODOT}tanh(c_t)  (2.21)", lambda s: s.h),
    ]


def _backward_spec(prev: str, nxt: str):
    return [
        (f"{_D}h_t out", f"this layer's part of W_y{_T}{_DOT}dy_t  (2.27)", lambda g: g.delta_out),
        (f"{_D}h_t rec", f"passed back from {nxt}  (2.41)", lambda g: g.delta_rec),
        (f"{_D}h_t", f"{_D}h_t out + {_D}h_t rec  (2.42)", lambda g: g.delta_h),
        ("do_t", f"tanh(c_t){_DOT}{_D}h_t  (2.28)", lambda g: g.do),
        ("dc_t", f"(1-tanh(c_t)\u00b2){_DOT}o_t{_DOT}{_D}h_t + f_{{{nxt}}}{_ODOT}dc_{{{nxt}}}  (2.29)", lambda g: g.dc),
        ("df_t", f"c_{{{prev}}}{_DOT}dc_t  (2.30)", lambda g: g.df),
        ("di_t", f"{_CT}_t{_DOT}dc_t  (2.31)", lambda g: g.di),
        (f"d{_CT}_t", f"i_t{_DOT}dc_t  (2.32)", lambda g: g.dc_tilde),
        (f"{_D}f_t", f"c_{{{prev}}}{_ODOT}dc_t{_ODOT}f_t{_ODOT}(1-f_t)  (2.37)", lambda g: g.delta["f"]),
        (f"{_D}i_t", f"{_CT}_t{_ODOT}dc_t{_ODOT}i_t{_ODOT}(1-i_t)  (2.38)", lambda g: g.delta["i"]),
        (f"{_D}{_CT}_t", f"i_t{_ODOT}dc_t{_ODOT}(1-{_CT}_t\u00b2)  (2.39)", lambda g: g.delta["c"]),
        (f"{_D}o_t", f"tanh(c_t){_ODOT}{_D}h_t{_ODOT}o_t{_ODOT}(1-o_t)  (2.40)", lambda g: g.delta["o"]),
        (f"{_D}h_{{{prev}}}", f"{_SUM}_g U_g{_T}{_DOT}{_D}g_t, g = o, i, f, {_CT}  (2.41), passed back",
         lambda g: g.delta_h_prev),
    ]


def bilstm_tables(run: bilstm.BiLSTMRun, decimals: int = 5) -> list[Table]:
    """Both layers' forward passes, the output layer, both layers' BPTT, the gradients and the SGD step."""
    arrows, order = bilstm.ARROWS, {"fw": ("t-1", "t+1"), "bw": ("t+1", "t-1")}
    reading = {d: ", ".join(str(s.t) for s in run.steps[d]) for d in bilstm.DIRECTIONS}
    out = []
    for d, name in (("fw", "forward"), ("bw", "backward")):
        note = "" if d == "fw" else "; its previous step is position t+1"
        out.append(_per_step(f"{arrows[d]} {name} LSTM layer, reading t = {reading[d]} (2.16-2.21){note}",
                             _forward_spec(order[d][0]), run.steps[d], decimals))
    out.append(_per_step("Output layer (2.22-2.25, 2.27), no output bias b_y", [
        ("h_t", f"[{arrows['fw']}h_t, {arrows['bw']}h_t]  (2.22)", lambda o: o.h),
        (f"W_y{_DOT}h_t", "scores, one per class", lambda o: o.s),
        ("y_t", f"softmax(W_y{_DOT}h_t)  (2.23)", lambda o: o.y),
        ("y_rt", "label, one-hot", lambda o: o.y_r),
        ("LCE_t", f"-{_SUM}_k y_rt,k{_DOT}log y_t,k  (2.24)", lambda o: o.loss),
        ("dy_t", "-(y_rt - y_t)  (2.25)", lambda o: o.dy),
        (f"W_y{_T}{_DOT}dy_t", f"to [{arrows['fw']}h_t, {arrows['bw']}h_t]  (2.27)", lambda o: o.delta_h),
    ], run.outputs, decimals))
    for d, name in (("fw", "forward"), ("bw", "backward")):
        visits = ", ".join(str(g.t) for g in run.grads_steps[d])
        out.append(_per_step(f"BPTT, {arrows[d]} {name} layer, t = {visits} (2.27-2.42)", _backward_spec(*order[d]),
                             run.grads_steps[d], decimals))
    rows = []
    for d in bilstm.DIRECTIONS:
        for g in bilstm.GATES:
            rows.append([f"{arrows[d]}{_GATE_NAMES[g]}",
                         *(format_value(run.grads[bilstm.key(d, f"{k}_{g}")], decimals) for k in ("W", "U", "b"))])
    out.append(_table("Gradients, summed over the steps (2.43-2.45)", [
        "gate", f"\u2202E/\u2202W_\u03b8 = {_SUM}_t {_D}\u03b8_t{_OTIMES}x_t  (2.43)",
        f"\u2202E/\u2202U_\u03b8 = {_SUM}_t {_D}\u03b8_t{_OTIMES}h_{{t-1}}  (2.44)",
        f"\u2202E/\u2202b_\u03b8 = {_SUM}_t {_D}\u03b8_t  (2.45)",
    ], rows, left=1))
    eq = {"W": "(2.43)", "U": "(2.44)", "b": "(2.45)"}
    eq["W_y"] = f"(2.26) {_SUM}_t dy_t{_OTIMES}h_t"
    rows = [[bilstm.display(name), eq[name if name == "W_y" else name.split(".")[1][0]],
             *(format_value(v[name], decimals) for v in (run.params, run.grads, run.updated))]
            for name in bilstm.param_keys()]
    out.append(_table(f"SGD update (2.46): \u03b8_(baru) = \u03b8_(lama) - {run.lr:g} \u00d7 \u2202E/\u2202\u03b8, "
                      f"all {len(rows)} parameters", ["parameter", "gradient from", "old", "\u2202E/\u2202\u03b8", "new"], rows))
    return out


def cbow_tables(step: cbow.CBOWStep, decimals: int = 5) -> list[Table]:
    """Input -> hidden (2.1), hidden -> output (2.2-2.5), both updates (2.6-2.10), and what they did."""
    words, k, j_star, fmt = step.vocabulary, step.context, step.target, lambda v: format_value(v, decimals)
    mark = lambda j, who: f"{escape(words[j])}{'  (' + who + ')' if who else ''}"  # noqa: E731
    role = lambda j: "w_I" if j == k else ("w_O" if j == j_star else "")  # noqa: E731
    rows = [[str(j), mark(j, role(j)), f"{step.x[j]:.0f}", fmt(step.W[j])] for j in range(len(words))]
    rows.append(["", f"h = W{_T}x = v_w_I  (2.1)", "", fmt(step.h)])
    out = [_table(f"Input layer \u2192 hidden layer (2.1): x = one-hot of w_I = {escape(words[k])!r}",
                  ["k", "word", "x_k", "v_w (row k of W)"], rows)]
    rows = [[str(j), mark(j, role(j)), fmt(step.W_prime[:, j]), fmt(step.u[j]), fmt(step.y[j]), f"{step.t[j]:.0f}",
             fmt(step.e[j])] for j in range(len(words))]
    out.append(_table(f"Hidden layer \u2192 output layer (2.2-2.5): target w_O = {escape(words[j_star])!r}, "
                      f"E = -u_j* + log {_SUM} exp(u_j') = {fmt(step.loss)} (2.4)",
                      ["j", "word", "v'_w_j (column j of W')", f"u_j = v'_w_j{_T}h (2.2)", "y_j (2.3)", "t_j",
                       "e_j = y_j - t_j (2.5)"], rows))
    rows = [[str(j), mark(j, role(j)), fmt(step.dW_prime[:, j]), fmt(step.W_prime[:, j]),
             fmt(step.W_prime_new[:, j])] for j in range(len(words))]
    out.append(_table(f"Output vectors, SGD with \u03b7 = {step.lr:g} (2.6-2.7)",
                      ["j", "word", f"\u2202E/\u2202v'_w_j = e_j{_DOT}h (2.6)", "v'_w_j (lama)",
                       f"v'_w_j - \u03b7{_DOT}e_j{_DOT}h (2.7)"], rows))
    rows = [[str(j), mark(j, role(j)), fmt(step.dW[j]), fmt(step.W[j]), fmt(step.W_new[j])] for j in range(len(words))]
    out.append(_table(f"Input vectors (2.8-2.10): EH = {_SUM}_j e_j{_DOT}v'_w_j = {fmt(step.EH)} (2.8), "
                      "W' before (2.7)", ["k", "word", f"\u2202E/\u2202W = x{_OTIMES}EH, row k (2.9)", "v_w (lama)",
                                          f"v_w_I - \u03b7{_DOT}EH{_T} (2.10)"], rows))
    moved = cbow.movement(step)
    rows = [[mark(j, role(j)), *(fmt(v) for v in moved["dot"][j]), *(fmt(v) for v in moved["cos"][j])]
            for j in range(len(words))]
    out.append(_table("What the step did (h = v_w_I fixed): v'_w_O moves towards h, the others away",
                      ["word", f"v'_w_j{_DOT}h", "after (2.7)", "cos(v'_w_j, v_w_I)", "after (2.7)"], rows, left=1))
    return out


def onehot_tables(encoded: onehot.OneHot) -> list[Table]:
    """The vocabulary (figure 2.8) and the one-hot table (figure 2.9): words as rows, tokens as columns."""
    positions = {word: [] for word in encoded.vocabulary}
    for pos, token in enumerate(encoded.tokens):
        positions[token].append(str(pos))
    size = len(encoded.vocabulary)
    rows = [[str(k), escape(w), ", ".join(positions[w]), "(" + " ".join("1" if j == k else "0" for j in range(size)) + ")"]
            for k, w in enumerate(encoded.vocabulary)]
    vocab = _table("Vocabulary (figure 2.8)", ["index", "word", "token positions", "one-hot vector"], rows)
    figure = Table(title="One-hot encoding (figure 2.9)", title_justify="left")
    figure.add_column("Corpus", style="bold")
    for token in encoded.tokens:
        figure.add_column(escape(token), justify="center")
    for k, word in enumerate(encoded.vocabulary):
        figure.add_row(escape(word), *(f"{int(v)}" for v in encoded.rows[:, k]))
    return [vocab, figure]


def thesis_report(run: ThesisRun, decimals: int = 5) -> list:
    """Everything ``lstmtext explain bilstm|cbow|onehot`` prints: a headline, the tables, a closing line."""
    if run.onehot is not None:
        o = run.onehot
        head = (f"{len(o.tokens)} tokens, V = {len(o.vocabulary)} words in order of first appearance (figure 2.8); "
                "in figure 2.9 column k is the one-hot vector of token k")
        return [head, *onehot_tables(o)]
    if run.cbow is not None:
        s = run.cbow
        head = (f"CBOW with one context word (thesis 2.4.2): V = {len(s.vocabulary)} words, "
                f"N = {s.W.shape[1]} hidden units, \u03b7 = {s.lr:g}")
        y_target = cbow.movement(s)["y_target"]
        tail = (f"loss E = {s.loss:.{decimals}f} before, {s.loss_after:.{decimals}f} after both updates (2.4); "
                f"p(w_O|w_I) = y_j* {y_target[0]:.{decimals}f} \u2192 {y_target[1]:.{decimals}f}")
        return [escape(head), *cbow_tables(s, decimals), escape(tail)]
    r = run.bilstm
    hidden, classes = r.params["fw.b_f"].shape[0], r.params["W_y"].shape[0]
    head = (f"BiLSTM (thesis 2.7-2.8.3): D = {r.xs.shape[1]} inputs, H = {hidden} per direction, K = {classes} "
            f"classes, T = {len(r.xs)} steps, labels y_r = {np.asarray(r.labels).tolist()}")
    tail = (f"loss E = {_SUM}_t LCE(y_rt, y_t) = {r.loss:.{decimals}f} (2.24); after one SGD step (2.46), "
            f"\u03b7 = {r.lr:g}: E = {r.loss_after:.{decimals}f}")
    return [head, *bilstm_tables(r, decimals), tail]
