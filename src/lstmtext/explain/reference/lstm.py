"""The LSTM cell in plain NumPy, written after the slides' equations: forward, BPTT and the SGD step.

Names follow the slides ("News Classification using RNN/LSTM"); PyTorch calls the candidate ``g``, the
slides call it ``a``, and the slides' ``state``/``out`` are PyTorch's ``c``/``h``. For one step::

    a_t     = tanh(W_a x_t + U_a out_{t-1} + b_a)          (candidate, PyTorch's g)
    i_t     = sigmoid(W_i x_t + U_i out_{t-1} + b_i)       (input gate)
    f_t     = sigmoid(W_f x_t + U_f out_{t-1} + b_f)       (forget gate)
    o_t     = sigmoid(W_o x_t + U_o out_{t-1} + b_o)       (output gate)
    state_t = a_t * i_t + f_t * state_{t-1}
    out_t   = tanh(state_t) * o_t

Shapes: hidden size H, input size D; per gate ``W`` is (H, D), ``U`` is (H, H), ``b`` is (H,). The
slides' scalar cell is H = 1. Parameters are a plain dict ``{"W_a": ..., "U_a": ..., "b_a": ..., ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lstmtext.errors import ConfigError

GATES = ("a", "i", "f", "o")
"""The reference's gate order: candidate a (PyTorch's g), input i, forget f, output o."""
TORCH_ORDER = ("i", "f", "a", "o")
"""Which reference gate each quarter of PyTorch's stacked (4H, .) weights holds: i, f, g, o."""

