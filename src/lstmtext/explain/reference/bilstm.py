"""The thesis's BiLSTM classifier in plain NumPy: forward, BPTT and the mini-batch SGD step (sections 2.7-2.8.3).

Written after the aspect-sentiment thesis (chapter 2, on aspect-based sentiment analysis with BiLSTM and word2vec CBOW), in its notation
and with its equation numbers. One LSTM layer, run once forwards (→) and once backwards (←)::

    f_t  = sigma(W_f x_t + U_f h_{t-1} + b_f)             (2.16)  forget gate
    i_t  = sigma(W_i x_t + U_i h_{t-1} + b_i)             (2.17)  input gate
    C~_t = tanh(W_c x_t + U_c h_{t-1} + b_c)              (2.18)  candidate cell state
    c_t  = f_t * c_{t-1} + i_t * C~_t                     (2.19)  cell state
    o_t  = sigma(W_o x_t + U_o h_{t-1} + b_o)             (2.20)  output gate
    h_t  = o_t * tanh(c_t)                                (2.21)  hidden state
    h_t  = [→h_t, ←h_t]                                   (2.22)  BiLSTM hidden state
    y_t  = softmax(W_y h_t)                               (2.23)  without b_y: "bias pada output layer tidak
                                                                   digunakan" (section 2.8.2)
    E    = sum_t LCE(y_rt, y_t) = -sum_t sum_k y_rt,k log y_t,k   (2.24), y_rt the one-hot label of step t

For the backward layer "t-1" is the step it read before, i.e. position t+1: ←h_t depends on x_t .. x_{T-1}.
The thesis counts 25 parameters: W, U, b of the four gates in both directions (24) and W_y.

Shapes: input size D, hidden size H per direction, K classes; per gate W (H, D), U (H, H), b (H,); W_y
(K, 2H). Parameters are one flat dict: ``"fw.W_f"``, ``"bw.U_c"``, ..., and ``"W_y"``.

Where the extracted thesis is ambiguous we assumed: (2.23) writes W_y h_t, so W_y is (K, 2H); (2.26)
``h_t (x) dy_t`` and (2.27) ``W_y dy_t`` are then written here as ``dy_t (x) h_t`` and ``W_y^T dy_t``, and
(2.41) ``U_o delta_o_t`` as ``U_o^T delta_o_t`` (the thesis's sources store the matrices transposed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lstmtext.errors import ConfigError
from lstmtext.explain.reference.lstm import Params, cell_arrays, sigmoid

GATES = ("f", "i", "c", "o")
"""The thesis's gate order: forget f, input i, candidate cell state C~ (subscript c), output o."""
DIRECTIONS = ("fw", "bw")
"""→ (forward layer, reads t = 0 .. T-1) and ← (backward layer, reads t = T-1 .. 0)."""
ARROWS = {"fw": "\u2192", "bw": "\u2190"}
TO_LSTM = {"f": "f", "i": "i", "c": "a", "o": "o"}
"""The thesis's gate -> :mod:`lstmtext.explain.reference.lstm`'s (whose candidate is ``a``, PyTorch's ``g``)."""


@dataclass
class DirectionStep:
    """One step of one direction (2.16-2.21); ``x`` is (D,), the rest (H,)."""

    t: int  # position in the sentence
    x: np.ndarray
    h_prev: np.ndarray  # h_{t-1} of this direction (for ← the state at position t+1)
    c_prev: np.ndarray
    net: dict[str, np.ndarray]  # W_g x_t + U_g h_{t-1} + b_g for g in f, i, c, o
    f: np.ndarray  # (2.16)
    i: np.ndarray  # (2.17)
    c_tilde: np.ndarray  # (2.18)
    c: np.ndarray  # (2.19)
    o: np.ndarray  # (2.20)
    tanh_c: np.ndarray
    h: np.ndarray  # (2.21)


