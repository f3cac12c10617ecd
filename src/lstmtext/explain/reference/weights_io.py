"""Read and write the JSON weights file of ``lstmtext explain --weights FILE.json``, with clear errors.

The format (the slides' example; numbers may be scalars / flat lists when the hidden size H is 1)::

    {
      "cell": "lstm",
      "weights": {"W_a": [0.45, 0.25], "U_a": 0.15, "b_a": 0.2,  "W_i": ..., "W_f": ..., "W_o": ...},
      "inputs": [[1, 2], [0.5, 3]],
      "targets": [0.5, 1.25],
      "lr": 0.1
    }

``cell`` is ``lstm`` (weights W_g (H, D), U_g (H, H), b_g (H,) for g in a, i, f, o; ``a`` is PyTorch's
``g``) or ``rnn`` (weights W, U, b, and ``"nonlinearity": "tanh" | "relu"``). ``inputs`` (T, D),
``targets`` (T,) or (T, H), ``lr``, ``h0`` and ``c0`` are optional; ``--inputs`` on the command line wins.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstmtext.errors import ConfigError
from lstmtext.explain.reference import lstm, rnn
from lstmtext.explain.reference.lstm import Params

_KEYS = {"cell", "weights", "nonlinearity", "inputs", "targets", "lr", "h0", "c0"}
_EXAMPLE = '{"cell": "lstm", "weights": {"W_a": [0.45, 0.25], "U_a": 0.15, "b_a": 0.2, ...}}'


@dataclass
class WeightsFile:
    """The content of a weights file, as arrays the reference takes."""

    cell: str
    params: Params
    nonlinearity: str = "tanh"
    inputs: np.ndarray | None = None  # (T, D)
    targets: np.ndarray | None = None  # (T, H)
    lr: float = 0.1
    h0: np.ndarray | None = None  # (H,)
    c0: np.ndarray | None = None  # (H,)


def _is_numeric(value) -> bool:
    if isinstance(value, list):
        return all(_is_numeric(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def numeric_array(value, where: str) -> np.ndarray:
    """A number or a (nested, rectangular) list of numbers as a float64 array."""
    arr = None
    if _is_numeric(value):
        try:
            arr = np.asarray(value, dtype=np.float64)
        except ValueError:  # a ragged list
            arr = None
    if arr is None or not np.all(np.isfinite(arr)):
        raise ConfigError(
            f"{where}: expected a number or a rectangular list of finite numbers, got {json.dumps(value)[:60]}"
        )
    return arr


def parse_weights(data: object, source: str = "weights") -> WeightsFile:
    """Validate a decoded weights document (see the module docstring) and convert it.

    Args:
        data: The decoded JSON.
        source: Where it came from, for the messages (usually the file name).

    Raises:
        ConfigError: One line saying which key is missing or has the wrong shape, and how to fix it.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a JSON object like {_EXAMPLE}, got {type(data).__name__}")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(_KEYS))}")
    cell = data.get("cell", "lstm")
    if cell not in ("lstm", "rnn"):
        raise ConfigError(f"{source}: 'cell' must be \"lstm\" or \"rnn\", got {json.dumps(cell)}")
    if not isinstance(data.get("weights"), dict):
        raise ConfigError(f"{source}: key 'weights' is missing or not an object; write it like {_EXAMPLE}")
    weights = data["weights"]
    needed = [f"{k}_{g}" for g in lstm.GATES for k in ("W", "U", "b")] if cell == "lstm" else ["W", "U", "b"]
    for key in needed:
        if key not in weights:
            shape = {"W": "(H, D)", "U": "(H, H)", "b": "(H,)"}[key[0]]
            kind = "an LSTM" if cell == "lstm" else "an RNN"
            raise ConfigError(
                f"{source}: weights key '{key}' is missing; {kind} cell needs {', '.join(needed)} ({key[0]} is {shape})"
            )
    extra = sorted(set(weights) - set(needed))
    if extra:
        raise ConfigError(f"{source}: unknown weights key {extra[0]!r} for cell {cell!r}; expected {', '.join(needed)}")
    raw = {key: numeric_array(weights[key], f"{source}: weights.{key}") for key in needed}
    params = _shaped(raw, cell, source)
    hidden, inputs = params[needed[0]].shape
    out = WeightsFile(cell=cell, params=params)
    if cell == "rnn":
        out.nonlinearity = data.get("nonlinearity", "tanh")
        if out.nonlinearity not in rnn.NONLINEARITIES:
            got = json.dumps(out.nonlinearity)
            raise ConfigError(f"{source}: 'nonlinearity' must be \"tanh\" or \"relu\", got {got}")
    elif "nonlinearity" in data:
        raise ConfigError(f"{source}: 'nonlinearity' is only for \"cell\": \"rnn\"; remove it for an LSTM")
    if "inputs" in data:
        out.inputs = parse_inputs(data["inputs"], inputs, f"{source}: inputs")
    if "targets" in data:
        y = numeric_array(data["targets"], f"{source}: targets")
        steps = None if out.inputs is None else len(out.inputs)
        if y.ndim not in (1, 2) or (y.ndim == 2 and y.shape[1] != hidden) or (y.ndim == 1 and hidden != 1):
            raise ConfigError(f"{source}: targets have shape {y.shape}, expected (T, {hidden}) (or (T,) when H = 1)")
        if steps is not None and len(y) != steps:
            raise ConfigError(f"{source}: {len(y)} targets for {steps} input steps; give one target per step")
        out.targets = y.reshape(len(y), hidden)
    if "lr" in data:
        out.lr = learning_rate(data["lr"], f"{source}: 'lr'")
    for key in ("h0", "c0"):
        if key in data:
            if key == "c0" and cell == "rnn":
                raise ConfigError(f"{source}: 'c0' is only for an LSTM; an Elman RNN has no cell state")
            value = np.atleast_1d(numeric_array(data[key], f"{source}: {key}"))
            if value.shape != (hidden,):
                raise ConfigError(
                    f"{source}: {key} has shape {value.shape}, expected ({hidden},): one number per hidden unit"
                )
            setattr(out, key, value)
    return out


