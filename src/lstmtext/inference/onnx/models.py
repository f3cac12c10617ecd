"""The model writers: each registered architecture and each wrapper written into a :class:`~.graph.Graph`.

:func:`write_logits` dispatches on the model's exact class (a subclass may compute something else, so it is
refused rather than guessed): the recurrent models, ``bilstm_attn``, ``cnn``, ``clstm``, and the wrappers
that :func:`lstmtext.models.build_model` puts around any of them (several output groups with or without
per-group attention, the n-gram bag, seed ensembles). :func:`build_onnx` adds the probabilities the task's
output layout gives (softmax per group, or sigmoid) and the metadata.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import onnx
from torch import nn

from lstmtext.errors import BundleError
from lstmtext.inference.onnx import layers as L
from lstmtext.inference.onnx.graph import Graph
from lstmtext.models.attention import AttentionClassifier
from lstmtext.models.clstm import CLSTM
from lstmtext.models.cnn import TextCNN
from lstmtext.models.ensemble import EnsembleClassifier
from lstmtext.models.heads import MultiHeadClassifier, OutputLayout
from lstmtext.models.ngram_bag import NGRAM_HASH, NgramBagClassifier
from lstmtext.models.recurrent import RecurrentClassifier

SUPPORTED = ("lstm, bilstm, gru, rnn, bilstm_attn, cnn, clstm; with aspect heads, n-gram bags and seed ensembles")


def _refuse(model: nn.Module) -> BundleError:
    return BundleError(f"ONNX export supports the built-in models ({SUPPORTED}); got {type(model).__name__}. "
                       "Serve this model with --engine torch.")


def _recurrent_states(g: Graph, model: RecurrentClassifier, prefix: str) -> tuple[str, str]:
    """Embedding -> recurrent layers: states ``(B, T, D*H)`` and final states ``(B, D*H)``."""
    if model.cell not in L.RECURRENT_OPS:
        raise _refuse(model)
    x = g.add("Transpose", [L.embedding(g, model.embedding, prefix)], perm=[1, 0, 2])  # (T, B, E)
    states, final = L.recurrent(g, x, model.rnn, model.cell, f"{prefix}rnn")
    return L.batch_first(g, states), final


def encode_with_states(g: Graph, model: nn.Module, prefix: str) -> tuple[str, str]:
    """A recurrent model's features ``(B, F)`` and top-layer states ``(B, T, S)`` (what per-group attention reads)."""
    if type(model) is AttentionClassifier:
        states, _ = _recurrent_states(g, model, prefix)
        return L.attention_pool(g, states, model.attn_proj, model.attn_score, prefix), states
    if type(model) is RecurrentClassifier:
        states, final = _recurrent_states(g, model, prefix)
        return L.pool(g, model.pooling, states, final), states
    raise _refuse(model)


def encode(g: Graph, model: nn.Module, prefix: str) -> str:
    """The features ``(B, F)`` a model's output layer (or a multi-group model's heads) reads."""
    if type(model) in (AttentionClassifier, RecurrentClassifier):
        return encode_with_states(g, model, prefix)[0]
    if type(model) is TextCNN:
        emb = L.embedding(g, model.embedding, prefix, masked=True)
        return L.cnn_bank(g, emb, model.convs, model.kernel_sizes, prefix)
    if type(model) is CLSTM:
        emb = g.add("Transpose", [L.embedding(g, model.embedding, prefix, masked=True)], perm=[0, 2, 1])  # (B, E, T)
        h = L.conv(g, emb, model.conv, f"{prefix}conv", model.pad)  # (B, F, T): "same" width
        states, final = L.recurrent(g, g.add("Transpose", [h], perm=[2, 0, 1]), model.rnn, "lstm", f"{prefix}rnn")
        pooled = L.pool(g, model.pooling, L.batch_first(g, states), final)
        return L.linear(g, pooled, model.dense, f"{prefix}dense", relu=True)
    raise _refuse(model)


