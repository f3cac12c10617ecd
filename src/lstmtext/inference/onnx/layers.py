"""The pieces the model writers compose: embedding, recurrent layers, pooling, attention, CNN banks, linear layers.

Shapes in the comments: ``B`` batch, ``T`` time (the width of ``ids``), ``E`` embedding, ``H`` hidden units,
``D`` directions. Every piece reads each text's first ``lengths[b]`` steps only, as the PyTorch models do:
the recurrent operators through ``sequence_lens``, pooling and attention through the real-step mask, the
convolutions through zeroed padding and the windows that start inside the text.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import TensorProto
from torch import nn

from lstmtext.inference.onnx.graph import INT64_MAX, Graph

# Gate blocks: PyTorch LSTM (i, f, g, o) -> ONNX (i, o, f, c); PyTorch GRU (r, z, n) -> ONNX (z, r, h).
GATE_ORDER = {"lstm": (0, 3, 1, 2), "gru": (1, 0, 2), "rnn": (0,)}
RECURRENT_OPS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


# ---- masks and lengths, once per graph ----------------------------------------------------------------------
def time_steps(g: Graph, tensor: str, axis: int) -> str:
    """``[0, 1, ..., n-1]`` (int64) for the length ``n`` of ``tensor`` along ``axis``."""
    size = g.add("Gather", [g.add("Shape", [tensor]), g.const(axis)], axis=0)
    return g.add("Range", [g.const(0), size, g.const(1)], name="steps")


def valid_mask(g: Graph) -> str:
    """``(B, T)`` bool: True at the real tokens of the post-padded ``ids``."""
    def make() -> str:
        steps = g.add("Unsqueeze", [time_steps(g, "ids", 1), g.const([0])])  # (1, T)
        return g.add("Less", [steps, lengths_b1(g)], name="valid")

    return g.once("valid", make)


def lengths_b1(g: Graph) -> str:
    """``lengths`` as ``(B, 1)`` int64."""
    return g.once("len_b1", lambda: g.add("Unsqueeze", ["lengths", g.const([1])], name="len_b1"))


def seq_lens(g: Graph) -> str:
    """``lengths`` as the recurrent operators' int32 ``sequence_lens``."""
    return g.once("seq_lens", lambda: g.add("Cast", ["lengths"], name="seq_lens", to=TensorProto.INT32))


def valid_float(g: Graph) -> str:
    """``(B, T, 1)`` float: 1 at real tokens, 0 on padding."""
    return g.once("valid_f", lambda: g.add("Cast", [g.add("Unsqueeze", [valid_mask(g), g.const([2])])],
                                           name="valid_f", to=TensorProto.FLOAT))


# ---- embedding and linear layers ----------------------------------------------------------------------------
def embedding(g: Graph, table: nn.Embedding, prefix: str, masked: bool = False) -> str:
    """The looked-up ids ``(B, T, E)``; ``masked``: exact zeros on padding (the CNN models' input)."""
    x = g.add("Gather", [g.weight(f"{prefix}embedding.weight", table.weight), "ids"], name=f"{prefix}emb", axis=0)
    return g.add("Mul", [x, valid_float(g)]) if masked else x


def linear(g: Graph, x: str, layer: nn.Linear, prefix: str, relu: bool = False) -> str:
    """``x @ W.T + b`` of ``x (B, F)`` (``Gemm``), optionally with a ReLU."""
    inputs = [x, g.weight(f"{prefix}.weight", layer.weight)]
    if layer.bias is not None:
        inputs.append(g.weight(f"{prefix}.bias", layer.bias))
    y = g.add("Gemm", inputs, name=prefix, transB=1)
    return g.add("Relu", [y]) if relu else y


def linear_seq(g: Graph, x: str, layer: nn.Linear, prefix: str) -> str:
    """``x @ W.T + b`` of ``x (B, T, F)`` (``MatMul`` with the transposed weight, then ``Add``)."""
    y = g.add("MatMul", [x, g.weight(f"{prefix}.weight_t", layer.weight.detach().T)], name=prefix)
    return g.add("Add", [y, g.weight(f"{prefix}.bias", layer.bias)]) if layer.bias is not None else y


