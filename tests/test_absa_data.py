"""Aspect data: wide and long layouts give the same model input; errors name file, line, aspect and fix."""

from pathlib import Path

import numpy as np
import pytest

from lstmtext.tasks.absa.data import encode_labels, load_aspect_data, read_aspect_table
from lstmtext.config import build_config
from lstmtext.errors import DataError

DATA = Path(__file__).parent / "data"
WIDE, LONG = DATA / "absa_tiny.csv", DATA / "absa_tiny_long.csv"


def _cfg(*overrides, aspects=None):
    extra = {"task": "absa", "absa": {"aspects": aspects}} if aspects else {"task": "absa"}
    return build_config(None, overrides=['data.split_col="split"', *overrides], extra=extra)


def test_wide_detects_aspects_and_labels():
    data = load_aspect_data(WIDE, _cfg())
    assert data.aspects == ["food", "service", "price"]
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 19, "valid": 4, "test": 4}
    assert data.label_sets["food"] == ["negative", "neutral", "positive"]
    assert data.not_mentioned == "neutral"
    first = data.splits["train"]
    assert first.texts[0] == "harga mahal sekali" and first.labels[0] == ["neutral", "neutral", "negative"]
    assert first.rows[0] == f"{WIDE}:2"


def test_wide_and_long_give_the_same_model_input():
    wide = load_aspect_data(WIDE, _cfg())
    long = load_aspect_data(LONG, _cfg('absa.layout="long"', aspects=["food", "service", "price"]))
    assert long.aspects == wide.aspects and long.label_sets == wide.label_sets
    assert long.not_mentioned == "neutral"  # never written in the long file: the first of absa.not_mentioned
    for name in ("train", "valid", "test"):
        w, lg = wide.splits[name], long.splits[name]
        assert lg.texts == w.texts
        np.testing.assert_array_equal(encode_labels(lg, long.label_sets), encode_labels(w, wide.label_sets))
    assert "kami menginap dua malam" in long.splits["train"].texts  # a row with no aspect keeps its text


def test_long_detects_sorted_aspects_and_uses_a_present_not_mentioned_label(tmp_path):
    path = tmp_path / "long.csv"
    rows = "text,aspect,polarity\na b,price,neg\na b,food,pos\nc d,food,neut\ne f,price,pos\n"
    path.write_text(rows, encoding="utf-8")
    table = read_aspect_table(path, _cfg('absa.layout="long"', "data.split_col=\"none\""))
    assert table.aspects == ["food", "price"] and table.not_mentioned == "neut"
    assert table.split.labels == [["pos", "neg"], ["neut", "neut"], ["neut", "pos"]]


def test_missing_aspect_column_is_a_clear_error():
    with pytest.raises(DataError, match=r"absa_tiny\.csv: no column 'taste' for aspect 'taste'\. .*Fix --aspects"):
        load_aspect_data(WIDE, _cfg(aspects=["food", "taste"]))


def test_unknown_label_names_file_line_and_aspect(tmp_path):
    bad = tmp_path / "valid.csv"
    bad.write_text("text,food,service,price\nenak,positive,neutral,neutral\nmahal,neutral,neutral,postive\n",
                   encoding="utf-8")
    with pytest.raises(DataError, match=r"valid\.csv:3: aspect 'price' has label 'postive', which is not one of "
                                        r"negative, neutral, positive .*Fix the label"):
        load_aspect_data(WIDE, _cfg(aspects=["food", "service", "price"]), valid_path=bad)


def test_empty_aspect_cell_names_line_and_aspect(tmp_path):
    bad = tmp_path / "wide.csv"
    bad.write_text("text,food,price\nenak,positive,neutral\nmahal,neutral,\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"wide\.csv:3: aspect 'price' is empty\. Fill it with a label"):
        read_aspect_table(bad, _cfg("data.split_col=\"none\""))


def test_long_conflicting_polarities_are_an_error(tmp_path):
    bad = tmp_path / "long.csv"
    bad.write_text("text,aspect,polarity\nenak,food,pos\nenak,food,neg\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"long\.csv:3: aspect 'food' of this text is 'neg' here but 'pos' at "
                                        r".*long\.csv:2\. Keep one polarity"):
        read_aspect_table(bad, _cfg('absa.layout="long"', "data.split_col=\"none\""))


def test_long_unknown_aspect_is_an_error(tmp_path):
    bad = tmp_path / "long.csv"
    bad.write_text("text,aspect,polarity\nenak,food,pos\nmurah,prise,pos\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"long\.csv:3: aspect 'prise' is not one of the aspects \(food, price\)"):
        read_aspect_table(bad, _cfg('absa.layout="long"', "data.split_col=\"none\"", aspects=["food", "price"]))


def test_aspect_with_one_training_label_is_an_error(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("text,food,price\n" + "".join(f"t{i},{'positive' if i % 2 else 'negative'},neutral\n"
                                                 for i in range(10)), encoding="utf-8")
    with pytest.raises(DataError, match=r"aspect 'price' has only the label 'neutral' in the training split"):
        load_aspect_data(path, _cfg("data.split_col=\"none\""))


def test_cli_absa_convert_writes_the_wide_layout(tmp_path):
    from typer.testing import CliRunner

    from lstmtext.cli.app import app

    out = tmp_path / "wide.csv"
    result = CliRunner().invoke(app, ["absa-convert", str(LONG), str(out), "--aspects", "food,service,price"])
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "text,food,service,price" and lines[1] == "harga mahal sekali,neutral,neutral,negative"
    assert len(lines) == 28  # 27 texts: the wide file's texts, each once
