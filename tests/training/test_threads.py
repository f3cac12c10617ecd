"""Threads and workers default to the cores this process may use, not the machine's."""

from __future__ import annotations

import os

import torch

from lstmtext.training.threads import configure_threads
from lstmtext.utils import cores


def test_usable_cores_follow_the_cpu_affinity(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)  # set, it is the default instead (the test below)
    monkeypatch.delattr(os, "process_cpu_count", raising=False)  # Python < 3.13: the affinity mask
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 2, 5}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert cores.usable_cores() == 3
    before = torch.get_num_threads()
    try:
        assert configure_threads(None) == 3 and torch.get_num_threads() == 3
        assert configure_threads(1) == 1
    finally:
        torch.set_num_threads(before)
    monkeypatch.setattr(os, "process_cpu_count", lambda: 2, raising=False)  # Python 3.13+ asks it
    assert cores.usable_cores() == 2



def test_omp_num_threads_is_the_default_when_set(monkeypatch):
    monkeypatch.setattr(cores, "usable_cores", lambda: 8)
    for value, expected in (("1", 1), ("3", 3), ("", 8), ("0", 8), ("auto", 8)):
        monkeypatch.setenv("OMP_NUM_THREADS", value)
        assert cores.default_threads() == expected, value
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert cores.default_threads() == 8


def test_the_onnx_engines_take_omp_num_threads_as_torch_does(monkeypatch):
    """ONNX Runtime ran every core under OMP_NUM_THREADS=1, while --engine torch kept to one."""
    import onnxruntime as ort

    from lstmtext.inference import engines

    seen = []
    monkeypatch.setattr(ort, "InferenceSession", lambda model, opts, providers: seen.append(opts.intra_op_num_threads))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    engines._session(b"", None)
    engines._session(b"", 2)  # a number given wins
    assert seen == [1, 2]


def test_a_training_gives_the_callers_thread_count_back(tiny_path):
    """fit() inside a notebook or a cross_val_score worker must not leave the process on train.threads."""
    from helpers import TINY_OVERRIDES
    from lstmtext.config import build_config
    from lstmtext.pipeline import run

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run(build_config(None, overrides=[*TINY_OVERRIDES, "train.epochs=1", "train.threads=2"]), tiny_path,
            progress=False)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
