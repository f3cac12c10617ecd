"""The worked examples of the source material as data, and the functions that run them step by step.

* The slides' example ("News Classification using RNN/LSTM"): a scalar LSTM (H = 1, D = 2) over two
  steps, loss 1/2 (out_t - target_t)^2 at every step, one SGD step with learning rate 0.1.
* The second lecture's gate example ("Introduction to LSTM"): one step of a scalar LSTM (H = 1, D = 1)
  from x = 1, h_prev = 1, c_prev = 2, computed by hand to 3 decimals.
* :func:`run_case` runs any small case the same way (``lstmtext explain --weights FILE.json``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lstmtext.errors import ConfigError
from lstmtext.explain.reference import lstm, rnn
from lstmtext.explain.reference.lstm import Params

SLIDES_WEIGHTS: dict[str, object] = {
    "W_a": [0.45, 0.25], "U_a": 0.15, "b_a": 0.2,
    "W_i": [0.95, 0.8], "U_i": 0.8, "b_i": 0.65,
    "W_f": [0.7, 0.45], "U_f": 0.1, "b_f": 0.15,
    "W_o": [0.6, 0.4], "U_o": 0.25, "b_o": 0.1,
}  # fmt: skip
"""The slides' weights: per gate W (1, 2), U (1, 1), b (1,) written as the slides do."""
SLIDES_INPUTS = ((1.0, 2.0), (0.5, 3.0))
"""x_0 and x_1, (T=2, D=2)."""
SLIDES_TARGETS = (0.5, 1.25)
"""The label of each step."""
SLIDES_LR = 0.1
"""The learning rate of the slides' SGD step."""

GATES_TERMS: dict[str, tuple[float, float, float, float]] = {
    "f": (1.63, 0.0, 2.70, 1.62),
    "i": (1.65, 0.0, 2.00, 0.62),
    "a": (0.94, 0.0, 1.41, -0.32),
    "o": (-0.19, 0.0, 4.38, 0.59),
}
"""The lecture's gate weights in PyTorch's two-bias form: gate -> (W_x, b_x, W_h, b_h).

The lecture prints the forget gate's sum (1.63*1 + 0 + 2.7*1 + 1.62, i.e. W_if x + b_if + W_hf h + b_hf)
and the output gate's (-0.19*1 + 0 + 4.38*1 + 0.59); the pictures with the input-gate and candidate
weights are missing from the text. The values used for those two reproduce the printed i = 0.986 and
candidate = 0.966; they are, as far as we know, the ones of the StatQuest LSTM walk-through, which the
printed forget and output weights match too.
"""
GATES_X, GATES_H_PREV, GATES_C_PREV = 1.0, 1.0, 2.0
"""The lecture's input x_t, previous hidden state h_{t-1} and previous cell state c_{t-1}."""
GATES_DECIMALS = 3
"""The lecture rounds every intermediate value to 3 decimals."""


@dataclass
class CaseRun:
    """One forward pass, and when there are targets the backward pass and one SGD step, of a small case."""

    cell: str  # "lstm" or "rnn"
    params: Params
    xs: np.ndarray  # (T, D)
    targets: np.ndarray | None  # (T, H)
    lr: float
    steps: list  # LSTMStep or RNNStep records, time order
    loss: float | None  # sum_t 1/2 ||out_t - target_t||^2
    grads: lstm.LSTMGrads | rnn.RNNGrads | None
    updated: Params | None  # params - lr * grads
    nonlinearity: str = "tanh"  # rnn only


@dataclass
class GatesRun:
    """The lecture's one-step gate example, at full precision and rounded as the lecture does."""

    terms: dict[str, tuple[float, float, float, float]]  # gate -> (W_x, b_x, W_h, b_h)
    x: float
    h_prev: float
    c_prev: float
    exact: lstm.LSTMStep
    hand: lstm.LSTMStep  # every intermediate rounded to GATES_DECIMALS
    decimals: int