Params = dict[str, np.ndarray]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """sigma(z) = 1 / (1 + exp(-z)), computed without overflow for large |z|."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


@dataclass
class LSTMStep:
    """Everything the forward pass computed at one time step (all vectors are (H,), ``x`` is (D,))."""

    x: np.ndarray
    h_prev: np.ndarray  # out_{t-1}
    c_prev: np.ndarray  # state_{t-1}
    z: dict[str, np.ndarray]  # pre-activation of each gate: W_g x_t + U_g out_{t-1} + b_g
    a: np.ndarray
    i: np.ndarray
    f: np.ndarray
    o: np.ndarray
    c: np.ndarray  # state_t
    tanh_c: np.ndarray  # tanh(state_t)
    h: np.ndarray  # out_t


@dataclass
class LSTMStepGrad:
    """The backward quantities of one step, named as in the slides (all (H,) except ``d_x`` (D,))."""

    delta: np.ndarray  # Delta_t = dE_t / d out_t, the loss at this step (out_t - target_t for 1/2 (.)^2)
    d_h_next: np.ndarray  # Delta out_t, passed back from step t+1 (0 at the last step)
    d_out: np.ndarray  # delta out_t = Delta_t + Delta out_t
    d_state: np.ndarray
    d_a: np.ndarray
    d_i: np.ndarray
    d_f: np.ndarray
    d_o: np.ndarray
    d_x: np.ndarray  # W^T . delta gates_t
    d_h_prev: np.ndarray  # Delta out_{t-1} = U^T . delta gates_t, passed back to step t-1


@dataclass
class LSTMGrads:
    """Result of :func:`lstm_backward`: per-step records (time order), parameter gradients, initial-state ones."""

    steps: list[LSTMStepGrad]
    params: Params  # same keys and shapes as the parameters
    d_h0: np.ndarray  # (H,)
    d_c0: np.ndarray  # (H,)


def cell_arrays(w, u, b, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """W (H, D), U (H, H), b (H,) as float64 arrays; for H = 1 a flat W, a scalar U and a scalar b are accepted.

    Raises:
        ConfigError: The shapes do not agree (``where`` starts the message).
    """
    b = np.atleast_1d(np.asarray(b, dtype=np.float64))  # (H,)
    w = np.asarray(w, dtype=np.float64)
    w = w.reshape(1, -1) if w.ndim <= 1 else w  # (H, D); a number or a flat list is the H = 1 row
    u = np.asarray(u, dtype=np.float64)
    u = u.reshape(1, 1) if u.ndim < 2 and u.size == 1 else u  # (H, H)
    hidden = b.shape[0]
    if b.ndim != 1 or w.ndim != 2 or w.shape[0] != hidden or u.shape != (hidden, hidden):
        raise ConfigError(
            f"{where}: W {w.shape}, U {u.shape}, b {b.shape}; expected W (H, D), U (H, H), b (H,) with H = {hidden}"
        )
    return w, u, b


def as_params(mapping: Mapping[str, object]) -> Params:
    """Convert ``{"W_a": ..., "U_a": ..., "b_a": ..., ...}`` to float64 arrays of the reference's shapes.

    Scalars and flat lists are accepted for the H = 1 cell of the slides: ``W_a=[0.45, 0.25]`` becomes
    (1, 2), ``U_a=0.15`` becomes (1, 1), ``b_a=0.2`` becomes (1,).

    Raises:
        ConfigError: A key is missing or the shapes do not agree.
    """
    out: Params = {}
    for g in GATES:
        for k in ("W", "U", "b"):
            if f"{k}_{g}" not in mapping:
                raise ConfigError(f"LSTM parameters: key '{k}_{g}' is missing; give W_g, U_g, b_g for g in a, i, f, o")
        w, u, b = cell_arrays(mapping[f"W_{g}"], mapping[f"U_{g}"], mapping[f"b_{g}"], f"LSTM parameters, gate '{g}'")
        out[f"W_{g}"], out[f"U_{g}"], out[f"b_{g}"] = w, u, b
    if len({out[f"W_{g}"].shape[1] for g in GATES}) != 1:
        raise ConfigError("LSTM parameters: the W_g have different input sizes D; every W_g must be (H, D)")
    return out


def init_params(hidden: int, inputs: int, rng: np.random.Generator, scale: float = 0.5) -> Params:
    """Uniform(-scale, scale) parameters for a cell with ``hidden`` units and ``inputs`` features."""
    shapes = {"W": (hidden, inputs), "U": (hidden, hidden), "b": (hidden,)}
    return {f"{k}_{g}": rng.uniform(-scale, scale, shapes[k]) for g in GATES for k in ("W", "U", "b")}


def lstm_step(
    params: Params, x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, decimals: int | None = None
) -> LSTMStep:
    """One forward step (equations in the module docstring).

    Args:
        params: The cell's parameters (see :func:`as_params`).
        x: Input x_t, (D,).
        h_prev: out_{t-1}, (H,).
        c_prev: state_{t-1}, (H,).
        decimals: If set, round every intermediate value to this many decimals, as a hand calculation
            does (the second lecture's example rounds to 3); None computes at full precision.
    """
    r = (lambda v: np.round(v, decimals)) if decimals is not None else (lambda v: v)
    z = {g: r(params[f"W_{g}"] @ x + params[f"U_{g}"] @ h_prev + params[f"b_{g}"]) for g in GATES}  # (H,) each
    a, i, f, o = r(np.tanh(z["a"])), r(sigmoid(z["i"])), r(sigmoid(z["f"])), r(sigmoid(z["o"]))  # (H,) each
    c = r(a * i + f * c_prev)  # (H,)
    tanh_c = r(np.tanh(c))  # (H,)
    return LSTMStep(x=x, h_prev=h_prev, c_prev=c_prev, z=z, a=a, i=i, f=f, o=o, c=c, tanh_c=tanh_c, h=r(tanh_c * o))


def lstm_forward(
    params: Params,
    xs: np.ndarray,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
    decimals: int | None = None,
) -> list[LSTMStep]:
    """Run the cell over a sequence ``xs`` (T, D) from out_{-1} = h0 and state_{-1} = c0 (zeros by default).

    Returns:
        One :class:`LSTMStep` per time step, in time order.
    """
    hidden = params["b_a"].shape[0]
    h = np.zeros(hidden) if h0 is None else np.asarray(h0, dtype=np.float64)  # (H,)
    c = np.zeros(hidden) if c0 is None else np.asarray(c0, dtype=np.float64)  # (H,)
    steps = []
    for x in np.asarray(xs, dtype=np.float64):  # x: (D,)
        step = lstm_step(params, x, h, c, decimals)
        steps.append(step)
        h, c = step.h, step.c
    return steps


def hidden_states(steps: list[LSTMStep]) -> np.ndarray:
    """The outputs out_0 .. out_{T-1} stacked to (T, H)."""
    return np.stack([s.h for s in steps])


def stack_steps(steps: list[LSTMStep]) -> dict[str, np.ndarray]:
    """Per-step gates and states stacked to (T, H) arrays: keys z_a.. z_o, a, i, f, o, c, tanh_c, h."""
    out = {f"z_{g}": np.stack([s.z[g] for s in steps]) for g in GATES}
    out.update({k: np.stack([getattr(s, k) for s in steps]) for k in ("a", "i", "f", "o", "c", "tanh_c", "h")})
    return out


def lstm_backward(
    params: Params, steps: list[LSTMStep], d_h: np.ndarray, d_c_last: np.ndarray | None = None
) -> LSTMGrads:
    """Backpropagation through time, from the last step to the first.

    With Delta_t = dE/d out_t coming from the loss at step t (``d_h[t]``) and Delta out_t passed back from
    step t+1 (zero at the last step)::

        delta out_t   = Delta_t + Delta out_t
        delta state_t = delta out_t * o_t * (1 - tanh^2(state_t)) + delta state_{t+1} * f_{t+1}
        delta a_t     = delta state_t * i_t * (1 - a_t^2)
        delta i_t     = delta state_t * a_t * i_t * (1 - i_t)
        delta f_t     = delta state_t * state_{t-1} * f_t * (1 - f_t)
        delta o_t     = delta out_t * tanh(state_t) * o_t * (1 - o_t)
        delta x_t     = W^T . delta gates_t          Delta out_{t-1} = U^T . delta gates_t
        dW = sum_t delta gates_t (x) x_t     dU = sum_t delta gates_t (x) out_{t-1}     db = sum_t delta gates_t

    Args:
        params: The parameters the forward pass used.
        steps: The records of :func:`lstm_forward`.
        d_h: dE/d out_t for every step, (T, H); zeros where the loss does not look at a step.
        d_c_last: dE/d state_{T-1} from outside the sequence (default zero).
    """
    hidden = params["b_a"].shape[0]
    d_h = np.asarray(d_h, dtype=np.float64).reshape(len(steps), hidden)  # (T, H)
    grads = {key: np.zeros_like(value) for key, value in params.items()}
    d_h_next = np.zeros(hidden)  # (H,) Delta out_t from step t+1
    # (H,) delta state_{t+1} * f_{t+1}: what state_t receives through the next step's forget gate
    d_c_carry = np.zeros(hidden) if d_c_last is None else np.asarray(d_c_last, dtype=np.float64)
    records: list[LSTMStepGrad] = []
    for t in range(len(steps) - 1, -1, -1):
        s = steps[t]
        d_out = d_h[t] + d_h_next  # (H,)
        d_state = d_out * s.o * (1.0 - s.tanh_c**2) + d_c_carry  # (H,)
        d_gate = {
            "a": d_state * s.i * (1.0 - s.a**2),
            "i": d_state * s.a * s.i * (1.0 - s.i),
            "f": d_state * s.c_prev * s.f * (1.0 - s.f),
            "o": d_out * s.tanh_c * s.o * (1.0 - s.o),
        }  # (H,) each
        d_x = sum(params[f"W_{g}"].T @ d_gate[g] for g in GATES)  # (D,)
        d_h_prev = sum(params[f"U_{g}"].T @ d_gate[g] for g in GATES)  # (H,)
        for g in GATES:
            grads[f"W_{g}"] += np.outer(d_gate[g], s.x)  # (H, D)
            grads[f"U_{g}"] += np.outer(d_gate[g], s.h_prev)  # (H, H)
            grads[f"b_{g}"] += d_gate[g]  # (H,)
        records.append(
            LSTMStepGrad(
                delta=d_h[t], d_h_next=d_h_next, d_out=d_out, d_state=d_state, d_a=d_gate["a"], d_i=d_gate["i"],
                d_f=d_gate["f"], d_o=d_gate["o"], d_x=d_x, d_h_prev=d_h_prev,
            )
        )
        d_h_next, d_c_carry = d_h_prev, d_state * s.f
    return LSTMGrads(steps=records[::-1], params=grads, d_h0=d_h_next, d_c0=d_c_carry)


def squared_error(outs: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """E = sum_t 1/2 ||out_t - target_t||^2 and its gradient Delta_t = out_t - target_t, both for (T, H)."""
    diff = np.asarray(outs, dtype=np.float64) - np.asarray(targets, dtype=np.float64).reshape(np.shape(outs))
    return float(0.5 * np.sum(diff**2)), diff


def sgd_update(params: Params, grads: Params, lr: float) -> Params:
    """One plain SGD step on every parameter: theta_new = theta_old - lr * dE/dtheta (returns a new dict)."""
    return {key: value - lr * grads[key] for key, value in params.items()}


def bidirectional_forward(
    forward: Params, backward: Params, xs: np.ndarray
) -> tuple[np.ndarray, list[LSTMStep], list[LSTMStep]]:
    """BiLSTM: h_t = [forward out_t, backward out_t], the backward cell reading the reversed sequence.

    Returns:
        The outputs (T, 2H) aligned by position, the forward steps and the backward cell's steps (in the
        order that cell ran them, i.e. the last position first).
    """
    steps_fw = lstm_forward(forward, xs)
    steps_bw = lstm_forward(backward, np.asarray(xs)[::-1])
    return np.concatenate([hidden_states(steps_fw), hidden_states(steps_bw)[::-1]], axis=1), steps_fw, steps_bw


def bidirectional_backward(
    forward: Params, backward: Params, steps_fw: list[LSTMStep], steps_bw: list[LSTMStep], d_h: np.ndarray
) -> tuple[LSTMGrads, LSTMGrads, np.ndarray]:
    """BPTT for :func:`bidirectional_forward` given dE/dh_t (T, 2H): both cells' grads and dE/dx_t (T, D)."""
    hidden = forward["b_a"].shape[0]
    g_fw = lstm_backward(forward, steps_fw, d_h[:, :hidden])
    g_bw = lstm_backward(backward, steps_bw, d_h[::-1, hidden:])
    d_x = np.stack([s.d_x for s in g_fw.steps]) + np.stack([s.d_x for s in g_bw.steps])[::-1]  # (T, D)
    return g_fw, g_bw, d_x