# ---- recurrent layers and pooling ---------------------------------------------------------------------------
def _gates(weight: np.ndarray, cell: str) -> np.ndarray:
    blocks = np.split(weight, len(GATE_ORDER[cell]), axis=0)
    return np.concatenate([blocks[i] for i in GATE_ORDER[cell]], axis=0)


def _layer_weights(rnn: nn.Module, cell: str, layer: int) -> list[np.ndarray]:
    """ONNX ``W (D, G*H, in)``, ``R (D, G*H, H)`` and ``B (D, 2*G*H)`` of one layer."""
    state = {k: v.detach().float().numpy() for k, v in rnn.state_dict().items()}
    suffixes = [""] + (["_reverse"] if rnn.bidirectional else [])
    w, r, b = [], [], []
    for s in suffixes:
        w.append(_gates(state[f"weight_ih_l{layer}{s}"], cell))
        r.append(_gates(state[f"weight_hh_l{layer}{s}"], cell))
        b.append(np.concatenate([_gates(state[f"bias_ih_l{layer}{s}"], cell),
                                 _gates(state[f"bias_hh_l{layer}{s}"], cell)]))
    return [np.stack(x) for x in (w, r, b)]


def recurrent(g: Graph, x_tbf: str, rnn: nn.Module, cell: str, prefix: str) -> tuple[str, str]:
    """Run an ``nn.LSTM``/``GRU``/``RNN`` (or ``FusedLSTM``), every layer, on ``x (T, B, F)``.

    Returns:
        ``(states, final)``: the top layer's states ``(T, B, D*H)`` (zeros on padding) and its final states
        ``(B, D*H)`` (forward after the last real token, reverse after the first), as ``h_n[-D:]``.
    """
    attrs: dict[str, Any] = {"hidden_size": rnn.hidden_size,
                             "direction": "bidirectional" if rnn.bidirectional else "forward"}
    if cell == "gru":
        attrs["linear_before_reset"] = 1  # PyTorch applies the reset gate after the recurrent product
    if cell == "rnn":
        attrs["activations"] = ["Relu" if rnn.nonlinearity == "relu" else "Tanh"] * (2 if rnn.bidirectional else 1)
    x = x_tbf
    for layer in range(rnn.num_layers):
        name = f"{prefix}.l{layer}"
        w, r, b = (g.weight(f"{name}.{k}", a) for k, a in zip("WRB", _layer_weights(rnn, cell, layer)))
        y, y_h = g.add(RECURRENT_OPS[cell], [x, w, r, b, seq_lens(g)], name=name, outputs=2, **attrs)
        y = g.add("Transpose", [y], perm=[0, 2, 1, 3])  # (T, D, B, H) -> (T, B, D, H)
        x = g.add("Reshape", [y, g.const([0, 0, -1])], name=f"{name}.states")  # (T, B, D*H)
    final = g.add("Transpose", [y_h], perm=[1, 0, 2])  # (D, B, H) -> (B, D, H)
    return x, g.add("Reshape", [final, g.const([0, -1])], name=f"{prefix}.final")


def batch_first(g: Graph, x_tbf: str) -> str:
    """``(T, B, F)`` -> ``(B, T, F)``."""
    return g.add("Transpose", [x_tbf], perm=[1, 0, 2])


def pool(g: Graph, pooling: str, states_btf: str, final: str) -> str:
    """``last`` (the final states), ``mean`` or ``max`` over the real steps of ``states (B, T, F)``: ``(B, F)``;
    ``concat``: the three side by side, ``(B, 3F)``."""
    if pooling == "last":
        return final
    summed = g.add("ReduceSum", [g.add("Mul", [states_btf, valid_float(g)]), g.const([1])], keepdims=0)
    mean = g.add("Div", [summed, g.add("Cast", [lengths_b1(g)], to=TensorProto.FLOAT)])
    if pooling == "mean":
        return mean
    valid = g.add("Unsqueeze", [valid_mask(g), g.const([2])])
    masked = g.add("Where", [valid, states_btf, g.const(-np.inf, np.float32)])
    top = g.add("ReduceMax", [masked], axes=[1], keepdims=0)
    return top if pooling == "max" else g.add("Concat", [final, top, mean], axis=1)  # concat: last, max, mean


