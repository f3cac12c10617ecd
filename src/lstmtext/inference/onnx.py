"""ONNX export of a bundle's recurrent classifier, and optional dynamic int8 quantisation of the result.

The graph is written from the bundle's weights with ONNX's own recurrent operators (``LSTM``, ``GRU``,
``RNN``) and their ``sequence_lens`` input, so it computes exactly what the packed PyTorch model does:

* inputs ``ids`` int64 ``(batch, time)`` and ``lengths`` int64 ``(batch,)``; both axes are dynamic;
* outputs ``logits`` and ``probabilities`` float32 ``(batch, n_classes)`` in the order of ``labels.json``.

Padding side matters: ``ids`` must be **post-padded** (each text's ids first, then ``<pad>``), because
``sequence_lens`` tells the operator that the first ``lengths[b]`` steps of row ``b`` are real. The reverse
direction of a bidirectional layer then starts at each text's last real token, and ``Y_h`` holds the state
after each text's last real token, as the packed model's ``h_n`` does. Pre-padded ids (the encoder's
``padding`` setting for fixed-width exports) would be read as if the padding were text.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from lstmtext import __version__
from lstmtext.errors import BundleError
from lstmtext.inference.bundle import Bundle, load_bundle
from lstmtext.utils.atomic import atomic_path

log = logging.getLogger(__name__)

OPSET = 17
ONNX_NAME = "model.onnx"
INT8_NAME = "model.int8.onnx"
# Gate blocks: PyTorch LSTM (i, f, g, o) -> ONNX (i, o, f, c); PyTorch GRU (r, z, n) -> ONNX (z, r, h).
_GATE_ORDER = {"lstm": (0, 3, 1, 2), "gru": (1, 0, 2), "rnn": (0,)}
_OP = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


def _recurrent_parts(model: nn.Module) -> tuple[str, nn.Module]:
    cell, rnn = getattr(model, "cell", None), getattr(model, "rnn", None)
    if cell not in _OP or rnn is None or not hasattr(model, "fc") or not hasattr(model, "embedding"):
        raise BundleError(
            f"ONNX export supports the recurrent models (lstm, bilstm, gru, rnn); got {type(model).__name__}. "
            "Serve this model with --engine torch."
        )
    return cell, rnn


def _gates(weight: np.ndarray, cell: str) -> np.ndarray:
    blocks = np.split(weight, len(_GATE_ORDER[cell]), axis=0)
    return np.concatenate([blocks[i] for i in _GATE_ORDER[cell]], axis=0)


def _layer_weights(rnn: nn.Module, cell: str, layer: int) -> list[np.ndarray]:
    """ONNX ``W (D, G*H, in)``, ``R (D, G*H, H)`` and ``B (D, 2*G*H)`` of one layer."""
    state = {k: v.detach().float().numpy() for k, v in rnn.state_dict().items()}
    suffixes = [""] + (["_reverse"] if rnn.bidirectional else [])
    w, r, b = [], [], []
    for s in suffixes:
        w.append(_gates(state[f"weight_ih_l{layer}{s}"], cell))
        r.append(_gates(state[f"weight_hh_l{layer}{s}"], cell))
        b.append(np.concatenate([_gates(state[f"bias_ih_l{layer}{s}"], cell), _gates(state[f"bias_hh_l{layer}{s}"], cell)]))
    return [np.ascontiguousarray(np.stack(x)) for x in (w, r, b)]


def _recurrent_node(name: str, cell: str, rnn: nn.Module, x: str, outputs: list[str]) -> Any:
    attrs: dict[str, Any] = {"hidden_size": rnn.hidden_size,
                             "direction": "bidirectional" if rnn.bidirectional else "forward"}
    if cell == "gru":
        attrs["linear_before_reset"] = 1  # PyTorch applies the reset gate after the recurrent product
    if cell == "rnn":
        act = "Relu" if rnn.nonlinearity == "relu" else "Tanh"
        attrs["activations"] = [act] * (2 if rnn.bidirectional else 1)
    return helper.make_node(_OP[cell], [x, f"{name}.W", f"{name}.R", f"{name}.B", "seq_lens"], outputs, name=name, **attrs)


def _pooling_nodes(pooling: str, last_y: str, last_h: str) -> list[Any]:
    """Nodes that turn the last layer's outputs into ``features (B, D*H)``."""
    if pooling == "last":
        return [helper.make_node("Transpose", [last_h], ["h_bdh"], perm=[1, 0, 2]),  # (B, D, H)
                helper.make_node("Reshape", ["h_bdh", "shape_b_flat"], ["features"])]
    nodes = [
        helper.make_node("Transpose", [last_y], ["seq_btf"], perm=[1, 0, 2]),  # (B, T, D*H)
        helper.make_node("Shape", ["ids"], ["ids_shape"]),
        helper.make_node("Gather", ["ids_shape", "one"], ["time_len"], axis=0),
        helper.make_node("Range", ["zero", "time_len", "one"], ["steps"]),  # (T,)
        helper.make_node("Unsqueeze", ["steps", "axis0"], ["steps_1t"]),  # (1, T)
        helper.make_node("Unsqueeze", ["lengths", "axis1"], ["len_b1"]),  # (B, 1)
        helper.make_node("Less", ["steps_1t", "len_b1"], ["valid"]),  # (B, T) real tokens
        helper.make_node("Unsqueeze", ["valid", "axis2"], ["valid_bt1"]),
    ]
    if pooling == "mean":
        return nodes + [
            helper.make_node("Cast", ["valid_bt1"], ["valid_f"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["seq_btf", "valid_f"], ["masked"]),
            helper.make_node("ReduceSum", ["masked", "axis1"], ["summed"], keepdims=0),
            helper.make_node("Cast", ["len_b1"], ["len_f"], to=TensorProto.FLOAT),
            helper.make_node("Div", ["summed", "len_f"], ["features"]),
        ]
    return nodes + [
        helper.make_node("Where", ["valid_bt1", "seq_btf", "neg_inf"], ["masked"]),
        helper.make_node("ReduceMax", ["masked"], ["features"], axes=[1], keepdims=0),
    ]


def _prune(nodes: list[Any], inits: list[Any], outputs: list[str]) -> tuple[list[Any], list[Any]]:
    """Keep only the nodes and initializers the outputs depend on (e.g. ``last`` pooling needs no ``Y``)."""
    needed, kept = set(outputs), []
    for node in reversed(nodes):
        if needed.intersection(node.output):
            kept.append(node)
            needed.update(node.input)
    return kept[::-1], [t for t in inits if t.name in needed]


def build_onnx(model: nn.Module, task: Any, metadata: dict[str, str] | None = None) -> onnx.ModelProto:
    """Build the ONNX graph of a recurrent classifier (see the module docstring for its inputs and outputs).

    Args:
        model: A :class:`lstmtext.models.recurrent.RecurrentClassifier` (any cell, depth, direction, pooling).
        task: The bundle's task: its output layout picks the softmax or the sigmoids, its labels name the outputs.
        metadata: Extra ``metadata_props`` to record in the file.

    Returns:
        The checked ONNX model.

    Raises:
        BundleError: If the model is not a recurrent classifier.
    """
    layout = task.layout
    if len(layout.sizes) > 1:
        raise BundleError("ONNX export of models with several output groups (aspect models) is not supported yet. "
                          "Serve this model with --engine torch.")
    cell, rnn = _recurrent_parts(model)
    dirs = 2 if rnn.bidirectional else 1
    inits = [
        numpy_helper.from_array(model.embedding.weight.detach().float().numpy(), "embedding.weight"),
        numpy_helper.from_array(model.fc.weight.detach().float().numpy(), "fc.weight"),
        numpy_helper.from_array(model.fc.bias.detach().float().numpy(), "fc.bias"),
        numpy_helper.from_array(np.array([0, 0, -1], dtype=np.int64), "shape_tb_flat"),
        numpy_helper.from_array(np.array([0, -1], dtype=np.int64), "shape_b_flat"),
        numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"),
        numpy_helper.from_array(np.array(1, dtype=np.int64), "one"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "axis0"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
        numpy_helper.from_array(np.array(-np.inf, dtype=np.float32), "neg_inf"),
    ]
    nodes = [
        helper.make_node("Gather", ["embedding.weight", "ids"], ["emb"], axis=0),  # (B, T, E)
        helper.make_node("Transpose", ["emb"], ["x0"], perm=[1, 0, 2]),  # (T, B, E)
        helper.make_node("Cast", ["lengths"], ["seq_lens"], to=TensorProto.INT32),
    ]
    x = "x0"
    for layer in range(rnn.num_layers):
        name = f"rnn.l{layer}"
        for array, suffix in zip(_layer_weights(rnn, cell, layer), ("W", "R", "B")):
            inits.append(numpy_helper.from_array(array, f"{name}.{suffix}"))
        outs = [f"{name}.Y", f"{name}.Y_h"]  # Y (T, D, B, H); Y_h (D, B, H)
        nodes += [
            _recurrent_node(name, cell, rnn, x, outs),
            helper.make_node("Transpose", [outs[0]], [f"{name}.Y_tbdh"], perm=[0, 2, 1, 3]),
            helper.make_node("Reshape", [f"{name}.Y_tbdh", "shape_tb_flat"], [f"x{layer + 1}"]),  # (T, B, D*H)
        ]
        x, last_h = f"x{layer + 1}", outs[1]
    nodes += _pooling_nodes(model.pooling, x, last_h)
    nodes += [
        helper.make_node("Gemm", ["features", "fc.weight", "fc.bias"], ["logits"], transB=1),  # (B, C)
        helper.make_node("Sigmoid", ["logits"], ["probabilities"]) if layout.activation == "sigmoid"
        else helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    nodes, inits = _prune(nodes, inits, ["logits", "probabilities"])
    n_classes = layout.total
    labels = list(task.labels)
    graph = helper.make_graph(
        nodes, "lstmtext_classifier",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "time"]),
         helper.make_tensor_value_info("lengths", TensorProto.INT64, ["batch"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", n_classes]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", n_classes])],
        initializer=inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="lstmtext",
                              producer_version=__version__)
    proto.ir_version = min(proto.ir_version, 8)  # readable by older runtimes too
    meta = {"labels": ",".join(labels), "padding": "post", "hidden_size": str(rnn.hidden_size),
            "directions": str(dirs), **(metadata or {})}
    helper.set_model_props(proto, meta)
    onnx.checker.check_model(proto)
    return proto


