"""Vietnamese review cleaning steps: diacritic repair, spaced HTML tags, text emoticons, word segmentation.

Together with the common steps they form the lecture's chain for the NTC-SCV foody.vn reviews (preset
``vi-review``). Word segmentation uses pyvi's offline CRF model and joins the syllables of a word with ``_``
(``nhân viên`` -> ``nhân_viên``), the form NTC-SCV ships in.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from typing import Any

from lstmtext.errors import ConfigError
from lstmtext.preprocess.steps import Step, register_step

logger = logging.getLogger(__name__)

_COMBINING = "\u0300-\u036f"
# A whitespace run is tried once, from its start, and not given back (possessive): "\s+(?=...)" tried every position
# of a run of spaces not before a mark, quadratic in its length (32,000 spaces took 17 s).
_SPACE_BEFORE_MARK = re.compile(rf"(?<!\s)\s++(?=[{_COMBINING}])")
# What may follow a tone mark inside one syllable: a final consonant, or the last vowel of a diphthong
# (gọi, bình, thường, của). Anything else after the space is the next word (đồ đông).
_SYLLABLE_TAIL = re.compile(rf"([{_COMBINING}])\s+(ch|nh|ng|[cmnpt]|[aiouy])(?![^\W\d_])", re.IGNORECASE)

_HTML_TAG_NAMES = "a|abbr|b|br|div|em|font|h[1-6]|i|img|li|ol|p|span|strong|u|ul"
# "<\s*/?\s*" could split a run of spaces between its two "\s*" in every way: "<" and 8,000 spaces took 14 s.
_SPACED_HTML_TAG = re.compile(rf"<\s*+(?:/\s*+)?(?:{_HTML_TAG_NAMES})(?![^\W_])[^<>]*>", re.IGNORECASE)

# Text emoticons, also in the space-separated form of tokenised reviews (": ) )", "^ ^", "- _ -").
_EMOTICON = re.compile(
    r"""
      (?<![\d:/=;])[:;=]\ ?(?:[-'^]\ ?)?            # eyes, optional nose; not after a digit (10:30) or http:
        (?: [)(\]\[]+(?:\ ?[)(\]\[])*                #   :) :))) : ) ) =(( :]
          | [|*]                                     #   :| :*
          | /(?!/)                                   #   :/ but not ://
        )
    | (?<![\d:/=;])[:;]\ ?(?:-\ ?)?[dpvxo3](?![^\W_])  # :D :p :v :x :o :3 when no letter or digit follows
    | (?<![\d:/=;])=[dp](?![^\W_])                     # =D =P (unspaced: "x = 3" is no emoticon)
    | \^\ ?(?:[_.-]\ ?)?\^+                           # ^^ ^ ^ ^_^ ^.^
    | (?<![^\W_])[-=>tT]\ ?_+\ ?[-=<tT](?![^\W_])     # -_- =_= >_< T_T T_ T
    | </?\ ?3+(?!\d)                                  # <3 < 3 </3 <333
    | (?<![^\W_])[xX]D(?![^\W_])                      # xD XD
    """,
    re.VERBOSE | re.IGNORECASE,
)
# A letter, ``_``, letter sequence: the text was segmented before (NTC-SCV reviews are).
_SEGMENTED = re.compile(r"[^\W\d_]_[^\W\d_]")


@register_step("fix_vi_diacritics")
def fix_vi_diacritics(text: str) -> str:
    """Re-attach tone marks split off by spaces (``Go ̣ i`` -> ``Gọi``), then compose to Unicode NFC.

    Some NTC-SCV reviews (4% of them) were written with decomposed accents and then tokenised with a space
    on each side of every combining mark. A mark is joined to the letter before it, and the fragment after
    it is joined too when it can only end a syllable (a final consonant, or i/y/o/u/a); otherwise it is the
    next word (``đô ̀ đông`` -> ``đồ đông``). Composed text is returned in NFC.
    """
    if not any("\u0300" <= c <= "\u036f" for c in text):
        return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)
    text = _SPACE_BEFORE_MARK.sub("", text)
    text = _SYLLABLE_TAIL.sub(r"\1\2", text)
    return unicodedata.normalize("NFC", text)


@register_step("fix_vi_diacritics_v2")
def fix_vi_diacritics_v2(text: str) -> str:
    """``fix_vi_diacritics``, but text typed with decomposed accents (a Mac keyboard: no space before any mark)
    is only composed: version 1 joined ``đồ ăn`` into ``đồăn`` there, taking the next word's ``a`` for the
    end of a split syllable. Only a text with a space before a mark is in the split-off form it repairs.
    """
    if _SPACE_BEFORE_MARK.search(text) is None:
        return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)
    return fix_vi_diacritics(text)


@register_step("strip_spaced_html_tags")
def strip_spaced_html_tags(text: str) -> str:
    """Remove common HTML tags even with spaces inside (``< a class = ' x ' href = ... >``), as in NTC-SCV.

    Only known tag names are matched, so ``< 3`` (a heart) or ``giá < 50k`` stay.
    """
    if "<" not in text:
        return text
    return _SPACED_HTML_TAG.sub(" ", text)


@register_step("remove_text_emoticons")
def remove_text_emoticons(text: str) -> str:
    """Remove text emoticons (``:)`` ``=))`` ``:v`` ``^^`` ``-_-`` ``<3``), also space-separated (``: ) )``).

    Times and URLs are not emoticons (``10:30``, ``http://``); letter emoticons such as ``:D`` need a
    non-letter after them (``ý:dễ`` stays). Each emoticon becomes a space.
    """
    return _EMOTICON.sub(" ", text)


# What a text emoticon says, as one word (a single word, so that word segmentation joins it to no neighbour). Keyed
# by the emoticon's mouth (its last character), its eyes and shape otherwise.
_MOUTH_WORDS = {")": "smiley", "]": "smiley", "3": "smiley", "(": "frown", "[": "frown", "d": "laughing",
                "p": "tongue", "v": "pacman", "x": "speechless", "o": "surprised", "|": "straightface", "*": "kiss",
                "/": "perplexed"}


def _emoticon_word(emoticon: str) -> str:
    """The word for one match of ``_EMOTICON`` (``: ) )`` -> ``smiley``, ``T_T`` -> ``crying``)."""
    shape = "".join(emoticon.split()).lower()
    if shape.startswith("<"):
        return "brokenheart" if "/" in shape else "heart"
    if shape.startswith("^"):
        return "happy"
    if "_" in shape:
        return "crying" if shape.startswith("t") else "annoyed"
    if shape == "xd":
        return "laughing"
    mouth = shape[-1]
    if mouth in ")]" and shape[0] == ";":
        return "wink"
    if mouth == "(" and "'" in shape:
        return "crying"
    return _MOUTH_WORDS.get(mouth, "smiley")


@register_step("text_emoticons_to_words")
def text_emoticons_to_words(text: str) -> str:
    """Replace text emoticons by a word for what they say (``: ) )`` -> ``smiley``, ``: (`` -> ``frown``, ``^ ^`` ->
    ``happy``, ``:v`` -> ``pacman``): the emoticons ``remove_text_emoticons`` finds, also space-separated.

    The words are English, one word per emoticon (``straightface``, ``brokenheart``: no neighbour is joined to them
    when the text is segmented after), of the kinds ``emoticons_to_words`` names in tweets.
    """
    return _EMOTICON.sub(lambda m: f" {_emoticon_word(m.group(0))} ", text)


#: The spellings of a few everyday words in Vietnamese reviews (NTC-SCV: ``ko`` in 1,126 of 5,000 reviews, ``k`` in
#: 1,632 of them, against ``không`` in 1,925), each mapped to the written word.
VI_SLANG: dict[str, str] = {  # not hông (also "hip, side": bên hông bàn)
    **dict.fromkeys(["ko", "k", "kh", "khg", "hk", "hok", "khong", "kô", "hem"], "không"),
    **dict.fromkeys(["đc", "dc", "dk", "đk"], "được"),
    "j": "gì", "z": "vậy", "vs": "với", "mn": "mọi người", "bik": "biết",
}
_VI_WORD = re.compile(r"(?<![^\W_])[^\W\d_]+(?![^\W_])")
_AFTER_NUMBER = re.compile(r"\d\s$")


@register_step("normalize_slang_vi", factory=True)
def normalize_slang_vi(overrides: dict[str, str] | None = None) -> Step:
    """Write a few everyday Vietnamese words as they are spelled (``ko``, ``k``, ``hok`` -> ``không``; ``đc``, ``dc``
    -> ``được``; ``j`` -> ``gì``; ``vs`` -> ``với``): the table ``VI_SLANG``.

    Matching ignores case; a word is a run of letters between non-letters, and ``_`` (a segmented word's joint)
    separates words too (``ko_gian`` -> ``không_gian``). A letter after digits is no word of its own (``50k`` is a
    price: ``remove_digits`` with ``units`` removes it whole, so run this step before that one), nor is one letter
    after a number and a space (``120 k``).

    Args:
        overrides: More words, or other forms for the table's words (``{"k" = "k"}`` keeps ``k``), merged on top.

    Raises:
        ConfigError: If ``overrides`` is not a table of words to words.
    """
    if overrides is not None and not (isinstance(overrides, dict) and all(
            isinstance(k, str) and isinstance(v, str) and _VI_WORD.fullmatch(k.strip()) for k, v in overrides.items())):
        raise ConfigError("preprocess.options.normalize_slang_vi.overrides: expected a table of word = written form, "
                          f'each word letters only, as the step matches words (e.g. {{ ko = "không" }}); got {overrides!r}.')
    table = {**VI_SLANG, **{k.strip().lower(): v for k, v in (overrides or {}).items()}}
    # the table's words alone, bounded as _VI_WORD's are: one call per such word, not per word of the text (2x faster)
    words = re.compile(r"(?<![^\W_])(?:%s)(?![^\W_])" % "|".join(map(re.escape, sorted(table, key=len, reverse=True))),
                       re.IGNORECASE)

    def replace(match: re.Match[str]) -> str:
        word, start = match.group(0), match.start()
        if len(word) == 1 and _AFTER_NUMBER.search(match.string, max(0, start - 2), start):  # 120 k: a price's k
            return word
        return table.get(word.lower(), word)

    def step(text: str) -> str:
        return words.sub(replace, text)

    return step


# Where a syllable ends in oa, oe or uy, two spellings put its tone mark on either vowel: hòa / hoà, thủy / thuỷ
# (NTC-SCV: 326 syllables of the first kind, 213 of the second). Elsewhere the mark's place is fixed (hoàn, quý).
_NEW_STYLE = re.compile(r"(?<![qQ])([oO][àáảãạÀÁẢÃẠèéẻẽẹÈÉẺẼẸ]|[uU][ỳýỷỹỵỲÝỶỸỴ])(?![^\W\d_])")


def _mark_on_first(match: re.Match[str]) -> str:
    first, second = match.group(0)
    base, *mark = unicodedata.normalize("NFD", second)
    return unicodedata.normalize("NFC", first + "".join(mark)) + base


@register_step("unify_vi_tone_marks")
def unify_vi_tone_marks(text: str) -> str:
    """Put the tone mark of a syllable ending in oa, oe or uy on its first vowel (``hoà`` -> ``hòa``, ``thuỷ`` ->
    ``thủy``, ``khoẻ`` -> ``khỏe``), the more common of the two spellings, so that both are one word.

    Run it on composed text (after ``normalize_unicode``).
    """
    return _NEW_STYLE.sub(_mark_on_first, text)


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    """Import pyvi (which loads its CRF model) once, on first use."""
    from pyvi import ViTokenizer

    logger.debug("pyvi word segmenter loaded")
    return ViTokenizer


def is_segmented(text: str) -> bool:
    """Return True when ``text`` already contains a ``_``-joined word (``nhân_viên``)."""
    return _SEGMENTED.search(text) is not None


_SURROGATE = re.compile(r"[\ud800-\udfff]")


@register_step("segment_vi")
def segment_vi(text: str) -> str:
    """Segment Vietnamese into words, joining syllables with ``_`` (``nhân viên`` -> ``nhân_viên``).

    Uses pyvi's bundled CRF model (offline, deterministic). Text that is already segmented (it contains a
    letter-``_``-letter word, as every multi-syllable NTC-SCV review does) is returned unchanged: pyvi would
    otherwise re-join about a third of such texts differently. Otherwise whitespace is collapsed first (pyvi
    joins across double spaces) and the output has single spaces, with punctuation split off (``ngon!`` ->
    ``ngon !``). Run it on cleaned text; it works best before lower-casing (proper names help it).
    """
    if is_segmented(text):
        return text
    words = text.split()
    if not words:
        return text
    # pyvi's CRF (pycrfsuite) fails with a SystemError on a lone surrogate, which a terminal that is not UTF-8 or
    # the Python API can pass: it reads U+FFFD there, as a file or the server would refuse the text
    return _tokenizer().tokenize(_SURROGATE.sub("\ufffd", " ".join(words)))


# Vietnamese written without its marks is still made of Vietnamese syllables: an onset, a vowel group of the
# language and an optional final consonant. English and Indonesian words mostly are not (w, f, z, clusters, two or
# more syllables). Over the shared data: 94% of NTC-SCV reviews have >= 80% such words; 1 airline tweet in 14,640
# and no IndoNLU SmSA text do.
_NUCLEI = ("a e i o u y ai ao au ay eo eu ia iu oa oe oi oo ua ue ui uo uu uy ye ie ieu oai oao oay oeo uai uay uoi "
           "uou uya uye uyu yeu").split()
_ASCII_SYLLABLE = re.compile(r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?(?:%s)(?:ch|ng|nh|[cmnpt])?"
                             % "|".join(sorted(_NUCLEI, key=len, reverse=True)))
_LETTER_RUN = re.compile(r"[^\W\d_]+")
# What English short words lack: Vietnamese onsets and vowel groups ("so i can not go to the top" is all syllables,
# none of them these). Among the NTC-SCV reviews with >= 80% syllables, at least 14% of the words have one.
_VIETNAMESE_CUE = re.compile(r"(?:ngh|ng|nh|kh|ph|tr|gi|qu)\w*|\w*(?:uo|uye|ie|oa|oe|uy|ua|ue|ay|au|ao|oi|ui|eo|eu|iu)\w*")


def syllable_share(text: str) -> tuple[float, float, int]:
    """The share of ``text``'s words that are Vietnamese syllables once their marks are removed, the share that are
    such syllables with an onset or a vowel group English short words lack, and its word count.

    For Vietnamese typed without diacritics (``quan nay ngon``), which langid reads as English: such a text scores
    near 1 and 0.4, English and Indonesian near 0.25 and below and 0. Words split at ``_`` (``nhan_vien``) and digits.
    """
    plain = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    words = _LETTER_RUN.findall("".join(c for c in plain if not unicodedata.combining(c)))
    if not words:
        return 0.0, 0.0, 0
    syllables = [w for w in words if _ASCII_SYLLABLE.fullmatch(w)]
    cues = sum(1 for w in syllables if _VIETNAMESE_CUE.fullmatch(w))
    return len(syllables) / len(words), cues / len(words), len(words)
