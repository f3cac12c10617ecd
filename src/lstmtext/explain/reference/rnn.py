"""The Elman RNN in plain NumPy: forward, backpropagation through time and the SGD step.

One step, with an activation ``phi`` that is ``tanh`` (the classic Elman cell) or ``relu``::

    z_t = W x_t + U h_{t-1} + b
    h_t = phi(z_t)

Shapes: hidden size H, input size D; ``W`` is (H, D), ``U`` is (H, H), ``b`` is (H,). Parameters are a
plain dict ``{"W": ..., "U": ..., "b": ...}``; PyTorch's two biases are summed into ``b``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lstmtext.errors import ConfigError
from lstmtext.explain.reference.lstm import Params, cell_arrays, read_torch, sgd_update, squared_error, write_torch

__all__ = [
    "NONLINEARITIES", "RNNGrads", "RNNStep", "RNNStepGrad", "as_params", "bidirectional_backward",
    "bidirectional_forward", "hidden_states", "init_params", "params_from_torch", "params_to_torch",
    "rnn_backward", "rnn_forward", "rnn_step", "sgd_update", "squared_error",
]

NONLINEARITIES = ("tanh", "relu")


@dataclass
class RNNStep:
    """What the forward pass computed at one step: ``x`` (D,), the rest (H,)."""

    x: np.ndarray
    h_prev: np.ndarray
    z: np.ndarray  # W x_t + U h_{t-1} + b
    h: np.ndarray  # phi(z_t)


@dataclass
class RNNStepGrad:
    """The backward quantities of one step (``d_x`` is (D,), the rest (H,))."""

    delta: np.ndarray  # dE_t / dh_t from the loss at this step
    d_h_next: np.ndarray  # passed back from step t+1 (0 at the last step)
    d_out: np.ndarray  # delta + d_h_next: all of dE/dh_t
    d_z: np.ndarray  # d_out * phi'(z_t)
    d_x: np.ndarray  # W^T d_z
    d_h_prev: np.ndarray  # U^T d_z, passed back to step t-1


@dataclass
class RNNGrads:
    """Result of :func:`rnn_backward`: per-step records (time order), parameter gradients and dE/dh0."""

    steps: list[RNNStepGrad]
    params: Params
    d_h0: np.ndarray


def _check_nonlinearity(nonlinearity: str) -> None:
    if nonlinearity not in NONLINEARITIES:
        raise ConfigError(f"RNN nonlinearity must be 'tanh' or 'relu'. Got {nonlinearity!r} instead.")


def as_params(mapping: Mapping[str, object]) -> Params:
    """Convert ``{"W": ..., "U": ..., "b": ...}`` to float64 arrays (scalars / flat lists allowed for H = 1).

    Raises:
        ConfigError: A key is missing or the shapes do not agree.
    """
    for key in ("W", "U", "b"):
        if key not in mapping:
            raise ConfigError(f"RNN parameters: key '{key}' is missing; give W (H, D), U (H, H) and b (H,)")
    w, u, b = cell_arrays(mapping["W"], mapping["U"], mapping["b"], "RNN parameters")
    return {"W": w, "U": u, "b": b}


def init_params(hidden: int, inputs: int, rng: np.random.Generator, scale: float = 0.5) -> Params:
    """Uniform(-scale, scale) parameters for a cell with ``hidden`` units and ``inputs`` features."""
    return {
        "W": rng.uniform(-scale, scale, (hidden, inputs)),
        "U": rng.uniform(-scale, scale, (hidden, hidden)),
        "b": rng.uniform(-scale, scale, hidden),
    }


def rnn_step(params: Params, x: np.ndarray, h_prev: np.ndarray, nonlinearity: str = "tanh") -> RNNStep:
    """One step: z_t = W x_t + U h_{t-1} + b, h_t = phi(z_t)."""
    z = params["W"] @ x + params["U"] @ h_prev + params["b"]  # (H,)
    h = np.tanh(z) if nonlinearity == "tanh" else np.maximum(z, 0.0)  # (H,)
    return RNNStep(x=x, h_prev=h_prev, z=z, h=h)


def rnn_forward(
    params: Params, xs: np.ndarray, h0: np.ndarray | None = None, nonlinearity: str = "tanh"
) -> list[RNNStep]:
    """Run the cell over ``xs`` (T, D) from h_{-1} = h0 (zeros by default); one record per step."""
    _check_nonlinearity(nonlinearity)
    h = np.zeros(params["b"].shape[0]) if h0 is None else np.asarray(h0, dtype=np.float64)  # (H,)
    steps = []
    for x in np.asarray(xs, dtype=np.float64):  # x: (D,)
        steps.append(rnn_step(params, x, h, nonlinearity))
        h = steps[-1].h
    return steps


def hidden_states(steps: list[RNNStep]) -> np.ndarray:
    """The outputs h_0 .. h_{T-1} stacked to (T, H)."""
    return np.stack([s.h for s in steps])


def rnn_backward(params: Params, steps: list[RNNStep], d_h: np.ndarray, nonlinearity: str = "tanh") -> RNNGrads:
    """Backpropagation through time, last step first.

    With delta_t = dE/dh_t from the loss at step t (``d_h[t]``)::

        d_out_t    = delta_t + U^T d_z_{t+1}
        d_z_t      = d_out_t * phi'(z_t)         phi' = 1 - h_t^2 (tanh) or [z_t > 0] (relu)
        d_x_t      = W^T d_z_t
        dW = sum_t d_z_t (x) x_t     dU = sum_t d_z_t (x) h_{t-1}     db = sum_t d_z_t

    Args:
        params: The parameters the forward pass used.
        steps: The records of :func:`rnn_forward`.
        d_h: dE/dh_t for every step, (T, H).
        nonlinearity: The activation the forward pass used.
    """
    _check_nonlinearity(nonlinearity)
    hidden = params["b"].shape[0]
    d_h = np.asarray(d_h, dtype=np.float64).reshape(len(steps), hidden)  # (T, H)
    grads = {key: np.zeros_like(value) for key, value in params.items()}
    d_h_next = np.zeros(hidden)  # (H,)
    records: list[RNNStepGrad] = []
    for t in range(len(steps) - 1, -1, -1):
        s = steps[t]
        d_out = d_h[t] + d_h_next  # (H,)
        slope = 1.0 - s.h**2 if nonlinearity == "tanh" else (s.z > 0).astype(np.float64)  # (H,)
        d_z = d_out * slope  # (H,)
        grads["W"] += np.outer(d_z, s.x)  # (H, D)
        grads["U"] += np.outer(d_z, s.h_prev)  # (H, H)
        grads["b"] += d_z  # (H,)
        d_x, d_h_prev = params["W"].T @ d_z, params["U"].T @ d_z  # (D,), (H,)
        records.append(RNNStepGrad(d_h[t], d_h_next, d_out, d_z, d_x, d_h_prev))
        d_h_next = d_h_prev
    return RNNGrads(steps=records[::-1], params=grads, d_h0=d_h_next)


def bidirectional_forward(
    forward: Params, backward: Params, xs: np.ndarray, nonlinearity: str = "tanh"
) -> tuple[np.ndarray, list[RNNStep], list[RNNStep]]:
    """Bidirectional RNN: h_t = [forward h_t, backward h_t], the backward cell reading the reversed sequence.

    Returns:
        The outputs (T, 2H) aligned by position, the forward steps and the backward cell's steps (in the
        order that cell ran them, i.e. the last position first).
    """
    steps_fw = rnn_forward(forward, xs, nonlinearity=nonlinearity)
    steps_bw = rnn_forward(backward, np.asarray(xs)[::-1], nonlinearity=nonlinearity)
    return np.concatenate([hidden_states(steps_fw), hidden_states(steps_bw)[::-1]], axis=1), steps_fw, steps_bw


def bidirectional_backward(
    forward: Params,
    backward: Params,
    steps_fw: list[RNNStep],
    steps_bw: list[RNNStep],
    d_h: np.ndarray,
    nonlinearity: str = "tanh",
) -> tuple[RNNGrads, RNNGrads, np.ndarray]:
    """BPTT for :func:`bidirectional_forward` given dE/dh_t (T, 2H): both cells' grads and dE/dx_t (T, D)."""
    hidden = forward["b"].shape[0]
    g_fw = rnn_backward(forward, steps_fw, d_h[:, :hidden], nonlinearity)
    g_bw = rnn_backward(backward, steps_bw, d_h[::-1, hidden:], nonlinearity)
    d_x = np.stack([s.d_x for s in g_fw.steps]) + np.stack([s.d_x for s in g_bw.steps])[::-1]  # (T, D)
    return g_fw, g_bw, d_x


def params_from_torch(module, layer: int = 0, reverse: bool = False) -> Params:
    """Read one direction of one layer of a ``torch.nn.RNN`` (tanh or relu) as reference parameters.

    ``W = weight_ih_l{layer}`` (H, D), ``U = weight_hh_l{layer}`` (H, H), ``b = bias_ih + bias_hh``; pass
    ``nonlinearity=module.nonlinearity`` to the forward and backward functions.
    """
    w_ih, w_hh, b_ih, b_hh = read_torch(module, layer, reverse)
    b = np.zeros(w_hh.shape[0]) + (0.0 if b_ih is None else b_ih) + (0.0 if b_hh is None else b_hh)  # (H,)
    return {"W": w_ih, "U": w_hh, "b": b}


def params_to_torch(params: Params, module, layer: int = 0, reverse: bool = False) -> None:
    """Copy reference parameters into a ``torch.nn.RNN`` (bias_ih gets b, bias_hh gets 0)."""
    write_torch(module, layer, reverse, params["W"], params["U"], params["b"])