def _shaped(raw: dict[str, np.ndarray], cell: str, source: str) -> Params:
    """Check every gate against the hidden size H (from the bias) and input size D (from the first W)."""
    groups = [f"_{g}" for g in lstm.GATES] if cell == "lstm" else [""]
    first_w = raw[f"W{groups[0]}"]
    inputs = first_w.shape[-1] if first_w.ndim else 1
    for sfx in groups:
        b = np.atleast_1d(raw[f"b{sfx}"])
        hidden = b.shape[0]
        w, u = raw[f"W{sfx}"], raw[f"U{sfx}"]
        w = w.reshape(1, -1) if w.ndim <= 1 and hidden == 1 else w
        u = u.reshape(1, 1) if u.size == 1 and hidden == 1 else u
        checks = ((f"b{sfx}", b, (hidden,)), (f"W{sfx}", w, (hidden, inputs)), (f"U{sfx}", u, (hidden, hidden)))
        for key, arr, shape in checks:
            if arr.shape != shape:
                raise ConfigError(
                    f"{source}: weights.{key} has shape {arr.shape}, expected {shape} (H = {hidden} from b{sfx}, "
                    f"D = {inputs} from W{groups[0]}); write W as H rows of D numbers, U as H rows of H numbers"
                )
    return lstm.as_params(raw) if cell == "lstm" else rnn.as_params(raw)


def parse_inputs(value, inputs: int, where: str = "--inputs") -> np.ndarray:
    """Inputs as a (T, D) array from a list of vectors, or from text like ``"1,2; 0.5,3"`` (steps split by ;).

    Raises:
        ConfigError: Not numbers, or a step that does not have ``inputs`` numbers.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{where}: not valid JSON ({exc.msg}); write steps like \"1,2; 0.5,3\"") from None
        else:
            try:
                value = [[float(v) for v in step.replace(",", " ").split()] for step in text.split(";") if step.strip()]
            except ValueError:
                raise ConfigError(
                    f"{where}: expected numbers like \"1,2; 0.5,3\" (';' between steps), got {text!r}"
                ) from None
    xs = numeric_array(value, where)
    xs = xs.reshape(-1, 1) if xs.ndim == 1 and inputs == 1 else xs
    if xs.ndim != 2 or xs.shape[1] != inputs or len(xs) == 0:
        raise ConfigError(
            f"{where}: shape {xs.shape}, expected (T, {inputs}): one {inputs}-number vector per step, "
            f"e.g. \"1,2; 0.5,3\""
        )
    return xs


def load_weights(path: str | Path) -> WeightsFile:
    """Read and validate a weights file (see the module docstring).

    Raises:
        ConfigError: The file is missing, not JSON, or not a valid weights document.
    """
    path = Path(path)
    return parse_weights(read_document(path), str(path))


#: The weights files shipped with lstmtext (``--weights slides_lstm`` reads ``resources/examples/slides_lstm.json``).
SHIPPED = ("slides_lstm", "rnn_small", "bilstm_small", "cbow_small")


def read_document(path: str | Path) -> object:
    """The decoded JSON of a weights file (any of the ``explain`` commands): a path, or the name of a shipped
    example (:data:`SHIPPED`, with or without ``.json``) when no such file is there.

    Raises:
        ConfigError: The file is missing or not JSON.
    """
    path = Path(path)
    if not path.exists() and path.name.removesuffix(".json") in SHIPPED and len(path.parts) == 1:
        from importlib import resources

        path = Path(str(resources.files("lstmtext.resources").joinpath("examples", path.name.removesuffix(".json")
                                                                        + ".json")))
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (Notepad's UTF-8) is not the document's
    except UnicodeDecodeError as exc:
        raise ConfigError(f"--weights {path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at position "
                          f"{exc.start}); save the file as UTF-8 JSON") from None
    except OSError as exc:
        raise ConfigError(
            f"--weights {path}: cannot read the file ({exc.strerror}); give the path of a JSON weights file, or "
            f"one of the shipped examples ({', '.join(SHIPPED)})"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def weights_to_json(params: Params, cell: str = "lstm", **extra) -> dict:
    """A weights document for ``params`` (arrays as nested lists); ``extra`` adds inputs, targets, lr, ..."""
    doc: dict = {"cell": cell, "weights": {key: np.asarray(value).tolist() for key, value in params.items()}}
    doc.update({key: np.asarray(value).tolist() for key, value in extra.items()})
    return doc


def learning_rate(value: object, source: str) -> float:
    """A learning rate from ``--lr`` or a weights file's ``"lr"`` (``source`` names which): a finite number above
    0. NaN passed ``lr <= 0`` and printed a table of nan, and infinity made the new weights infinite.

    Raises:
        ConfigError: Naming ``source`` and the value.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{source} must be a positive number, got {json.dumps(value)}")
    return float(value)
