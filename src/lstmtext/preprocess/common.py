"""Language-independent cleaning steps: URLs, HTML, punctuation, digits, emoji, case and whitespace."""

from __future__ import annotations

import html
import re
import string
import unicodedata

import emoji

from lstmtext.preprocess.steps import register_step

_URL = re.compile(r"(?:https?://|ftp://|www\.)\S+", re.IGNORECASE)
_HTML_TAG = re.compile(r"<[^<>\s][^<>]*>")
_DIGIT = re.compile(r"\d")
_WHITESPACE = re.compile(r"\s+")


@register_step("remove_urls")
def remove_urls(text: str) -> str:
    """Remove http(s)/ftp/www URLs (replaced by a space so neighbouring words stay apart)."""
    return _URL.sub(" ", text)


@register_step("html_entities")
def html_entities(text: str) -> str:
    """Decode HTML entities (``&amp;`` -> ``&``, ``&lt;3`` -> ``<3``)."""
    return html.unescape(text)


@register_step("strip_html_tags")
def strip_html_tags(text: str) -> str:
    """Remove HTML tags such as ``<br/>`` or ``<a href=...>`` (replaced by a space)."""
    return _HTML_TAG.sub(" ", text)


class _PunctuationTable(dict):
    """A ``str.translate`` table that deletes punctuation, computed per character on first sight."""

    def __missing__(self, codepoint: int) -> int | None:
        char = chr(codepoint)
        value = None if (char in string.punctuation or unicodedata.category(char).startswith("P")) else codepoint
        self[codepoint] = value
        return value


_PUNCT_TABLE = _PunctuationTable()
_KEEP_UNDERSCORE = _PunctuationTable({ord("_"): ord("_")})


@register_step("remove_punctuation")
def remove_punctuation(text: str) -> str:
    """Delete punctuation and ASCII symbols (``A-list`` -> ``Alist``, as R's ``str_remove_all``)."""
    return text.translate(_PUNCT_TABLE)


@register_step("remove_punctuation_keep_underscore")
def remove_punctuation_keep_underscore(text: str) -> str:
    """Delete punctuation but keep ``_``, which joins segmented words and negations (``tidak_pernah``)."""
    return text.translate(_KEEP_UNDERSCORE)


@register_step("punctuation_to_space")
def punctuation_to_space(text: str) -> str:
    """Replace punctuation (but not ``_``) by a space, so ``baik,murah`` becomes two words."""
    return "".join(" " if _KEEP_UNDERSCORE[ord(c)] is None else c for c in text)


@register_step("remove_digits")
def remove_digits(text: str) -> str:
    """Delete every digit (Unicode ``\\d``)."""
    return _DIGIT.sub("", text)


@register_step("remove_dollar")
def remove_dollar(text: str) -> str:
    """Delete ``$`` signs."""
    return text.replace("$", "")


@register_step("remove_emoji")
def remove_emoji(text: str) -> str:
    """Delete emoji, flags and pictographs (replaced by a space)."""
    if text.isascii():  # no emoji can be there; skips the emoji package's costly scan for most texts
        return text
    return emoji.replace_emoji(text, replace=" ")


@register_step("emoji_to_words")
def emoji_to_words(text: str) -> str:
    """Replace each emoji by its English name as words (😊 -> ``smiling face with smiling eyes``)."""
    if text.isascii() or not emoji.emoji_count(text):
        return text
    named = emoji.demojize(text, delimiters=(" \x00", "\x00 "))
    return re.sub(r"\x00([^\x00]*)\x00", lambda m: m.group(1).replace("_", " "), named)


@register_step("lowercase")
def lowercase(text: str) -> str:
    """Lower-case the text (case folding)."""
    return text.lower()


@register_step("normalize_whitespace")
def normalize_whitespace(text: str) -> str:
    """Collapse runs of whitespace (newlines, tabs) to one space and strip both ends."""
    return _WHITESPACE.sub(" ", text).strip()


@register_step("remove_single_chars")
def remove_single_chars(text: str) -> str:
    """Drop one-character words (left over from filtering, such as a lone ``s`` or ``d``)."""
    return " ".join(w for w in text.split() if len(w) > 1)
