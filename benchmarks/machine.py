"""The machine's measured limit, printed by every benchmark next to its own figures.

``machine_rate()`` times a (size x size) @ (size x size) product through the same oneDNN op FusedLSTM uses
(``lstmtext.models.fused_lstm._linear``), in fp32 and in bf16, and returns the best of ``reps`` in GFLOP/s.
Imported by the scripts beside it (``python benchmarks/x.py`` puts this folder on ``sys.path``).
"""

from __future__ import annotations

import os
import time

import torch

from lstmtext.models.fused_lstm import _linear


def machine_rate(size: int = 2048, reps: int = 5) -> dict[str, float]:
    """``{"fp32": GFLOP/s, "bf16": GFLOP/s}`` of one square product, best of ``reps`` after a warm-up."""
    rates = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a = torch.randn(size, size).to(dtype)
        _linear(a, a)
        samples = []
        for _ in range(reps):
            start = time.perf_counter()
            _linear(a, a)
            samples.append(time.perf_counter() - start)
        rates[name] = 2 * size**3 / min(samples) / 1e9
    return rates


def rate_line(rates: dict[str, float]) -> str:
    """``fp32 217 GFLOP/s, bf16 431 GFLOP/s``."""
    return ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in rates.items())


def machine_line() -> str:
    """``machine: 2 threads, load average 0.4; product rate fp32 217 GFLOP/s, bf16 431 GFLOP/s`` (measured now):
    what the scripts without a product rate of their own print first, so that every figure has its limit beside
    it."""
    return (f"machine: {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}; product rate "
            f"(2048^3 oneDNN product, best of 5) {rate_line(machine_rate())}")
