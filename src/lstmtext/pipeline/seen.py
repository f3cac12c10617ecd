"""Which texts a saved model was trained on, as fingerprints: ``OUT/training_texts.json`` beside ``OUT/model``.

A model continued on a grown file (``train --init-from``, the labelling loop of docs/active.md) gets a new random
split of it, so texts the earlier model trained on land in the new valid and test splits and inflate their scores
(docs/active.md: test accuracy 0.7250 -> 0.8591 on 2,000 tweets grown by 200, 0.8767 on the 73 texts of the new
test split that the first model trained on against 0.8503 on the 147 others).
``evaluate`` on a file that holds training texts overstates the same way. The run folder keeps a 64-bit BLAKE2b
hash of each cleaned training text (a warm start's: with those of the model it continued), so both can count them.
It stays outside ``model/``, the folder people share: with it anyone could test whether a given text was a
training text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from lstmtext.utils.atomic import write_json

FILE = "training_texts.json"
#: Runs with more distinct training texts keep no fingerprints (the file would pass ~40 MB).
MAX_TEXTS = 2_000_000


def _hash(text: str) -> int:
    """The 64-bit BLAKE2b hash of a cleaned text, whitespace-normalised."""
    return int.from_bytes(hashlib.blake2b(" ".join(text.split()).encode("utf-8"), digest_size=8).digest(), "big")


def fingerprints(cleaned: Iterable[str]) -> np.ndarray:
    """The sorted distinct hashes of cleaned texts (none that clean to nothing), as uint64: 8 bytes a text, held
    while a run trains."""
    return np.unique(np.fromiter((_hash(t) for t in cleaned if t.strip()), dtype=np.uint64))


def write_seen(out: Path, hashes: np.ndarray | None) -> None:
    """Write a run's fingerprints to ``out`` (with ``None``, or over :data:`MAX_TEXTS`, none: an earlier run's file
    there is removed, as it would describe another model)."""
    if hashes is None or len(hashes) > MAX_TEXTS:
        (out / FILE).unlink(missing_ok=True)
        return
    write_json(out / FILE, {"hash": "blake2b-64 of each cleaned training text, hex",
                            "hashes": [f"{int(h):016x}" for h in hashes]})


def read_seen(path: str | Path) -> np.ndarray | None:
    """The fingerprints kept for the model at ``path`` (a run folder, or its ``model/`` folder); None if none are."""
    path = Path(path)
    for folder in (path, path.parent):
        if (folder / FILE).is_file() and (folder / "model").exists() and (folder == path or path.name == "model"):
            try:
                hashes = json.loads((folder / FILE).read_text(encoding="utf-8"))["hashes"]
                return np.unique(np.array([int(h, 16) for h in hashes], dtype=np.uint64))
            except (OSError, ValueError, KeyError, TypeError):
                return None
    return None


def is_seen(cleaned: Sequence[str], seen: np.ndarray) -> np.ndarray:
    """Per cleaned text, whether it was a training text (``seen``: fingerprints); one that cleans to nothing never."""
    if not len(cleaned) or not len(seen):
        return np.zeros(len(cleaned), dtype=bool)
    hashes = np.fromiter((_hash(t) for t in cleaned), dtype=np.uint64, count=len(cleaned))
    return np.isin(hashes, seen) & np.fromiter((bool(t.strip()) for t in cleaned), dtype=bool, count=len(cleaned))


def count_seen(cleaned: Iterable[str], seen: np.ndarray) -> int:
    """How many of the cleaned texts (none that clean to nothing) were training texts (``seen``: fingerprints)."""
    texts = [t for t in cleaned if t.strip()]
    if not texts or not len(seen):
        return 0
    return int(np.isin(np.fromiter((_hash(t) for t in texts), dtype=np.uint64), seen).sum())
