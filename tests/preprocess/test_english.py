"""The airline tutorial's cleaning examples and the edge cases of each English step."""

import pytest

from lstmtext.errors import ConfigError
from lstmtext.preprocess import Pipeline, available_steps, make_step, preprocess_preset


@pytest.fixture(scope="module")
def tweet():
    return Pipeline(**preprocess_preset("en-tweet"))


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("@VirginAmerica What @dhepburn said.", "what said"),
        ("@VirginAmerica I'm #elevategold for a good reason: you rock!!", "i am for a good reason you rock exclamationmark"),
        ("@VirginAmerica Really missed a prime opportunity, there. https://t.co/mWpG7grEZP",
         "really missed a prime opportunity there"),
        ("@united I'd thank you - but you didn't help. taking 6 hours to reply isn't actually helpful",
         "i would thank you but you did not help taking hours to reply is not actually helpful"),
        ("@VirginAmerica heyyyy guyyyys.. :/", "hey guys perplexed"),
        ("@SouthwestAir thanks! Very excited to see it :3", "thanks exclamationmark very excited to see it smiley"),
        ("@united Thank you!! \U0001f60a", "thank you exclamationmark smiling face with smiling eyes"),
    ],
)
def test_source_examples(tweet, raw, clean):
    assert tweet(raw) == clean


def test_no_url_left(tweet):
    out = tweet("see https://t.co/abc and www.example.com/x now")
    assert "http" not in out and "www" not in out and "tco" not in out
    assert out == "see and now"


def test_question_and_exclamation_are_separate_tokens(tweet):
    assert tweet("why?? really!!!") == "why questionmark really exclamationmark"


def test_emoticon_needs_whitespace_around_it(tweet):
    assert tweet("at 10:30 :)") == "at smiley"


def test_html_entities_and_symbols(tweet):
    assert tweet("&amp; &lt;3 A-list $50") == "heart alist"


@pytest.mark.parametrize("text", ["", "   ", "!!!???...", "\u0645\u0631\u062d\u0628\u0627 hello \u4f60\u597d"])
def test_edge_cases_do_not_fail(tweet, text):
    out = tweet(text)
    assert out == out.strip() and "  " not in out


def test_only_punctuation(tweet):
    assert tweet(".,;:-") == ""
    assert tweet("?!") == "questionmark exclamationmark"


def test_mixed_scripts_keep_letters(tweet):
    assert tweet("Café Ünïcode ОК") == "café ünïcode ок"


def test_very_long_input(tweet):
    text = "heyyyy @x #y http://a.b " * 5000
    assert tweet(text).split() == ["hey"] * 5000


def test_steps_are_pure_and_registered():
    steps = available_steps()
    for name in preprocess_preset("en-tweet")["steps"]:
        assert name in steps
        fn = make_step(name)
        assert fn("Hello World") == fn("Hello World")


def test_unknown_step_lists_available():
    with pytest.raises(ConfigError, match="unknown cleaning step 'nope'. Available: .*lowercase"):
        Pipeline(["nope"])


def test_pipeline_round_trip_and_trace(tweet):
    again = Pipeline.from_dict(tweet.to_dict())
    assert again("Hi @x!!") == tweet("Hi @x!!") == "hi exclamationmark"
    trace = tweet.trace("Hi @x!!")
    assert trace[-1] == ("normalize_whitespace", "hi exclamationmark")


def test_trace_cuts_the_text_as_cleaning_does():
    """preprocess --text traced the whole text where training and prediction clean only preprocess.max_chars."""
    pipeline = Pipeline(["lowercase", "normalize_whitespace"], max_chars=5, keep_end=True)
    trace = pipeline.trace("Gak BAGUS sekali")
    assert trace[0] == ("(cut to 5 characters)", "ekali")
    assert trace[-1] == ("normalize_whitespace", pipeline("Gak BAGUS sekali")) == ("normalize_whitespace", "ekali")
    assert [name for name, _ in Pipeline(["lowercase"], max_chars=50).trace("Short")] == ["lowercase"]


