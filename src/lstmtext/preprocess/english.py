"""English tweet cleaning steps: emoticons, @mentions, #hashtags, contractions, elongation, ``?`` and ``!``.

Together with the common steps they form the chain of the Keras airline-tweets tutorial (preset
``en-tweet``). Unlike the tutorial, ``?`` and ``!`` become separate tokens (``you rock exclamationmark``
rather than ``rockexclamationmark``), so the word before them keeps its vocabulary entry.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from importlib import resources

import contractions

from lstmtext.preprocess.steps import register_step

_MENTION = re.compile(r"@\w+")
_HASHTAG = re.compile(r"#\w+")
_ELONGATION = re.compile(r"([^\W\d_])\1{2,}")


@lru_cache(maxsize=1)
def _emoticon_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    """Load ``resources/emoticons.tsv`` and compile one regex that matches any emoticon as a whole word."""
    table: dict[str, str] = {}
    with resources.files("lstmtext.resources").joinpath("emoticons.tsv").open(encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if row and not row[0].startswith("#"):
                table[row[0]] = row[1]
    # An emoticon counts only between whitespace (or the ends): "10:30" keeps its ":3". The character before
    # it is checked after matching it (a lookbehind as wide as the emoticon plus one), so that the regex starts
    # with the emoticons' first characters and the engine skips to them: 1.7x faster than checking first.
    alternatives = "|".join(f"{re.escape(e)}(?<!\\S{'.' * len(e)})" for e in sorted(table, key=len, reverse=True))
    return re.compile(f"(?:{alternatives})(?!\\S)"), table


@register_step("emoticons_to_words")
def emoticons_to_words(text: str) -> str:
    """Replace text emoticons by a word (``:)`` -> ``smiley``, ``:/`` -> ``perplexed``, ``<3`` -> ``heart``)."""
    pattern, table = _emoticon_pattern()
    return pattern.sub(lambda m: f" {table[m.group(0)]} ", text)


@register_step("remove_mentions")
def remove_mentions(text: str) -> str:
    """Remove @mentions (``@VirginAmerica``)."""
    return _MENTION.sub(" ", text)


@register_step("remove_hashtags")
def remove_hashtags(text: str) -> str:
    """Remove #hashtags with their word (``#elevategold``), as the tutorial does."""
    return _HASHTAG.sub(" ", text)


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


@register_step("hashtags_to_words")
def hashtags_to_words(text: str) -> str:
    """Keep a #hashtag's words without the ``#`` (``#BadService`` -> ``Bad Service``, ``#fail`` -> ``fail``).

    The tags carry sentiment (``#fail``, ``#thankyou``) that ``remove_hashtags`` deletes with them.
    """
    return _HASHTAG.sub(lambda m: _CAMEL.sub(" ", m.group(0)[1:]), text)


@register_step("expand_contractions")
def expand_contractions(text: str) -> str:
    """Expand English contractions (``I'd`` -> ``I would``, ``isn't`` -> ``is not``); slang is left alone."""
    return expand_always(text) if has_apostrophe(text) else text


def has_apostrophe(text: str) -> bool:
    """Whether ``expand_contractions`` runs on ``text``: only a text with an apostrophe is expanded."""
    return "'" in text or "\u2019" in text


def expand_always(text: str) -> str:
    """``expand_contractions`` without its apostrophe check. The check is on the whole text, and the
    expansion also rewrites words without an apostrophe (``gonna``, ``thats``, ``jan.``): the compiled chain
    cleans such a word this way when another word of its text holds an apostrophe. "İ" (the one character whose
    lower case is two) stands aside as a private-use character meanwhile: the library indexes the lower-cased text
    with the text's positions, so "İ she's" raised an IndexError and "İstanbul, it's late" kept "it's" (then
    "its")."""
    if "\u0130" not in text:
        return contractions.fix(text.replace("\u2019", "'"), slang=False)
    aside = next(c for c in map(chr, range(0xE000, 0xF900)) if c not in text)  # a private-use character it lacks
    return contractions.fix(text.replace("\u2019", "'").replace("\u0130", aside), slang=False).replace(aside, "\u0130")


@register_step("squeeze_elongation")
def squeeze_elongation(text: str) -> str:
    """Squeeze a letter repeated three or more times to one (``heyyyy guyyyys`` -> ``hey guys``)."""
    return _ELONGATION.sub(r"\1", text)


@register_step("mark_question")
def mark_question(text: str) -> str:
    """Replace each run of ``?`` by the separate token ``questionmark``."""
    while "??" in text:  # runs to one mark, then plain replacement: the regex r"\?+" in C string calls
        text = text.replace("??", "?")
    return text.replace("?", " questionmark ")


@register_step("mark_exclamation")
def mark_exclamation(text: str) -> str:
    """Replace each run of ``!`` by the separate token ``exclamationmark``."""
    while "!!" in text:
        text = text.replace("!!", "!")
    return text.replace("!", " exclamationmark ")