def _multi_head(g: Graph, model: MultiHeadClassifier, prefix: str) -> str:
    """One head per group over the base's features (and, with attention, the group's own view of the states)."""
    if model.attention_size is None:
        features = encode(g, model.base, f"{prefix}base.")
        parts = [L.linear(g, features, head, f"{prefix}heads.{j}") for j, head in enumerate(model.heads)]
    else:
        features, states = encode_with_states(g, model.base, f"{prefix}base.")
        hidden = g.add("Tanh", [L.linear_seq(g, states, model.attn_proj, f"{prefix}attn_proj")])  # (B, T, A)
        queries = g.weight(f"{prefix}attn_queries_t", model.attn_queries.detach().T)  # (A, K)
        weights = L.attention_weights(g, g.add("MatMul", [hidden, queries]))  # (B, T, K)
        pooled = g.add("MatMul", [g.add("Transpose", [weights], perm=[0, 2, 1]), states],
                       name=f"{prefix}aspect_pooled")  # (B, K, S)
        parts = []
        for j, head in enumerate(model.heads):
            own = g.add("Gather", [pooled, g.const(j)], axis=1)  # (B, S)
            parts.append(L.linear(g, g.add("Concat", [features, own], axis=1), head, f"{prefix}heads.{j}"))
    return g.add("Concat", parts, axis=1)


def _ngram_bag(g: Graph, model: NgramBagClassifier, prefix: str) -> str:
    """The bag's logits ``(B, C)``: the mean of the real n-grams' rows (unigrams by id, longer n-grams hashed)."""
    rows, masks = ["ids"], [g.add("Squeeze", [L.valid_float(g), g.const([2])])]  # (B, T) each
    for size in range(2, model.n + 1):
        code = None
        for k in range(size):  # ids[:, k : k + span] with span = T - size + 1 (empty when T < size)
            term = g.add("Mul", [L.slice_time(g, "ids", k, size - 1 - k), g.const(NGRAM_HASH[k])])
            code = term if code is None else g.add("Add", [code, term])
        rows.append(g.add("Add", [g.add("Mod", [code, g.const(model.buckets)]), g.const(model.vocab_size)]))
        masks.append(L.slice_time(g, masks[0], size - 1, 0))  # real when its last word is real
    rows_all = g.add("Concat", rows, axis=1)  # (B, N)
    keep = g.add("Concat", masks, axis=1)  # (B, N)
    looked_up = g.add("Gather", [g.weight(f"{prefix}bag.weight", model.bag.weight), rows_all], axis=0)  # (B, N, C)
    if model.weighting == "tfidf":  # idf-weighted sum over the text's L2 norm, plus the bias
        keep = g.add("Mul", [keep, g.add("Gather", [g.weight(f"{prefix}idf", model.idf), rows_all], axis=0)])
    total = g.add("ReduceSum", [g.add("Mul", [looked_up, g.add("Unsqueeze", [keep, g.const([2])])]), g.const([1])],
                  keepdims=0)
    if model.weighting == "tfidf":
        norm = g.add("Sqrt", [g.add("ReduceSum", [g.add("Mul", [keep, keep]), g.const([1])], keepdims=1)])
        scaled = g.add("Div", [total, g.add("Max", [norm, g.const(1e-12, np.float32)])])
        return g.add("Add", [scaled, g.weight(f"{prefix}bias", model.bias)], name=f"{prefix}bag_logits")
    count = g.add("Max", [g.add("ReduceSum", [keep, g.const([1])], keepdims=1), g.const(1.0, np.float32)])
    return g.add("Div", [total, count], name=f"{prefix}bag_logits")


def _ensemble(g: Graph, model: EnsembleClassifier, prefix: str) -> str:
    """Logits whose probabilities are the members' mean probabilities, as ``OutputLayout.mean_logits`` gives."""
    members = [write_logits(g, m, f"{prefix}members.{i}.") for i, m in enumerate(model.members)]
    stack = lambda parts: g.add("Concat", [g.add("Unsqueeze", [p, g.const([0])]) for p in parts], axis=0)  # noqa: E731
    if model.layout.activation == "sigmoid":
        p = g.add("ReduceMean", [stack([g.add("Sigmoid", [m]) for m in members])], axes=[0], keepdims=0)
        p = g.add("Clip", [p, g.const(1e-7, np.float32), g.const(1 - 1e-7, np.float32)])
        one_minus = g.add("Sub", [g.const(1.0, np.float32), p])
        return g.add("Sub", [g.add("Log", [p]), g.add("Log", [one_minus])])
    groups = [_split_groups(g, m, model.layout) for m in members]  # per member, per group
    parts = []
    for j in range(len(model.layout.sizes)):
        logs = stack([g.add("LogSoftmax", [member[j]], axis=1) for member in groups])  # (N, B, C_j)
        lse = g.add("ReduceLogSumExp", [logs], axes=[0], keepdims=0)
        parts.append(g.add("Sub", [lse, g.const(math.log(len(members)), np.float32)]))
    return parts[0] if len(parts) == 1 else g.add("Concat", parts, axis=1)


