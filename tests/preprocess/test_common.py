"""Language-independent steps whose options or line handling the Indonesian chains rely on."""

import pytest

from lstmtext.errors import ConfigError
from lstmtext.preprocess import make_step
from lstmtext.preprocess.steps import CLAUSE_BREAK


def test_punctuation_to_space_marks_clause_ends_when_asked():
    text = "tidak. Bagus!lho? 3.5 dll… kurang,berisik; ok"
    assert make_step("punctuation_to_space")(text) == "tidak  Bagus lho  3 5 dll  kurang berisik  ok"
    # . ! ? … only before whitespace or the end ("!lho" and "3.5" end nothing); , ; : always
    assert make_step("punctuation_to_space", {"clause_ends": True})(text).split(CLAUSE_BREAK) == \
        ["tidak ", "  Bagus lho ", "  3 5 dll ", "  kurang ", " berisik ", "  ok"]


def test_punctuation_to_space_option_must_be_a_boolean():
    with pytest.raises(ConfigError, match="punctuation_to_space.clause_ends: expected true or false"):
        make_step("punctuation_to_space", {"clause_ends": "yes"})


def test_remove_punctuation_deletes_marks_or_keeps_the_words_they_separate_apart():
    text = "wait...what? SFO-PDX late.Great customer's y\u2019all A-list (sp?)"
    assert make_step("remove_punctuation")(text) == "waitwhat SFOPDX lateGreat customers yall Alist sp"
    # split: every mark but an apostrophe becomes a space (normalize_whitespace squeezes the runs later)
    assert make_step("remove_punctuation", {"split": True})(text).split() == \
        ["wait", "what", "SFO", "PDX", "late", "Great", "customers", "yall", "A", "list", "sp"]
    with pytest.raises(ConfigError, match="remove_punctuation.split: expected true or false"):
        make_step("remove_punctuation", {"split": "yes"})


def test_remove_single_chars_keeps_clause_breaks_and_treats_line_breaks_as_before():
    step = make_step("remove_single_chars")
    assert step(f" a tidak  x {CLAUSE_BREAK} b bagus {CLAUSE_BREAK}") == f"tidak{CLAUSE_BREAK}bagus{CLAUSE_BREAK}"
    assert step("a  tidak x\nb bagus\n") == "tidak bagus"  # what a model saved before clause breaks was trained on


def test_remove_single_chars_keeps_the_letters_asked_for_and_checks_them():
    step = make_step("remove_single_chars", {"keep": ["g"]})
    assert step(f"kamar G dingin x g{CLAUSE_BREAK}d ada") == f"kamar G dingin g{CLAUSE_BREAK}ada"
    assert make_step("remove_single_chars") is make_step("remove_single_chars", {"keep": []})  # the plain step
    for bad in ("g", ["gk"], None):
        with pytest.raises(ConfigError, match="remove_single_chars.keep: expected a list of one-character words"):
            make_step("remove_single_chars", {"keep": bad})


def test_remove_digits_can_take_a_unit_letter_with_its_digits():
    assert make_step("remove_digits")("4g 200g 2x anak2 3 g") == "g g x anak  g"
    assert make_step("remove_digits", {"units": True})("4g 200g 2x anak2 3 g") == "   anak  g"
    with pytest.raises(ConfigError, match="remove_digits.units: expected true or false"):
        make_step("remove_digits", {"units": "yes"})


def test_options_of_a_step_the_chain_does_not_run_are_refused():
    from lstmtext.config import build_config
    from lstmtext.errors import ConfigError
    from lstmtext.preprocess.presets import build_pipeline

    with pytest.raises(ConfigError, match=r"preprocess.options.normalize_slang: the cleaning chain has no step "
                                          r"'normalize_slang' \(normalize_unicode, .*\), so its options would do nothing"):
        build_pipeline(build_config(None, overrides=["preprocess.options.normalize_slang.lexicon='x.csv'"]))  # en-tweet
    with pytest.raises(ConfigError, match=r"Did you mean 'normalize_slang'\?"):
        build_pipeline(build_config(None, overrides=["preprocess.preset='id-review'",
                                                     "preprocess.options.normalise_slang.lexicon='x.csv'"]))
    assert build_pipeline(build_config(None, overrides=["preprocess.preset='id-review'"])).steps  # presets' own: fine


