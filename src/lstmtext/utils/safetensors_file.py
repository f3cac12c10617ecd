"""safetensors files whose bytes depend only on what they hold, so that a checksum of them repeats.

safetensors writes its ``__metadata__`` from a hash map whose order changes from one process to the next: the
same weights saved by two runs (an interrupted pretraining resumed, and one run straight through) gave two
files and two ``weights_sha256``. :func:`save_tensors` writes the metadata's keys sorted instead.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import torch


def save_tensors(tensors: dict[str, torch.Tensor], path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """``safetensors.torch.save_file``, with the header's metadata keys in sorted order (the tensors' entries are
    already sorted); the header keeps its length, so the data is where it was."""
    from safetensors.torch import save_file

    save_file(tensors, str(path), metadata=metadata)
    if not metadata or len(metadata) < 2:
        return
    with open(path, "r+b") as fh:
        (size,) = struct.unpack("<Q", fh.read(8))
        raw = fh.read(size)
        header = json.loads(raw)
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        body = raw.rstrip(b" ")
        if len(text) != len(body):  # another writer's format: leave the file as it wrote it
            return
        fh.seek(8)
        fh.write(text)
