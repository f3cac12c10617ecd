"""The JSON files of ``lstmtext explain bilstm --weights`` and ``lstmtext explain cbow --weights``, with clear errors.

A BiLSTM file (the thesis's gate names f, i, c, o; H = 1 allows scalars and flat lists, as in weights_io)::

    {
      "model": "bilstm",
      "forward":  {"W_f": [0.5, -0.3], "U_f": 0.2, "b_f": 0.1, "W_i": ..., "W_c": ..., "W_o": ...},
      "backward": {"W_f": ..., ...},
      "W_y": [[0.6, -0.4], [-0.5, 0.8]],
      "inputs": [[0.5, 1.0], [1.0, -0.5], [-1.0, 0.5]],
      "labels": [1, 1, 0],
      "lr": 0.1
    }

Per direction W_g is (H, D), U_g (H, H), b_g (H,); ``W_y`` is (K, 2H) and there is no ``b_y`` (section
2.8.2); ``inputs`` (T, D) and ``labels`` (T class indices in 0..K-1, one per step) are required.

A CBOW file::

    {
      "model": "cbow",
      "vocabulary": ["bukalapak", "bagus", "barang", "sesuai", "pengiriman"],
      "W": [[...], ...],        (V, N): row k is the input vector of word k
      "W_prime": [[...], ...],  (N, V): column j is the output vector of word j (the thesis's W')
      "context": "barang",
      "target": "sesuai",
      "lr": 0.1
    }

``vocabulary`` may also be a sentence (a string): its words in order of first appearance (figure 2.8).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstmtext.errors import ConfigError
from lstmtext.explain.reference import bilstm, onehot
from lstmtext.explain.reference.lstm import Params
from lstmtext.explain.reference.weights_io import learning_rate, numeric_array, parse_inputs, read_document

BILSTM_KEYS = ("model", "forward", "backward", "W_y", "inputs", "labels", "lr")
CBOW_KEYS = ("model", "vocabulary", "W", "W_prime", "context", "target", "lr")
_GATE_KEYS = [f"{k}_{g}" for g in bilstm.GATES for k in ("W", "U", "b")]
_SHAPES = {"W": "(H, D)", "U": "(H, H)", "b": "(H,)"}


@dataclass
class BiLSTMFile:
    """A BiLSTM weights file as the reference takes it."""

    params: Params
    inputs: np.ndarray  # (T, D)
    labels: np.ndarray  # (T,) class indices
    lr: float = 0.1


@dataclass
class CBOWFile:
    """A CBOW weights file as the reference takes it."""

    vocabulary: list[str]
    W: np.ndarray  # (V, N)
    W_prime: np.ndarray  # (N, V)
    context: str
    target: str
    lr: float = 0.1


def _check_keys(data: object, source: str, model: str, allowed: tuple[str, ...]) -> dict:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a JSON object with keys {', '.join(allowed)}, got {type(data).__name__}")
    if "cell" in data:
        raise ConfigError(f"{source}: this is a weights file of `lstmtext explain lstm|rnn` (it has 'cell'); "
                          f"`explain {model}` needs the keys {', '.join(allowed[1:])} (see docs/explain.md)")
    if data.get("model", model) != model:
        got = json.dumps(data["model"])
        raise ConfigError(f"{source}: 'model' is {got}, but the command is `explain {model}`; "
                          f"run `lstmtext explain {data['model']} --weights {source}`")
    if model == "bilstm" and "b_y" in data:
        raise ConfigError(f"{source}: key 'b_y': the thesis's output layer has no bias (section 2.8.2, y_t = "
                          "softmax(W_y h_t)); remove it")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r}; allowed keys: {', '.join(allowed)}")
    for name in allowed[1:]:
        if name not in data and name != "lr":
            raise ConfigError(f"{source}: key {name!r} is missing; `explain {model}` needs {', '.join(allowed[1:-1])} "
                              "(lr is optional)")
    return data


def _lr(data: dict, source: str) -> float:
    return learning_rate(data.get("lr", 0.1), f"{source}: 'lr'")


def _direction(value: object, name: str, source: str, size: tuple[int, int] | None) -> dict[str, np.ndarray]:
    """One direction's gate arrays, checked against (H, D) (from ``forward.b_f`` / ``forward.W_f`` when None)."""
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: '{name}' must be an object like {{\"W_f\": [[...]], \"U_f\": ..., "
                          f"\"b_f\": ..., ...}} with W_g, U_g, b_g for g in f, i, c, o")
    for gate_key in _GATE_KEYS:
        if gate_key not in value:
            raise ConfigError(f"{source}: {name}.{gate_key} is missing; each direction needs W_g (H, D), U_g (H, H), "
                              f"b_g (H,) for the gates g = f, i, c (candidate C~), o; {gate_key} is {_SHAPES[gate_key[0]]}")
    extra = sorted(set(value) - set(_GATE_KEYS))
    if extra:
        raise ConfigError(f"{source}: unknown key {name}.{extra[0]}; expected {', '.join(_GATE_KEYS)} (the thesis "
                          "calls the candidate c: W_c, U_c, b_c)")
    raw = {k: numeric_array(value[k], f"{source}: {name}.{k}") for k in _GATE_KEYS}
    if size is None:
        first_w = raw["W_f"]
        size = (np.atleast_1d(raw["b_f"]).shape[0], first_w.shape[-1] if first_w.ndim else 1)
    hidden, inputs = size
    out = {}
    for k, arr in raw.items():
        if hidden == 1 and k[0] == "W" and arr.ndim <= 1:
            arr = arr.reshape(1, -1)  # a flat list is the H = 1 row
        elif hidden == 1 and arr.size == 1:
            arr = arr.reshape((1, 1) if k[0] == "U" else (1,))
        expected = {"W": (hidden, inputs), "U": (hidden, hidden), "b": (hidden,)}[k[0]]
        if arr.shape != expected:
            raise ConfigError(f"{source}: {name}.{k} has shape {arr.shape}, expected {expected} = {_SHAPES[k[0]]} "
                              f"(H = {hidden} from forward.b_f, D = {inputs} from forward.W_f)")
        out[k] = arr
    return out


def parse_bilstm(data: object, source: str = "weights") -> BiLSTMFile:
    """Validate a decoded BiLSTM document (module docstring) and convert it.

    Raises:
        ConfigError: One line naming the key that is missing or has the wrong shape, and what it should be.
    """
    data = _check_keys(data, source, "bilstm", BILSTM_KEYS)
    fw = _direction(data["forward"], "forward", source, None)
    hidden, inputs = fw["W_f"].shape
    bw = _direction(data["backward"], "backward", source, (hidden, inputs))
    params: Params = {bilstm.key("fw", k): v for k, v in fw.items()} | {bilstm.key("bw", k): v for k, v in bw.items()}
    w_y = numeric_array(data["W_y"], f"{source}: W_y")
    if w_y.ndim != 2 or w_y.shape[1] != 2 * hidden or w_y.shape[0] < 2:
        raise ConfigError(f"{source}: W_y has shape {w_y.shape}, expected (K, {2 * hidden}) = (K, 2H) with K >= 2 "
                          "classes: one row per class over [\u2192h_t, \u2190h_t]")
    params["W_y"] = w_y
    xs = parse_inputs(data["inputs"], inputs, f"{source}: inputs")
    labels, classes = data["labels"], w_y.shape[0]
    if not isinstance(labels, list) or len(labels) != len(xs) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v < classes for v in labels
    ):
        raise ConfigError(f"{source}: labels {json.dumps(labels)[:60]}; expected ({len(xs)},): one class index in "
                          f"0..{classes - 1} per step of 'inputs' (K = {classes} from W_y)")
    return BiLSTMFile(params=params, inputs=xs, labels=np.asarray(labels, dtype=np.int64), lr=_lr(data, source))