def test_clean_many_in_parallel_matches_serial(tweet):
    texts = [f"@a Text {i}!! :)" for i in range(50)]
    assert tweet.clean_many(texts, n_jobs=2) == [tweet(t) for t in texts]


def test_misspelt_step_option_is_a_config_error():
    with pytest.raises(ConfigError, match="preprocess.options.normalize_slang: unknown option 'lexicn'"):
        make_step("normalize_slang", {"lexicn": "x.csv"})


def test_fast_step_forms_equal_their_regexes():
    import re

    from lstmtext.preprocess import english
    from tricky_texts import tricky_texts

    texts = tricky_texts(5000, seed=12) + ["?" * n + "a" + "!" * m + " :)" * n for n in range(6) for m in range(6)]
    pattern, table = english._emoticon_pattern()
    plain = re.compile(r"(?<!\S)(?:" + "|".join(re.escape(e) for e in sorted(table, key=len, reverse=True)) + r")(?!\S)")
    for text in texts:
        assert english.mark_question(text) == re.sub(r"\?+", " questionmark ", text)
        assert english.mark_exclamation(text) == re.sub(r"!+", " exclamationmark ", text)
        assert [m.span() for m in pattern.finditer(text)] == [m.span() for m in plain.finditer(text)]


def test_hashtags_to_words_keeps_the_tags_words():
    keep = make_step("hashtags_to_words")
    assert keep("so #BadService today #fail #thankYou! #2015") == "so Bad Service today fail thank You! 2015"
    assert make_step("remove_hashtags")("so #BadService today") == "so   today"  # the tutorial's step drops them
    chain = Pipeline([*(s if s != "remove_hashtags" else "hashtags_to_words" for s in preprocess_preset("en-tweet")["steps"])])
    assert chain("@united #neveragain #BadService") == "neveragain bad service"


def test_a_saved_chain_with_options_on_a_plain_step_still_loads(caplog):
    import logging

    from lstmtext.preprocess.pipeline import Pipeline

    # accepted and ignored before plain steps refused options: such a model must still load, cleaning as it did
    with caplog.at_level(logging.WARNING):
        chain = Pipeline.from_dict({"steps": ["lowercase", "remove_urls"], "options": {"remove_urls": {"foo": 1}}})
    assert chain("See HTTP://x.org NOW") == Pipeline(["lowercase", "remove_urls"])("See HTTP://x.org NOW")
    assert any("gives options to remove_urls, which takes none" in r.getMessage() for r in caplog.records)


def test_every_step_is_described_by_a_whole_sentence():
    from lstmtext.preprocess.steps import available_steps, first_sentence

    # `lstmtext presets` showed "... (``: ) )`` -> ``smiley``, ``: (`` ->": a docstring's first line, not its sentence
    assert all(d.endswith((".", ")")) for d in available_steps().values()), available_steps()
    assert first_sentence("Put the mark\n    on its vowel (``a``). More.\n\nDetails.") == \
        "Put the mark on its vowel (``a``)."


def test_a_dotted_capital_i_neither_crashes_nor_stops_the_contractions(tweet):
    """"İ" lower-cases to two characters, and the contractions library indexed one text with the other's positions:
    "İ she's" raised an IndexError (a train or predict stopped), "İstanbul, it's late" kept "it's" (then "its")."""
    for pipeline in (tweet, Pipeline(**preprocess_preset("en-tweet"), compiled=False)):
        assert pipeline("\u0130 she's late") == "i\u0307 she is late"  # lower case: i and a combining dot
        assert pipeline("\u0130stanbul flight, it's late and i don't know") == \
            "i\u0307stanbul flight it is late and i do not know"


def test_a_text_holding_the_private_use_stand_in_keeps_it(tweet):
    # the stand-in for İ is a private-use character the text lacks: one it holds came back as İ
    plain = Pipeline(**preprocess_preset("en-tweet"), compiled=False)
    assert plain("\ue000 and \u0130 it's") == "\ue000 and i\u0307 it is"