def run_case(
    params: Mapping[str, object],
    xs,
    targets=None,
    lr: float = 0.1,
    cell: str = "lstm",
    nonlinearity: str = "tanh",
    h0=None,
    c0=None,
) -> CaseRun:
    """Run a small case: forward; with targets also the loss 1/2 (out - target)^2, BPTT and one SGD step.

    Args:
        params: Cell parameters (as :func:`lstm.as_params` / :func:`rnn.as_params` accept them).
        xs: Inputs, (T, D) (a flat list is one feature per step).
        targets: Per-step targets, (T,) for H = 1 or (T, H); None runs the forward pass only.
        lr: The SGD learning rate.
        cell: ``lstm`` or ``rnn``.
        nonlinearity: The Elman cell's activation, ``tanh`` or ``relu``.
        h0: Initial hidden state (H,), zeros by default.
        c0: Initial cell state (H,) (LSTM only), zeros by default.

    Raises:
        ConfigError: Unknown cell, or inputs / targets whose shapes do not fit the parameters.
    """
    if cell not in ("lstm", "rnn"):
        raise ConfigError(f"explain: cell must be 'lstm' or 'rnn'. Got {cell!r} instead.")
    p = lstm.as_params(params) if cell == "lstm" else rnn.as_params(params)
    first_w = p["W_a"] if cell == "lstm" else p["W"]  # (H, D)
    hidden, inputs = first_w.shape
    xs = np.asarray(xs, dtype=np.float64)
    xs = xs.reshape(-1, 1) if xs.ndim == 1 else xs  # (T, D)
    if xs.ndim != 2 or xs.shape[1] != inputs or len(xs) == 0:
        raise ConfigError(
            f"explain: inputs have shape {xs.shape}, expected (T, {inputs}) with T >= 1 for weights of input size "
            f"D = {inputs}; give one {inputs}-number vector per step"
        )
    if cell == "lstm":
        steps = lstm.lstm_forward(p, xs, h0, c0)
        outs = lstm.hidden_states(steps)  # (T, H)
    else:
        steps = rnn.rnn_forward(p, xs, h0, nonlinearity)
        outs = rnn.hidden_states(steps)  # (T, H)
    run = CaseRun(cell, p, xs, None, lr, steps, None, None, None, nonlinearity)
    if targets is None:
        return run
    y = np.asarray(targets, dtype=np.float64)
    if y.size != outs.size:
        raise ConfigError(
            f"explain: targets have shape {y.shape}, expected ({len(xs)},) or ({len(xs)}, {hidden}): one target "
            f"per step and hidden unit"
        )
    run.targets = y.reshape(outs.shape)  # (T, H)
    run.loss, d_h = lstm.squared_error(outs, run.targets)  # d_h: (T, H) = out_t - target_t
    if cell == "lstm":
        run.grads = lstm.lstm_backward(p, steps, d_h)
    else:
        run.grads = rnn.rnn_backward(p, steps, d_h, nonlinearity)
    run.updated = lstm.sgd_update(p, run.grads.params, lr)
    return run


def slides_params() -> Params:
    """The slides' weights as reference parameters (W (1, 2), U (1, 1), b (1,) per gate)."""
    return lstm.as_params(SLIDES_WEIGHTS)


def run_slides_example() -> CaseRun:
    """The slides' example: forward t = 0, 1; backward t = 1, 0; gradients; the SGD step (lr 0.1)."""
    return run_case(SLIDES_WEIGHTS, SLIDES_INPUTS, SLIDES_TARGETS, lr=SLIDES_LR)


def gates_params() -> Params:
    """The lecture's gate weights as reference parameters: W = W_x, U = W_h, b = b_x + b_h (H = D = 1)."""
    raw: dict[str, object] = {}
    for g, (w_x, b_x, w_h, b_h) in GATES_TERMS.items():
        raw[f"W_{g}"], raw[f"U_{g}"], raw[f"b_{g}"] = [w_x], w_h, b_x + b_h
    return lstm.as_params(raw)


def run_gates_example() -> GatesRun:
    """One LSTM step from x = 1, h_prev = 1, c_prev = 2: exact and rounded to 3 decimals like the lecture."""
    params = gates_params()
    x, h, c = np.array([GATES_X]), np.array([GATES_H_PREV]), np.array([GATES_C_PREV])  # (1,) each
    return GatesRun(
        terms=dict(GATES_TERMS),
        x=GATES_X,
        h_prev=GATES_H_PREV,
        c_prev=GATES_C_PREV,
        exact=lstm.lstm_step(params, x, h, c),
        hand=lstm.lstm_step(params, x, h, c, decimals=GATES_DECIMALS),
        decimals=GATES_DECIMALS,
    )


@dataclass
class TokenTrace:
    """What a trained LSTM does token by token (for ``lstmtext explain BUNDLE "some text"``)."""

    gates: dict[str, np.ndarray]  # "i", "f", "a", "o" -> (T, H): the last layer's forward direction
    cell: np.ndarray  # (T, H) state_t of the last layer's forward direction
    cell_norm: np.ndarray  # (T,) ||state_t||
    probs: np.ndarray  # (T, C) softmax of the classifier after reading tokens 0 .. t only