@dataclass
class OutputStep:
    """The output layer at position t (2.22-2.25, 2.27)."""

    t: int
    h: np.ndarray  # (2H,) [→h_t, ←h_t]  (2.22)
    s: np.ndarray  # (K,) W_y h_t
    y: np.ndarray  # (K,) softmax(W_y h_t)  (2.23)
    y_r: np.ndarray  # (K,) one-hot label y_rt
    loss: float  # LCE(y_rt, y_t)  (2.24)
    dy: np.ndarray  # (K,) -(y_rt - y_t)  (2.25)
    delta_h: np.ndarray  # (2H,) W_y^T dy_t  (2.27): what the output sends to both directions


@dataclass
class DirectionStepGrad:
    """BPTT at one step of one direction (2.27-2.42), all (H,)."""

    t: int
    delta_out: np.ndarray  # this direction's half of W_y^T dy_t  (2.27)
    delta_rec: np.ndarray  # delta_h passed back from this direction's next step  (2.41), 0 at its last
    delta_h: np.ndarray  # delta_out + delta_rec  (2.42)
    do: np.ndarray  # tanh(c_t) delta_h_t  (2.28)
    dc: np.ndarray  # (1 - tanh^2 c_t) o_t delta_h_t + f_{t+1} dc_{t+1}  (2.29)
    df: np.ndarray  # c_{t-1} dc_t  (2.30)
    di: np.ndarray  # C~_t dc_t  (2.31)
    dc_tilde: np.ndarray  # i_t dc_t  (2.32)
    delta: dict[str, np.ndarray]  # delta_f, delta_i, delta_c, delta_o  (2.33-2.40)
    delta_h_prev: np.ndarray  # sum_g U_g^T delta_g_t  (2.41), sent to the step read before


@dataclass
class BiLSTMRun:
    """One sequence through the BiLSTM: forward, loss, BPTT, gradients and one SGD step."""

    params: Params
    xs: np.ndarray  # (T, D)
    labels: np.ndarray  # (T,) class index of each step
    lr: float
    steps: dict[str, list[DirectionStep]]  # "fw" / "bw" -> steps in the order that direction read them
    outputs: list[OutputStep]  # position order
    loss: float  # E = sum_t LCE  (2.24)
    grads_steps: dict[str, list[DirectionStepGrad]]  # "fw" / "bw" -> in the order BPTT visits them
    grads: Params  # (2.26), (2.43)-(2.45); same keys as params
    updated: Params  # (2.46)
    loss_after: float  # E with the updated parameters


def key(direction: str, name: str) -> str:
    """The flat parameter key, e.g. ``key("bw", "W_f") == "bw.W_f"``."""
    return f"{direction}.{name}"


def display(name: str) -> str:
    """``"fw.W_f"`` -> ``"→W_f"``, ``"W_y"`` -> ``"W_y"``."""
    direction, _, rest = name.rpartition(".")
    return ARROWS[direction] + rest if direction else name


def param_keys() -> list[str]:
    """All 25 keys in the thesis's order: → gates, ← gates (W, U, b each), then W_y."""
    return [key(d, f"{k}_{g}") for d in DIRECTIONS for g in GATES for k in ("W", "U", "b")] + ["W_y"]


