"""Saved weights are the same bytes however often they are saved: their checksum repeats."""

from __future__ import annotations

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from lstmtext.utils.safetensors_file import save_tensors

TENSORS = {"b": torch.arange(3.0), "a": torch.zeros(2, dtype=torch.float64)}
META = {"format": "lstmtext-lm", "format_version": "1", "library_name": "lstmtext", "z": "last"}


def test_the_same_tensors_and_metadata_give_the_same_bytes(tmp_path):
    for i in range(12):  # safetensors' own writer (0.8) orders the metadata as a hash map does: by chance
        save_tensors(TENSORS, tmp_path / f"s{i}.safetensors", metadata=META)
    assert len({(tmp_path / f"s{i}.safetensors").read_bytes() for i in range(12)}) == 1
    path = tmp_path / "s0.safetensors"
    loaded = load_file(str(path))
    assert torch.equal(loaded["a"], TENSORS["a"]) and torch.equal(loaded["b"], TENSORS["b"])
    with safe_open(str(path), "pt") as fh:
        assert fh.metadata() == META
