"""Language-independent cleaning steps: URLs, HTML, punctuation, digits, emoji, case and whitespace."""

from __future__ import annotations

import html
import re
import string
import unicodedata
from collections.abc import Iterable

import emoji

from lstmtext.errors import ConfigError
from lstmtext.preprocess.steps import CLAUSE_BREAK, Step, register_step

# r"(?:https?://|ftp://|www\.)\S+" ignoring case, spelled out (s also matches the long s, as it does ignoring
# case) so that it starts with a character class: the regex engine then skips to candidate characters
# instead of trying the case-blind alternation at every position (2.3x faster on the tweets with a URL).
_URL = re.compile(r"[hHfFwW](?:(?<=[hH])[tT][tT][pP][sS\u017f]?://|(?<=[fF])[tT][pP]://|(?<=[wW])[wW][wW]\.)\S+")
_HTML_TAG = re.compile(r"<[^<>\s][^<>]*>")
_DIGIT = re.compile(r"\d")
_WHITESPACE = re.compile(r"\s+")
_NAMED = re.compile(r"\x00([^\x00]*)\x00")


def _emoji_hint(extra: str = "") -> re.Pattern[str]:
    """A one-character-class regex that finds where an emoji could be (plus the ``extra`` characters).

    The emoji package only matches text that holds the first character of a known emoji; those starting
    with an ASCII character (keycaps: ``#``, ``*``, digits) all go on with U+FE0F or U+20E3. A text without
    any of these characters holds no emoji, so the package's per-character scan (most of the cost of the
    emoji steps) is skipped without changing any output. Characters beyond U+FFFF are given as one range
    (a superset: the regex engine tests them one by one, but a range at once).
    """
    chars = {key[0] for key in emoji.EMOJI_DATA if not key[0].isascii()}
    chars.update(key[1] for key in emoji.EMOJI_DATA if key[0].isascii())
    chars.update(extra)
    wide = [ord(c) for c in chars if ord(c) > 0xFFFF]
    narrow = "".join(re.escape(c) for c in sorted(c for c in chars if ord(c) <= 0xFFFF))
    return re.compile(f"[{narrow}{chr(min(wide))}-{chr(max(wide))}]")


_EMOJI_START = _emoji_hint()
# The emoji package also drops a variation selector that follows no emoji, so any of them matters too.
_EMOJI_OR_SELECTOR = _emoji_hint("\ufe0e\ufe0f")


@register_step("remove_urls")
def remove_urls(text: str) -> str:
    """Remove http(s)/ftp/www URLs (replaced by a space so neighbouring words stay apart)."""
    # Every URL holds "://" or "w." / "W." (only w and W match "w" ignoring case): texts without them skip
    # the regex.
    if "://" not in text and "w." not in text and "W." not in text:
        return text
    return _URL.sub(" ", text)


@register_step("html_entities")
def html_entities(text: str) -> str:
    """Decode HTML entities (``&amp;`` -> ``&``, ``&lt;3`` -> ``<3``)."""
    return html.unescape(text)


@register_step("strip_html_tags")
def strip_html_tags(text: str) -> str:
    """Remove HTML tags such as ``<br/>`` or ``<a href=...>`` (replaced by a space)."""
    return _HTML_TAG.sub(" ", text) if "<" in text else text


class _PunctuationTable(dict):
    """A ``str.translate`` table that deletes punctuation, computed per character on first sight."""

    def __missing__(self, codepoint: int) -> int | None:
        char = chr(codepoint)
        value = None if (char in string.punctuation or unicodedata.category(char).startswith("P")) else codepoint
        self[codepoint] = value
        return value


class _ToSpace(dict):
    """A ``str.translate`` table that maps what the table ``deleting`` deletes to a space instead, but for the marks
    ``kept_deleted``, which it still deletes; computed per character on first sight."""

    def __init__(self, deleting: dict, kept_deleted: str = "") -> None:
        super().__init__()
        self.deleting, self.kept_deleted = deleting, kept_deleted

    def __missing__(self, codepoint: int) -> int | None:
        if chr(codepoint) in self.kept_deleted:
            value = None
        else:
            value = ord(" ") if self.deleting[codepoint] is None else codepoint
        self[codepoint] = value
        return value


#: The marks ``remove_punctuation(split=true)`` still deletes: inside a word they join its parts (``customer's``).
APOSTROPHES = "'\u2019\u2018`"
_PUNCT_TABLE = _PunctuationTable()
_KEEP_UNDERSCORE = _PunctuationTable({ord("_"): ord("_")})
_TO_SPACE = _ToSpace(_KEEP_UNDERSCORE)  # punctuation_to_space
_APART = _ToSpace(_PUNCT_TABLE, APOSTROPHES)  # remove_punctuation(split=true)


