"""Prediction from raw text: clean, encode, run length-bucketed batches without gradients, read the outputs.

:class:`Predictor` is the same for every task: the bundle's task turns the model's probabilities into
:class:`~lstmtext.tasks.base.Prediction` records (a label and score, a set of labels, or one prediction per
aspect), which the CLI, the Python API and the server all hand out.
"""

from __future__ import annotations

import numbers
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lstmtext.data.arrays import text_list
from lstmtext.encoding.batching import predict_logits
from lstmtext.encoding.vocab import knows_a_word
from lstmtext.errors import ConfigError, DataError
from lstmtext.inference.bundle import Bundle, load_bundle
from lstmtext.models.packed import bf16_inference
from lstmtext.tasks import Prediction

#: Requests of at most this many texts run on one thread: waking idle threads cost more than they saved.
#: Those of at most SAME_LENGTH texts also run in batches of one length (no padding: a recurrent model reads
#: each with torch's whole-sequence kernel, not the step loop). Default model, airline tweets, 2 cores, p50
#: per request: 2 threads, mixed lengths / 1 thread, mixed / 1 thread, one length per batch: 1 text 2.59 /
#: 0.62 / 0.64 ms; 2 texts 8.14 / 4.81 / 1.16; 8 texts 10.41 / 6.49 / 5.58; 16 texts 11.25 / 7.60 / 12.26;
#: 32 texts 12.89 / 10.12 / -.
SMALL_REQUEST = 32
SAME_LENGTH = 8
_THREADS = threading.RLock()  # re-entrant: a nested call restores its own count


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with torch on ``n`` threads, then restore the count (one block at a time, so that two
    callers cannot leave the process on another count than it had)."""
    with _THREADS:
        threads = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            yield
        finally:
            torch.set_num_threads(threads)


def one_thread() -> Any:
    """:func:`torch_threads` of 1 (what a small request runs on)."""
    return torch_threads(1)


def known_words(sequences: Sequence[Sequence[int]]) -> np.ndarray:
    """Per encoded text, whether it holds a word of the vocabulary (not empty, not only ``<unk>``)."""
    return np.fromiter((knows_a_word(ids) for ids in sequences), dtype=bool, count=len(sequences))


#: Bits of a text's flags (:meth:`Predictor.proba_and_flags`): it holds a known word; it was cut to ``max_len``.
KNOWN, CUT = 1, 2


def text_flags(sequences: Sequence[Sequence[int]], cut: Sequence[bool] = ()) -> np.ndarray:
    """Per encoded text, :data:`KNOWN` | :data:`CUT` (``cut``: :meth:`TextEncoder.encode`'s; empty when not known)."""
    flags = known_words(sequences).astype(np.int8)
    if len(cut):
        flags |= np.asarray(cut, dtype=np.int8) * CUT
    return flags


def flag_unknown(predictions: list[Prediction], flags: np.ndarray) -> list[Prediction]:
    """Mark the records of texts with no known word (``no_known_word``) and of texts the model read only part of
    (``truncated``), in place; returns them. ``flags``: :func:`text_flags` (booleans: known words alone)."""
    for prediction, flag in zip(predictions, flags):
        prediction.no_known_word = not int(flag) & KNOWN
        prediction.truncated = bool(int(flag) & CUT)
    return predictions


class Predictor:
    """Predict for raw texts with a loaded bundle, with PyTorch.

    Args:
        bundle: A loaded bundle (see :func:`lstmtext.inference.bundle.load_bundle`).
        batch_size: Texts per forward pass.
        bf16: Run the model's oneDNN LSTM layers in bfloat16 (:func:`~lstmtext.models.packed.bf16_inference`) on
            batches of one length each; everything else stays float32. Only where the CPU has bfloat16
            instructions: :func:`lstmtext.inference.engines.load_predictor`'s ``torch-bf16`` checks that.
        threads: CPU threads of this predictor's forward passes (default: torch's count); the process's count is
            set for each pass and restored after it. Requests of at most :data:`SMALL_REQUEST` texts run on one.
    """

    #: The engine that runs the model (``torch`` or ``torch-bf16``; ``onnx`` or ``onnx-int8`` for the ONNX
    #: Runtime predictor).
    engine = "torch"
    #: Where the engine's model came from (an ONNX file, "built in memory", or the bundle's weights).
    engine_source = "model.safetensors"

    def __init__(self, bundle: Bundle, batch_size: int = 1024, bf16: bool = False, threads: int | None = None) -> None:
        if not isinstance(bundle, Bundle):
            raise TypeError(f"Predictor() takes a loaded Bundle, not {type(bundle).__name__} {str(bundle)!r}. For a saved "
                            "model's folder use Predictor.from_bundle(path) or lstmtext.load_predictor(path).")
        self.bundle = bundle
        self.encoder = bundle.encoder
        self.model = bundle.model.eval()
        self.task = bundle.task
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ConfigError(f"batch_size: a whole number of texts per forward pass, at least 1. Got {batch_size!r}.")
        self.batch_size = int(batch_size)
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1):
            raise ConfigError(f"threads: a whole number of CPU threads, at least 1, or None for torch's. Got {threads!r}.")
        self.threads = threads  # the forward passes' own: the process's torch thread count is left as it is
        self.bf16 = bf16
        if bf16:
            self.engine = "torch-bf16"

    @property
    def labels(self) -> Any:
        """The task's label space: class names, or ``{aspect: class names}``."""
        return self.task.labels

    @classmethod
    def from_bundle(cls, path: str | Path, **kwargs: Any) -> Predictor:
        """Load the bundle at ``path`` (a bundle folder or a training output folder) with PyTorch.

        Another engine (``lstmtext predict --engine``'s ``auto``, ``torch-bf16``, ``onnx``, ``onnx-int8``) comes from
        :func:`lstmtext.inference.engines.load_predictor` (``lstmtext.load_predictor``).

        Raises:
            ConfigError: For ``engine=`` (see above).
        """
        if "engine" in kwargs:
            raise ConfigError(f"Predictor.from_bundle loads the PyTorch model; for engine={kwargs['engine']!r} call "
                              f"lstmtext.load_predictor(path, {kwargs['engine']!r}) (what lstmtext predict --engine does).")
        return cls(load_bundle(path), **kwargs)

    def proba_from_ids(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Probabilities ``(n, K)`` of already encoded texts (unpadded id lists), in input order."""
        if len(sequences) == 0:
            return np.zeros((0, self.task.layout.total), dtype=np.float32)
        # bf16: every batch of one length, so that each runs oneDNN's whole-sequence LSTM (bfloat16 there only).
        with bf16_inference() if self.bf16 else nullcontext():
            if len(sequences) > SMALL_REQUEST:
                with torch_threads(self.threads) if self.threads else nullcontext():
                    logits = predict_logits(self.model, sequences, self.batch_size, same_length=self.bf16)
            else:
                with one_thread():
                    logits = predict_logits(self.model, sequences, self.batch_size,
                                            same_length=self.bf16 or len(sequences) <= SAME_LENGTH)
        return self.task.probabilities(logits)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities ``(n_texts, K)``: one column per class (per aspect's class, or per label) in label order.

        Raises:
            DataError: If ``texts`` is one string rather than a sequence of them.
        """
        return self.proba_and_known(texts)[0]

    def proba_and_known(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict_proba` and, per text, whether it holds a word the model knows after cleaning (False: its
        row is the model's guess for an empty text). One encoding serves both."""
        proba, flags = self.proba_and_flags(texts)
        return proba, (flags & KNOWN).astype(bool)

    def proba_and_flags(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict_proba` and, per text, its :func:`text_flags` (:data:`KNOWN`: it holds a word the model
        knows; :data:`CUT`: it was longer than the model reads). One encoding serves both, as the server needs.

        Raises:
            DataError: If ``texts`` is one string rather than a sequence of them.
        """
        texts = text_list(texts, "texts")  # one string, a dict or a table of several columns refused in one line
        bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
        if bad is not None:
            raise DataError(f"texts[{bad}] is {texts[bad]!r}, not a string: give every text as a string ('' for an "
                            "empty one; a missing value in a table column is NaN or None).")
        cut: list[bool] = []
        sequences = self.encoder.encode(texts, cut=cut)
        return self.proba_from_ids(sequences), text_flags(sequences, cut)

    def predict(self, texts: Sequence[str], top_k: int | None = None, **options: Any) -> list[Prediction]:
        """Return one :class:`~lstmtext.tasks.base.Prediction` per text.

        Args:
            texts: Raw texts.
            top_k: How many of the best classes each record lists (all if None); it never changes the answer
                (a multi-label model's ``labels`` are those over their thresholds).
            **options: What the task accepts besides (``threshold`` for multi-label, ``only_mentioned`` for
                aspect models); None values are ignored.

        Raises:
            ConfigError: For an option this model's task does not take, or a ``top_k`` below 1.
            DataError: If ``texts`` is one string rather than a sequence of them.
        """
        given = self._options(options, top_k)  # checked before any work
        proba, flags = self.proba_and_flags(texts)
        return flag_unknown(self.task.predictions(proba, top_k, **given), flags)

    def predict_ids(self, sequences: Sequence[Sequence[int]], top_k: int | None = None, cut: Sequence[bool] = (),
                    **options: Any) -> list[Prediction]:
        """:meth:`predict` for texts already encoded (``self.encoder.encode``, whose ``cut`` says which texts were
        longer than the model reads), e.g. to look at their ids too."""
        given = self._options(options, top_k)
        return flag_unknown(self.task.predictions(self.proba_from_ids(sequences), top_k, **given),
                            text_flags(sequences, cut))

    def _options(self, options: dict[str, Any], top_k: int | None = None) -> dict[str, Any]:
        """The prediction options given (None and False dropped), checked against this model's task."""
        given = {k: v for k, v in options.items() if v is not None and v is not False}  # 0 is a value, not 'unset'
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1):
            raise ConfigError(f"top_k must be a whole number of 1 or more (None: every class); got {top_k!r}.")
        for name in ("min_confidence", "threshold"):  # from Python these can be anything: True would mean 1.0
            if name in given and (isinstance(given[name], bool) or not isinstance(given[name], numbers.Real)):
                raise ConfigError(f"--{name.replace('_', '-')} ({name}) must be a number; got {given[name]!r}.")
        if "min_confidence" in given and not 0 < given["min_confidence"] <= 1:
            raise ConfigError(f"--min-confidence (min_confidence) must be in (0, 1]; got {given['min_confidence']}. A "
                              "decision less sure than it (a text's best class, an aspect's, or a label's p or 1 - p) is "
                              "answered as unsure.")
        if "threshold" in given and not 0 <= given["threshold"] <= 1:  # 1.5 answered no label, silently
            raise ConfigError(f"--threshold (threshold) must be in [0, 1], as the CLI's; got {given['threshold']}.")
        extra = sorted(set(given) - set(self.task.prediction_options()))
        if extra:
            raise ConfigError(f"--{extra[0].replace('_', '-')} ({extra[0]}) does not apply to a {self.task.name!r} "
                              f"model (it takes {', '.join(self.task.prediction_options()) or 'no options'}). Drop it.")
        return given
