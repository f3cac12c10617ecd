"""A cleaning pipeline: an ordered list of registered step names, applied to text, then split into tokens.

The pipeline is described by plain data (step names and per-step options), so it is saved in a bundle's
JSON and rebuilt identically at prediction time. Chains that allow it are run in their compiled form
(:mod:`lstmtext.preprocess.compiled`: the same output, most steps once per distinct word); the step-by-step
form stays available as :meth:`Pipeline.step_by_step`. Large inputs are cleaned on a process pool.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from lstmtext.errors import BundleError, ConfigError
from lstmtext.preprocess.compiled import compile_chain
from lstmtext.preprocess.steps import Step, file_options, make_step, takes_options
from lstmtext.utils.cores import usable_cores

log = logging.getLogger(__name__)

#: Inputs at least this long are cleaned on a process pool when more than one core is available, unless the
#: chain has a compiled form: that is faster in one process (en-tweet, 234,240 tweets on 2 cores: 168,134
#: texts/s in one process, 126,132 with two workers, each with its own cold word cache).
PARALLEL_MIN_TEXTS = 20_000


class Pipeline:
    """Apply named cleaning steps in order, then split on whitespace.

    Args:
        steps: Registered step names, applied left to right.
        options: ``{step_name: {option: value}}`` for steps that take options (lexicon paths, ...).
        max_chars: Characters of a text read before the first step (None: all): a huge text costs no more
            than this to clean. The cut keeps the end when ``keep_end`` (as ``vocab.truncating = "pre"`` keeps
            the last tokens), else the start.
        keep_end: Which side of an over-long text is kept.
        compiled: Clean with the compiled form of the chain where it has one (False: always step by step;
            the output is the same, only slower: for checks and benchmarks). Not saved with the pipeline.
    """

    def __init__(self, steps: Sequence[str], options: dict[str, dict[str, Any]] | None = None,
                 max_chars: int | None = None, keep_end: bool = False, compiled: bool = True) -> None:
        self.steps = list(steps)
        self.options = {k: dict(v) for k, v in (options or {}).items()}
        self.max_chars, self.keep_end = max_chars, keep_end
        self._fns: list[Step] = [make_step(name, self.options.get(name)) for name in self.steps]
        self._compiled = compile_chain(self.steps, self._fns) if compiled else None

    def cap(self, text: str) -> str:
        """``text`` cut to ``max_chars`` characters (on the kept side)."""
        if self.max_chars is None or len(text) <= self.max_chars:
            return text
        return text[-self.max_chars:] if self.keep_end else text[: self.max_chars]

    def __call__(self, text: str) -> str:
        """Return the cleaned text."""
        if self._compiled is not None:
            return self._compiled.clean(self.cap(text))
        return self.step_by_step(text)

    def step_by_step(self, text: str) -> str:
        """Return the cleaned text, each step run on the whole text in turn: the reference that the compiled
        form must equal byte for byte."""
        text = self.cap(text)
        for fn in self._fns:
            text = fn(text)
        return text

    def tokenize(self, text: str) -> list[str]:
        """Clean ``text`` and split it into tokens on whitespace."""
        return self(text).split()

    def trace(self, text: str) -> list[tuple[str, str]]:
        """Return ``[(step_name, text_after_step), ...]`` to show what each step did: first ``(cut to N
        characters)`` where ``preprocess.max_chars`` cuts the text, as training and prediction do."""
        out = []
        if self.cap(text) != text:
            text = self.cap(text)
            out.append((f"(cut to {self.max_chars:,} characters)", text))
        for name, fn in zip(self.steps, self._fns):
            text = fn(text)
            out.append((name, text))
        return out

    def clean_many(self, texts: Iterable[str], n_jobs: int | None = None) -> list[str]:
        """Clean many texts, on a process pool when the input is large.

        Args:
            texts: Raw texts.
            n_jobs: Worker processes; ``None`` uses every core for inputs of at least
                ``PARALLEL_MIN_TEXTS`` texts and one process below that or for a compiled chain.
        """
        texts = list(texts)
        if self.max_chars is not None:
            long = sum(len(t) > self.max_chars for t in texts)
            if long:
                log.warning("%d text(s) longer than %d characters were cut before cleaning (preprocess.max_chars)",
                            long, self.max_chars)
        if n_jobs is None:
            large = len(texts) >= PARALLEL_MIN_TEXTS and self._compiled is None
            n_jobs = usable_cores() if large else 1
        if n_jobs <= 1 or len(texts) < 2:
            return self._clean_serial(texts)
        size = max(1, -(-len(texts) // (n_jobs * 4)))
        spec = self.to_dict()
        with ProcessPoolExecutor(max_workers=n_jobs) as pool:
            blocks = pool.map(_clean_block, [(spec, texts[i:i + size]) for i in range(0, len(texts), size)])
            return [cleaned for block in blocks for cleaned in block]

    def _clean_serial(self, texts: list[str]) -> list[str]:
        """Clean ``texts`` in this process (the compiled form takes them all at once)."""
        if self._compiled is None:
            return [self.step_by_step(t) for t in texts]
        if self.max_chars is not None:
            texts = [self.cap(t) for t in texts]
        return self._compiled.clean_many(texts)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready description ``{"steps", "options", "max_chars", "keep_end"}``."""
        return {"steps": list(self.steps), "options": self.options, "max_chars": self.max_chars,
                "keep_end": self.keep_end}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pipeline:
        """Rebuild a pipeline from :meth:`to_dict` output (older bundles have no character cap). Options a saved
        model holds for a step that takes none (accepted and ignored before such options were refused) are left
        out, with a warning: that model cleaned without them."""
        options = dict(data.get("options") or {})
        for name in [k for k, v in options.items() if v and not takes_options(k)]:
            log.warning("a saved cleaning chain gives options to %s, which takes none: they are left out, as they "
                        "were when the model was trained (%s)", name, options.pop(name))
        return cls(data["steps"], options, data.get("max_chars"), bool(data.get("keep_end", False)))

    def __reduce__(self) -> tuple[type[Pipeline], tuple[Any, ...]]:
        """Pickle as the description, rebuilt in the other process: a step with options is a closure, which pickle
        cannot send (a predictor with id-review, id-news or vi-review cleaning could not be pickled), and the
        compiled form's word cache is not worth sending."""
        return Pipeline, (self.steps, self.options, self.max_chars, self.keep_end, self._compiled is not None)

    def __repr__(self) -> str:
        return f"Pipeline({self.steps!r})"