@register_step("remove_punctuation", factory=True)
def remove_punctuation(split: bool = False) -> Step:
    """Delete punctuation and ASCII symbols (``A-list`` -> ``Alist``, as R's ``str_remove_all``).

    Args:
        split: Replace them by a space instead, except apostrophes, so that marks between two words keep them
            apart: ``wait...what`` -> ``wait what``, ``SFO-PDX`` -> ``SFO PDX``, ``late.Great`` -> ``late Great``,
            while ``customer's`` -> ``customers``. Deleting glued two words together in 1,507 of the 14,640
            airline tweets (``waitwhat``, ``sfopdx``).
    """
    if not isinstance(split, bool):
        raise ConfigError(f"preprocess.options.remove_punctuation.split: expected true or false, got {split!r}.")
    table = _APART if split else _PUNCT_TABLE
    return lambda text: text.translate(table)  # one C pass; the table learns each character once


@register_step("remove_punctuation_keep_underscore")
def remove_punctuation_keep_underscore(text: str) -> str:
    """Delete punctuation but keep ``_``, which joins segmented words and negations (``tidak_pernah``)."""
    return text.translate(_KEEP_UNDERSCORE)


#: Where a clause ends: ``.``, ``!``, ``?``, ``…`` before whitespace or the end of the text (``bagus. Tapi``; not
#: ``3.5``), and every ``,``, ``;`` or ``:`` (``kurang, berisik``; ``baik,murah``).
#: A run of marks is tried once, from its start, and not given back (possessive): tried from every position of a
#: run not before a space, the pattern was quadratic in its length (32,000 dots took 22 s).
_CLAUSE_END = re.compile(r"(?<![.!?\u2026\u3002\uff01\uff1f])[.!?\u2026\u3002\uff01\uff1f]++(?=\s|$)|[,;:\uff0c\uff1b\u3001]")


@register_step("punctuation_to_space", factory=True)
def punctuation_to_space(clause_ends: bool = False) -> Step:
    """Replace punctuation (but not ``_``) by a space, so ``baik,murah`` becomes two words.

    Args:
        clause_ends: Replace the marks that end a sentence or clause (``.``, ``!``, ``?``, ``…`` followed by
            whitespace or the end of the text; ``,``, ``;``, ``:``) by :data:`~lstmtext.preprocess.steps.CLAUSE_BREAK`
            instead, so that ``remove_single_chars`` and ``join_negation`` never join a word to the first word
            of the next clause (``kurang, berisik`` stays two words).
    """
    if not isinstance(clause_ends, bool):
        raise ConfigError(f"preprocess.options.punctuation_to_space.clause_ends: expected true or false, "
                          f"got {clause_ends!r}.")

    def step(text: str) -> str:
        return text.translate(_TO_SPACE)  # one C pass; the table learns each character once

    def step_with_breaks(text: str) -> str:
        return _CLAUSE_END.sub(f" {CLAUSE_BREAK} ", text).translate(_TO_SPACE)

    return step_with_breaks if clause_ends else step


def remove_digits(text: str) -> str:
    """Delete every digit (Unicode ``\\d``)."""
    return _DIGIT.sub("", text)


#: A word of digits and then one letter: a unit or a count (``4g``, ``200g``, ``2x``), not a word with a digit.
_DIGITS_AND_UNIT = re.compile(r"(?<!\S)\d+[^\W\d_](?!\S)")


@register_step("remove_digits", factory=True)
def remove_digits_step(units: bool = False) -> Step:
    """Delete every digit (Unicode ``\\d``).

    Args:
        units: Also delete the letter of a word made of digits and one letter (``4g``, ``200g``, ``2x``): digit
            removal would leave a lone letter that later steps may read as a word (``g`` is slang for *tidak*).
    """
    if not isinstance(units, bool):
        raise ConfigError(f"preprocess.options.remove_digits.units: expected true or false, got {units!r}.")
    return (lambda text: remove_digits(_DIGITS_AND_UNIT.sub("", text))) if units else remove_digits


@register_step("remove_dollar")
def remove_dollar(text: str) -> str:
    """Delete ``$`` signs."""
    return text.replace("$", "")


@register_step("remove_emoji")
def remove_emoji(text: str) -> str:
    """Delete emoji, flags and pictographs (replaced by a space)."""
    if text.isascii() or not _EMOJI_OR_SELECTOR.search(text):  # skips the emoji package's per-character scan
        return text
    return emoji.replace_emoji(text, replace=" ")


@register_step("emoji_to_words")
def emoji_to_words(text: str) -> str:
    """Replace each emoji by its English name as words (😊 -> ``smiling face with smiling eyes``)."""
    return name_emoji(text) if has_emoji(text) else text


def has_emoji(text: str) -> bool:
    """Whether ``emoji_to_words`` changes ``text`` at all: it holds an emoji (it is skipped otherwise)."""
    return may_hold_emoji(text) and emoji.emoji_count(text) > 0


def may_hold_emoji(text: str) -> bool:
    """False only if ``text`` holds no emoji (a cheap test: no character an emoji could start with)."""
    return not text.isascii() and _EMOJI_START.search(text) is not None


def may_need_emoji_package(text: str) -> bool:
    """False only if the emoji package leaves ``text`` as it is (no emoji, no variation selector)."""
    return not text.isascii() and _EMOJI_OR_SELECTOR.search(text) is not None


