"""Which precision a training run uses (``train.precision``): the one place that decides it, per model.

``bf16`` is mixed precision inside :class:`~lstmtext.models.fused_lstm.FusedLSTM` (any depth, either direction):
its matrix products read bfloat16 copies of the inputs and weights and accumulate them in float32, and each step's
product comes out rounded to bfloat16 once (one direction: the gates, after oneDNN's fused sigmoid; two: the gates'
pre-activations, before the float32 bias); the master weights, Adam's state, the elementwise math that follows,
the cell state and the loss stay float32, and so does everything outside
that layer (embedding, heads) and all inference (validation, evaluation, prediction, explanations).

Why only there: on the 2-core AMD EPYC with AVX512_BF16 (no AMX) ``torch.autocast`` made the CNN about 3x
slower and left the GRU and attention models unchanged, while FusedLSTM's own products ran 1.6-2.6x faster
in bfloat16 and its training step 1.45x (``benchmarks/lstm_kernel.py --products``). So:

* ``auto``: bf16 when the CPU has bf16 instructions (``avx512_bf16`` or ``amx_bf16`` in /proc/cpuinfo, and
  torch's oneDNN op) and the model has a float32 FusedLSTM layer, except a classifier whose FusedLSTM layers
  run both directions; fp32 otherwise. A bidirectional layer steps both directions with one ``torch.bmm``, and
  for the classifier presets bfloat16 never paid there: one epoch of the BiLSTM presets tied with fp32 on the AMD
  EPYC (``default`` 4.6-5.3 s against 4.7-5.4) and was 1.3-1.4x slower on a 2-core Intel Xeon with AMX
  (``default`` 7.7 s against 5.6, ``bilstm`` 8.2 against 5.8, ``bilstm_attn`` 8.3 against 6.3): its batched
  bfloat16 product, and adding the float32 bias to its bfloat16 result, cost more there than float32's one
  ``baddbmm``. The ``ulmfit`` BiLSTM language model (256 units) did gain on the EPYC (8,389 -> 10,292 tokens/s)
  and tied on the Xeon (12,301 -> 12,565), so language models keep bf16. One direction (oneDNN's product,
  sigmoid fused) gained on both (``seed001`` 1.32x and 1.33x, a 1 x 512 language model 1.25x and 1.55x).
* ``bf16``: the same, but asking for it where it cannot apply (no such CPU, no FusedLSTM layer) logs one
  warning and trains in fp32. Autocast is used only around FusedLSTM's whole-sequence kernel for batches
  without padding (oneDNN's fused LSTM); around the CNN, GRU, attention and a language model's softmax it only
  ever measured slower or equal.
* ``fp32``: never bf16.

The precision actually used is returned by :func:`apply_precision`, kept in ``TrainResult.precision`` and
written to the run summary (``metrics.json``, the reports).
"""

from __future__ import annotations

import functools
import logging

import torch
from torch import nn

from lstmtext.models import onednn
from lstmtext.models.fused_lstm import FusedLSTM
from lstmtext.models.language_model import LanguageModel

log = logging.getLogger(__name__)

BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none, e.g. macOS)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_has_bf16() -> bool:
    """Whether this CPU has bfloat16 instructions and torch's oneDNN product op runs here."""
    return any(flag in cpu_flags() for flag in BF16_FLAGS) and onednn.ONEDNN


def resolve_precision(requested: str, model: nn.Module) -> str:
    """The precision ``model`` trains in here when ``requested`` (``auto``, ``fp32`` or ``bf16``) is asked for."""
    if requested not in ("auto", "fp32", "bf16"):
        raise ValueError(f"train.precision must be 'auto', 'fp32' or 'bf16'. Got {requested!r} instead.")
    if requested == "fp32":
        return "fp32"
    layers = [m for m in model.modules() if isinstance(m, FusedLSTM) and m.weight_ih_l0.dtype == torch.float32]
    if requested == "auto" and any(m.bidirectional for m in layers) and not isinstance(model, LanguageModel):
        return "fp32"  # a classifier's BiLSTM: measured no faster, or slower, in bf16 (module docstring)
    if not layers:
        if requested == "bf16":
            log.warning("train.precision = bf16 applies to LSTMs (FusedLSTM) only, which this model has "
                        "not: training in fp32")
        return "fp32"
    if not cpu_has_bf16():
        if requested == "bf16":
            log.warning("train.precision = bf16: this CPU has no bf16 instructions (%s): training in fp32",
                        " / ".join(BF16_FLAGS))
        return "fp32"
    return "bf16"


def apply_precision(model: nn.Module, requested: str) -> str:
    """Set every FusedLSTM layer of ``model`` to the precision :func:`resolve_precision` picks; return it."""
    precision = resolve_precision(requested, model)
    set_precision(model, precision)
    return precision


def set_precision(model: nn.Module, precision: str) -> None:
    """Set every FusedLSTM layer of ``model`` to ``precision`` (``fp32`` after training, for inference)."""
    for module in model.modules():
        if isinstance(module, FusedLSTM):
            module.precision = precision