def attention_weights(g: Graph, scores_btk: str) -> str:
    """Softmax over the real steps of ``scores (B, T, K)``; weight 0 on padding."""
    valid = g.add("Unsqueeze", [valid_mask(g), g.const([2])])
    masked = g.add("Where", [valid, scores_btk, g.const(-np.inf, np.float32)])
    return g.add("Softmax", [masked], axis=1)


def attention_pool(g: Graph, states_btf: str, proj: nn.Linear, score: nn.Linear, prefix: str) -> str:
    """Additive attention: ``a = softmax_t(v . tanh(W h_t + b))`` over the real steps, ``sum_t a_t h_t``: ``(B, F)``."""
    hidden = g.add("Tanh", [linear_seq(g, states_btf, proj, f"{prefix}attn_proj")])
    scores = g.add("MatMul", [hidden, g.weight(f"{prefix}attn_score.weight_t", score.weight.detach().T)])  # (B, T, 1)
    weights = attention_weights(g, scores)  # (B, T, 1)
    return g.add("ReduceSum", [g.add("Mul", [weights, states_btf]), g.const([1])], keepdims=0)


# ---- convolutions -------------------------------------------------------------------------------------------
def conv(g: Graph, x_bft: str, layer: nn.Conv1d, prefix: str, pad: tuple[int, int]) -> str:
    """``relu(conv1d(x))`` of ``x (B, F, T)`` zero-padded by ``pad`` steps before and after the text."""
    if any(pad):
        x_bft = g.add("Pad", [x_bft, g.const([0, 0, pad[0], 0, 0, pad[1]])])
    inputs = [x_bft, g.weight(f"{prefix}.weight", layer.weight)]
    if layer.bias is not None:
        inputs.append(g.weight(f"{prefix}.bias", layer.bias))
    return g.add("Relu", [g.add("Conv", inputs, name=prefix, kernel_shape=[layer.kernel_size[0]])])


def cnn_bank(g: Graph, emb_masked: str, convs: nn.ModuleList, kernel_sizes: list[int], prefix: str) -> str:
    """TextCNN's features ``(B, filters * widths)``: per width, ReLU conv and max over the windows that start
    inside the text (at least one). Padding the time axis by ``max(widths) - 1`` zeros gives a short text the
    zeros it would get alone, whatever the batch's width."""
    x = g.add("Transpose", [emb_masked], perm=[0, 2, 1])  # (B, E, T)
    widest = max(kernel_sizes)
    pooled = []
    for i, (k, layer) in enumerate(zip(kernel_sizes, convs)):
        h = conv(g, x, layer, f"{prefix}convs.{i}", (0, widest - 1))  # (B, F, T + widest - k)
        starts = g.add("Max", [g.add("Sub", [lengths_b1(g), g.const([[k - 1]])]), g.const([[1]])])  # (B, 1)
        steps = g.add("Unsqueeze", [time_steps(g, h, 2), g.const([0])])  # (1, T')
        keep = g.add("Unsqueeze", [g.add("Less", [steps, starts]), g.const([1])])  # (B, 1, T')
        masked = g.add("Where", [keep, h, g.const(0.0, np.float32)])  # ReLU outputs are >= 0
        pooled.append(g.add("ReduceMax", [masked], axes=[2], keepdims=0))
    return pooled[0] if len(pooled) == 1 else g.add("Concat", pooled, axis=1)


def slice_time(g: Graph, x: str, start: int, end_from_right: int) -> str:
    """``x[:, start : T - end_from_right]`` (empty when the text is too short)."""
    end = -end_from_right if end_from_right else INT64_MAX
    return g.add("Slice", [x, g.const([start]), g.const([end]), g.const([1])])
