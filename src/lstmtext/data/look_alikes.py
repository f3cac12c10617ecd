"""Label names that look like variants of one another: ``Positive`` beside ``positive``, ``postive`` beside it.

Each distinct name is learnt as its own class, so a case variant or a typo in a few rows silently becomes an
extra class (and a random split even moves a test row into training to keep it). Two rules, per group of names
that share a decision (a classifier's classes, a multi-label file's labels, one aspect's labels, an aspect file's
aspects):

- the same name once case, spaces, ``-`` and ``_`` are ignored (``Positive``, ``positive ``, ``very-good`` /
  ``very_good``), or the same number (``1`` / ``1.0``): always reported;
- a rare name (at most a twentieth of the other's rows) that differs from it in one word, one edit away for a
  word of 5 to 7 characters or two for a longer one (``postive``, ``neutal``, ``very_postive``): reported as a
  likely misspelling. Short words (``pos``, ``neu``, ``general_neg`` / ``general_neut``, ``1``) and whole other
  words (``room_negative`` / ``room_positive``: three edits) are left alone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any


def _folded(name: str) -> str:
    """The name without case, and with spaces, ``-`` and ``_`` as one space between its words; a number as its
    value (``1``, ``1.0`` and ``01`` are one: a file whose labels were once written by a float column)."""
    if _NUMBER.fullmatch(str(name).strip()):  # before - is folded: -1 and 1 are two labels (polarities)
        return repr(float(str(name).strip()))
    return re.sub(r"[\s_-]+", " ", str(name)).strip().casefold()


_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?")


def _edits(a: str, b: str, most: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``most + 1`` once it is known to exceed ``most``."""
    if abs(len(a) - len(b)) > most:
        return most + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > most:
            return most + 1
        previous = current
    return previous[-1]


def _typo(a: str, b: str) -> bool:
    """Whether folded names ``a`` and ``b`` differ in one word only, both words of 5 characters or more, by one
    edit (two for words of 8 or more): ``postive`` / ``positive``, but not ``general_neg`` / ``general_neut``."""
    wa, wb = a.split(), b.split()
    if len(wa) != len(wb):
        return False
    differ = [(x, y) for x, y in zip(wa, wb) if x != y]
    if len(differ) != 1 or min(map(len, differ[0])) < 5:
        return False
    most = 1 if min(map(len, differ[0])) < 8 else 2
    return _edits(*differ[0], most) <= most


def look_alikes(counts: Counter) -> list[tuple[str, str, str]]:
    """``(variant, name, why)`` for each name of ``counts`` (name -> rows) that looks like a variant of another
    (see the module docstring); ``why`` is ``"case"``, ``"number"`` or ``"spelling"``. The variant is the rarer of
    the two."""
    names = sorted(counts, key=lambda n: (-counts[n], n))  # most rows first: the variant is the later one
    found, seen = [], {}
    for name in names:
        key = _folded(name)
        if key in seen:
            found.append((name, seen[key], "number" if _NUMBER.fullmatch(str(name).strip()) else "case"))
            continue
        seen[key] = name
        if _NUMBER.fullmatch(str(name).strip()):  # 101 is no misspelling of 100
            continue
        typo = next((o for o in names if counts[o] >= 20 * counts[name] and _typo(key, _folded(o))), None)
        if typo is not None:
            found.append((name, typo, "spelling"))
    return found


#: Labels that are how a tool wrote a missing value (R's NA, pandas' NaN, SQL's NULL, Excel's #N/A), not a class.
MISSING_WORDS = frozenset({"na", "n/a", "#n/a", "nan", "null", "<na>"})


def look_alike_notes(labels: Sequence[Any], rows: Sequence[str] | None, names: Callable[[Any], Iterable[tuple[str, str]]],
                     source: str, meant: Iterable[str] = ()) -> list[str]:
    """One line for each look-alike among ``labels`` (a split's training labels; ``rows``: their ``file:line``);
    ``names(label)`` gives a row's ``(group, name)`` pairs (group ``""`` for a task with one group of names).
    ``meant``: labels the run gives a meaning (``absa.not_mentioned``), never reported as missing values."""
    counts: Counter = Counter()
    first: dict[Any, str] = {}
    for i, label in enumerate(labels):
        counts[label] += 1
        if label not in first:
            first[label] = rows[i] if rows else f"row {i}"
    return counted_look_alike_notes(counts, first, names, source, meant)


def counted_look_alike_notes(counts: Mapping[Any, int], first: Mapping[Any, str],
                             names: Callable[[Any], Iterable[tuple[str, str]]], source: str,
                             meant: Iterable[str] = ()) -> list[str]:
    """:func:`look_alike_notes` from each label's count and first row (``file:line``), both in the order the labels
    first appear: what a streamed run keeps of a file it never holds whole."""
    meant = {str(m).strip().lower() for m in meant}
    per_group: dict[str, Counter] = {}
    where: dict[tuple[str, str], str] = {}
    for label, n in counts.items():  # in order of first appearance: a name's first label has its first row
        for group, name in names(label):
            per_group.setdefault(group, Counter())[name] += n
            where.setdefault((group, name), first[label])
    notes = []
    for group, group_counts in per_group.items():
        missing = [n for n in group_counts if str(n).strip().lower() in MISSING_WORDS - meant]  # R's write.csv: NA
        for name in missing:
            n = group_counts[name]
            notes.append(f"{source}: {group + ': ' if group else ''}{name!r} ({n:,} row{'s' if n > 1 else ''}, first "
                         f"{where[(group, name)]}) is how spreadsheets, R and databases write a missing "
                         "value, and it is learnt as a label of its own. If it means no label, leave the cell empty.")
        for variant, name, why in look_alikes(group_counts):
            n, m = group_counts[variant], group_counts[name]
            notes.append(f"{source}: {group + ': ' if group else ''}{variant!r} ({n:,} row{'s' if n > 1 else ''}, first "
                         f"{where[(group, variant)]}) {_KINDS[why]} {name!r} ({m:,} row{'s' if m > 1 else ''}); "
                         "each is learnt as a label of its own. If they are one, write it one way in the file.")
    return notes


def look_alike_hint(name: str, counts: Counter) -> str:
    """`` It looks like a misspelling of 'x'.`` when ``name`` is a look-alike among ``counts``, else ``""``."""
    other = next(((o, why) for v, o, why in look_alikes(counts) if v == name), None)
    return f" {name!r} {_KINDS[other[1]]} {other[0]!r}." if other else ""


_KINDS = {"case": "differs only in case or spacing from", "number": "is the same number as", "spelling": "looks like a misspelling of"}
