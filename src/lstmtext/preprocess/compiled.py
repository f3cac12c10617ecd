"""The compiled form of a cleaning chain: most steps run once per distinct word, not once per text.

A chain that ends with ``normalize_whitespace`` returns the words of a text joined by one space. If, from
some step on, no step reads across whitespace or deletes it, then cleaning the whole text gives the same as
cleaning each whitespace-separated *chunk* alone and joining the results. Those steps (the *chunk part*)
therefore run once per distinct chunk, kept in a dict: a text then costs a split, dict look-ups and a join
(tweets repeat their words: 258,446 chunks, 30,105 distinct, in the airline data). Chunks not seen before
are cleaned together (:mod:`lstmtext.preprocess.chunkwise`), each step one pass over all of them. The steps
before the chunk part run on the whole text, as in the step-by-step chain.

Two steps look at the whole text before acting: ``emoji_to_words`` runs only on a text that holds an
emoji (and then also drops stray variation selectors elsewhere in it), ``expand_contractions`` only on a
text with an apostrophe (and then also expands ``gonna`` elsewhere in it). They are *gates*; which gates
open for a text is its *mode*, and each mode has its own cache, whose chunks are cleaned with the gated
steps always on or left out. A text's mode is guessed from a cheap test on the raw text that never misses
an open gate (an apostrophe somewhere); a chunk that passes an open gate's own test on the way carries a
marker, and a text whose chunks carry no marker for a gate guessed open is looked up again with it closed.
Texts the chunk-wise form cannot reproduce are cleaned step by step: one holding a NUL (``emoji_to_words``
pairs NULs across the text) or a marker, or a character whose lower case is longer (``İ``: the
contractions package then matches at shifted positions, even across words).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from lstmtext.preprocess import common, english
from lstmtext.preprocess.chunkwise import Probe, normalize_lines, run_chunks
from lstmtext.preprocess.steps import Step

#: Steps that clean ``a + whitespace + b`` as ``a``, the same whitespace, then ``b``: no match crosses
#: whitespace, none deletes it, none adds a newline (the separator of a batch of chunks) or an apostrophe,
#: none turns ASCII text into non-ASCII. tests/preprocess/test_compiled.py holds them to that.
CHUNK_LOCAL = frozenset({
    "remove_urls", "emoticons_to_words", "remove_mentions", "remove_hashtags", "squeeze_elongation",
    "mark_question", "mark_exclamation", "remove_punctuation", "remove_digits", "remove_dollar", "lowercase",
})


class Gate(NamedTuple):
    """A step that acts only when the whole text passes a test, else leaves it alone."""

    opens: Callable[[str], bool]  # the step's own test, on the text it receives
    forced: Step  # the step without its test
    maybe: Callable[[str], bool]  # on the raw text: False only if the test must fail (no earlier gate open)


GATES = {
    "emoji_to_words": Gate(common.has_emoji, common.name_emoji, common.may_hold_emoji),
    "expand_contractions": Gate(english.has_apostrophe, english.expand_always, english.has_apostrophe),
}

#: Chunks kept per cache before it starts afresh: bounds memory when new words never stop coming (a server).
CACHE_LIMIT = 200_000
#: Texts cleaned per round: bounds the memory of the split texts of a huge input.
BLOCK = 8192

Mode = int  # bit k set: gate k is open

#: The characters whose lower case is longer than one character (checked for this Python in the tests).
LONGER_IN_LOWER_CASE = ("\u0130",)

_SEP = "\x00"  # separates the texts of a block; chr(1), chr(2), ... mark chunks that passed gate 0, 1, ...


def chunk_start(names: Sequence[str]) -> int | None:
    """Index of the first step of the chunk part of the chain ``names``, or None when it has none.

    The chunk part is the longest run of chunk-wise steps before a final ``normalize_whitespace``, cut after
    a repeated gate and after an ``expand_contractions`` with no ``lowercase`` behind it (the contractions
    package matches ``to cause`` across a space and may change its case: no change once lower-cased).
    """
    if len(names) < 2 or names[-1] != "normalize_whitespace":
        return None
    start = len(names) - 1
    while start > 0 and (names[start - 1] in CHUNK_LOCAL or names[start - 1] in GATES):
        start -= 1
    seen: set[str] = set()
    for i in range(len(names) - 2, start - 1, -1):
        name = names[i]
        if (name in GATES and name in seen) or (name == "expand_contractions" and "lowercase" not in seen):
            start = i + 1
            break
        seen.add(name)
    return start if start < len(names) - 1 else None


def compile_chain(names: Sequence[str], fns: Sequence[Step]) -> CompiledChain | None:
    """The compiled form of the chain (step ``names`` and their built functions), or None if it has no chunk
    part (then the step-by-step chain is used as it is)."""
    start = chunk_start(names)
    if start is None:
        return None
    return CompiledChain(fns[:start], names[start:-1], fns[start:])


class CompiledChain:
    """Clean texts as the step-by-step chain does, the chunk part once per distinct chunk.

    Args:
        prefix: Functions of the steps before the chunk part (run on the whole text).
        names: Names of the chunk part's steps.
        tail: Their functions, followed by ``normalize_whitespace``'s.
    """

    def __init__(self, prefix: Sequence[Step], names: Sequence[str], tail: Sequence[Step]) -> None:
        self.prefix, self.names, self.tail = list(prefix), list(names), list(tail)
        self.gates = [(i, GATES[name]) for i, name in enumerate(self.names) if name in GATES]
        self.markers = [chr(1 + k) for k in range(len(self.gates))]
        self._odd = (_SEP, *self.markers, *LONGER_IN_LOWER_CASE)
        self._out: dict[Mode, dict[str, str]] = {}

    def clean(self, text: str) -> str:
        """The cleaned ``text``."""
        return self._clean_block([text])[0]

    def clean_many(self, texts: Sequence[str]) -> list[str]:
        """The cleaned ``texts``, in order."""
        out: list[str] = []
        for start in range(0, len(texts), BLOCK):
            out.extend(self._clean_block(texts[start:start + BLOCK]))
        return out

    def _clean_block(self, texts: Sequence[str]) -> list[str]:
        """Whole-text steps, then each text's chunks looked up in its mode's cache, until the mode holds."""
        for fn in self.prefix:
            texts = [fn(t) for t in texts]
        out = [""] * len(texts)
        odd = self._odd_ones(texts)
        for i in odd:
            out[i] = self._step_by_step(texts[i])
        todo = {i: mode for i, mode in enumerate(self._guesses(texts)) if i not in odd}
        while todo:
            retry: dict[int, Mode] = {}
            for mode, idx in _group(todo).items():
                results = self._lookup(mode, [texts[i] for i in idx])
                if not mode:  # most texts: no marker to check, only the last space to drop
                    for i, result in zip(idx, results):
                        out[i] = result[:-1]
                    continue
                for i, result in zip(idx, results):
                    closed = self._unconfirmed(mode, result)
                    if closed is None:
                        out[i] = self._unmark(mode, result)[:-1]
                    else:  # gate ``closed`` stays shut; the later ones are guessed again
                        retry[i] = self._guess(texts[i], mode & ((1 << closed) - 1), closed + 1)
            todo = retry
        return out

    def _odd_ones(self, texts: list[str]) -> set[int]:
        """Indices of the texts to clean step by step (see the module docstring), searched for in the whole
        block first."""
        joined = "".join(texts)
        if not any(c in joined for c in self._odd):
            return set()
        return {i for i, t in enumerate(texts) if any(c in t for c in self._odd)}

    def _step_by_step(self, text: str) -> str:
        for fn in self.tail:
            text = fn(text)
        return text

    def _guesses(self, texts: Sequence[str]) -> list[Mode]:
        """:meth:`_guess` for each text, one gate at a time (ints, not tuples: no garbage to collect)."""
        modes, opened = [0] * len(texts), [False] * len(texts)
        for k, (_, gate) in enumerate(self.gates):
            opened = [was or maybe for was, maybe in zip(opened, map(gate.maybe, texts))]
            modes = [mode | (is_open << k) for mode, is_open in zip(modes, opened)]
        return modes

    def _guess(self, text: str, known: Mode, start: int) -> Mode:
        """``known`` (the gates before ``start``) with a guess for each later gate: open if its cheap test
        passes or an earlier gate is open (an open gate may add what a later one reacts to: emoji names hold ’)."""
        mode = known
        for k in range(start, len(self.gates)):
            mode |= bool(mode or self.gates[k][1].maybe(text)) << k
        return mode

    def _unconfirmed(self, mode: Mode, result: str) -> int | None:
        """The first gate guessed open in ``mode`` that no chunk of ``result`` passed, or None."""
        for k, marker in enumerate(self.markers):
            if mode >> k & 1 and marker not in result:
                return k
        return None

    def _unmark(self, mode: Mode, result: str) -> str:
        """``result`` without the markers of the open gates."""
        for k, marker in enumerate(self.markers):
            if mode >> k & 1:
                result = result.replace(marker, "")
        return result

    def _lookup(self, mode: Mode, texts: list[str]) -> list[str]:
        """For each text, the cached forms of its chunks joined, so with a space at the end unless empty
        (chunks new to the cache of ``mode`` are cleaned first, all at once).

        The texts are handled as one string, NUL-separated, so splitting, looking up and joining are each one
        C call for the whole block rather than one Python call per text.
        """
        chunks = (" \x00 ".join(texts) + " \x00").split()
        cache = self._out.setdefault(mode, {_SEP: _SEP})
        missing = set(chunks).difference(cache)
        if len(cache) + len(missing) > CACHE_LIMIT:  # a full cache is replaced, not emptied, so that a caller
            cache = self._out[mode] = {_SEP: _SEP}  # in another thread keeps the one it filled
            missing = set(chunks).difference(cache)
        if missing:
            cache.update(self._clean_chunks(list(missing), mode))
        return "".join(map(cache.__getitem__, chunks)).split(_SEP)[:-1]

    def _clean_chunks(self, chunks: list[str], mode: Mode) -> Iterable[tuple[str, str]]:
        """``(chunk, cached form)`` pairs in ``mode``: cleaned and whitespace normalised, then a space if not
        empty, then the markers of the open gates whose test the chunk passed on the way."""
        steps: list[Step] = []
        probes: list[Probe] = []
        for i, (name, fn) in enumerate(zip(self.names, self.tail)):
            if name not in GATES:
                steps.append(fn)
                continue
            k = sum(1 for at, _ in self.gates if at < i)
            if mode >> k & 1:
                probes.append((len(steps), GATES[name].opens))
                steps.append(GATES[name].forced)
        steps.append(normalize_lines)
        chunks, cleaned, flags = run_chunks(steps, chunks, probes)
        cleaned = [c + " " if c else "" for c in cleaned]
        markers = [m for k, m in enumerate(self.markers) if mode >> k & 1]
        for marker, column in zip(markers, flags):
            cleaned = [c + marker if flag else c for c, flag in zip(cleaned, column)]
        return zip(chunks, cleaned)


def _group(todo: dict[int, Mode]) -> dict[Mode, list[int]]:
    """The text indices of ``todo`` grouped by mode."""
    groups: dict[Mode, list[int]] = {}
    for i, mode in todo.items():
        groups.setdefault(mode, []).append(i)
    return groups
