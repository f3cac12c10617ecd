"""The compiled cleaning chain gives exactly the step-by-step output.

``fixtures/clean_golden.jsonl`` holds texts and what the step-by-step chain made of them before the chain
was compiled (lstmtext at commit 470e49c): 175 airline tweets chosen for emoji, curly apostrophes, entities,
URLs, elongation, emoticons and newlines, and texts from ``tricky_texts`` for en-tweet and the other presets.
The presets then had no ``normalize_unicode`` step and no options of ``punctuation_to_space``, ``remove_digits``
or ``remove_single_chars`` (``id-review`` now marks clause ends and keeps the slang ``g``); the golden test runs
them without these, so a model saved then cleans as it did.
"""

from __future__ import annotations

import json
import random
import sys

import pytest

from helpers import FIXTURES, ROOT
from lstmtext.preprocess import Pipeline, common, compiled, english, make_step, preprocess_preset
from lstmtext.preprocess.chunkwise import ASCII_FORMS, normalize_lines, run_chunks
from lstmtext.preprocess.compiled import CHUNK_LOCAL, GATES, LONGER_IN_LOWER_CASE, chunk_start
from tricky_texts import PIECES, SEPARATORS, tricky_texts

GOLDEN = [json.loads(line) for line in (FIXTURES / "clean_golden.jsonl").read_text(encoding="utf-8").splitlines()]
TWEETS = ROOT / "src" / "lstmtext" / "resources" / "data" / "airline-tweets" / "Tweets.csv"


def _outcome(fn, text):
    """The cleaned text, or the name of the exception cleaning raised."""
    try:
        return fn(text)
    except Exception as exc:  # the step-by-step chain's own failures must be reproduced, not hidden
        return type(exc).__name__


@pytest.fixture(scope="module")
def tweet():
    return Pipeline(**preprocess_preset("en-tweet"))


# vi-review's steps before it kept emoticons as words and unified spellings and tone marks (2026-12-06)
VI_REVIEW_BEFORE = ["fix_vi_diacritics_v2", "normalize_unicode", "remove_urls", "html_entities", "strip_html_tags",
                    "strip_spaced_html_tags", "remove_emoji", "remove_text_emoticons", "punctuation_to_space",
                    "remove_digits", "normalize_whitespace", "segment_vi", "lowercase"]


@pytest.mark.parametrize("preset", ["en-tweet", "id-review", "id-news", "vi-review"])
def test_golden_outputs_from_before_the_compiled_chain(preset):
    rows = [r for r in GOLDEN if r["preset"] == preset]
    spec = preprocess_preset(preset)
    options = {step: opts for step, opts in spec["options"].items()  # and id-review's keep list (REVIEW_KEEP)
               if step not in ("punctuation_to_space", "remove_digits", "remove_single_chars", "remove_stopwords_id")}
    steps = VI_REVIEW_BEFORE if preset == "vi-review" else spec["steps"]
    pipeline = Pipeline([step for step in steps if step != "normalize_unicode"], options)
    texts = [r["text"] for r in rows]
    assert pipeline.clean_many(texts, n_jobs=1) == [r["clean"] for r in rows]
    assert [pipeline(t) for t in texts] == [r["clean"] for r in rows]


def test_every_bundled_tweet_cleans_as_step_by_step(tweet):
    import pandas as pd

    texts = pd.read_csv(TWEETS)["text"].astype(str).tolist()
    assert len(texts) == 14640
    assert Pipeline(**preprocess_preset("en-tweet")).clean_many(texts, n_jobs=1) == [tweet.step_by_step(t) for t in texts]


def test_tricky_texts_clean_as_step_by_step(tweet):
    texts = tricky_texts(3000, seed=7) + tricky_texts(500, seed=8, max_pieces=30)
    fresh = Pipeline(**preprocess_preset("en-tweet"))
    expected = [_outcome(tweet.step_by_step, t) for t in texts]
    assert [_outcome(fresh, t) for t in texts] == expected
    ok = [t for t, e in zip(texts, expected) if e != "IndexError"]
    assert Pipeline(**preprocess_preset("en-tweet")).clean_many(ok, n_jobs=1) == [tweet.step_by_step(t) for t in ok]