def encode_like_torch(module, xs: np.ndarray) -> tuple[np.ndarray, list[lstm.LSTMStep]]:
    """Run every layer and direction of a ``torch.nn.LSTM`` (or a module with its weight names) on ``xs`` (T, D).

    Returns:
        The final hidden state in the classifier's layout (dirs * H,): [forward out at the last token,
        backward out at the first token] of the last layer, and the last layer's forward steps.
    """
    inp, bidirectional = np.asarray(xs, dtype=np.float64), getattr(module, "bidirectional", False)
    for layer in range(getattr(module, "num_layers", 1)):
        fw = lstm.params_from_torch(module, layer)
        if bidirectional:
            bw = lstm.params_from_torch(module, layer, reverse=True)
            inp, steps, steps_bw = lstm.bidirectional_forward(fw, bw, inp)  # inp: (T, 2H)
        else:
            steps = lstm.lstm_forward(fw, inp)
            inp = lstm.hidden_states(steps)  # (T, H)
    final = np.concatenate([steps[-1].h, steps_bw[-1].h]) if bidirectional else steps[-1].h
    return final, steps


def trace_tokens(module, xs, fc_weight, fc_bias) -> TokenTrace:
    """Gate activations, cell-state norm and class probabilities after each token of one text.

    Reproduces a classifier "embedding -> LSTM -> Linear on the final hidden state" (pooling ``last``);
    the probabilities after token t are those of the text cut after t (for a BiLSTM the backward
    direction then starts at token t).

    Args:
        module: The classifier's ``torch.nn.LSTM``.
        xs: The text's embedded tokens, (T, E).
        fc_weight: The head's weight, (C, dirs * H).
        fc_bias: The head's bias, (C,).
    """
    xs = np.asarray(xs, dtype=np.float64)  # (T, E)
    _, steps = encode_like_torch(module, xs)
    stacked = lstm.stack_steps(steps)
    w, b = np.asarray(fc_weight, dtype=np.float64), np.asarray(fc_bias, dtype=np.float64)
    if getattr(module, "bidirectional", False) and getattr(module, "num_layers", 1) == 1:
        # the backward direction restarts at each cut: every cut's pass in step, one product per step
        features = np.concatenate([stacked["h"], prefix_backward_outs(lstm.params_from_torch(module, 0, reverse=True),
                                                                      xs)], axis=1)  # (T, 2H)
    elif getattr(module, "bidirectional", False):  # a second layer reads the first's states, which every cut changes
        features = np.stack([encode_like_torch(module, xs[: t + 1])[0] for t in range(len(xs))])  # (T, 2H)
    else:
        features = stacked["h"]  # (T, H): a forward LSTM's out_t only depends on tokens 0 .. t
    logits = features @ w.T + b  # (T, C)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return TokenTrace(
        gates={g: stacked[g] for g in ("i", "f", "a", "o")},
        cell=stacked["c"],
        cell_norm=np.linalg.norm(stacked["c"], axis=1),
        probs=exp / exp.sum(axis=1, keepdims=True),
    )


def prefix_backward_outs(params: Params, xs: np.ndarray) -> np.ndarray:
    """The reverse direction's output after reading ``xs[t], xs[t - 1], .., xs[0]``, for every cut ``t``: (T, H).

    The same numbers as :func:`lstm.lstm_forward` over each reversed prefix (to float64 rounding), but the T passes
    run in step: at step k the cuts t >= k read token t - k, as one product over those rows. Run one by one, the
    passes took 4.4 s for a 302-token text (H 128; 0.34 s in step), quadratic in T in Python steps.
    """
    xs = np.asarray(xs, dtype=np.float64)
    steps, hid = len(xs), params["U_i"].shape[0]
    proj = {g: xs @ params[f"W_{g}"].T + params[f"b_{g}"] for g in lstm.GATES}  # (T, H): each token's input part
    h, c = np.zeros((steps, hid)), np.zeros((steps, hid))
    for k in range(steps):
        rows, tokens = slice(k, steps), np.arange(steps - k)  # cut t = k + j reads token j at step k
        z = {g: proj[g][tokens] + h[rows] @ params[f"U_{g}"].T for g in lstm.GATES}
        c[rows] = np.tanh(z["a"]) * lstm.sigmoid(z["i"]) + lstm.sigmoid(z["f"]) * c[rows]
        h[rows] = np.tanh(c[rows]) * lstm.sigmoid(z["o"])
    return h
