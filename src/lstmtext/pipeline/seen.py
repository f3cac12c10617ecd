"""Which texts a saved model was trained on, as fingerprints: ``OUT/training_texts.json`` beside ``OUT/model``.

A model continued on a grown file (``train --init-from``, the labelling loop of docs/active.md) gets a new random
split of it, so texts the earlier model trained on land in the new valid and test splits and inflate their scores
(a review measured test accuracy 0.7250 -> 0.8591, 0.8873 on the 71 leaked texts against 0.8456 on the 149 others).
``evaluate`` on a file that holds training texts overstates the same way. The run folder keeps a 64-bit BLAKE2b
hash of each cleaned training text, so both can count them. It stays outside ``model/``, the folder people share:
with it anyone could test whether a given text was a training text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from lstmtext.utils.atomic import write_json

FILE = "training_texts.json"
#: Runs with more training texts keep no fingerprints (a streamed corpus of millions would make the file large).
MAX_TEXTS = 2_000_000


def fingerprint(text: str) -> str:
    """The 64-bit BLAKE2b hash of a cleaned text, as 16 hex digits (whitespace-normalised)."""
    return hashlib.blake2b(" ".join(text.split()).encode("utf-8"), digest_size=8).hexdigest()


def write_seen(out: Path, cleaned: Iterable[str]) -> None:
    """Write the fingerprints of a run's cleaned training texts (none that clean to nothing) to ``out``."""
    hashes = sorted({fingerprint(t) for t in cleaned if t.strip()})
    if len(hashes) <= MAX_TEXTS:
        write_json(out / FILE, {"hash": "blake2b-64 of each cleaned training text", "hashes": hashes})


def read_seen(path: str | Path) -> set[str] | None:
    """The fingerprints kept for the model at ``path`` (a run folder, or its ``model/`` folder); None if none are."""
    import json

    path = Path(path)
    for folder in (path, path.parent):
        if (folder / FILE).is_file() and (folder / "model").exists() and (folder == path or path.name == "model"):
            try:
                return set(json.loads((folder / FILE).read_text(encoding="utf-8"))["hashes"])
            except (OSError, ValueError, KeyError, TypeError):
                return None
    return None


def count_seen(cleaned: Iterable[str], seen: set[str]) -> int:
    """How many of the cleaned texts (none that clean to nothing) were training texts."""
    return sum(1 for t in cleaned if t.strip() and fingerprint(t) in seen)
