"""Language detection for a data set: which rows are in which language, and which to drop.

Dropping a row is not a ``str -> str`` step, so this module offers plain functions instead (the lecture's
first preprocessing stage, before cleaning): :func:`detect_languages`, :func:`filter_language` and
:func:`language_summary` (for ``lstmtext detect-lang FILE``). It uses langid.py's bundled model, restricted
to the languages given, with normalised probabilities; results are deterministic.

Rule for short or unsure rows: a row is judged only when it has at least ``min_letters`` letters (20 by
default) once URLs and HTML tags are removed, and a judged row is dropped only when another language wins
with probability at least ``min_confidence`` (0.9). Everything else is kept. Vietnamese typed without
diacritics (``quan nay ngon``), which langid reads as English with high confidence, is recognised by its
syllables (:func:`~lstmtext.preprocess.vietnamese.syllable_share`): a text of at least :data:`MIN_WORDS_VI`
words, :data:`VI_SYLLABLES` or more of them Vietnamese syllables (and :data:`VI_CUES` with a Vietnamese onset or
vowel group), is Vietnamese when ``vi`` is a candidate.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from itertools import repeat
from typing import Any

from lstmtext.errors import ConfigError
from lstmtext.preprocess.common import remove_urls, strip_html_tags
from lstmtext.preprocess.vietnamese import strip_spaced_html_tags, syllable_share

logger = logging.getLogger(__name__)

#: The project's languages (English tweets, Indonesian, Vietnamese).
DEFAULT_LANGUAGES: tuple[str, ...] = ("en", "id", "vi")
#: Rows with fewer letters than this are kept without being judged.
MIN_LETTERS = 20
#: A judged row in another language is dropped only at this probability or more.
MIN_CONFIDENCE = 0.9
#: The language code given to rows without any letter (ISO 639 "undetermined").
UNDETERMINED = "und"
#: A text of at least MIN_WORDS_VI words, at least VI_SYLLABLES of them Vietnamese syllables and VI_CUES syllables
#: with a Vietnamese onset or vowel group, is Vietnamese (typed without its marks; NTC-SCV: 9 of the 40 reviews
#: langid gave another language, none of its 31 English ones; "so i can not go to the top at noon" is no cue).
VI_SYLLABLES = 0.8
VI_CUES = 0.1
MIN_WORDS_VI = 8


@dataclass(frozen=True)
class DroppedRow:
    """A row that :func:`filter_language` drops.

    Attributes:
        index: The row's 0-based position in the input.
        language: The detected language code.
        confidence: Its probability among the languages considered (0 to 1).
        text: The row's text as given.
        where: Where the row is (``file:line``), when the caller said (:func:`language_summary`'s ``where``).
    """

    index: int
    language: str
    confidence: float
    text: str
    where: str | None = None


@dataclass
class LanguageSummary:
    """Counts per detected language and the rows a filter would drop.

    Attributes:
        total: Number of rows.
        counts: ``{language: rows}`` over the judged rows, most frequent first.
        too_short: Rows kept unjudged (fewer than ``min_letters`` letters).
        uncertain: Judged rows in another language kept because the confidence was below the threshold.
        keep: The language a filter keeps, or None when no filter was asked for.
        would_drop: How many rows ``filter_language(..., keep=keep)`` drops (0 when ``keep`` is None).
        examples: Up to ``max_examples`` of those rows, in input order.
    """

    total: int
    counts: dict[str, int]
    too_short: int
    uncertain: int
    keep: str | None
    would_drop: int
    examples: list[DroppedRow] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (examples as dicts)."""
        return asdict(self)


@lru_cache(maxsize=1)
def _full_model() -> tuple[Any, ...]:
    """Decode langid.py's bundled model once per process (about 3 s); returns the constructor arguments."""
    from langid.langid import LanguageIdentifier, model

    identifier = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    logger.debug("langid model loaded: %d languages", len(identifier.nb_classes))
    return (
        identifier.nb_ptc,
        identifier.nb_pc,
        identifier.nb_numfeats,
        identifier.nb_classes,
        identifier.tk_nextmove,
        identifier.tk_output,
    )


def available_languages() -> list[str]:
    """Return the language codes langid.py knows (97 ISO 639-1 codes), sorted."""
    return sorted(_full_model()[3])


@lru_cache(maxsize=16)
def _identifier(languages: tuple[str, ...]) -> Any:
    """Return an identifier restricted to ``languages`` (sharing the decoded model arrays)."""
    from langid.langid import LanguageIdentifier

    identifier = LanguageIdentifier(*_full_model(), norm_probs=True)
    identifier.set_languages(list(languages))
    return identifier


def _check_languages(languages: Iterable[str] | None) -> tuple[str, ...]:
    """Validate and normalise a language list into a sorted tuple (the cache key); None means all."""
    if languages is None:
        return tuple(available_languages())
    if isinstance(languages, str):
        languages = [languages]
    codes = tuple(sorted({str(code).strip().lower() for code in languages}))
    if not codes:
        raise ConfigError("preprocess.languages (detect-lang --languages): the list is empty; give language codes such "
                          "as ['vi', 'en'].")
    known = set(_full_model()[3])
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ConfigError(
            f"preprocess.languages (detect-lang --languages): unknown language code {unknown[0]!r}; use ISO 639-1 "
            f"codes langid knows, such as {', '.join(DEFAULT_LANGUAGES)} (detect-lang --languages all tries every one; "
            "lstmtext.preprocess.langid_step.available_languages() lists them)."
        )
    return codes


def _judged_text(text: str) -> str:
    """The part of ``text`` that is judged: URLs and HTML tags are language-neutral noise."""
    if "<" in text:
        text = strip_spaced_html_tags(strip_html_tags(text))
    return remove_urls(text)


def _letters(text: str) -> int:
    return sum(1 for c in text if c.isalpha())


def detect_languages(
    texts: Iterable[str], languages: Iterable[str] | None = DEFAULT_LANGUAGES
) -> list[tuple[str, float]]:
    """Detect the language of each text.

    Args:
        texts: The texts (rows of a data set).
        languages: The candidate language codes (ISO 639-1, e.g. ``("vi", "en")``), or None for all 97.
            Fewer candidates give more reliable answers, but a text in a language outside them is
            assigned to the closest candidate (Russian may come out as ``id``).

    Returns:
        One ``(language, confidence)`` per text: the most probable candidate and its probability among
        the candidates (0 to 1). A text without any letter gets ``("und", 0.0)``. Short texts are answered
        too, but see :func:`filter_language` for why they should not be trusted.

    Raises:
        ConfigError: If ``languages`` is empty or has a code langid does not know.
    """
    identifier = _identifier(_check_languages(languages))
    results: list[tuple[str, float]] = []
    for text in texts:
        judged = _judged_text(text)
        if _letters(judged) == 0:
            results.append((UNDETERMINED, 0.0))
            continue
        results.append(_classify(identifier, judged))
    return results


def _classify(identifier: Any, judged: str) -> tuple[str, float]:
    """langid's answer for ``judged``, except that unmarked Vietnamese is Vietnamese (see the module's doc)."""
    # lower-cased: langid reads capitals as English ('TIDAK LAYAK UNTUK HOTEL' and 'Rahasia Iis Dahlia Tetap Awet
    # Muda' were English at 1.00): 321 of the 661 Indonesian news titles that --keep id dropped, dropped for case
    language, confidence = identifier.classify(judged.lower())
    if language != "vi" and "vi" in identifier.nb_classes:
        share, cues, words = syllable_share(judged)
        if words >= MIN_WORDS_VI and share >= VI_SYLLABLES and cues >= VI_CUES:
            return "vi", share  # its confidence: the share of its words that are Vietnamese syllables
    return str(language), float(confidence)


def _judge(
    texts: Iterable[str], keep: str | None, languages: Iterable[str] | None, min_letters: int, min_confidence: float
) -> Iterator[tuple[int, str, str, str | None, float]]:
    """Shared work of :func:`filter_language` and :func:`language_summary`: one ``(index, text, verdict, language,
    confidence)`` per text, in order, verdict ``short`` (kept unjudged), ``kept``, ``unsure`` (kept) or ``dropped``;
    the texts are read one at a time."""
    codes = _check_languages(languages)
    if keep is not None and keep.strip().lower() not in codes:
        raise ConfigError(f"preprocess.keep_language (detect-lang --keep) {keep!r} is not among the candidate languages "
                          f"({', '.join(codes)}): keep one of them, or add it to preprocess.languages (detect-lang "
                          "--languages).")
    if min_letters < 0 or not 0.0 <= min_confidence <= 1.0:
        raise ConfigError(
            f"min_letters={min_letters}, min_confidence={min_confidence}: "
            "use min_letters >= 0 and min_confidence between 0 and 1."
        )
    keep_code = keep.strip().lower() if keep is not None else None
    identifier = _identifier(codes)
    for index, text in enumerate(texts):
        judged = _judged_text(text)
        if _letters(judged) < max(min_letters, 1):
            yield index, text, "short", None, 0.0
            continue
        language, confidence = _classify(identifier, judged)
        if keep_code is None or language == keep_code:
            yield index, text, "kept", language, confidence
        elif confidence < min_confidence:
            yield index, text, "unsure", language, confidence
        else:
            yield index, text, "dropped", language, confidence


def filter_language(
    texts: Sequence[str],
    keep: str,
    languages: Iterable[str] | None = DEFAULT_LANGUAGES,
    *,
    min_letters: int = MIN_LETTERS,
    min_confidence: float = MIN_CONFIDENCE,
) -> tuple[list[int], list[DroppedRow]]:
    """Choose the rows in language ``keep``; rows too short or too unsure to judge are kept.

    Args:
        texts: The texts (rows of a data set).
        keep: The language to keep (one of ``languages``).
        languages: The candidate language codes, or None for all 97 langid knows.
        min_letters: Rows with fewer letters (after removing URLs and HTML tags) are kept unjudged.
        min_confidence: A row detected as another language is dropped only at this probability or more.

    Returns:
        ``(kept_indices, dropped)``: the 0-based indices to keep, in input order, and one
        :class:`DroppedRow` per dropped row.

    Raises:
        ConfigError: If a language code is unknown, ``keep`` is not a candidate, or a threshold is out of range.
    """
    kept: list[int] = []
    dropped: list[DroppedRow] = []
    for index, text, verdict, language, confidence in _judge(texts, keep, languages, min_letters, min_confidence):
        if verdict == "dropped":
            dropped.append(DroppedRow(index, str(language), confidence, text))
        else:
            kept.append(index)
    return kept, dropped


def language_summary(
    texts: Iterable[str],
    keep: str | None = None,
    languages: Iterable[str] | None = DEFAULT_LANGUAGES,
    *,
    min_letters: int = MIN_LETTERS,
    min_confidence: float = MIN_CONFIDENCE,
    max_examples: int = 5,
    where: Iterable[str] | None = None,
) -> LanguageSummary:
    """Count rows per detected language and show the rows :func:`filter_language` would drop.

    Args:
        texts: The texts (rows of a data set), read once: a generator over a file larger than memory is counted
            holding only the examples.
        keep: The language a filter would keep; None only counts.
        languages: The candidate language codes, or None for all.
        min_letters: As in :func:`filter_language`.
        min_confidence: As in :func:`filter_language`.
        max_examples: How many dropped rows to include as examples.
        where: Where each text is (``file:line``), in step with ``texts``: the examples say where they are.

    Returns:
        A :class:`LanguageSummary`.

    Raises:
        ConfigError: As :func:`filter_language`.
    """
    counts: Counter[str] = Counter()
    total = too_short = uncertain = would_drop = 0
    examples: list[DroppedRow] = []
    verdicts = _judge(texts, keep, languages, min_letters, min_confidence)
    refs: Iterable[str | None] = where if where is not None else repeat(None)
    for (index, text, verdict, language, confidence), ref in zip(verdicts, refs):  # zip pulls a verdict first
        total += 1
        if verdict == "short":
            too_short += 1
            continue
        counts[str(language)] += 1
        uncertain += verdict == "unsure"
        if verdict == "dropped":
            would_drop += 1
            if len(examples) < max_examples:
                examples.append(DroppedRow(index, str(language), confidence, text, ref))
    return LanguageSummary(
        total=total,
        counts=dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        too_short=too_short,
        uncertain=uncertain,
        keep=keep.strip().lower() if keep is not None else None,
        would_drop=would_drop,
        examples=examples,
    )