def as_params(mapping: Mapping[str, object]) -> Params:
    """Float64 arrays from ``{"fw.W_f": ..., ..., "bw.b_o": ..., "W_y": ...}`` (H = 1: scalars / flat lists ok).

    Raises:
        ConfigError: A key is missing or the shapes do not agree.
    """
    out: Params = {}
    for d in DIRECTIONS:
        for g in GATES:
            names = [key(d, f"{k}_{g}") for k in ("W", "U", "b")]
            for name in names:
                if name not in mapping:
                    raise ConfigError(f"BiLSTM parameters: key '{name}' is missing; give W_g, U_g, b_g for g in "
                                      "f, i, c, o in both directions fw and bw, and W_y")
            where = f"BiLSTM parameters, {display(names[0])[0]} gate '{g}'"
            out[names[0]], out[names[1]], out[names[2]] = cell_arrays(*(mapping[n] for n in names), where)
    shapes = {out[name].shape for name in out if ".W_" in name}
    if len(shapes) != 1:
        raise ConfigError(f"BiLSTM parameters: the W_g have shapes {sorted(shapes)}; all must be (H, D) alike")
    if "W_y" not in mapping:
        raise ConfigError("BiLSTM parameters: key 'W_y' is missing; give W_y (K, 2H)")
    hidden = out["fw.b_f"].shape[0]
    w_y = np.asarray(mapping["W_y"], dtype=np.float64)
    if w_y.ndim != 2 or w_y.shape[1] != 2 * hidden or w_y.shape[0] < 2:
        raise ConfigError(f"BiLSTM parameters: W_y {w_y.shape}; expected (K, {2 * hidden}) = (K, 2H) with K >= 2")
    out["W_y"] = w_y
    return out


def init_params(hidden: int, inputs: int, classes: int, rng: np.random.Generator, scale: float = 0.5) -> Params:
    """Uniform(-scale, scale) parameters: ``hidden`` units per direction, ``inputs`` features, ``classes`` K."""
    shapes = {"W": (hidden, inputs), "U": (hidden, hidden), "b": (hidden,)}
    out = {key(d, f"{k}_{g}"): rng.uniform(-scale, scale, shapes[k]) for d in DIRECTIONS for g in GATES for k in shapes}
    out["W_y"] = rng.uniform(-scale, scale, (classes, 2 * hidden))
    return out


def direction_params(params: Params, direction: str) -> Params:
    """One direction's gates without the prefix: ``{"W_f": ..., "U_f": ..., ...}``."""
    prefix = f"{direction}."
    return {name[len(prefix):]: value for name, value in params.items() if name.startswith(prefix)}


def to_lstm_params(params: Params, direction: str) -> Params:
    """One direction as :mod:`lstmtext.explain.reference.lstm` parameters (``W_c`` becomes ``W_a``), for checks and torch."""
    p = direction_params(params, direction)
    return {f"{k}_{TO_LSTM[g]}": p[f"{k}_{g}"] for g in GATES for k in ("W", "U", "b")}


def direction_forward(p: Params, xs: np.ndarray, positions: Sequence[int]) -> list[DirectionStep]:
    """Run one direction over the positions in the order given, from h = c = 0 (2.16-2.21)."""
    hidden = p["b_f"].shape[0]
    h, c = np.zeros(hidden), np.zeros(hidden)  # (H,) each
    steps = []
    for t in positions:
        x = xs[t]  # (D,)
        net = {g: p[f"W_{g}"] @ x + p[f"U_{g}"] @ h + p[f"b_{g}"] for g in GATES}  # (H,) each
        f = sigmoid(net["f"])  # (2.16)
        i = sigmoid(net["i"])  # (2.17)
        c_tilde = np.tanh(net["c"])  # (2.18)
        c_new = f * c + i * c_tilde  # (2.19)
        o = sigmoid(net["o"])  # (2.20)
        tanh_c = np.tanh(c_new)
        h_new = o * tanh_c  # (2.21)
        steps.append(DirectionStep(t, x, h, c, net, f, i, c_tilde, c_new, o, tanh_c, h_new))
        h, c = h_new, c_new
    return steps


def softmax(s: np.ndarray) -> np.ndarray:
    """softmax(s)_k = exp(s_k) / sum_j exp(s_j)  (2.15), shifted by max(s) against overflow."""
    e = np.exp(s - np.max(s))
    return e / e.sum()


