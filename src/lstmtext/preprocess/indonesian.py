"""Indonesian cleaning steps: slang normalisation, negation joining, stopword removal and stemming.

The steps follow the aspect-sentiment thesis (case folding, filtering, normalisation, negation handling,
tokenisation, stopword removal; presets ``id-review``) and the C-LSTM news paper (stopwords, special
characters, case folding, stemming; preset ``id-news``). Case folding and filtering reuse the common steps.
Resources (lexicon, overrides, stopwords) ship in ``lstmtext/resources/indonesian/``; see LICENSES.md there.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from lstmtext.errors import ConfigError, DataError
from lstmtext.preprocess.steps import CLAUSE_BREAK, Step, register_step

logger = logging.getLogger(__name__)

_RESOURCE_DIR = "indonesian"
LEXICON_FILE = "colloquial-lexicon.tsv"
OVERRIDES_FILE = "lexicon-overrides.tsv"
STOPWORDS_FILE = "stopwords-iso-id.txt"

#: Negation words joined to the next word by ``join_negation``. The thesis names tidak, bukan, belum, jangan
#: and kurang; tak is the short form of tidak; tanpa ("without") flips the next word the same way
#: (``tanpa masalah``). enggak/nggak/gak are kept for text that skips ``normalize_slang`` (which maps them to
#: ``tidak``); the shorter ga/gk are left out, since without normalisation they are too ambiguous.
DEFAULT_NEGATIONS: tuple[str, ...] = (
    "tidak", "tak", "bukan", "belum", "jangan", "kurang", "tanpa", "enggak", "nggak", "gak",
)  # fmt: skip

#: Words of the stopword list that ``remove_stopwords_id`` keeps by default, because they carry sentiment:
#: negations (with their -lah/-kah/-nya forms), intensifiers and degree words, and the few evaluative words
#: the list contains (baik "good", percuma "useless", keterlaluan "outrageous", berlebihan "excessive",
#: masalah "problem"). Pass ``keep = []`` to remove every listed word (as ``id-news`` does).
DEFAULT_KEEP: tuple[str, ...] = (
    "tidak", "tidaklah", "tidakkah", "tak", "bukan", "bukanlah", "bukankah", "bukannya", "belum", "belumlah",
    "jangan", "janganlah", "kurang", "tanpa", "enggak", "enggaknya",
    "sangat", "sangatlah", "amat", "amatlah", "paling", "lebih", "terlebih", "terlalu", "sekali", "agak",
    "cukup", "makin", "semakin", "hampir", "nyaris",
    "baik", "percuma", "keterlaluan", "berlebihan", "masalah",
)  # fmt: skip

#: What the ``id-review`` preset keeps (its ``remove_stopwords_id.keep``): :data:`DEFAULT_KEEP` and words that carry
#: a review's polarity or turn it (biasa saja "mediocre", lama "slow", kecil "small", jauh "far", tapi "but", malah /
#: justru "instead"). Measured on IndoNLU SmSA's valid split (`default` preset, seeds 1-5): mean macro-F1 0.8426
#: -> 0.8535, higher for every seed; accuracy 0.8875 -> 0.8949. A preset option, not the default: a model saved
#: before keeps cleaning as it was trained.
REVIEW_KEEP: tuple[str, ...] = (
    *DEFAULT_KEEP,
    "biasa", "saja", "lama", "kelamaan", "kecil", "jauh", "sedikit", "tinggi", "tepat", "pantas", "seenaknya",
    "malah", "justru", "tapi", "tetapi", "namun",
)  # fmt: skip

# A lexicon token: word characters plus the marks the lexicon uses inside slang (anak" anak2 baju.a ilang-in).
# Other punctuation, emoji and whitespace separate tokens and are kept as they are.
_LEXICON_TOKEN = re.compile(r"[\w\"'.*-]+")
_TOKEN_EDGE = "\"'.*-"
# Sastrawi stems only plain lower-case words, optionally reduplicated (anak-anak); anything longer than this
# is not an Indonesian word and would make Sastrawi's rule search slow.
_STEMMABLE = re.compile(r"[a-z]+(?:-[a-z]+)*")
_MAX_STEM_LEN = 40


def _resource(name: str) -> Any:
    """Return the shipped resource ``indonesian/<name>`` as an importlib Traversable."""
    return resources.files("lstmtext.resources").joinpath(_RESOURCE_DIR, name)


def _open_source(path: str | None, default: str, option: str) -> tuple[str, Any]:
    """Return ``(label, openable)`` for a user path, or for the shipped file ``default`` when ``path`` is None."""
    if path is None:
        return f"lstmtext/resources/{_RESOURCE_DIR}/{default}", _resource(default)
    if not isinstance(path, str):
        raise ConfigError(f"preprocess.options.{option}: expected a file path string, got {path!r}.")
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"preprocess.options.{option}: file {path!r} not found; give an existing file path.")
    return str(file), file


def _read_text(label: str, source: Any) -> str:
    """Read a UTF-8 text resource, raising DataError with the file name when it is not UTF-8. A byte-order mark
    (Excel's "CSV UTF-8" writes one) is dropped, as the data readers drop it: it had made a lexicon's header
    ``\ufeffslang`` (refused) and a stopword list's first word one no text holds (kept silently)."""
    try:
        with source.open(encoding="utf-8-sig") as fh:
            return fh.read()
    except UnicodeDecodeError as exc:
        raise DataError(f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8.") from None


def parse_lexicon(text: str, label: str) -> dict[str, str]:
    """Parse a slang lexicon with a ``slang`` and a ``formal`` column into ``{slang: formal}``.

    The file is tab-separated when its header line contains a tab, otherwise comma-separated (quoted CSV,
    so the original lexicon with its ``context`` column is accepted). Lines or rows starting with ``#`` are
    comments; other columns are ignored. A slang word listed several times maps to its most frequent formal
    form, ties going to the alphabetically first, which is how the shipped file was built from the source.

    Args:
        text: The file content.
        label: The file name, used in error messages.

    Raises:
        DataError: If the header lacks a column, or a row has a slang word without a formal form.
    """
    lines = text.splitlines(keepends=True)
    start = 0
    while start < len(lines) and (not lines[start].strip() or lines[start].lstrip().startswith("#")):
        start += 1
    if start == len(lines):
        raise DataError(f"{label}: no header row; the lexicon needs a header with columns slang and formal.")
    tsv = "\t" in lines[start]
    reader = csv.reader(
        io.StringIO("".join(lines[start:])),
        delimiter="\t" if tsv else ",",
        quoting=csv.QUOTE_NONE if tsv else csv.QUOTE_MINIMAL,
    )
    header = [cell.strip().lower() for cell in next(reader)]
    for column in ("slang", "formal"):
        if column not in header:
            raise DataError(
                f"{label}: no {column!r} column in the header {header}; the lexicon needs a header row "
                "with columns slang and formal (tab- or comma-separated)."
            )
    i_slang, i_formal = header.index("slang"), header.index("formal")
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for row in reader:
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        line = start + reader.line_num
        slang = row[i_slang].strip().lower() if len(row) > i_slang else ""
        formal = " ".join(row[i_formal].split()) if len(row) > i_formal else ""
        if not slang or not formal:
            field = "slang" if not slang else "formal"
            raise DataError(
                f"{label}, line {line}: empty {field} field; give both slang and formal, or delete the row."
            )
        counts[slang][formal] += 1
    return {slang: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for slang, c in counts.items()}


@lru_cache(maxsize=16)
def _cached_lexicon(label: str, mtime_ns: int, source: Any) -> dict[str, str]:
    """Parse and cache one lexicon file (keyed by name and modification time)."""
    table = parse_lexicon(_read_text(label, source), label)
    logger.debug("loaded %d slang entries from %s", len(table), label)
    return table


def _mtime(source: Any) -> int:
    """Modification time of a user file (0 for shipped resources), so an edited file is re-read."""
    return source.stat().st_mtime_ns if isinstance(source, Path) else 0


def _load_lexicon(path: str | None, default: str, option: str) -> dict[str, str]:
    label, source = _open_source(path, default, option)
    return _cached_lexicon(label, _mtime(source), source)


@register_step("normalize_slang", factory=True, files=("lexicon", "overrides"))
def normalize_slang(lexicon: str | None = None, overrides: str | None = None) -> Step:
    """Replace colloquial Indonesian words by their formal form (``gk`` -> ``tidak``, ``disini`` -> ``di sini``).

    Matching ignores case and trailing marks (``Gk,`` -> ``tidak,``); the replacement is inserted as written in
    the lexicon, so multi-word forms are fine. Each word is looked up once (no chains). Tokens are runs of
    letters, digits and the marks lexicon entries contain (``anak2``, ``bangt"``); other punctuation
    separates them (``yg/gk``), so the step also works before filtering, though ``id-review`` filters first.

    Args:
        lexicon: Path of a CSV/TSV with columns ``slang`` and ``formal``; default the shipped de-duplicated
            Colloquial Indonesian Lexicon.
        overrides: Path of a second such file applied on top; default the shipped ``lexicon-overrides.tsv``;
            an empty string applies none.

    Raises:
        ConfigError: If a path is not a string or the file does not exist.
        DataError: If a file lacks the ``slang``/``formal`` header or has an empty field.
    """
    table = dict(_load_lexicon(lexicon, LEXICON_FILE, "normalize_slang.lexicon"))
    if overrides != "":
        table.update(_load_lexicon(overrides, OVERRIDES_FILE, "normalize_slang.overrides"))

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        key = token.lower()
        if key in table:
            return table[key]
        core = token.strip(_TOKEN_EDGE)
        if core and core != token and core.lower() in table:
            left = len(token) - len(token.lstrip(_TOKEN_EDGE))
            return token[:left] + table[core.lower()] + token[left + len(core) :]
        return token

    def step(text: str) -> str:
        return _LEXICON_TOKEN.sub(replace, text)

    return step


def _string_list(value: Any, option: str) -> list[str]:
    """Validate a config option that must be a list of single words."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigError(f"preprocess.options.{option}: expected a list of words, got {value!r}.")
    words = list(value)
    for word in words:
        if not isinstance(word, str) or not word.strip() or len(word.split()) != 1:
            raise ConfigError(f"preprocess.options.{option}: {word!r} is not a single word; list plain words.")
    return [w.strip().lower() for w in words]


@register_step("join_negation", factory=True)
def join_negation(negations: Iterable[str] | None = None, through: Iterable[str] | None = None) -> Step:
    """Join a negation word to the next word with ``_`` (``tidak pernah`` -> ``tidak_pernah``).

    Consecutive negations chain (``bukan tidak mungkin`` -> ``bukan_tidak_mungkin``); a negation at the end, or
    followed by a token without letters or digits, stays alone, and so does one before a clause break
    (:data:`~lstmtext.preprocess.steps.CLAUSE_BREAK`, which ``punctuation_to_space`` with ``clause_ends`` puts
    where ``.``, ``!``, ``?``, ``,``, ``;`` or ``:`` ended a clause): ``tidak. Bagus`` and ``kurang, berisik``
    keep their words apart. Tokens are split on whitespace and re-joined with single spaces (a clause break
    becomes one). Matching ignores case.

    Args:
        negations: The negation words; default :data:`DEFAULT_NEGATIONS`.
        through: Words that pass a negation on to the word after them (degree words: ``tidak terlalu berat`` ->
            ``tidak_terlalu_berat``, not ``tidak_terlalu berat``); default none.

    Raises:
        ConfigError: If ``negations`` or ``through`` is not a list of single words.
    """
    neg = frozenset(_string_list(DEFAULT_NEGATIONS if negations is None else negations, "join_negation.negations"))
    passes = frozenset(_string_list(through or [], "join_negation.through"))

    def join(tokens: list[str], out: list[str]) -> None:
        i = 0
        while i < len(tokens):
            j = i
            while j + 1 < len(tokens) and (tokens[j].lower() in neg or (j > i and tokens[j].lower() in passes)) \
                    and any(c.isalnum() for c in tokens[j + 1]):
                j += 1
            out.append("_".join(tokens[i : j + 1]))
            i = j + 1

    def step(text: str) -> str:
        out: list[str] = []
        for part in text.split(CLAUSE_BREAK) if CLAUSE_BREAK in text else (text,):
            join(part.split(), out)
        return " ".join(out)

    return step


@lru_cache(maxsize=8)
def _cached_stopwords(label: str, mtime_ns: int, source: Any) -> frozenset[str]:
    """Read and cache one stopword list (keyed by name and modification time)."""
    words = {line.strip().lower() for line in _read_text(label, source).splitlines()}
    return frozenset(w for w in words if w and not w.startswith("#"))


@register_step("remove_stopwords_id", factory=True, files=("stopwords",))
def remove_stopwords_id(stopwords: str | None = None, keep: Iterable[str] | None = None) -> Step:
    """Drop Indonesian stopwords, keeping negations and intensifiers by default (``keep``).

    Tokens are split on whitespace and re-joined with single spaces; matching ignores case. Joined tokens
    such as ``tidak_pernah`` are not in the list and stay.

    Args:
        stopwords: Path of a word list (one word a line, ``#`` comments); default the shipped stopwords-iso
            Indonesian list (Tala 2003 plus "selagi", MIT).
        keep: Listed words to keep anyway; default :data:`DEFAULT_KEEP`; ``[]`` removes every listed word.

    Raises:
        ConfigError: If the file does not exist or ``keep`` is not a list of words.
    """
    label, source = _open_source(stopwords, STOPWORDS_FILE, "remove_stopwords_id.stopwords")
    kept = _string_list(DEFAULT_KEEP if keep is None else keep, "remove_stopwords_id.keep")
    stop = _cached_stopwords(label, _mtime(source), source) - frozenset(kept)

    def step(text: str) -> str:
        return " ".join(w for w in text.split() if w.lower() not in stop)

    return step


class _SetDictionary:
    """Sastrawi's dictionary interface on a frozenset (Sastrawi's own searches a list: about 1000x slower)."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = frozenset(w for w in words if w and w.strip())

    def contains(self, word: str) -> bool:
        return word in self.words


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    """Build the Sastrawi stemmer once, on first use, with its bundled root-word dictionary."""
    from Sastrawi.Stemmer.Stemmer import Stemmer
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return Stemmer(_SetDictionary(StemmerFactory().get_words()))


@lru_cache(maxsize=200_000)
def _stem_word(word: str) -> str:
    """Stem one plain lower-case word (cached: Sastrawi takes up to milliseconds per new word)."""
    return _stemmer().stem_word(word)


def _stem_token(token: str) -> str:
    if len(token) > _MAX_STEM_LEN or not _STEMMABLE.fullmatch(token):
        return token
    return _stem_word(token)


def stem_cache_info() -> Any:
    """Return the stemming cache statistics (``hits``, ``misses``, ``maxsize``, ``currsize``) of this process."""
    return _stem_word.cache_info()


@register_step("stem_id")
def stem_id(text: str) -> str:
    """Stem Indonesian words with Sastrawi (``pembelian`` -> ``beli``); ``_``-joined parts are stemmed apart.

    Only lower-case words of letters a-z (optionally reduplicated with ``-``) are stemmed; other tokens
    (numbers, other scripts, upper case, words over 40 letters) are kept as they are. Tokens are split on
    whitespace and re-joined with single spaces. Results are cached per word in each process.
    """
    out = []
    for token in text.split():
        if "_" in token:
            out.append("_".join(_stem_token(part) for part in token.split("_")))
        else:
            out.append(_stem_token(token))
    return " ".join(out)
