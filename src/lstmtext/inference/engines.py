"""Inference engines behind one API: PyTorch (:class:`~lstmtext.inference.predictor.Predictor`) or ONNX Runtime.

:class:`OnnxPredictor` has the same ``predict`` / ``predict_proba`` / ``labels`` as ``Predictor`` (it is a
subclass that swaps the forward pass), so the CLI and the server take either. ``load_predictor`` picks one
by name: ``torch``, ``torch-bf16`` (the same with its LSTM layers in bfloat16, on CPUs with bfloat16
instructions), ``onnx`` (float), ``onnx-int8`` (dynamically quantised weights) or ``auto`` (the default): the
bundle's exported float file, else the float graph built in memory, else (no ONNX Runtime, or a model without a
graph writer) torch, with the reason logged. ``auto`` never picks int8 or bf16, whose answers move with the texts
batched alongside: dynamic quantisation scales each product's inputs by the batch's range (the demo model, 400
tweets alone and in one batch: up to 3.9e-3 apart in probability; the float graph: 0), and oneDNN's bfloat16 LSTM
gives a text slightly different outputs with other batch-mates (the demo model, 300 tweets alone and in a batch
of 2,000: up to 4.9e-5 apart, float32 3.3e-7; against float32 up to 1.7e-3, 5 of 14,485 airline tweets labelled
otherwise), and a server's concurrent requests decide the batch. On a CPU with AMX ``torch-bf16`` ran the demo
model 1.8x as fast as ``torch`` (batches of one length alone: 1.1x), as fast as ``onnx`` and with 1.4x as many
texts per CPU-second as ``onnx`` (2 threads, model only: 22,632 texts/s and 16,680 per CPU-second, against 12,540
for ``torch``, 21,424 and 11,940 for ``onnx``; ``onnx-int8`` 33,978; docs/serving.md). The predictor's ``engine``
says which one runs and ``engine_source`` where its graph came from.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lstmtext.encoding.batching import collate, eval_batches
from lstmtext.errors import BundleError, ConfigError
from lstmtext.inference.bundle import Bundle, load_bundle
from lstmtext.inference.predictor import Predictor
from lstmtext.utils.cores import default_threads

log = logging.getLogger(__name__)

ENGINES = ("auto", "torch", "torch-bf16", "onnx", "onnx-int8")
# Texts per forward pass. Batches of ~100 short texts keep the LSTM's gate activations in the L2 cache; on
# the airline tweets 128 was 1.3x (onnx) to 2x (torch) faster than 1024 (docs/serving.md).
DEFAULT_BATCH_SIZE = 128
#: Padded positions per ONNX batch: the graph's recurrences compute every padded step (the torch engine
#: does not), so one 2,048-token text in a batch of 64 would cost ~1 GB of activations; 128 tweets fit whole.
ONNX_BATCH_TOKENS = 16_384
#: Batches of at most this many texts run on a one-thread session: waking a second thread cost more than it
#: saved (airline default model, model only, p50: 1 text 0.283 ms on one thread against 0.364 on two; 2 texts
#: 0.452 / 0.491; 4 texts 0.727 / 0.574).
SMALL_BATCH = 2


def _session(model: str | bytes, threads: int | None) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or default_threads()  # OMP_NUM_THREADS, as torch's
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
        threads: ONNX Runtime intra-op threads (default: ``OMP_NUM_THREADS``, else every core).
        engine: The engine's name, as :func:`load_predictor` reports it (``onnx`` or ``onnx-int8``).

    Raises:
        BundleError: If the file was exported from another bundle.
    """

    def __init__(self, bundle: Bundle, onnx_model: str | Path | bytes, batch_size: int = DEFAULT_BATCH_SIZE,
                 threads: int | None = None, engine: str = "onnx") -> None:
        from lstmtext.inference.onnx.files import check_exported_from, reexport

        super().__init__(bundle, batch_size)
        self.engine = engine
        self.engine_source = "built in memory" if isinstance(onnx_model, bytes) else str(onnx_model)
        self._source = onnx_model if isinstance(onnx_model, bytes) else str(onnx_model)
        try:
            self.session = _session(self._source, threads)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for a corrupt or truncated file
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BundleError(f"{self.engine_source}: ONNX Runtime cannot load it ({first[:200]}). "
                              + reexport(bundle, None if isinstance(onnx_model, bytes) else onnx_model)) from None
        self._threads = threads
        self._one_thread = self.session if (threads or default_threads()) == 1 else None  # built on first use
        check_exported_from(bundle, self.session.get_modelmeta().custom_metadata_map,
                            None if isinstance(onnx_model, bytes) else onnx_model)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its ONNX Runtime sessions (they cannot be), which :meth:`__setstate__` builds again from
        the graph (the file's path, or the bytes of a graph built in memory)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("session", "_one_thread")}

    def __setstate__(self, state: dict[str, Any]) -> None:  # noqa: D105
        self.__dict__.update(state)
        self.session = _session(self._source, self._threads)
        self._one_thread = self.session if (self._threads or default_threads()) == 1 else None

    def proba_from_ids(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Class probabilities of already encoded texts (unpadded id lists), in input order."""
        # The graph's "probabilities" output applies the task's calibration, as the torch engine does.
        n = len(sequences)
        if n == 1 and len(sequences[0]):  # one request's text: nothing to sort or pad (p50 0.32 -> 0.23 ms)
            ids = np.asarray(sequences[0], dtype=np.int64).reshape(1, -1)
            feeds = {"ids": ids, "lengths": np.array([ids.shape[1]], dtype=np.int64)}
            return self._session_for(1).run(["probabilities"], feeds)[0]
        out = np.zeros((n, self.task.layout.total), dtype=np.float32)
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=n)
        for index in eval_batches(lengths, self.batch_size, ONNX_BATCH_TOKENS):
            batch = collate(sequences, index)  # post-padded, as the graph requires
            feeds = {"ids": batch.ids.numpy(), "lengths": batch.lengths.numpy()}
            out[index] = self._session_for(len(index)).run(["probabilities"], feeds)[0]
        return out

    def _session_for(self, rows: int) -> Any:
        """The session for a batch of ``rows`` texts: one thread for at most :data:`SMALL_BATCH` (one request's
        text answers sooner), every thread otherwise."""
        if rows > SMALL_BATCH:
            return self.session
        if self._one_thread is None:
            self._one_thread = _session(self._source, 1)
        return self._one_thread


def onnx_missing() -> str | None:
    """Why the ONNX engines cannot run here, or None: they need ONNX Runtime and the ``onnx`` package (which reads
    and writes the graphs); ONNX Runtime alone left the default engine ending in a traceback."""
    import importlib

    for module in ("onnxruntime", "onnx"):
        try:
            importlib.import_module(module)
        except ImportError:
            return f"the {module} package is not installed (pip install 'lstmtext[export]')"
    return None


def _onnx_model(bundle: Bundle, quantized: bool, onnx_path: str | Path | None) -> str | Path | bytes:
    """The exported file when there is one, else a graph built in memory (and quantised via a temp file).
    ``onnx_path``: the float file, whose int8 copy beside it ``quantized`` reads, or the int8 file itself.

    Raises:
        BundleError: For a named file that is not there, or an int8 one where the float graph is asked for.
    """
    from lstmtext.inference.onnx import INT8_NAME, ONNX_NAME, int8_path
    from lstmtext.inference.onnx.files import float_name, is_int8

    if onnx_path is not None:
        given = Path(onnx_path)
        int8_given = given.name.endswith(".int8.onnx") or (given.is_file() and is_int8(given))
        if not quantized and int8_given:
            raise BundleError(f"{given}: a quantised (int8) graph, and --engine onnx runs the float one. Give "
                              f"--engine onnx-int8 to run it, or the float file ({float_name(given).name}).")
        path = given if not quantized or int8_given else int8_path(given)
        if not path.is_file():
            raise BundleError(f"{path}: no such ONNX file. {_write_it(bundle, float_name(given), quantized)}")
        return path
    path = bundle.path / (INT8_NAME if quantized else ONNX_NAME) if bundle.path else None
    if path is not None and path.is_file():
        return path
    log.warning("%s: no exported %s; building it in memory (run `lstmtext export %s%s` to save start-up time)",
                bundle.path, path.name if path else ONNX_NAME, bundle.path, " --quantize" if quantized else "")
    return _build_in_memory(bundle, quantized)


def _write_it(bundle: Bundle, onnx_path: Path, quantized: bool) -> str:
    """The command that writes the float graph ``onnx_path`` (beside it, not into the bundle: ``export`` without
    ``--out`` writes the bundle's own file); a path in another saved model's folder is that model's place."""
    from lstmtext.inference.onnx.files import is_graph_of, other_models_folder

    if (home := other_models_folder(onnx_path, bundle)) is not None:
        return (f"{home} is another saved model's folder: leave --onnx out (this model's own graph is found in its "
                f"folder: lstmtext export {bundle.path}{' --quantize' if quantized else ''}), or name a file elsewhere.")
    # the float file there is written again, unless --quantize only adds the int8 copy of this model's own graph
    again = " --overwrite" if onnx_path.is_file() and not (quantized and is_graph_of(bundle, onnx_path)) else ""
    return f"Write it with: lstmtext export {bundle.path} --out {onnx_path}{' --quantize' if quantized else ''}{again}"


def _build_in_memory(bundle: Bundle, quantized: bool) -> bytes:
    """The bundle's graph, serialised (int8: quantised through a temporary folder)."""
    from lstmtext.inference.onnx import build_onnx, bundle_metadata, quantize_onnx

    proto = build_onnx(bundle.model, bundle.task, bundle_metadata(bundle))
    if not quantized:
        return proto.SerializeToString()
    import tempfile

    import onnx

    with tempfile.TemporaryDirectory() as tmp:
        onnx.save(proto, f"{tmp}/model.onnx")
        return quantize_onnx(f"{tmp}/model.onnx", f"{tmp}/model.int8.onnx").read_bytes()


def _auto(bundle: Bundle, onnx_path: str | Path | None, batch_size: int, threads: int | None) -> Predictor:
    """The fastest engine whose answers do not depend on a text's batch-mates: the bundle's float file, else a
    float graph built in memory; torch (with the reason logged) when ONNX Runtime is missing or the model has no
    graph writer. An int8 file is used only when asked for (``onnx-int8``, or named with ``onnx_path``: then the
    engine says ``onnx-int8``)."""
    if (missing := onnx_missing()) is not None:
        log.warning("engine auto: %s; using torch", missing)
        return _torch(bundle, batch_size, threads)
    from lstmtext.inference.onnx import ONNX_NAME
    from lstmtext.inference.onnx.files import is_int8

    float_path = Path(onnx_path) if onnx_path is not None else (bundle.path / ONNX_NAME if bundle.path else None)
    if onnx_path is not None and not float_path.is_file():
        raise BundleError(f"{float_path}: no such ONNX file. {_write_it(bundle, float_path, False)}")
    if onnx_path is not None:  # a file named with --onnx is used or refused, never passed over for another graph
        if is_int8(float_path):  # it had run, and been reported, as the float graph
            log.warning("engine auto: %s is a quantised graph: running it as onnx-int8 (its answers move a little "
                        "with the texts batched alongside; the float file runs as onnx)", float_path)
            return _chosen(OnnxPredictor(bundle, float_path, batch_size, threads, engine="onnx-int8"))
        return _chosen(OnnxPredictor(bundle, float_path, batch_size, threads, engine="onnx"))
    if float_path is not None and float_path.is_file():
        try:
            return _chosen(OnnxPredictor(bundle, float_path, batch_size, threads, engine="onnx"))
        except Exception as exc:  # noqa: BLE001 - a stale or unreadable file: try the next way
            log.warning("engine auto: skipped %s: %s", float_path.name, _reason(exc))
    try:
        model = _build_in_memory(bundle, quantized=False)  # float: quantising costs start-up time
        return _chosen(OnnxPredictor(bundle, model, batch_size, threads, engine="onnx"))
    except Exception as exc:  # noqa: BLE001 - whatever stops the graph, the default engine still serves
        log.warning("engine auto: %s; using torch", _reason(exc))
        return _torch(bundle, batch_size, threads)


def _reason(exc: Exception) -> str:
    """An exception as one line, without the advice to pick an engine (auto is picking one)."""
    text = str(exc).split(". Serve this model with")[0]
    return text if isinstance(exc, BundleError) else f"{type(exc).__name__}: {text}"


def _chosen(predictor: Predictor) -> Predictor:
    log.info("engine auto: %s (%s)", predictor.engine, predictor.engine_source)
    return predictor


def _torch(bundle: Bundle, batch_size: int, threads: int | None, bf16: bool = False) -> Predictor:
    return Predictor(bundle, batch_size=batch_size, bf16=bf16 and _bf16_applies(bundle), threads=threads)


def _bf16_applies(bundle: Bundle) -> bool:
    """Whether ``torch-bf16`` can run this bundle in bfloat16 here (else it warns, and torch runs float32): the CPU
    has bfloat16 instructions and the model a layer whose oneDNN kernel reads them (an LSTM)."""
    from lstmtext.models import onednn
    from lstmtext.models.packed import PackedRNN
    from lstmtext.training.precision import BF16_FLAGS, cpu_has_bf16

    if not cpu_has_bf16() or not onednn.rnn_available():
        log.warning("engine torch-bf16: this CPU has no bf16 instructions (%s) or torch no oneDNN; running float32 "
                    "(engine torch)", " / ".join(BF16_FLAGS))
        return False
    if not any(isinstance(m, PackedRNN) and m.onednn_kernel for m in bundle.model.modules()):
        log.warning("engine torch-bf16: this model has no LSTM layer that runs in bf16 (FusedLSTM; GRU, RNN, CNN "
                    "and the clstm preset's torch LSTM do not); running float32 (engine torch)")
        return False
    return True


def load_predictor(path: str | Path, engine: str = "auto", onnx_path: str | Path | None = None,
                   batch_size: int | None = None, threads: int | None = None) -> Predictor:
    """Load a bundle for prediction with the named engine.

    Args:
        path: A bundle folder or a training output folder.
        engine: ``auto`` (the exported float file, else a float graph built in memory, else torch; never int8 or
            bf16, whose answers depend a little on the batch), ``torch``, ``torch-bf16`` (float32 with a warning
            where the CPU has no bfloat16 instructions or the model no LSTM layer), ``onnx`` or ``onnx-int8``. The
            predictor's ``engine`` attribute names the one that runs.
        onnx_path: The exported float ``.onnx`` file (default: ``model.onnx`` in the bundle, or built in memory).
            For ``onnx-int8`` the ``.int8.onnx`` file beside it, or the int8 file itself; ``auto`` runs an int8 file
            named here as ``onnx-int8`` (and says so), ``onnx`` refuses it.
        batch_size: Texts per forward pass (default ``DEFAULT_BATCH_SIZE``).
        threads: CPU threads for the forward pass (default: ``OMP_NUM_THREADS`` when set, else every core).

    Returns:
        A :class:`Predictor` (``torch``) or :class:`OnnxPredictor`.

    Raises:
        ConfigError: If the engine name is unknown, or an ONNX engine's packages are not installed.
        BundleError: If the bundle or the ONNX file does not load.
    """
    if engine not in ENGINES:
        raise ConfigError(f"--engine (engine) must be one of {', '.join(ENGINES)}. Got {engine!r} instead.")
    for name, value, what in (("batch_size", batch_size, "texts per forward pass"), ("threads", threads, "CPU threads")):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
            raise ConfigError(f"{name}: a whole number of {what}, at least 1, or None for the default. Got {value!r}.")
    if onnx_path is not None and engine in ("torch", "torch-bf16"):  # a warning: a server's environment may set both
        log.warning("%s: not read: the %s engine reads no ONNX graph (choose the onnx or auto engine to serve it)",
                    onnx_path, engine)
        onnx_path = None
    if onnx_path is not None and Path(onnx_path).is_dir():  # the folder export --out wrote into
        from lstmtext.inference.onnx import ONNX_NAME

        onnx_path = Path(onnx_path) / ONNX_NAME
    bundle = load_bundle(path)
    batch_size = batch_size or DEFAULT_BATCH_SIZE
    if engine == "auto":
        return _auto(bundle, onnx_path, batch_size, threads)
    if engine in ("torch", "torch-bf16"):
        return _torch(bundle, batch_size, threads, bf16=engine == "torch-bf16")
    if (missing := onnx_missing()) is not None:
        raise ConfigError(f"--engine {engine}: {missing}. Or run the model with --engine torch.")
    model = _onnx_model(bundle, engine == "onnx-int8", onnx_path)
    return OnnxPredictor(bundle, model, batch_size, threads, engine=engine)