def forward(params: Params, xs: np.ndarray, labels: Sequence[int]) -> tuple[dict, list[OutputStep], float]:
    """Both directions (2.16-2.21), the concatenation (2.22), softmax (2.23), the loss (2.24) and dy_t (2.25).

    Returns:
        The direction steps (``{"fw": [...], "bw": [...]}``, each in reading order), the output layer per
        position, and E = sum_t LCE(y_rt, y_t).
    """
    xs = np.asarray(xs, dtype=np.float64)  # (T, D)
    size = len(xs)
    steps = {
        "fw": direction_forward(direction_params(params, "fw"), xs, range(size)),
        "bw": direction_forward(direction_params(params, "bw"), xs, range(size - 1, -1, -1)),
    }
    h_fw = {s.t: s.h for s in steps["fw"]}
    h_bw = {s.t: s.h for s in steps["bw"]}
    w_y = params["W_y"]  # (K, 2H)
    outputs = []
    for t in range(size):
        h = np.concatenate([h_fw[t], h_bw[t]])  # (2H,)  (2.22)
        s = w_y @ h  # (K,), no output bias b_y (section 2.8.2)
        y = softmax(s)  # (2.23)
        y_r = np.eye(len(y))[labels[t]]  # (K,) one-hot label
        loss = float(-np.sum(y_r * np.log(y)))  # (2.24)
        dy = -(y_r - y)  # (2.25)
        outputs.append(OutputStep(t, h, s, y, y_r, loss, dy, w_y.T @ dy))  # W_y^T dy_t  (2.27)
    return steps, outputs, float(sum(o.loss for o in outputs))


def direction_backward(
    p: Params, steps: list[DirectionStep], delta_out: dict[int, np.ndarray], grads: Params, prefix: str
) -> list[DirectionStepGrad]:
    """BPTT of one direction: visit its steps in reverse reading order; add (2.43)-(2.45) into ``grads``.

    Args:
        p: The direction's parameters (no prefix).
        steps: Its forward steps, in reading order.
        delta_out: Position t -> this direction's half of W_y^T dy_t (2.27).
        grads: The gradient dict to accumulate into (keys ``prefix + "W_f"`` ...).
        prefix: ``"fw."`` or ``"bw."``.
    """
    hidden = p["b_f"].shape[0]
    delta_rec = np.zeros(hidden)  # (2.41) from the step read after this one; 0 at the last one read
    dc_next, f_next = np.zeros(hidden), np.zeros(hidden)  # dc_{t+1}, f_{t+1} in (2.29)
    records = []
    for s in reversed(steps):
        delta_h = delta_out[s.t] + delta_rec  # (2.42); at the last step read only (2.27)
        do = s.tanh_c * delta_h  # (2.28)
        dc = (1.0 - s.tanh_c**2) * s.o * delta_h + f_next * dc_next  # (2.29)
        df = s.c_prev * dc  # (2.30)
        di = s.c_tilde * dc  # (2.31)
        dc_tilde = s.i * dc  # (2.32)
        delta = {
            "f": df * s.f * (1.0 - s.f),  # (2.33) = (2.37)
            "i": di * s.i * (1.0 - s.i),  # (2.34) = (2.38)
            "c": dc_tilde * (1.0 - s.c_tilde**2),  # (2.35) = (2.39)
            "o": do * s.o * (1.0 - s.o),  # (2.36) = (2.40)
        }
        delta_h_prev = sum(p[f"U_{g}"].T @ delta[g] for g in GATES)  # (2.41)
        for g in GATES:
            grads[f"{prefix}W_{g}"] += np.outer(delta[g], s.x)  # (2.43)
            grads[f"{prefix}U_{g}"] += np.outer(delta[g], s.h_prev)  # (2.44)
            grads[f"{prefix}b_{g}"] += delta[g]  # (2.45)
        records.append(DirectionStepGrad(s.t, delta_out[s.t], delta_rec, delta_h, do, dc, df, di, dc_tilde, delta,
                                         delta_h_prev))
        delta_rec, dc_next, f_next = delta_h_prev, dc, s.f
    return records