#: The folder of a saved model that holds copies of the files its cleaning reads (lexicons, word lists).
RESOURCES_DIR = "resources"


def _file_values(spec: dict[str, Any]) -> Iterable[tuple[str, str, str]]:
    """``(step, option, path)`` for every file a pipeline description names (empty strings name none)."""
    for step, options in (spec.get("options") or {}).items():
        for option in file_options(step):
            value = (options or {}).get(option)
            if isinstance(value, str) and value:
                yield step, option, value


def pack_files(spec: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Copy the files a pipeline description names into ``folder/resources`` and point it at the copies.

    A saved model then cleans with the lexicon it was trained with wherever it is loaded, and a later edit of
    the user's file does not change it. The returned description names each copy relative to ``folder``.

    Raises:
        ConfigError: If a named file no longer exists.
    """
    packed = {**spec, "options": {step: dict(opts) for step, opts in (spec.get("options") or {}).items()}}
    for step, option, value in _file_values(spec):
        source = Path(value).expanduser()
        if not source.is_file():
            raise ConfigError(f"preprocess.options.{step}.{option}: file {value!r} not found while saving the model; "
                              "it was read at training start. Put it back and save again.")
        name = f"{RESOURCES_DIR}/{step}.{option}{''.join(source.suffixes[-1:])}"
        (folder / RESOURCES_DIR).mkdir(exist_ok=True)
        shutil.copyfile(source, folder / name)
        packed["options"][step][option] = name
    return packed


def unpack_files(spec: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Resolve the copies :func:`pack_files` made against the model's ``folder`` (other paths stay as written).

    Raises:
        BundleError: If a copy is missing from the folder (a partial copy or upload of it).
    """
    unpacked = {**spec, "options": {step: dict(opts) for step, opts in (spec.get("options") or {}).items()}}
    for step, option, value in _file_values(spec):
        if value.startswith(f"{RESOURCES_DIR}/"):
            if not (folder / value).is_file():
                raise BundleError(f"{folder}: {value} is missing (the model's copy of preprocess.options.{step}."
                                  f"{option}, read by its cleaning). Copy the whole model folder, or save it again.")
            unpacked["options"][step][option] = str(folder / value)
    return unpacked


_WORKER_CACHE: dict[str, Pipeline] = {}


def _clean_block(args: tuple[dict[str, Any], list[str]]) -> list[str]:
    """Worker: rebuild the pipeline once per process, then clean a block of texts (one message per block, not
    per text, and the compiled form sees the block's words together)."""
    spec, texts = args
    key = repr(spec)
    if key not in _WORKER_CACHE:
        _WORKER_CACHE[key] = Pipeline.from_dict(spec)
    return _WORKER_CACHE[key]._clean_serial(texts)
