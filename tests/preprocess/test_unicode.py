"""``normalize_unicode``: a word is the same word however its characters were typed or copied."""

import unicodedata

import pytest

from lstmtext.preprocess import Pipeline, preprocess_preset
from lstmtext.preprocess.common import normalize_unicode

# The same words, as a Mac keyboard (decomposed accents), a web page (zero-width spaces, soft hyphens, a
# right-to-left mark) or a PDF (no-break and narrow no-break spaces) would give them.
PLAIN = {"en-tweet": "the café was great", "id-review": "makanan enak banget pelayanan bagus",
         "id-news": "presiden jokowi resmikan bandara", "vi-review": "quán này đồ ăn rất ngon",
         "plain": "the café was great"}
DISGUISED = {"en-tweet": "the cafe\u0301 was gre\u200bat", "id-review": "makanan en\u00adak banget\u202fpelayanan ba\u200bgus",
             "id-news": "Presiden\u00a0Jokowi resmi\u200ckan \u200ebandara", "vi-review": unicodedata.normalize("NFD", "quán này đồ ăn rất\u00a0ngon"),
             "plain": "the\ufeff cafe\u0301 was great"}


@pytest.mark.parametrize("preset", sorted(PLAIN))
def test_every_preset_cleans_typed_and_copied_forms_alike(preset):
    pipeline = Pipeline(**preprocess_preset(preset))
    assert pipeline.clean_many([DISGUISED[preset]], n_jobs=1) == pipeline.clean_many([PLAIN[preset]], n_jobs=1)
    assert pipeline.tokenize(DISGUISED[preset]) == pipeline.tokenize(PLAIN[preset])


def test_joiners_stay_inside_emoji_only():
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert normalize_unicode(f"ok {family} a\u200db") == f"ok {family} ab"
    assert normalize_unicode("plain ascii\u0020text") == "plain ascii text"
    assert normalize_unicode("x\u2009y\u3000z") == "x y z"


def test_control_characters_are_spaces_and_white_space_controls_stay():
    # "great\x00crew" was one unknown word (the server answered no_known_word for it)
    assert normalize_unicode("great\x00crew") == "great crew" and normalize_unicode("a\x07b\x1bc\x7fd") == "a b c d"
    assert normalize_unicode("caf\u00e9\x00bar\x9b") == "caf\u00e9 bar "  # C1 controls too
    assert normalize_unicode("tab\tok\nline\r\x0b\x0c\x1c\x85") == "tab\tok\nline\r\x0b\x0c\x1c\x85"  # split() splits