def test_a_text_with_a_dotted_capital_i_cleans_alike_both_ways(tweet):
    # The contractions package indexed past the end when lower-casing lengthens the text (İ), and both chains
    # failed alike (an IndexError); the step now sets İ aside while it expands, so both clean it alike.
    for text in ("İ isn't", "İstanbul", "İ ma'am y'all"):
        assert tweet(text) == tweet.step_by_step(text)
    assert tweet("İ isn't") == "i\u0307 is not"


def test_markers_and_separator_in_the_input(tweet):
    for text in ["a\x00b 😊", "x\x01 isn't", "\x02 gonna 😊 ok", "\x01\x02\x00"]:
        assert tweet(text) == tweet.step_by_step(text)


def test_a_small_cache_gives_the_same_output(monkeypatch, tweet):
    monkeypatch.setattr(compiled, "CACHE_LIMIT", 50)
    monkeypatch.setattr(compiled, "BLOCK", 64)
    texts = tricky_texts(400, seed=9)
    texts = [t for t in texts if _outcome(tweet.step_by_step, t) != "IndexError"]
    assert Pipeline(**preprocess_preset("en-tweet")).clean_many(texts, n_jobs=1) == [tweet.step_by_step(t) for t in texts]


def test_user_chains_are_compiled_where_they_allow_it():
    tweet_steps = preprocess_preset("en-tweet")["steps"]
    assert chunk_start(tweet_steps) == tweet_steps.index("emoji_to_words")
    assert chunk_start(["lowercase", "normalize_whitespace"]) == 0
    assert chunk_start(preprocess_preset("id-review")["steps"]) is None  # does not end with normalize_whitespace
    assert chunk_start(["lowercase", "normalize_whitespace", "remove_digits"]) is None
    # expand_contractions needs a lowercase after it; a repeated gate cuts the chunk part after it
    assert chunk_start(["expand_contractions", "remove_digits", "normalize_whitespace"]) == 1
    assert chunk_start(["emoji_to_words", "lowercase", "emoji_to_words", "normalize_whitespace"]) == 1
    assert chunk_start(["html_entities", "normalize_whitespace"]) is None


@pytest.mark.parametrize("steps", [
    ["lowercase", "emoji_to_words", "remove_punctuation", "normalize_whitespace"],
    ["expand_contractions", "emoji_to_words", "squeeze_elongation", "lowercase", "normalize_whitespace"],
    ["remove_digits", "expand_contractions", "lowercase", "emoticons_to_words", "normalize_whitespace"],
    ["html_entities", "remove_urls", "mark_question", "remove_dollar", "normalize_whitespace"],
])
def test_reordered_chains_clean_as_step_by_step(steps):
    pipeline = Pipeline(steps)
    assert pipeline._compiled is not None
    texts = [t for t in tricky_texts(1500, seed=11) if _outcome(pipeline.step_by_step, t) != "IndexError"]
    assert pipeline.clean_many(texts, n_jobs=1) == [pipeline.step_by_step(t) for t in texts]


def test_compiled_false_and_saved_form_unchanged(tweet):
    plain = Pipeline(**preprocess_preset("en-tweet"), compiled=False)
    assert plain._compiled is None and plain.to_dict() == tweet.to_dict()
    saved = json.loads((FIXTURES / "bundles" / "v1-classify" / "encoder.json").read_text())["pipeline"]
    again = Pipeline.from_dict(saved)
    rows = [r for r in GOLDEN if r["preset"] == "en-tweet"]
    assert again.steps == tweet.steps[1:] and tweet.steps[0] == "normalize_unicode"  # a saved chain keeps its steps
    assert again.clean_many([r["text"] for r in rows]) == [r["clean"] for r in rows]