def backward(params: Params, steps: dict, outputs: list[OutputStep]) -> tuple[Params, dict]:
    """dW_y = sum_t dy_t (x) h_t (2.26), then BPTT through both directions (2.27)-(2.45).

    Returns:
        The gradients (same keys as ``params``) and each direction's BPTT records in visiting order.
    """
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    grads["W_y"] = sum(np.outer(o.dy, o.h) for o in outputs)  # (K, 2H)  (2.26)
    hidden = params["fw.b_f"].shape[0]
    halves = {"fw": {o.t: o.delta_h[:hidden] for o in outputs}, "bw": {o.t: o.delta_h[hidden:] for o in outputs}}
    records = {
        d: direction_backward(direction_params(params, d), steps[d], halves[d], grads, f"{d}.") for d in DIRECTIONS
    }
    return grads, records


def check_sequence(params: Params, xs, labels) -> tuple[np.ndarray, np.ndarray]:
    """``xs`` as (T, D) float64 and ``labels`` as (T,) ints in 0 .. K-1.

    Raises:
        ConfigError: Shapes or labels do not fit the parameters.
    """
    inputs, classes = params["fw.W_f"].shape[1], params["W_y"].shape[0]
    xs = np.asarray(xs, dtype=np.float64)
    if xs.ndim != 2 or xs.shape[1] != inputs or len(xs) == 0:
        raise ConfigError(f"BiLSTM: inputs have shape {xs.shape}, expected (T, {inputs}) with T >= 1")
    labels = np.asarray(labels)
    if labels.shape != (len(xs),) or not np.issubdtype(labels.dtype, np.integer) or np.any(labels < 0) \
            or np.any(labels >= classes):
        raise ConfigError(f"BiLSTM: labels {labels.tolist()}; expected {len(xs)} class indices in 0..{classes - 1}")
    return xs, labels


def sgd_update(params: Params, grads: Params, lr: float) -> Params:
    """theta_(baru) = theta_(lama) - eta * dE/dtheta  (2.46), for every one of the 25 parameters."""
    return {name: value - lr * grads[name] for name, value in params.items()}


def loss_of(params: Params, xs, labels) -> float:
    """E = sum_t LCE(y_rt, y_t) (2.24) of one sequence."""
    return forward(params, xs, labels)[2]


def run_sequence(params: Params, xs, labels, lr: float) -> BiLSTMRun:
    """Forward, loss, BPTT and one SGD step (a mini-batch of this one sequence)."""
    xs, labels = check_sequence(params, xs, labels)
    steps, outputs, loss = forward(params, xs, labels)
    grads, records = backward(params, steps, outputs)
    updated = sgd_update(params, grads, lr)
    return BiLSTMRun(params, xs, labels, lr, steps, outputs, loss, records, grads, updated,
                     loss_of(updated, xs, labels))


def minibatch_gradients(params: Params, batch: Sequence[tuple[object, object]]) -> tuple[float, Params]:
    """The mean loss over a mini-batch of (xs, labels) sequences and its gradient (section 2.8.3).

    Sequences may differ in length; each one's loss is its E = sum_t LCE, and the mini-batch averages them.
    """
    if not batch:
        raise ConfigError("BiLSTM: the mini-batch is empty; give at least one (inputs, labels) sequence")
    total = {name: np.zeros_like(value) for name, value in params.items()}
    loss = 0.0
    for xs, labels in batch:
        xs, labels = check_sequence(params, xs, labels)
        steps, outputs, e = forward(params, xs, labels)
        grads, _ = backward(params, steps, outputs)
        loss += e
        for name in total:
            total[name] += grads[name]
    return loss / len(batch), {name: value / len(batch) for name, value in total.items()}


def minibatch_step(params: Params, batch: Sequence[tuple[object, object]], lr: float) -> Params:
    """One mini-batch SGD step (2.46) on the mean loss of ``batch``."""
    return sgd_update(params, minibatch_gradients(params, batch)[1], lr)