def name_emoji(text: str) -> str:
    """``emoji_to_words`` without its check for an emoji: on a text without one it still drops stray
    variation selectors (the emoji package does), which the compiled chain needs when another word of the
    same text holds an emoji."""
    if "\x00" not in text and not may_need_emoji_package(text):  # nothing the package or the regex alters
        return text
    named = emoji.demojize(text, delimiters=(" \x00", "\x00 "))
    return _NAMED.sub(lambda m: m.group(1).replace("_", " "), named)


# Invisible format characters that split or disguise a word without showing: zero-width space and non-joiner,
# word joiner, byte-order mark, soft hyphen, left-to-right/right-to-left marks and embeddings/isolates.
_INVISIBLE = "\u00ad\u200b\u200c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064" \
             "\u2066\u2067\u2068\u2069\ufeff"
# Spaces other than the ASCII one (no-break, narrow no-break, ideographic, the U+2000 block): str.split() splits at
# them already; they become plain spaces so that the cleaned text, and steps matching " ", see one kind of space.
_ODD_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
# Control characters that str.split() does not split at (NUL, BEL, ESC, DEL, C1 controls): "great\x00crew" was one
# unknown word. They become spaces; the ones split() treats as white space (\t \n \r \x0b-\x0c \x1c-\x1f \x85) stay.
_CONTROLS = "".join(chr(c) for c in [*range(0x00, 0x09), *range(0x0E, 0x1C), *range(0x7F, 0x85), *range(0x86, 0xA0)])
_ASCII_CONTROLS = bytes(c for c in map(ord, _CONTROLS) if c < 0x80)
_UNICODE_TABLE = str.maketrans({**dict.fromkeys(_INVISIBLE, None), **dict.fromkeys(_ODD_SPACES + _CONTROLS, " ")})
# A zero-width joiner inside a word (not between emoji, where it builds one emoji from several).
_WORD_JOINER = re.compile(r"(?<=\w)\u200d|\u200d(?=\w)")


@register_step("normalize_unicode")
def normalize_unicode(text: str) -> str:
    """Compose to Unicode NFC and drop invisible characters (zero-width spaces, soft hyphens, direction marks).

    ``cafe`` + a combining accent and the one-character ``é`` become the same word, and so do ``ba\u200bgus``
    and ``bagus``: text copied from web pages, PDFs and other keyboards would otherwise give a word the
    vocabulary does not know. Unusual spaces and control characters (``great\x00crew``) become plain spaces; a
    zero-width joiner stays only between emoji.
    """
    if text.isascii():
        raw = text.encode("ascii")  # two C passes over bytes: ~150 ns a tweet (isprintable ~220, a regex ~300)
        return text if len(raw.translate(None, _ASCII_CONTROLS)) == len(raw) else text.translate(_UNICODE_TABLE)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    text = text.translate(_UNICODE_TABLE)
    return _WORD_JOINER.sub("", text) if "\u200d" in text else text


@register_step("lowercase")
def lowercase(text: str) -> str:
    """Lower-case the text (case folding)."""
    return text.lower()


@register_step("normalize_whitespace")
def normalize_whitespace(text: str) -> str:
    """Collapse runs of whitespace (newlines, tabs) to one space and strip both ends."""
    return _WHITESPACE.sub(" ", text).strip()


def remove_single_chars(text: str) -> str:
    """Drop one-character words (left over from filtering, such as a lone ``s`` or ``d``).

    Words are re-joined with single spaces; clause breaks (:data:`~lstmtext.preprocess.steps.CLAUSE_BREAK`) stay.
    """
    if CLAUSE_BREAK in text:
        return CLAUSE_BREAK.join(" ".join(w for w in part.split() if len(w) > 1) for part in text.split(CLAUSE_BREAK))
    return " ".join(w for w in text.split() if len(w) > 1)


@register_step("remove_single_chars", factory=True)
def remove_single_chars_step(keep: Iterable[str] = ()) -> Step:
    """Drop one-character words (left over from filtering, such as a lone ``s`` or ``d``).

    Words are re-joined with single spaces; clause breaks (:data:`~lstmtext.preprocess.steps.CLAUSE_BREAK`) stay.

    Args:
        keep: One-character words to keep (either case), e.g. ``["g"]``, Indonesian slang for *tidak* (not), which
            ``normalize_slang`` maps later: dropped, ``g bagus`` reads as ``bagus``. Pair it with
            ``remove_digits`` ``units``, so that ``4g`` does not leave a ``g`` behind.
    """
    if keep is None or isinstance(keep, str) or not all(isinstance(w, str) and len(w) == 1 for w in keep):
        raise ConfigError(f"preprocess.options.remove_single_chars.keep: expected a list of one-character words, "
                          f"e.g. [\"g\"]; got {keep!r}.")
    if not keep:
        return remove_single_chars
    kept = frozenset(w.lower() for w in keep) | frozenset(w.upper() for w in keep)

    def words(part: str) -> str:
        return " ".join(w for w in part.split() if len(w) > 1 or w in kept)

    def step(text: str) -> str:
        return CLAUSE_BREAK.join(map(words, text.split(CLAUSE_BREAK))) if CLAUSE_BREAK in text else words(text)

    return step
