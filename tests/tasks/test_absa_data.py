"""Aspect data: wide and long layouts give the same model input; errors name file, line, aspect and fix."""

import json

import numpy as np
import pytest

from helpers import ABSA_LONG as LONG
from helpers import ABSA_WIDE as WIDE
from lstmtext.config import build_config
from lstmtext.errors import DataError
from lstmtext.tasks.absa.task import AspectSentiment


def _cfg(*overrides, aspects=None):
    extra = {"task": "absa", "absa": {"aspects": aspects}} if aspects else {"task": "absa"}
    return build_config(None, overrides=['data.split_col="split"', *overrides], extra=extra)


def load_aspect_data(path, cfg, **kwargs):
    """The data and the task fitted on it, as a run reads them."""
    data = AspectSentiment.load(path, cfg, **kwargs)
    return data, AspectSentiment.from_data(data, cfg)


def read_aspect_table(path, cfg):
    return AspectSentiment.read_file(path, cfg)


def test_wide_detects_aspects_and_labels():
    data, task = load_aspect_data(WIDE, _cfg())
    assert task.aspects == ["food", "service", "price"] == data.info["aspects"]
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 19, "valid": 4, "test": 4}
    assert task.labels["food"] == ["negative", "neutral", "positive"]
    assert task.not_mentioned == "neutral"
    first = data.splits["train"]
    assert first.texts[0] == "harga mahal sekali" and first.labels[0] == ("neutral", "neutral", "negative")
    assert first.rows[0] == f"{WIDE}:2"
    np.testing.assert_array_equal(task.targets(first.labels[:1]), [[1, 1, 0]])


def test_two_not_mentioned_candidates_in_one_file_are_refused_with_the_setting_that_picks_one(tmp_path):
    """absa-convert --not-mentioned none beside a real neutral polarity: neutral was taken for "not mentioned", so
    --only-mentioned dropped real neutral answers."""
    path = tmp_path / "wide.csv"
    path.write_text("text,food,price,split\ngood food,positive,none,train\npricey,none,negative,train\n"
                    "ok price,none,neutral,train\nfine,neutral,none,train\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"wide\.csv: the labels hold 'neutral' and 'none', each of which "
                                        r"absa\.not_mentioned reads as .*--set 'absa\.not_mentioned=\[\"none\"\]'"):
        AspectSentiment.read_file(path, _cfg())
    table = AspectSentiment.read_file(path, _cfg('absa.not_mentioned=["none"]'))
    assert table.info["not_mentioned"] == "none"


def test_wide_and_long_give_the_same_model_input():
    wide, wide_task = load_aspect_data(WIDE, _cfg())
    long, long_task = load_aspect_data(LONG, _cfg('absa.layout="long"', aspects=["food", "service", "price"]))
    assert long_task.aspects == wide_task.aspects and long_task.labels == wide_task.labels
    assert long.info["not_mentioned"] == "neutral"  # never written in the long file: the first of absa.not_mentioned
    for name in ("train", "valid", "test"):
        w, lg = wide.splits[name], long.splits[name]
        assert lg.texts == w.texts
        np.testing.assert_array_equal(long_task.targets(lg.labels), wide_task.targets(w.labels))
    assert "kami menginap dua malam" in long.splits["train"].texts  # a row with no aspect keeps its text


def test_long_detects_sorted_aspects_and_uses_a_present_not_mentioned_label(tmp_path):
    path = tmp_path / "long.csv"
    rows = "text,aspect,polarity\na b,price,neg\na b,food,pos\nc d,food,neut\ne f,price,pos\n"
    path.write_text(rows, encoding="utf-8")
    table = read_aspect_table(path, _cfg('absa.layout="long"', "data.split_col=\"none\""))
    assert table.info == {"aspects": ["food", "price"], "not_mentioned": "neut"}
    assert table.split.labels == [("pos", "neg"), ("neut", "neut"), ("neut", "pos")]


