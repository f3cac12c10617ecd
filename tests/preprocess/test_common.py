"""Language-independent steps whose options or line handling the Indonesian chains rely on."""

import pytest

from lstmtext.errors import ConfigError
from lstmtext.preprocess import make_step


def test_punctuation_to_space_keeps_clause_ends_as_line_breaks_when_asked():
    text = "tidak. Bagus!lho? 3.5 dll… kurang,berisik; ok"
    assert make_step("punctuation_to_space")(text) == "tidak  Bagus lho  3 5 dll  kurang berisik  ok"
    # . ! ? … only before whitespace or the end ("!lho" and "3.5" end nothing); , ; : always
    assert make_step("punctuation_to_space", {"clause_ends": True})(text) == \
        "tidak\n Bagus lho\n 3 5 dll\n kurang\nberisik\n ok"


def test_punctuation_to_space_option_must_be_a_boolean():
    with pytest.raises(ConfigError, match="punctuation_to_space.clause_ends: expected true or false"):
        make_step("punctuation_to_space", {"clause_ends": "yes"})


def test_remove_single_chars_keeps_line_breaks():
    step = make_step("remove_single_chars")
    assert step(" a tidak  x\n b bagus\n") == "tidak\nbagus\n"
    assert step("a  tidak x bagus ") == "tidak bagus"