def bundle_metadata(bundle: Bundle) -> dict[str, str]:
    """What ties an exported file to its bundle: the bundle's creation time and architecture."""
    return {"bundle_created": str(bundle.meta.get("created", "")), "architecture": str(bundle.meta.get("architecture", ""))}


def export_onnx(bundle_path: str | Path, out: str | Path | None = None, quantize: bool = False) -> Path:
    """Write ``model.onnx`` (and with ``quantize`` also ``model.int8.onnx``) for a bundle, atomically.

    Args:
        bundle_path: A bundle folder or a training output folder.
        out: Where to write the float model; default ``<bundle>/model.onnx``. The int8 model goes beside it
            with ``.int8.onnx`` in place of ``.onnx``.
        quantize: Also write the dynamically quantised int8 model.

    Returns:
        The path of the float model.

    Raises:
        BundleError: If the bundle does not load or its model cannot be exported.
    """
    bundle = load_bundle(bundle_path)
    proto = build_onnx(bundle.model, bundle.task, bundle_metadata(bundle))
    target = Path(out) if out is not None else bundle.path / ONNX_NAME
    with atomic_path(target) as tmp:
        onnx.save(proto, str(tmp))
        _readable(tmp)
    log.info("wrote %s", target)
    if quantize:
        quantize_onnx(target, int8_path(target))
    return target


