"""Writing a bundle's ONNX files (atomically), int8 dynamic quantisation, and the parity check against PyTorch."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from lstmtext.errors import BundleError, ConfigError
from lstmtext.inference.bundle import Bundle, load_bundle
from lstmtext.inference.onnx.models import build_onnx
from lstmtext.utils.atomic import atomic_path
from lstmtext.utils.outputs import check_out_file, is_saved_model

log = logging.getLogger(__name__)

ONNX_NAME = "model.onnx"
INT8_NAME = "model.int8.onnx"
# What dynamic quantisation turns into int8 products; the embedding and n-gram lookups stay float.
QUANTIZED_OPS = ["LSTM", "GRU", "RNN", "Gemm", "MatMul", "Conv"]


#: The keys of :func:`bundle_metadata` that must match a bundle's for its engines to run a graph.
IDENTITY = {"bundle_created": "created", "architecture": "architecture", "weights_sha256": "weights_sha256"}


def bundle_metadata(bundle: Bundle) -> dict[str, str]:
    """What ties an exported file to its bundle: the bundle's creation time, architecture and weights' hash (two
    models saved in the same second, by a script, had taken each other's graphs)."""
    return {key: str(bundle.meta.get(field, "")) for key, field in IDENTITY.items()}


def _graph_metadata(path: Path) -> dict[str, str] | None:
    """The metadata of the ONNX graph ``path`` when lstmtext exported it (it carries :func:`bundle_metadata`), else
    None."""
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001 - not ONNX at all (protobuf raises its own DecodeError)
        return None
    meta = {prop.key: prop.value for prop in model.metadata_props}
    return meta if "bundle_created" in meta else None


def is_graph_of(bundle: Bundle, path: Path) -> bool:
    """Whether the file ``path`` is a graph lstmtext exported from ``bundle``."""
    meta = _graph_metadata(path) if path.is_file() else None
    return meta is not None and _mismatch(bundle, meta) is None


def _mismatch(bundle: Bundle, meta: dict[str, str]) -> str | None:
    """The first identity key on which the graph's ``meta`` and ``bundle`` differ (keys a graph lacks, written by an
    older lstmtext, are not compared), or None."""
    return next((key for key, field in IDENTITY.items()
                 if meta.get(key) and str(bundle.meta.get(field, "")) and meta[key] != str(bundle.meta.get(field, ""))),
                None)


#: Operators that only a quantised graph holds (onnxruntime's dynamic quantisation writes them).
QUANTIZED_OP_TYPES = frozenset({"DynamicQuantizeLinear", "DynamicQuantizeLSTM", "MatMulInteger", "ConvInteger",
                                "QLinearMatMul", "QLinearConv", "DequantizeLinear", "QuantizeLinear"})


def is_int8(path: str | Path) -> bool:
    """Whether the graph file ``path`` is quantised: named ``*.int8.onnx``, or holding quantised operators (a
    quantised graph renamed ``model.onnx`` had been run, and reported, as the float one)."""
    path = Path(path)
    if path.name.lower().endswith(".int8.onnx"):
        return True
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001 - not ONNX at all: ONNX Runtime says so when it loads it
        return False
    return any(node.op_type in QUANTIZED_OP_TYPES for node in model.graph.node)


def float_name(path: str | Path) -> Path:
    """The float file that goes with an int8 one: ``model.int8.onnx`` -> ``model.onnx`` (other names: as they are)."""
    path = Path(path)
    return path.with_name(path.name[: -len(".int8.onnx")] + ".onnx") if path.name.endswith(".int8.onnx") else path


def other_models_folder(target: Path, bundle: Bundle) -> Path | None:
    """The saved model's folder that ``target`` (a graph file) sits in, when it is not ``bundle``'s (None otherwise):
    a file there is that model's, and its engines would skip a graph of ``bundle``."""
    home = target.parent / "model" if (target.parent / "model" / "config.json").is_file() else target.parent
    return home if is_saved_model(home) and home.resolve() != Path(bundle.path).resolve() else None


def reexport(bundle: Bundle, onnx_path: str | Path | None) -> str:
    """What to do about a graph at ``onnx_path`` that ``bundle`` cannot use: the command that writes it again from
    ``bundle`` (an int8 file: its float file, quantised; None: the bundle's own ``model.onnx``). A file in another
    saved model's folder is that model's graph, not to be written over: give this model's own, or none."""
    if onnx_path is None:
        return f"Re-export it: lstmtext export {bundle.path} --overwrite"
    path = Path(onnx_path)
    if (home := other_models_folder(path, bundle)) is not None:
        return (f"It is the graph of the model in {home}: leave --onnx out, or write this model's own with lstmtext "
                f"export {bundle.path} --overwrite (into its folder, where it is found without --onnx).")
    int8 = path.name.endswith(".int8.onnx")
    return f"Re-export it: lstmtext export {bundle.path} --out {float_name(path)}{' --quantize' if int8 else ''} --overwrite"


def check_exported_from(bundle: Bundle, meta: dict[str, str], onnx_path: str | Path | None) -> None:
    """Refuse a graph exported from another model than ``bundle`` (``meta``: the graph's metadata; ``onnx_path``:
    its file, None for one in memory).

    Raises:
        BundleError: Naming both creation times and the command that exports this model there.
    """
    key = _mismatch(bundle, meta)
    if key is not None:
        what = {"bundle_created": "created", "architecture": "architecture", "weights_sha256": "weights"}[key]
        said = meta[key][:12] if key == "weights_sha256" else meta[key]
        mine = str(bundle.meta.get(IDENTITY[key], ""))
        raise BundleError(f"{onnx_path or 'the ONNX graph'}: exported from another model ({what} {said}, this bundle "
                          f"{mine[:12] if key == 'weights_sha256' else mine}). {reexport(bundle, onnx_path)}")


def export_onnx(bundle_path: str | Path, out: str | Path | None = None, quantize: bool = False,
                overwrite: bool = False) -> Path:
    """Write ``model.onnx`` (and with ``quantize`` also ``model.int8.onnx``) for a bundle, atomically.

    Args:
        bundle_path: A bundle folder or a training output folder.
        out: Where to write the float model (a folder: ``<folder>/model.onnx``); default ``<bundle>/model.onnx``.
            The int8 model goes beside it with ``.int8.onnx`` in place of ``.onnx``.
        quantize: Also write the dynamically quantised int8 model.
        overwrite: Replace files that are already there (refused without it).

    Returns:
        The path of the float model.

    Raises:
        BundleError: If the bundle does not load or its model cannot be exported.
        OutputExistsError: If a file to write is already there and ``overwrite`` is not set.
    """
    bundle = load_bundle(bundle_path)
    target = Path(out) if out is not None else bundle.path / ONNX_NAME
    # a folder: one that is there, one written with a trailing slash, or a new name without a suffix
    if target.is_dir() or str(out).endswith(("/", "\\")) or (not target.exists() and not target.suffix):
        target = target / ONNX_NAME
    if target.name.lower().endswith(".int8.onnx"):
        raise ConfigError(f"--out {target}: name the float file (e.g. model.onnx); its int8 copy is written beside it "
                          "as model.int8.onnx with --quantize.")
    if target.suffix.lower() != ".onnx":  # "v1.2" was written as it is, a file no tool takes for a graph
        raise ConfigError(f"--out {target}: an ONNX file's name ends in .onnx ({target.name}.onnx), and a folder's "
                          "in / when it is new.")
    if (home := other_models_folder(target, bundle)) is not None:
        raise ConfigError(f"--out {target}: {home} is another saved model's folder; a graph of {bundle.path} there "
                          "would sit beside that model's files. Write it into this model's folder or elsewhere.")
    int8 = int8_path(target)
    if quantize and is_graph_of(bundle, target) and not overwrite and not int8.exists():  # only the int8 copy is missing: --overwrite
        check_out_file(int8, overwrite)  # had been needed, and rewrote the float file too
        quantize_onnx(target, int8)
        log.info("%s is this model's graph already: wrote its int8 copy only", target)
        return target
    for path in (target, int8) if quantize else (target,):
        check_out_file(path, overwrite)
    if not quantize and int8.exists() and target.exists():  # the replaced float file's int8 copy: this model's?
        check_out_file(int8, overwrite)
        meta = _graph_metadata(int8)
        if meta is not None and _mismatch(bundle, meta) is not None:
            int8.unlink()
            log.warning("removed %s: the int8 copy of the graph replaced (export --quantize writes this one's)", int8)
        elif meta is None:  # a file of the user's that happens to have the name: never deleted unasked
            log.warning("left %s: not a graph lstmtext exported, so not this graph's int8 copy either: move it if "
                        "--engine onnx-int8 should find this graph's (export --quantize)", int8)
    proto = build_onnx(bundle.model, bundle.task, bundle_metadata(bundle))
    with atomic_path(target) as tmp:  # which also gives the file the usual mode
        onnx.save(proto, str(tmp))
    log.info("wrote %s", target)
    if quantize:
        quantize_onnx(target, int8_path(target))
    return target


def int8_path(float_path: str | Path) -> Path:
    """The int8 file that goes with a float ONNX file: ``model.onnx`` -> ``model.int8.onnx``."""
    float_path = Path(float_path)
    stem = float_path.name[: -len(".onnx")] if float_path.name.endswith(".onnx") else float_path.name
    return float_path.with_name(f"{stem}.int8.onnx")


def _activation_products(path: str | Path) -> list[str]:
    """Nodes multiplying two activations (attention weights by states): they stay float."""
    model = onnx.load(str(path), load_external_data=False)
    weights = {t.name for t in model.graph.initializer}
    return [n.name for n in model.graph.node if n.op_type == "MatMul" and not weights.intersection(n.input)]


def quantize_onnx(src: str | Path, dst: str | Path) -> Path:
    """Quantise the weights of the recurrent, convolution and linear layers to int8 (dynamic quantisation).

    Activations are quantised on the fly per batch; lookups (embedding, n-gram bag) and the products of two
    activations (attention pooling) stay float.

    Args:
        src: A float model written by :func:`export_onnx`.
        dst: Where to write the int8 model (atomically).

    Returns:
        ``dst``.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    dst = Path(dst)
    # onnxruntime's quantizer logs advice for its own developers on the root logger ("consider to run
    # pre-processing"): the graphs here are already shape-complete, and the user can do nothing with it
    advice = _DropMessage("pre-processing before quantization")
    logging.getLogger().addFilter(advice)
    with atomic_path(dst) as tmp:
        try:
            quantize_dynamic(str(src), str(tmp), op_types_to_quantize=QUANTIZED_OPS, weight_type=QuantType.QInt8,
                             nodes_to_exclude=_activation_products(src))
        finally:
            logging.getLogger().removeFilter(advice)
    log.info("wrote %s", dst)
    return dst


class _DropMessage(logging.Filter):
    """Drop log records whose message contains ``text``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def parity_sequences(vocab_size: int, max_len: int, n: int = 64, seed: int = 0) -> list[list[int]]:
    """Random id sequences of lengths 1..``max_len``, the first ones of lengths 1, 2, 3 (shorter than a CNN's
    widest window) and one of ``max_len``, so one batch mixes short and long texts."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, max(2, max_len + 1), size=n)
    lengths[: min(n, 4)] = [1, 2, 3, max_len][: min(n, 4)]
    return [rng.integers(2, max(3, vocab_size), size=int(k)).tolist() for k in lengths]


def check_parity(bundle_path: str | Path, onnx_path: str | Path, n: int = 64, seed: int = 0) -> tuple[float, float]:
    """Run the bundle's PyTorch model and an exported file on the same random sequences (one padded batch).

    Args:
        bundle_path: The bundle the file was exported from.
        onnx_path: The ``.onnx`` file (float or int8).
        n: Number of random sequences (lengths 1 to the encoder's ``max_len``).
        seed: Seed of the sequences.

    Returns:
        ``(largest absolute difference of a probability, share of sequences with the same decision)``; the
        decision is the task's (the label, the labels over their thresholds, or every aspect's label).
    """
    import onnxruntime as ort

    from lstmtext.encoding.batching import collate, predict_logits

    bundle = load_bundle(bundle_path)
    sequences = parity_sequences(len(bundle.encoder.vocab), int(bundle.encoder.max_len), n, seed)
    expected = bundle.task.probabilities(predict_logits(bundle.model, sequences))
    batch = collate(sequences, np.arange(n))
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    check_exported_from(bundle, session.get_modelmeta().custom_metadata_map, onnx_path)  # else it compares two models
    got = session.run(["probabilities"], {"ids": batch.ids.numpy(), "lengths": batch.lengths.numpy()})[0]
    return float(np.abs(got - expected).max()), decision_agreement(bundle.task, expected, got)


def decision_agreement(task: Any, expected: np.ndarray, got: np.ndarray) -> float:
    """Share of rows whose task decision (label, labels over thresholds, or every aspect's label) is the same."""
    same = [task.decision(a)[0] == task.decision(b)[0] for a, b in zip(task.predictions(expected), task.predictions(got))]
    return float(np.mean(same)) if same else 1.0