def parse_cbow(data: object, source: str = "weights") -> CBOWFile:
    """Validate a decoded CBOW document (module docstring) and convert it.

    Raises:
        ConfigError: One line naming the key that is missing or has the wrong shape, and what it should be.
    """
    data = _check_keys(data, source, "cbow", CBOW_KEYS)
    words = data["vocabulary"]
    if isinstance(words, str):
        words = onehot.build_vocabulary(onehot.tokenize(words))
    if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
        raise ConfigError(f"{source}: 'vocabulary' must be a list of V >= 1 words (or a sentence), "
                          f"got {json.dumps(data['vocabulary'])[:60]}")
    repeated = [w for k, w in enumerate(words) if w in words[:k]]
    if repeated:
        raise ConfigError(f"{source}: vocabulary has {repeated[0]!r} twice; list each word once")
    size = len(words)
    W = numeric_array(data["W"], f"{source}: W")
    if W.ndim != 2 or W.shape[0] != size:
        raise ConfigError(f"{source}: W has shape {W.shape}, expected ({size}, N) = (V, N): one row of N numbers "
                          f"per word of 'vocabulary' (V = {size})")
    hidden = W.shape[1]
    W_prime = numeric_array(data["W_prime"], f"{source}: W_prime")
    if W_prime.shape != (hidden, size):
        raise ConfigError(f"{source}: W_prime has shape {W_prime.shape}, expected ({hidden}, {size}) = (N, V) "
                          f"(N = {hidden} from W, V = {size} words): column j is the output vector of word j")
    for role in ("context", "target"):
        if data[role] not in words:
            raise ConfigError(f"{source}: {role} {json.dumps(data[role])} is not in the vocabulary; "
                              f"expected one of {', '.join(words)}")
    return CBOWFile(list(words), W, W_prime, data["context"], data["target"], _lr(data, source))


def load_bilstm(path: str | Path) -> BiLSTMFile:
    """Read and validate a BiLSTM weights file. Raises ConfigError (missing, not JSON, not valid)."""
    return parse_bilstm(read_document(path), str(path))


def load_cbow(path: str | Path) -> CBOWFile:
    """Read and validate a CBOW weights file. Raises ConfigError (missing, not JSON, not valid)."""
    return parse_cbow(read_document(path), str(path))


def bilstm_to_json(params: Params, inputs, labels, lr: float = 0.1) -> dict:
    """A BiLSTM document for ``params`` (arrays as nested lists)."""
    doc: dict = {"model": "bilstm"}
    for d, name in (("fw", "forward"), ("bw", "backward")):
        doc[name] = {k: np.asarray(v).tolist() for k, v in bilstm.direction_params(params, d).items()}
    doc.update(W_y=np.asarray(params["W_y"]).tolist(), inputs=np.asarray(inputs).tolist(),
               labels=[int(v) for v in labels], lr=lr)
    return doc
