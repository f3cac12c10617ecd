"""Running cleaning steps on many chunks (whitespace-free pieces of text) at once, for the compiled chain.

The chunks are joined by newlines and each step runs once over the joined text: a chunk-wise step never
lets a match cross the newline, so every line comes out as the chunk would alone. ASCII chunks form their own
batch, where some steps run in an *ASCII form*, equal to the step on ASCII text and several times faster on
a long text (``str.translate`` or numpy instead of a regex tried at every position). The emoji step runs
line by line on the lines that may hold an emoji (or a variation selector), few: the emoji package scans
character by character, so it must not see the whole batch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from itertools import filterfalse

import numpy as np

from lstmtext.preprocess import common, english
from lstmtext.preprocess.steps import Step

_SPACE_RUN = re.compile(r"[^\S\n]+")
_LINE_EDGE = re.compile(r" ?\n ?")
_ASCII_DIGITS = str.maketrans("", "", "0123456789")
_ASCII_SPACE_BUT_BLANK_AND_NEWLINE = "\t\x0b\x0c\r\x1c\x1d\x1e\x1f"

#: A test on a chunk as it reaches a given step (the step's index in ``steps``).
Probe = tuple[int, Callable[[str], bool]]


def normalize_lines(text: str) -> str:
    """``normalize_whitespace`` on each line of ``text`` at once."""
    return _LINE_EDGE.sub("\n", _SPACE_RUN.sub(" ", text)).strip(" ")


def normalize_lines_ascii(text: str) -> str:
    """:func:`normalize_lines` for ASCII text, with plain string replacements when its only whitespace is
    blanks and newlines (what the chunk-wise steps leave)."""
    if any(c in text for c in _ASCII_SPACE_BUT_BLANK_AND_NEWLINE):
        return normalize_lines(text)
    while "  " in text:
        text = text.replace("  ", " ")
    return text.replace(" \n", "\n").replace("\n ", "\n").strip(" ")


def remove_digits_ascii(text: str) -> str:
    """``remove_digits`` for ASCII text (``\\d`` is 0-9 there)."""
    return text.translate(_ASCII_DIGITS)


def squeeze_elongation_ascii(text: str) -> str:
    """``squeeze_elongation`` for ASCII text: every run of three or more of the same letter becomes one.

    The regex ``([^\\W\\d_])\\1{2,}`` matches exactly such a run (A-Z, a-z in ASCII) from its first letter,
    greedily, so runs are found here in one vectorised pass instead.
    """
    if len(text) < 1000:  # numpy's fixed cost per call exceeds the regex's on a short text
        return english.squeeze_elongation(text)
    codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    first = np.empty(codes.size, dtype=bool)  # first character of a run of equal characters
    first[0] = True
    np.not_equal(codes[1:], codes[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    lengths = np.diff(np.append(starts, codes.size))
    folded = codes[starts] | 0x20  # A-Z onto a-z; no other byte lands in a-z
    squeeze = (lengths >= 3) & (folded >= ord("a")) & (folded <= ord("z"))
    if not squeeze.any():
        return text
    keep = first | ~np.repeat(squeeze, lengths)
    return codes[keep].tobytes().decode("ascii")


#: Step function -> a test for the chunks it may change; it leaves every other chunk as it is, so a batch
#: runs it on those chunks alone (the emoji package scans character by character: given the whole batch, it
#: would scan every chunk).
ALONE: dict[Callable[[str], str], Callable[[str], bool]] = {common.name_emoji: common.may_need_emoji_package}

#: Step function -> its form for ASCII text (the same output, checked in tests/preprocess/test_compiled.py).
ASCII_FORMS: dict[Callable[[str], str], Callable[[str], str]] = {
    common.remove_digits: remove_digits_ascii,
    english.squeeze_elongation: squeeze_elongation_ascii,
    normalize_lines: normalize_lines_ascii,
}


def run_chunks(steps: Sequence[Step], chunks: Sequence[str], probes: Sequence[Probe] = ()
               ) -> tuple[list[str], list[str], list[list[bool]]]:
    """Each chunk through ``steps``, and for each probe whether the chunk passed its test on the way.

    Returns:
        The chunks (reordered: ASCII ones first), their cleaned forms, and per probe one flag per chunk.
    """
    plain = list(filter(str.isascii, chunks))
    wide = list(filterfalse(str.isascii, chunks))
    cleaned, flags = _run_joined(steps, plain, probes, ascii_forms=True)
    more, more_flags = _run_joined(steps, wide, probes, ascii_forms=False)
    for column, extra in zip(flags, more_flags):
        column += extra
    return plain + wide, cleaned + more, flags


def _run_joined(steps: Sequence[Step], chunks: list[str], probes: Sequence[Probe], ascii_forms: bool
                ) -> tuple[list[str], list[list[bool]]]:
    """``chunks`` through ``steps`` as one newline-joined text (ASCII chunks: ASCII forms where a step has
    one; steps in :data:`ALONE` line by line), with the probes' flags."""
    flags: list[list[bool]] = [[] for _ in probes]
    if not chunks:
        return [], flags
    joined = "\n".join(chunks)
    for at, fn in enumerate(steps):
        for column, (where, test) in zip(flags, probes):
            if where == at:
                column.extend(map(test, joined.split("\n")))
        if ascii_forms:
            joined = ASCII_FORMS.get(fn, fn)(joined)
        elif fn in ALONE:
            changes = ALONE[fn]
            joined = "\n".join([fn(line) if changes(line) else line for line in joined.split("\n")])
        else:
            joined = fn(joined)
    parts = joined.split("\n")
    if len(parts) != len(chunks):  # a step that is not chunk-wise after all: never misalign silently
        raise RuntimeError(f"a chunk-wise cleaning step added or removed a newline ({list(steps)})")
    return parts, flags