def test_a_cleaning_preset_by_name_is_the_configs_chain():
    from lstmtext.config import build_config
    from lstmtext.errors import ConfigError
    from lstmtext.preprocess import build_pipeline

    by_name = build_pipeline("id-review")  # the Python user's way: no Config to build first
    by_config = build_pipeline(build_config(None, overrides=["preprocess.preset='id-review'"]))
    assert by_name.steps == by_config.steps and "normalize_slang" in by_name.steps
    text = "Barangnya gak bagus, pengiriman lama bgt"
    assert by_name(text) == by_config(text) and by_name.clean_many([text]) == [by_config(text)]
    with pytest.raises(ConfigError, match=r"unknown cleaning preset 'en-twet'\. Did you mean 'en-tweet'\? Available: en-tweet, "):
        build_pipeline("en-twet")


def test_a_single_step_name_is_a_chain_of_that_step():
    """--preprocess lowercase was refused as an unknown preset; one step needs no comma after it."""
    from lstmtext.preprocess.presets import cleaning_choice

    assert cleaning_choice("lowercase") == {"steps": ["lowercase"]}
    assert cleaning_choice("en-tweet") == {"preset": "en-tweet"}
    assert cleaning_choice("lowercase, remove_urls") == {"steps": ["lowercase", "remove_urls"]}
    assert cleaning_choice("en_tweet") == {"preset": "en_tweet"}  # neither: the preset error lists the choices


@pytest.mark.parametrize("preset", ["en-tweet", "id-review", "id-aspect", "id-news", "vi-review", "plain"])
def test_every_cleaning_preset_pickles_and_cleans_alike_after(preset):
    # a step with options is a closure: id-review's, id-news's and vi-review's chains could not be pickled, so
    # neither could a predictor or a scikit-learn estimator holding one (a process pool sends them pickled)
    import pickle

    from lstmtext.preprocess import build_pipeline

    pipeline = build_pipeline(preset)
    again = pickle.loads(pickle.dumps(pipeline))
    texts = ["Pelayanan-nya lama, tapi murah!! :)", "wait...what? SFO-PDX", "Món ăn ngon, giá rẻ 😊 ko tệ"]
    assert again.to_dict() == pipeline.to_dict() and again.clean_many(texts) == pipeline.clean_many(texts)
    assert (again._compiled is None) == (pipeline._compiled is None)


def test_the_linear_forms_of_the_backtracking_patterns_match_what_the_plain_ones_matched():
    """Three patterns took time quadratic in a run of spaces or dots (benchmarks/preprocess_speed.py --adversarial);
    their possessive forms must match exactly what the plain ones did."""
    import random
    import re

    from lstmtext.preprocess import common, vietnamese

    plain = {common._CLAUSE_END: r"[.!?\u2026\u3002\uff01\uff1f]+(?=\s|$)|[,;:\uff0c\uff1b\u3001]",
             vietnamese._SPACE_BEFORE_MARK: r"\s+(?=[\u0300-\u036f])",
             vietnamese._SPACED_HTML_TAG: r"<\s*/?\s*(?:" + vietnamese._HTML_TAG_NAMES + r")(?![^\W_])[^<>]*>"}
    parts = [" ", "  ", "\t", "\n", ".", "!", "?", "\u2026", "\u3002", ",", "<", ">", "/", "b", "p", "x", "3",
             "\u0301", "\u0323", "span", "H1", "\u00e1"]
    rng = random.Random(7)
    texts = ["".join(rng.choice(parts) for _ in range(rng.randint(0, 20))) for _ in range(20000)]
    for fast, slow in plain.items():
        slow = re.compile(slow, fast.flags)
        for text in texts:
            assert [m.span() for m in fast.finditer(text)] == [m.span() for m in slow.finditer(text)], (fast.pattern, text)
