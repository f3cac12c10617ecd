"""A cleaning pipeline: an ordered list of registered step names, applied to text, then split into tokens.

The pipeline is described by plain data (step names and per-step options), so it is saved in a bundle's
JSON and rebuilt identically at prediction time. Large inputs are cleaned on a process pool.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from lstmtext.preprocess.steps import Step, make_step

#: Inputs at least this long are cleaned on a process pool when more than one core is available.
PARALLEL_MIN_TEXTS = 20_000


class Pipeline:
    """Apply named cleaning steps in order, then split on whitespace.

    Args:
        steps: Registered step names, applied left to right.
        options: ``{step_name: {option: value}}`` for steps that take options (lexicon paths, ...).
    """

    def __init__(self, steps: Sequence[str], options: dict[str, dict[str, Any]] | None = None) -> None:
        self.steps = list(steps)
        self.options = {k: dict(v) for k, v in (options or {}).items()}
        self._fns: list[Step] = [make_step(name, self.options.get(name)) for name in self.steps]

    def __call__(self, text: str) -> str:
        """Return the cleaned text."""
        for fn in self._fns:
            text = fn(text)
        return text

    def tokenize(self, text: str) -> list[str]:
        """Clean ``text`` and split it into tokens on whitespace."""
        return self(text).split()

    def trace(self, text: str) -> list[tuple[str, str]]:
        """Return ``[(step_name, text_after_step), ...]`` to show what each step did."""
        out = []
        for name, fn in zip(self.steps, self._fns):
            text = fn(text)
            out.append((name, text))
        return out

    def clean_many(self, texts: Iterable[str], n_jobs: int | None = None) -> list[str]:
        """Clean many texts, on a process pool when the input is large.

        Args:
            texts: Raw texts.
            n_jobs: Worker processes; ``None`` uses every core for inputs of at least
                ``PARALLEL_MIN_TEXTS`` texts and one process below that.
        """
        texts = list(texts)
        if n_jobs is None:
            n_jobs = (os.cpu_count() or 1) if len(texts) >= PARALLEL_MIN_TEXTS else 1
        if n_jobs <= 1 or len(texts) < 2:
            return [self(t) for t in texts]
        chunk = max(1, len(texts) // (n_jobs * 4))
        with ProcessPoolExecutor(max_workers=n_jobs) as pool:
            return list(pool.map(_clean_one, [(self.to_dict(), t) for t in texts], chunksize=chunk))

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready description ``{"steps": [...], "options": {...}}``."""
        return {"steps": list(self.steps), "options": self.options}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pipeline:
        """Rebuild a pipeline from :meth:`to_dict` output."""
        return cls(data["steps"], data.get("options"))

    def __repr__(self) -> str:
        return f"Pipeline({self.steps!r})"


_WORKER_CACHE: dict[str, Pipeline] = {}


def _clean_one(args: tuple[dict[str, Any], str]) -> str:
    """Worker: rebuild the pipeline once per process, then clean one text."""
    spec, text = args
    key = repr(spec)
    if key not in _WORKER_CACHE:
        _WORKER_CACHE[key] = Pipeline.from_dict(spec)
    return _WORKER_CACHE[key](text)