def test_a_long_file_read_as_wide_says_which_layout_it_looks_like():
    with pytest.raises(DataError, match=r"absa_tiny_long\.csv: columns 'aspect' and 'polarity' look like the long layout "
                                        r".*Pass --set absa.layout=\"long\" \(absa-convert: --layout long\), or name the aspect columns with --aspects\."):
        load_aspect_data(LONG, _cfg())


def test_missing_aspect_column_is_a_clear_error():
    with pytest.raises(DataError, match=r"absa_tiny\.csv: no column 'taste' for aspect 'taste'\. .*Fix --aspects"):
        load_aspect_data(WIDE, _cfg(aspects=["food", "taste"]))


def test_an_aspect_name_with_a_comma_and_an_id_column_get_their_fixes(tmp_path):
    import pandas as pd

    path = tmp_path / "w.csv"
    pd.DataFrame({"text": ["a", "b", "c"], "price, value": ["positive", "neutral", "negative"],
                  "food": ["positive", "positive", "neutral"]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"no column 'price' for aspect 'price'\. Columns in the file: 'text', 'price, "
                                        r"value', 'food'\. .* --aspects splits at commas: name a column such as "
                                        r"'price, value' with --set 'absa.aspects=\[\"price, value\"\]'"):
        load_aspect_data(path, build_config(None, overrides=['absa.aspects=["price", " value"]'], extra={"task": "absa"}))
    rows = 30
    pd.DataFrame({"id": range(rows), "text": ["a"] * rows, "food": ["positive", "negative"] * (rows // 2)}).to_csv(
        path, index=False)
    with pytest.raises(DataError, match=r"column 'id' has 30 different values in 30 rows: it looks like an identifier "
                                        r"or a text, not an aspect's labels\. Name the aspect columns with --aspects"):
        load_aspect_data(path, build_config(None, extra={"task": "absa"}))


def test_a_split_column_read_as_an_aspect_is_refused(tmp_path):
    import pandas as pd

    path = tmp_path / "w.csv"  # what absa-convert --split-col split writes, trained without --split-col
    pd.DataFrame({"text": ["a", "b", "c", "d"], "food": ["positive", "negative"] * 2,
                  "split": ["train", "train", "valid", "test"]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"column 'split' holds only test, train, valid: a split column, not an aspect's "
                                        r"labels\. Pass --split-col split to use it, or name the aspect columns"):
        load_aspect_data(path, build_config(None, extra={"task": "absa"}))


def test_unknown_label_names_file_line_and_aspect(tmp_path):
    bad = tmp_path / "valid.csv"
    bad.write_text("text,food,service,price\nenak,positive,neutral,neutral\nmahal,neutral,neutral,postive\n",
                   encoding="utf-8")
    with pytest.raises(DataError, match=r"valid\.csv:3: aspect 'price' has label 'postive' in the valid split, but its "
                                        r"training rows have only negative, neutral, positive, so its head cannot learn "
                                        r"it\. Move some of its rows into training \(for a split lstmtext made: another "
                                        r"data\.split_seed, .*or fix the label\."):
        load_aspect_data(WIDE, _cfg(aspects=["food", "service", "price"]), valid_path=bad)


def test_a_long_files_errors_and_suspects_name_the_aspects_own_row(tmp_path):
    """In the long layout (one row per text and aspect) an unknown label, and an audit suspect, named the text's
    first row (its food row) for a wrong price label: a user fixing that line would have broken a right label
    (multilabel/absa review)."""
    import pickle

    from lstmtext.data.lines import TextRows, row_of

    bad = tmp_path / "valid.csv"
    bad.write_text("text,aspect,polarity,split\nmakanan enak harga mahal,food,positive,valid\n"
                   "makanan enak harga mahal,price,postive,valid\n", encoding="utf-8")
    cfg = _cfg('absa.layout="long"')
    with pytest.raises(DataError, match=r"valid\.csv:3: aspect 'price' has label 'postive' in the valid split"):
        load_aspect_data(LONG, cfg, valid_path=bad)
    ref = read_aspect_table(bad, cfg).split.rows[0]
    assert (ref, row_of(ref, "price"), row_of(ref, "food"), row_of(ref, "service")) == (
        f"{bad}:2", f"{bad}:3", f"{bad}:2", f"{bad}:2")  # service: not mentioned, no row of its own
    again = pickle.loads(pickle.dumps(ref))  # to compare's, cv's and audit's worker processes, fields and all
    assert isinstance(again, TextRows) and row_of(again, "price") == f"{bad}:3"


def test_empty_aspect_cell_names_line_and_aspect(tmp_path):
    bad = tmp_path / "wide.csv"
    bad.write_text("text,food,price\nenak,positive,neutral\nmahal,neutral,\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"wide\.csv:3: aspect 'price' is empty\. Fill it with a label \(e\.g\. "
                                        r"'neutral' when the text does not mention the aspect\)"):
        read_aspect_table(bad, _cfg("data.split_col=\"none\""))
    bad.write_text("text,food,price\nenak,positive,\nmahal,neutral,\n", encoding="utf-8")  # to_label.csv, unfilled
    with pytest.raises(DataError, match=r"wide\.csv:2: aspect 'price' is empty \(2 rows in all\)\. Fill it with a "
                                        r"label \(one of 'neutral', 'neut', 'none' \(absa.not_mentioned\) when"):
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

    from lstmtext.cli import app

    out = tmp_path / "wide.csv"
    result = CliRunner().invoke(app, ["absa-convert", str(LONG), str(out), "--aspects", "food,service,price"])
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "text,food,service,price" and lines[1] == "harga mahal sekali,neutral,neutral,negative"
    result = CliRunner().invoke(app, ["absa-convert", str(WIDE), str(tmp_path / "w2.csv"), "--layout", "long"])
    assert result.exit_code == 1 and "no column 'aspect' of the long layout" in str(result.exception)
    assert "absa-convert --layout wide" in str(result.exception)
    # without --layout a file with no aspect and polarity columns is wide (IndoNLU's were refused as long)
    result = CliRunner().invoke(app, ["absa-convert", str(WIDE), str(tmp_path / "w3.csv"), "--to", "multilabel",
                                      "--split-col", "split"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "w3.csv").read_text(encoding="utf-8").splitlines()[0] == "text,split,labels"
    assert len(lines) == 28  # 27 texts: the wide file's texts, each once
    named = tmp_path / "named.csv"  # HoASA-style long data has no neut: a wide file to match IndoNLU's says which
    result = CliRunner().invoke(app, ["absa-convert", str(LONG), str(named), "--aspects", "food,service,price",
                                      "--not-mentioned", "none"])
    assert result.exit_code == 0 and "absent aspects got 'none'" in result.output
    assert named.read_text(encoding="utf-8").splitlines()[1] == "harga mahal sekali,none,none,negative"


def test_cli_absa_convert_writes_the_format_its_output_is_named_after(tmp_path):
    from typer.testing import CliRunner

    from lstmtext.cli import app
    from lstmtext.tasks.absa.task import AspectSentiment

    args = ["--aspects", "food,service,price"]
    for name in ("wide.tsv", "wide.jsonl"):
        result = CliRunner().invoke(app, ["absa-convert", str(LONG), str(tmp_path / name), *args])
        assert result.exit_code == 0, result.output
        table = AspectSentiment.read_file(tmp_path / name, _cfg('data.split_col="none"', 'absa.layout="wide"',
                                                                  aspects=["food", "service", "price"]))
        assert len(table.split) == 27 and table.split.texts[0] == "harga mahal sekali"  # train reads it back
    assert (tmp_path / "wide.tsv").read_text().splitlines()[0] == "text\tfood\tservice\tprice"
    result = CliRunner().invoke(app, ["absa-convert", str(LONG), str(tmp_path / "wide.parquet"), *args])
    assert result.exit_code == 1 and "absa-convert writes .csv, .tsv, .jsonl files" in str(result.exception)
    assert not (tmp_path / "wide.parquet").exists()


def test_cli_absa_convert_keeps_the_split_column_when_asked_and_says_so_when_not(tmp_path):
    from typer.testing import CliRunner

    from lstmtext.cli import app

    result = CliRunner().invoke(app, ["absa-convert", str(LONG), str(tmp_path / "w.csv")])
    assert result.exit_code == 0 and "pass --split-col split to keep it" in result.output
    out = tmp_path / "wide.csv"
    result = CliRunner().invoke(app, ["absa-convert", str(LONG), str(out), "--split-col", "split"])
    assert result.exit_code == 0 and "split column 'split' kept" in result.output
    import pandas as pd

    parquet = tmp_path / "long.parquet"
    pd.read_csv(LONG).to_parquet(parquet)
    result = CliRunner().invoke(app, ["absa-convert", str(parquet), str(tmp_path / "p.csv")])
    assert result.exit_code == 0 and "pass --split-col split to keep it" in result.output  # Parquet input too
    converted, _ = load_aspect_data(out, _cfg())  # wide, --split-col split
    original, _ = load_aspect_data(LONG, _cfg("absa.layout=\"long\""))
    for name in ("train", "valid", "test"):  # the same texts in the same splits, with the same labels
        assert converted.splits[name].texts == original.splits[name].texts
        assert converted.splits[name].labels == original.splits[name].labels


def test_cli_absa_convert_writes_multilabel_data(tmp_path):
    """--to multilabel: one label per mentioned aspect and polarity; a two-polarity label becomes both."""
    from typer.testing import CliRunner

    from lstmtext.cli import app

    wide = tmp_path / "wide.csv"
    wide.write_text("review,ac,wifi\nac dingin wifi lambat,pos,neg\nkamar bersih,neut,neut\nac bagus tapi bocor,neg_pos,neut\n",
                    encoding="utf-8")
    out = tmp_path / "ml.csv"
    result = CliRunner().invoke(app, ["absa-convert", str(wide), str(out), "--layout", "wide", "--to", "multilabel",
                                      "--text-col", "review"])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").splitlines() == [
        "review,labels", "ac dingin wifi lambat,ac_pos|wifi_neg", "kamar bersih,", "ac bagus tapi bocor,ac_neg|ac_pos"]
    jsonl = tmp_path / "ml.jsonl"  # JSON lists, as docs/multilabel.md shows JSONL (it wrote "ac_pos|wifi_neg")
    assert CliRunner().invoke(app, ["absa-convert", str(wide), str(jsonl), "--layout", "wide", "--to", "multilabel",
                                    "--text-col", "review"]).exit_code == 0
    assert [json.loads(line)["labels"] for line in jsonl.read_text(encoding="utf-8").splitlines()] == [
        ["ac_pos", "wifi_neg"], [], ["ac_neg", "ac_pos"]]
    for sep in ("_", "a"):  # in every label (aspect_polarity), or in an aspect's name: the file would not read back
        bad = tmp_path / f"bad{sep}.csv"
        result = CliRunner().invoke(app, ["absa-convert", str(wide), str(bad), "--layout", "wide", "--to",
                                          "multilabel", "--text-col", "review", "--label-sep", sep])
        assert result.exit_code == 1 and str(result.exception).startswith(f"--label-sep {sep!r} occurs in the label ")
        assert not bad.exists()


def test_an_aspect_named_twice_is_refused_in_either_layout():
    """--aspects food,food,price ended in an IndexError traceback (wide and long), and absa-convert wrote a header
    train then refused (multilabel/absa review)."""
    for path, extra in ((WIDE, ()), (LONG, ('absa.layout="long"',))):
        with pytest.raises(DataError, match=r"^--aspects \(absa\.aspects\) names 'food' twice\. Name each aspect once\.$"):
            read_aspect_table(path, _cfg(*extra, aspects=["food", "food", "price"]))
