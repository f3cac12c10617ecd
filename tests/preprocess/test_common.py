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


def test_remove_single_chars_keeps_clause_breaks_and_treats_line_breaks_as_before():
    step = make_step("remove_single_chars")
    assert step(f" a tidak  x {CLAUSE_BREAK} b bagus {CLAUSE_BREAK}") == f"tidak{CLAUSE_BREAK}bagus{CLAUSE_BREAK}"
    assert step("a  tidak x\nb bagus\n") == "tidak bagus"  # what a model saved before clause breaks was trained on
    assert f"a {CLAUSE_BREAK} b".split() == ["a", "b"]  # whitespace to every step that splits