def _split_groups(g: Graph, logits: str, layout: OutputLayout) -> list[str]:
    """Each output group's columns of ``logits (B, K)``."""
    if len(layout.sizes) == 1:
        return [logits]
    return g.add("Split", [logits, g.const(list(layout.sizes))], outputs=len(layout.sizes), axis=1)


def write_logits(g: Graph, model: nn.Module, prefix: str = "") -> str:
    """Write ``model``'s forward pass; return the name of its logits ``(B, K)``.

    Raises:
        BundleError: For a model class without a writer.
    """
    if type(model) is EnsembleClassifier:
        return _ensemble(g, model, prefix)
    if type(model) is NgramBagClassifier:
        base = write_logits(g, model.base, f"{prefix}base.")
        if model.weighting == "tfidf":  # the network's share of the blend
            base = g.add("Mul", [base, g.weight(f"{prefix}base_scale", model.base_scale.reshape(1))])
        return g.add("Add", [base, _ngram_bag(g, model, prefix)])
    if type(model) is MultiHeadClassifier:
        return _multi_head(g, model, prefix)
    if type(model) in (RecurrentClassifier, AttentionClassifier, TextCNN, CLSTM):
        return L.linear(g, encode(g, model, prefix), model.fc, f"{prefix}fc")
    raise _refuse(model)


def probabilities(g: Graph, logits: str, layout: OutputLayout) -> str:
    """What ``layout.probabilities`` gives: a sigmoid per logit, or a softmax within each group."""
    if layout.activation == "sigmoid":
        return g.add("Sigmoid", [logits])
    if len(layout.sizes) == 1:
        return g.add("Softmax", [logits], axis=1)
    return g.add("Concat", [g.add("Softmax", [part], axis=1) for part in _split_groups(g, logits, layout)], axis=1)


def _first_rnn(model: nn.Module) -> nn.Module | None:
    """The recurrent layer of the model (or its first member or base), for the file's metadata."""
    for module in model.modules():
        if hasattr(module, "hidden_size") and hasattr(module, "bidirectional"):
            return module
    return None


def build_onnx(model: nn.Module, task: Any, metadata: dict[str, str] | None = None) -> onnx.ModelProto:
    """Build the ONNX graph of any built-in classifier from its weights.

    Inputs ``ids`` int64 ``(batch, time)`` (post-padded) and ``lengths`` int64 ``(batch,)``; outputs ``logits``
    and ``probabilities`` float32 ``(batch, K)`` in the order of the task's outputs.

    Args:
        model: A model :func:`lstmtext.models.build_model` built (any architecture and wrapper), in eval mode.
        task: The bundle's task: its output layout picks the softmax groups or the sigmoids, its output names
            are recorded as the labels.
        metadata: Extra ``metadata_props`` to record in the file.

    Returns:
        The checked ONNX model.

    Raises:
        BundleError: If the model (or a part of it) has no writer.
    """
    layout = task.layout
    g = Graph()
    logits = g.rename(write_logits(g, model), "logits")
    temperatures = task.state.get("temperatures")
    if temperatures:  # the calibration fitted on valid: probabilities = activation(logits / T), as the task gives
        per_column = np.repeat(np.asarray(temperatures, dtype=np.float32),
                               1 if layout.activation == "sigmoid" else np.asarray(layout.sizes))
        scaled = g.add("Mul", [logits, g.const(1.0 / per_column, np.float32)])
    else:
        scaled = logits
    g.rename(probabilities(g, scaled, layout), "probabilities")
    # the output names as a JSON array: joined by commas, a label holding one ('late, rude') read back as two
    meta = {"labels": json.dumps(task.output_names(), ensure_ascii=False), "padding": "post"}
    rnn = _first_rnn(model)
    if rnn is not None:
        meta.update(hidden_size=str(rnn.hidden_size), directions=str(2 if rnn.bidirectional else 1))
    if len(layout.sizes) > 1 or layout.activation != "softmax":
        meta.update(activation=layout.activation, groups=",".join(map(str, layout.sizes)))
    return g.model({"logits": layout.total, "probabilities": layout.total}, {**meta, **(metadata or {})})