def _pairs(n: int, seed: int):
    rng = random.Random(seed)
    for _ in range(n):
        yield rng.choice(PIECES), rng.choice([s for s in SEPARATORS if s.isspace()]), rng.choice(PIECES)


@pytest.mark.parametrize(("name", "options"), [(name, {}) for name in sorted(CHUNK_LOCAL)]
                         + [("remove_punctuation", {"split": True})])  # the compiled chain knows steps by name
def test_chunk_local_steps_never_act_across_whitespace(name, options):
    fn = make_step(name, options)
    for a, space, b in _pairs(3000, seed=len(name)):
        if "\x00" in a + b:
            continue
        assert fn(a + space + b) == fn(a) + space + fn(b), (a, space, b)
        assert fn(a).count("\n") == a.count("\n")
        if a.isascii():
            assert fn(a).isascii() and fn(a).count("'") <= a.count("'")


@pytest.mark.parametrize("name", sorted(GATES))
def test_gate_bodies_act_chunk_by_chunk(name):
    gate = GATES[name]
    for a, space, b in _pairs(3000, seed=len(name)):
        if any(c in a + b for c in ("\x00", *LONGER_IN_LOWER_CASE)):
            continue
        whole, parts = gate.forced(a + space + b), gate.forced(a) + space + gate.forced(b)
        assert whole.lower() == parts.lower(), (a, space, b)  # case: "to cause" across words (see chunk_start)
        assert gate.opens(a + space + b) == (gate.opens(a) or gate.opens(b))
        assert gate.maybe(a) or not gate.opens(a)


def test_no_emoticon_word_or_expansion_adds_an_apostrophe_or_non_ascii():
    import contractions

    words = english._emoticon_pattern()[1].values()
    assert all(w.isascii() and "'" not in w for w in words)

    values = {**contractions.contractions_dict, **contractions.leftovers_dict}.values()
    assert all(v.isascii() and "'" not in v for v in values)


def test_emoji_hint_finds_every_emoji():
    import emoji

    for key in emoji.EMOJI_DATA:
        assert common.may_hold_emoji(key) and common.may_need_emoji_package(key)
    assert not common.may_hold_emoji("caf\u00e9 \u2019 \u201cq\u201d \u2026")
    assert common.may_need_emoji_package("a\ufe0e") and not common.may_hold_emoji("a\ufe0e")


def test_only_listed_characters_grow_when_lower_cased():
    longer = [chr(c) for c in range(sys.maxunicode + 1) if len(chr(c).lower()) > 1]
    assert tuple(longer) == LONGER_IN_LOWER_CASE


def test_ascii_forms_equal_their_steps():
    rng = random.Random(3)
    alphabet = "aaabbbzZZZ  \n\n''!!??..$$0123456789_-@#:)(xXDd\t\r"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    texts += ["\n".join(t.split()) for t in tricky_texts(500, seed=4) if t.isascii()]
    texts += ["\n".join(texts[i:i + 200]) for i in range(0, len(texts), 200)]  # long: the vectorised forms
    assert max(map(len, texts)) > 2000
    for fn, fast in ASCII_FORMS.items():
        for text in texts:
            assert fast(text) == fn(text), (fn.__name__, text)


def test_normalize_lines_is_normalize_whitespace_per_line():
    normalize = make_step("normalize_whitespace")
    for text in tricky_texts(500, seed=5):
        lines = text.split("\n")
        assert normalize_lines(text).split("\n") == [normalize(line) for line in lines]


def test_run_chunks_keeps_every_chunk_apart():
    steps = [make_step("emoji_to_words"), common.name_emoji, make_step("lowercase"), normalize_lines]
    chunks = sorted({c for t in tricky_texts(300, seed=6) for c in t.split() if "\x00" not in c})
    keys, cleaned, flags = run_chunks(steps, chunks, [(1, common.has_emoji)])
    assert sorted(keys) == chunks
    for key, out, flag in zip(keys, cleaned, flags[0]):
        one = key
        for fn in steps:
            one = fn(one)
        assert out == one and flag == common.has_emoji(make_step("emoji_to_words")(key))
