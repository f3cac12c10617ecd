"""Threads and workers default to the cores this process may use, not the machine's."""

from __future__ import annotations

import os

import torch

from lstmtext.training.threads import configure_threads
from lstmtext.utils import cores


def test_usable_cores_follow_the_cpu_affinity(monkeypatch):
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