def params_from_arrays(w_ih: np.ndarray, w_hh: np.ndarray, b_ih=None, b_hh=None) -> Params:
    """Split PyTorch-layout arrays (4H, D), (4H, H), (4H,), (4H,) in order i, f, g, o into the reference's.

    The reference has one bias per gate: b_g = b_ih_g + b_hh_g.
    """
    w_ih, w_hh = np.array(w_ih, dtype=np.float64), np.array(w_hh, dtype=np.float64)  # copies
    hidden = w_hh.shape[1]
    bias = np.zeros(4 * hidden)  # (4H,)
    for extra in (b_ih, b_hh):
        bias = bias if extra is None else bias + np.asarray(extra, dtype=np.float64)
    out: Params = {}
    for k, g in enumerate(TORCH_ORDER):
        rows = slice(k * hidden, (k + 1) * hidden)
        out[f"W_{g}"], out[f"U_{g}"], out[f"b_{g}"] = w_ih[rows], w_hh[rows], bias[rows]
    return out


def params_to_arrays(params: Params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The inverse of :func:`params_from_arrays`: stacked (4H, D), (4H, H), (4H,) in PyTorch's order i, f, g, o."""
    return tuple(np.concatenate([params[f"{k}_{g}"] for g in TORCH_ORDER]) for k in ("W", "U", "b"))


def _torch_names(module, layer: int, reverse: bool) -> list[str]:
    layers, both = getattr(module, "num_layers", 1), getattr(module, "bidirectional", False)
    if not 0 <= layer < layers or (reverse and not both):
        raise ConfigError(
            f"params_from_torch: the module has {layers} layer(s), bidirectional={both}; "
            f"got layer={layer}, reverse={reverse}"
        )
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    return [f"{k}{suffix}" for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


def read_torch(module, layer: int = 0, reverse: bool = False) -> list[np.ndarray | None]:
    """float64 copies of ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` of one layer and direction."""
    arrays = [getattr(module, name, None) for name in _torch_names(module, layer, reverse)]
    return [None if a is None else a.detach().cpu().double().numpy().copy() for a in arrays]


def write_torch(module, layer: int, reverse: bool, w_ih: np.ndarray, w_hh: np.ndarray, b: np.ndarray) -> None:
    """Copy arrays into one layer and direction of a torch module: ``bias_ih`` gets b, ``bias_hh`` gets 0."""
    import torch

    names = _torch_names(module, layer, reverse)
    if getattr(module, names[2], None) is None and np.any(b != 0):
        raise ConfigError("params_to_torch: the module has bias=False but the parameters have a nonzero bias")
    with torch.no_grad():
        for name, value in zip(names, (w_ih, w_hh, b, np.zeros_like(b))):
            target = getattr(module, name, None)
            if target is not None:
                target.copy_(torch.as_tensor(value, dtype=target.dtype))


def params_from_torch(module, layer: int = 0, reverse: bool = False) -> Params:
    """Read one direction of one layer of a ``torch.nn.LSTM`` as reference parameters (float64 copies).

    PyTorch stacks the gates as i, f, g, o in ``weight_ih_l{layer}`` (4H, D) and ``weight_hh_l{layer}``
    (4H, H); ``reverse=True`` reads the ``_reverse`` (backward-direction) weights.
    """
    if getattr(module, "proj_size", 0):
        raise ConfigError("params_from_torch: nn.LSTM with proj_size > 0 is not covered by the reference")
    return params_from_arrays(*read_torch(module, layer, reverse))


def params_to_torch(params: Params, module, layer: int = 0, reverse: bool = False) -> None:
    """Copy reference parameters into a ``torch.nn.LSTM`` (bias_ih gets b, bias_hh gets 0)."""
    write_torch(module, layer, reverse, *params_to_arrays(params))
