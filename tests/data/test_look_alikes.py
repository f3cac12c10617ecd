"""Label names that look like variants of one another are reported: each would be learnt as a class of its own."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from helpers import ABSA_WIDE, TINY
from lstmtext.data.look_alikes import look_alikes


def test_case_variants_and_rare_misspellings_are_found_and_real_labels_are_not():
    counts = Counter({"positive": 100, "Positive ": 3, "postive": 1, "neutral": 50, "neutal": 2, "neu": 1,
                      "very_postive": 1, "very-positive": 40, "room_negative": 1, "room_positive": 60})
    assert sorted(look_alikes(counts)) == [("Positive ", "positive", "case"), ("neutal", "neutral", "spelling"),
                                          ("postive", "positive", "spelling"),
                                          ("very_postive", "very-positive", "spelling")]
    # IndoNLU HoASA as multi-label names: 'general_neg' (rare) is no typo of 'general_neut', nor is a common name
    assert look_alikes(Counter({"general_neg": 1, "general_neut": 300, "sunrise_meal_neg": 5,
                                "sunrise_meal_neut": 200})) == []
    assert look_alikes(Counter({"positive": 100, "postive": 10})) == []  # a tenth of the rows: maybe a real class


def test_one_number_written_two_ways_is_one_label_to_check():
    """Labels 1 and 1.0 (a float column once in the file's history) were learnt as two classes without a word;
    -1 beside 1 (polarities) had been reported as a spacing variant."""
    counts = Counter({"0": 50, "1": 40, "2": 30, "0.0": 20, "1.0": 25, " 2 ": 1, "12": 3, "1e0": 1, "-1": 5})
    assert sorted(look_alikes(counts)) == [(" 2 ", "2", "number"), ("0.0", "0", "number"), ("1.0", "1", "number"),
                                          ("1e0", "1", "number")]
    assert look_alikes(Counter({"100": 200, "101": 5, "2019": 300, "2018": 10})) == []  # numbers are no typos
    from lstmtext.data.look_alikes import _KINDS

    assert _KINDS["number"] == "is the same number as"


def test_training_warns_about_each_look_alike_with_its_first_row(tmp_path, caplog):
    from lstmtext.config import build_config
    from lstmtext.pipeline import run

    frame = pd.read_csv(ABSA_WIDE)
    first = frame.index[(frame.split == "train") & (frame.food == "positive")][0]
    frame.loc[first, "food"] = "Positive"
    path = tmp_path / "absa.csv"
    frame.to_csv(path, index=False)
    config = build_config(None, overrides=['data.split_col="split"', 'preprocess.preset="plain"', "train.epochs=1",
                                           "model.embedding_dim=8", "model.hidden_size=8"], extra={"task": "absa"})
    with caplog.at_level("WARNING"):
        result = run(config, path, progress=False)
    positive = ((frame.split == "train") & (frame.food == "positive")).sum()
    expected = (f"{path}: aspect 'food': 'Positive' (1 row, first {path}:{first + 2}) differs only in case or spacing "
                f"from 'positive' ({positive} rows); each is learnt as a label of its own. If they are one, write it one "
                "way in the file.")
    assert [n for n in result.summary["notes"] if "'Positive'" in n] == [expected]
    assert expected in [r.getMessage() for r in caplog.records]

def test_a_one_row_class_that_a_split_refuses_is_named_as_a_likely_misspelling(tmp_path):
    from lstmtext.config import build_config
    from lstmtext.errors import DataError
    from lstmtext.pipeline import run

    frame = pd.read_csv(TINY).drop(columns="split")
    frame = pd.concat([frame] * 10, ignore_index=True)
    frame.loc[3, "label"] = "neutal"
    path = tmp_path / "typo.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"class 'neutal' has 1 row, too few for a stratified split .* 'neutal' looks "
                                        r"like a misspelling of 'neutral'\.$"):
        run(build_config(None, overrides=["train.epochs=1"]), path, progress=False)


def test_a_missing_value_word_as_a_label_is_reported():
    # every 5th label written as NA (R's write.csv) trained as a class of its own, without a word
    from lstmtext.data.look_alikes import look_alike_notes

    labels = ["pos", "neg", "NA", "pos", "NULL", "none"]
    notes = look_alike_notes(labels, [f"d.csv:{i + 2}" for i in range(6)], lambda y: [("", y)], "d.csv")
    assert notes == [
        "d.csv: 'NA' (1 row, first d.csv:4) is how spreadsheets, R and databases write a missing value, and it is "
        "learnt as a label of its own. If it means no label, leave the cell empty.",
        "d.csv: 'NULL' (1 row, first d.csv:6) is how spreadsheets, R and databases write a missing value, and it is "
        "learnt as a label of its own. If it means no label, leave the cell empty."]  # 'none' may be a real label
    # an aspect file whose not-mentioned label is "NA" (absa.not_mentioned) means it: nothing to report
    assert look_alike_notes(["NA", "pos"], None, lambda y: [("food", y)], "a.csv", meant=["na"]) == []
