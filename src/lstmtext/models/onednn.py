"""torch's oneDNN product and reusable scratch buffers, for the layers that step through time on the CPU.

``linear`` is ``x @ w.T (+ bias)`` (optionally with a fused sigmoid) through ``torch.ops.mkldnn._linear_pointwise``,
the private op Inductor uses on CPU: torch's own fp32 products use MKL, which runs its AVX2 code on AMD CPUs and
measured 1.7-2.7x slower at FusedLSTM's shapes. A start-up probe checks the op exists and is right; a call that
still fails switches to plain products for good. ``workspace`` hands out per-thread scratch tensors.
"""

from __future__ import annotations

import math
import threading

import torch
from torch import Tensor


def onednn_linear_available() -> bool:
    """Whether torch's oneDNN linear op (the one Inductor uses on CPU) exists and runs here."""
    try:
        y = torch.ops.mkldnn._linear_pointwise(torch.ones(2, 3), torch.ones(4, 3), None, "sigmoid", [], "")
        return bool(torch.allclose(y, torch.full((2, 4), 1 / (1 + math.exp(-3.0)))))
    except Exception:  # a private op: missing, renamed or with a new signature in another torch
        return False


ONEDNN = onednn_linear_available()


def rnn_available() -> bool:
    """Whether torch's whole-sequence LSTM runs on oneDNN here (its fused kernel; torch's own one is slower than
    stepping through packed rows)."""
    return torch.backends.mkldnn.is_available() and bool(torch.backends.mkldnn.enabled)


def linear(x: Tensor, w: Tensor, bias: Tensor | None = None, sigmoid: bool = False) -> Tensor:
    """``x @ w.T (+ bias)``, optionally followed by a sigmoid: (M, K) x (N, K) -> (M, N), a new tensor.

    bfloat16 ``x`` and ``w`` give a bfloat16 result (oneDNN accumulates in float32; ``bias`` may be float32).

    Uses oneDNN's fused op when the start-up probe found it; if a call still fails (a torch whose private
    op changed in a way the probe did not catch) it switches to the plain products for good.
    """
    global ONEDNN
    if ONEDNN and x.dtype in (torch.float32, torch.bfloat16) and x.device.type == "cpu":
        try:
            return torch.ops.mkldnn._linear_pointwise(x, w, bias, "sigmoid" if sigmoid else "none", [], "")
        except Exception:  # a bfloat16 failure (a CPU oneDNN lacks it for) leaves the float32 path alone
            ONEDNN = ONEDNN and x.dtype == torch.bfloat16
    y = torch.mm(x, w.t()) if bias is None else torch.addmm(bias.to(x.dtype), x, w.t())
    return y.sigmoid_() if sigmoid else y


_WORKSPACE = threading.local()


def workspace(slot: str, rows: int, cols: int, like: Tensor) -> Tensor:
    """A (rows, cols) scratch tensor reused across this thread's backward passes; it never escapes one.

    The backward's two (N, 4H) temporaries exceed glibc's 32 MiB mmap threshold at the seed-001 shapes, so
    fresh ones were page-faulted in every batch: ~20k faults and ~20% of the step's CPU time.
    """
    cache = _WORKSPACE.__dict__.setdefault("buffers", {})
    key = (slot, like.dtype, like.device)
    buf = cache.get(key)
    if buf is None or buf.numel() < rows * cols:
        cache[key] = buf = like.new_empty(rows * cols)
    return buf[: rows * cols].view(rows, cols)


def release_workspace() -> None:
    """Free this thread's backward scratch buffers (the next backward re-creates them)."""
    _WORKSPACE.__dict__.pop("buffers", None)
