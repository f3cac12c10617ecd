"""Inference engines behind one API: PyTorch (:class:`~lstmtext.inference.predictor.Predictor`) or ONNX Runtime.

:class:`OnnxPredictor` has the same ``predict`` / ``predict_proba`` / ``labels`` as ``Predictor`` (it is a
subclass that swaps the forward pass), so the CLI and the server take either. ``load_predictor`` picks one
by name: ``torch``, ``onnx`` (float) or ``onnx-int8`` (dynamically quantised weights).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lstmtext.encoding.batching import collate, eval_batches
from lstmtext.errors import BundleError, ConfigError
from lstmtext.inference.bundle import Bundle, load_bundle
from lstmtext.inference.predictor import Predictor

log = logging.getLogger(__name__)

ENGINES = ("torch", "onnx", "onnx-int8")
# Texts per forward pass. Batches of ~100 short texts keep the LSTM's gate activations in the L2 cache; on
# the airline tweets 128 was 1.3x (onnx) to 2x (torch) faster than 1024 (docs/serving.md).
DEFAULT_BATCH_SIZE = 128


def _session(model: str | bytes, threads: int | None) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or os.cpu_count() or 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3  # warnings about folded initializers are noise to users
    # Spinning threads burn the cores other processes (and the server's I/O) need between batches.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


class OnnxPredictor(Predictor):
    """Predict with ONNX Runtime from a bundle's exported graph; same API as :class:`Predictor`.

    Args:
        bundle: The loaded bundle (its encoder and labels are used; its torch model is not run).
        onnx_model: Path of the ``.onnx`` file, or the serialised model as bytes.
        batch_size: Texts per forward pass (texts are sorted by length first, so batches hold similar lengths).
        threads: ONNX Runtime intra-op threads (default: every core).

    Raises:
        BundleError: If the file was exported from another bundle.
    """

    def __init__(self, bundle: Bundle, onnx_model: str | Path | bytes, batch_size: int = DEFAULT_BATCH_SIZE,
                 threads: int | None = None) -> None:
        super().__init__(bundle, batch_size)
        self.session = _session(onnx_model if isinstance(onnx_model, bytes) else str(onnx_model), threads)
        meta = self.session.get_modelmeta().custom_metadata_map
        created = str(bundle.meta.get("created", ""))
        if meta.get("bundle_created", created) != created:
            raise BundleError(
                f"{onnx_model}: exported from another model (created {meta['bundle_created']}, this bundle {created}). "
                f"Re-export it: lstmtext export {bundle.path} --format onnx"
            )

    def proba_from_ids(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Class probabilities of already encoded texts (unpadded id lists), in input order."""
        n = len(sequences)
        out = np.zeros((n, self.task.layout.total), dtype=np.float32)
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=n)
        for index in eval_batches(lengths, self.batch_size):
            batch = collate(sequences, index)  # post-padded, as the graph requires
            feeds = {"ids": batch.ids.numpy(), "lengths": batch.lengths.numpy()}
            logits = torch.from_numpy(self.session.run(["logits"], feeds)[0])
            out[index] = self.task.probabilities(logits)  # the task's calibration, as the torch engine applies it
        return out


def _onnx_model(bundle: Bundle, quantized: bool, onnx_path: str | Path | None) -> str | Path | bytes:
    """The exported file when there is one, else a graph built in memory (and quantised via a temp file)."""
    from lstmtext.inference.onnx import INT8_NAME, ONNX_NAME, build_onnx, bundle_metadata, int8_path, quantize_onnx

    if onnx_path is not None:
        path = int8_path(onnx_path) if quantized else Path(onnx_path)
        if not path.is_file():
            fix = " --quantize" if quantized else ""
            raise BundleError(f"{path}: no such ONNX file. Write it with: lstmtext export {bundle.path} --format onnx{fix}")
        return path
    path = bundle.path / (INT8_NAME if quantized else ONNX_NAME) if bundle.path else None
    if path is not None and path.is_file():
        return path
    log.warning("%s: no exported %s; building it in memory (run `lstmtext export` to save start-up time)",
                bundle.path, path.name if path else ONNX_NAME)
    proto = build_onnx(bundle.model, bundle.task, bundle_metadata(bundle))
    if not quantized:
        return proto.SerializeToString()
    import tempfile

    import onnx

    with tempfile.TemporaryDirectory() as tmp:
        onnx.save(proto, f"{tmp}/model.onnx")
        return quantize_onnx(f"{tmp}/model.onnx", f"{tmp}/model.int8.onnx").read_bytes()


def load_predictor(path: str | Path, engine: str = "torch", onnx_path: str | Path | None = None,
                   batch_size: int | None = None, threads: int | None = None) -> Predictor:
    """Load a bundle for prediction with the named engine.

    Args:
        path: A bundle folder or a training output folder.
        engine: ``torch``, ``onnx`` or ``onnx-int8``.
        onnx_path: The exported float ``.onnx`` file (default: ``model.onnx`` in the bundle, or built in memory).
            For ``onnx-int8`` the ``.int8.onnx`` file beside it is used.
        batch_size: Texts per forward pass (default ``DEFAULT_BATCH_SIZE``).
        threads: CPU threads for the forward pass (default: every core).

    Returns:
        A :class:`Predictor` (``torch``) or :class:`OnnxPredictor`.

    Raises:
        ConfigError: If the engine name is unknown.
        BundleError: If the bundle or the ONNX file does not load.
    """
    if engine not in ENGINES:
        raise ConfigError(f"--engine must be one of {', '.join(ENGINES)}. Got {engine!r} instead.")
    bundle = load_bundle(path)
    kwargs = {"batch_size": batch_size or DEFAULT_BATCH_SIZE}
    if engine == "torch":
        if threads:
            import torch

            torch.set_num_threads(threads)
        return Predictor(bundle, **kwargs)
    model = _onnx_model(bundle, engine == "onnx-int8", onnx_path)
    return OnnxPredictor(bundle, model, threads=threads, **kwargs)