def _readable(path: Path) -> None:
    """Give the temporary file (created 0600) the usual permissions of a new file under the umask."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def int8_path(float_path: str | Path) -> Path:
    """The int8 file that goes with a float ONNX file: ``model.onnx`` -> ``model.int8.onnx``."""
    float_path = Path(float_path)
    stem = float_path.name[: -len(".onnx")] if float_path.name.endswith(".onnx") else float_path.name
    return float_path.with_name(f"{stem}.int8.onnx")


def quantize_onnx(src: str | Path, dst: str | Path) -> Path:
    """Quantise the weights of the recurrent layers and the output layer to int8 (dynamic quantisation).

    Activations are quantised on the fly per batch; the embedding table stays float (a lookup, not a product).

    Args:
        src: A float model written by :func:`export_onnx`.
        dst: Where to write the int8 model (atomically).

    Returns:
        ``dst``.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    dst = Path(dst)
    with atomic_path(dst) as tmp:
        quantize_dynamic(str(src), str(tmp), op_types_to_quantize=["LSTM", "GRU", "RNN", "Gemm", "MatMul"],
                         weight_type=QuantType.QInt8)
        _readable(tmp)
    log.info("wrote %s", dst)
    return dst


def check_parity(bundle_path: str | Path, onnx_path: str | Path, n: int = 64, seed: int = 0) -> tuple[float, float]:
    """Run the bundle's PyTorch model and an exported file on the same random sequences.

    Args:
        bundle_path: The bundle the file was exported from.
        onnx_path: The ``.onnx`` file (float or int8).
        n: Number of random sequences (lengths 1 to the encoder's ``max_len``).
        seed: Seed of the sequences.

    Returns:
        ``(largest absolute difference of a probability, share of sequences with the same label)``.
    """
    import onnxruntime as ort

    from lstmtext.encoding.batching import collate, predict_logits

    bundle = load_bundle(bundle_path)
    rng = np.random.default_rng(seed)
    vocab_size = bundle.model.embedding.num_embeddings
    lengths = rng.integers(1, max(2, bundle.encoder.max_len + 1), size=n)
    sequences = [rng.integers(2, max(3, vocab_size), size=int(k)).tolist() for k in lengths]
    expected = bundle.task.probabilities(predict_logits(bundle.model, sequences))
    batch = collate(sequences, np.arange(n))
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    got = session.run(["probabilities"], {"ids": batch.ids.numpy(), "lengths": batch.lengths.numpy()})[0]
    return float(np.abs(got - expected).max()), float((got.argmax(1) == expected.argmax(1)).mean())
