"""The table and text readers: one-line errors that name the file, the line and the fix."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from lstmtext.cli import app
from lstmtext.data.io import read_chunks, read_table
from lstmtext.data.texts import iter_texts, read_texts
from lstmtext.errors import DataError


def test_an_empty_file_is_named_by_every_reader(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    for read in (lambda: read_table(path), lambda: list(read_chunks(path, None, 10)), lambda: read_texts(path)):
        with pytest.raises(DataError, match=r"empty\.csv: the file is empty\. Give a file with a header row"):
            read()


def test_a_file_without_texts_says_so(tmp_path):
    header_only, blank = tmp_path / "header.csv", tmp_path / "blank.txt"
    header_only.write_text("text,label\n")
    blank.write_text("\n  \n")
    for path in (header_only, blank):
        with pytest.raises(DataError, match=rf"{path.name}: no texts to read \(the file has no data rows"):
            list(iter_texts(path))


def test_texts_are_read_with_their_rows(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("text\nfirst\nsecond\n")
    assert list(iter_texts(path)) == [([f"{path}:2", f"{path}:3"], ["first", "second"])]


def test_a_bad_jsonl_line_is_named(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n{"text": "c", label: "z"}\n')
    with pytest.raises(DataError, match=r"d\.jsonl:3: not a JSON object \(.*\)\. Write one object per line\.$"):
        read_table(path)
    path.write_text('{"text": "a", "label": "x"}\n["b", "y"]\n')
    tab = tmp_path / "tab.jsonl"
    tab.write_text('{"text": "a\tb", "label": "x"}\n', encoding="utf-8")  # the message ended "...character at"
    with pytest.raises(DataError, match=r"tab\.jsonl:1: not a JSON object \(Invalid control character at column 12 "
                                        r"\(a tab or line break inside a string is written \\t or \\n\)\)"):
        read_table(tab)
    with pytest.raises(DataError, match=r"d\.jsonl:2: not a JSON object \(a list\)"):
        read_table(path)
    path.write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n[1, 2]\n')  # pandas: a TypeError
    with pytest.raises(DataError, match=r"d\.jsonl:3: not a JSON object \(a list\)\. Write one object per line\.$"):
        read_table(path)
    with pytest.raises(DataError, match=r"d\.jsonl:3: not a JSON object \(a list\)"):  # streamed: the same line
        list(read_chunks(path, "jsonl", 2))


def test_a_json_object_or_list_where_a_text_goes_is_named_not_read_as_its_repr(tmp_path):
    from lstmtext.config import build_config
    from lstmtext.pipeline import load_data

    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "lost bag", "label": "neg"}\n{"text": {"a": 1}, "label": "pos"}\n')
    with pytest.raises(DataError, match=r"d\.jsonl:2: 'text' holds a JSON object, not a text\. Give it a string\.$"):
        list(iter_texts(path))  # predict, suggest, pretrain: it was the text "{'a': 1}"
    with pytest.raises(DataError, match=r"d\.jsonl:2: text in column 'text' holds a JSON object, not a string"):
        load_data(build_config(None), path)
    path.write_text('{"text": "lost bag", "label": ["neg", "pos"]}\n')  # a label, too (multi-label reads lists itself)
    with pytest.raises(DataError, match=r"d\.jsonl:1: label in column 'label' holds a JSON list, not a string"):
        load_data(build_config(None), path)
    path.write_text('{"text": "harga mahal", "food": "neutral", "price": {"p": "negative"}}\n')  # an aspect's cell
    with pytest.raises(DataError, match=r"d\.jsonl:1: column 'price' holds a JSON object, not a string"):
        load_data(build_config(None, extra={"task": "absa"}), path)  # was a traceback from pd.isna


def test_a_truncated_parquet_file_gets_parquet_advice(tmp_path):
    import pandas as pd

    path = tmp_path / "d.parquet"
    pd.DataFrame({"text": ["a", "b"], "label": ["x", "y"]}).to_parquet(path)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(DataError, match=r"d\.parquet: cannot parse as parquet: .*not a complete Parquet file") as err:
        read_table(path)
    assert "\n" not in str(err.value) and "delimiter" not in str(err.value)


def test_predict_on_an_empty_file_names_the_file(trained_run, tmp_path):
    out, _ = trained_run
    empty, header_only = tmp_path / "empty.csv", tmp_path / "header.csv"
    empty.write_text("")
    header_only.write_text("text\n")
    for path, message in ((empty, "the file is empty"), (header_only, "no texts to read")):
        result = CliRunner().invoke(app, ["predict", str(out / "model"), "--file", str(path)])
        assert result.exit_code == 1 and isinstance(result.exception, DataError), result.output
        assert str(result.exception).startswith(f"{path}: {message}")


def test_the_text_column_defaults_to_the_first_one_a_table_has(tmp_path):
    review, text, neither = tmp_path / "r.csv", tmp_path / "t.jsonl", tmp_path / "n.csv"
    review.write_text("review,stars\ngood,5\n")
    text.write_text('{"text": "fine"}\n')
    neither.write_text("body\nx\n")
    assert read_texts(review, defaults=("review", "text")) == ["good"]
    assert read_texts(text, defaults=("review", "text")) == ["fine"]
    assert read_texts(review, "stars", defaults=("review", "text")) == ["5"]
    with pytest.raises(DataError, match=r"n\.csv: no column 'review'\. Columns: body\. Use --text-col"):
        read_texts(neither, defaults=("review", "text"))


def test_predict_reads_the_column_the_model_was_trained_on(trained_run, tmp_path):
    import json
    import shutil

    out, _ = trained_run
    bundle = tmp_path / "model"
    shutil.copytree(out / "model", bundle)
    config = json.loads((bundle / "config.json").read_text())
    config["lstmtext"]["data"]["text_col"] = "review"
    (bundle / "config.json").write_text(json.dumps(config))
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("review,stars\nlost my bag,1\ngreat crew,5\n")
    result = CliRunner().invoke(app, ["predict", str(bundle), "--file", str(reviews)])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["text"] for line in result.output.splitlines()] == ["lost my bag", "great crew"]


def test_predict_reads_standard_input_and_writes_a_big_file_chunk_by_chunk(trained_run, tmp_path, monkeypatch):
    import csv
    import io
    import json

    model = trained_run[0] / "model"
    result = CliRunner().invoke(app, ["predict", str(model), "--file", "-"], input="lost my bag\n\ngreat crew\n")
    assert result.exit_code == 0, result.output
    # a blank line is answered too (as an empty text, with a warning), so the n-th answer is the n-th line's
    assert [json.loads(line)["text"] for line in result.stdout.splitlines()] == ["lost my bag", "", "great crew"]
    assert "(the first is record 2)" in result.stderr
    bad = CliRunner().invoke(app, ["predict", str(model), "--file", "-"], input=b"good\r\ncaf\xe9\n")
    assert bad.exit_code == 1 and str(bad.exception) == (  # it had said "byte 9 of a line", counted from the start
        "stdin: line 2, byte 4 (b'\\xe9') is not valid UTF-8. Send UTF-8 text (e.g. through `iconv -f cp1252 -t utf-8`).")
    marked = CliRunner().invoke(app, ["predict", str(model), "--file", "-"], input=b"\xef\xbb\xbfcaf\xe9\n")
    assert str(marked.exception).startswith("stdin: line 1, byte 7 (b'\\xe9')")  # the byte order mark's 3 bytes count
    old_mac = CliRunner().invoke(app, ["predict", str(model), "--file", "-"], input=b"lost my bag\rgreat crew\r")
    assert [json.loads(line)["text"] for line in old_mac.stdout.splitlines()] == ["lost my bag", "great crew"]
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n\n", encoding="utf-8")
    nothing = CliRunner().invoke(app, ["predict", str(model), "--file", str(blank)])
    assert nothing.exit_code == 1 and nothing.stdout == "" and "no texts to read" in str(nothing.exception)
    table = CliRunner().invoke(app, ["predict", str(model), "--file", "-", "--text-col", "text"], input="text\nhi\n")
    assert table.exit_code == 1 and "standard input is read as one text a line, so --text-col does not apply" in \
        str(table.exception)
    monkeypatch.setattr("lstmtext.data.texts.CHUNK_SIZE", 4)
    lines = [f"flight {i} was {'great' if i % 2 else 'late'}" for i in range(11)]
    path = tmp_path / "t.txt"
    path.write_text("\n".join(lines) + "\n")
    chunked = CliRunner().invoke(app, ["predict", str(model), "--file", str(path), "--format", "csv"])
    rows = list(csv.reader(io.StringIO(chunked.output)))
    assert rows[0][:2] == ["text", "label"] and [r[0] for r in rows[1:]] == lines  # one header, every text in order
    monkeypatch.setattr("lstmtext.data.texts.CHUNK_SIZE", 10_000)
    whole = CliRunner().invoke(app, ["predict", str(model), "--file", str(path), "--format", "csv"])
    assert whole.output == chunked.output


def test_a_tsv_text_that_starts_with_a_quote_keeps_every_row(tmp_path):
    """TSV has no quoting: '"so late' must not swallow the tabs and lines up to the next quote."""
    path = tmp_path / "q.tsv"
    path.write_text('text\tlabel\n"great flight" said no one\tnegative\n"so late\tnegative\nlost my bag\tnegative\n'
                    'thanks "crew"\tpositive\n', encoding="utf-8")
    rows = [['"great flight" said no one', "negative"], ['"so late', "negative"], ["lost my bag", "negative"],
            ['thanks "crew"', "positive"]]
    assert read_table(path).values.tolist() == rows
    assert [r for chunk in read_chunks(path, None, 3) for r in chunk.values.tolist()] == rows  # streamed: the same


def test_a_tsv_quote_opening_one_text_and_closing_a_later_one_keeps_every_row(tmp_path):
    """'"so late' ... 'my laptop is 15"': read as one quoted field, five rows became three, silently."""
    path = tmp_path / "q2.tsv"
    path.write_text('text\tlabel\n"so late\tnegative\nthe seat was fine\tneutral\nmy laptop is 15"\tneutral\n'
                    'ok thanks\tpositive\ngreat crew\tpositive\n', encoding="utf-8")
    assert read_table(path)["text"].tolist() == ['"so late', "the seat was fine", 'my laptop is 15"', "ok thanks",
                                                 "great crew"]


def test_a_tsv_written_with_quoting_is_unquoted(tmp_path):
    path = tmp_path / "pandas.tsv"
    rows = [['a "b" c', "neg"], ["great crew\nthanks!", "pos"], ["late\tagain", "neg"], ["plain", "pos"]]
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, sep="\t", index=False)
    assert '"a ""b"" c"' in path.read_text(encoding="utf-8")  # quotes doubled, line breaks and tabs inside quotes
    assert read_table(path).values.tolist() == rows
    assert [r for chunk in read_chunks(path, None, 3) for r in chunk.values.tolist()] == rows


def test_a_json_array_file_is_read_in_chunks_as_whole(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text('[{"text": "a b", "label": "x"}, {"text": "lost bag", "label": "y"}, {"text": "c", "label": "x"}]')
    assert read_table(path)["text"].tolist() == ["a b", "lost bag", "c"]
    chunks = list(read_chunks(path, None, 2))  # predict --file and --stream read it too, not only evaluate
    assert [c["text"].tolist() for c in chunks] == [["a b", "lost bag"], ["c"]]
    assert [i for c in chunks for i in c.index] == [0, 1, 2]


@pytest.mark.parametrize("content", ['{"text": 123, "label": 1}\n{"text": null, "label": 2}\n\n{"text": "", "id": 3, "label": 1}\n',
                                     '[{"text": 123, "label": 1}, {"text": null, "label": 2}, {"text": "", "id": 3, "label": 1}]'])
def test_json_numbers_are_read_as_written_beside_a_null(tmp_path, content):
    path = tmp_path / "rows.jsonl"
    path.write_text(content)
    # pandas reads a column of numbers with a null as floats: 123 came back as "123.0", labels 1 and 2 as 1.0, 2.0
    assert [text for _, texts in iter_texts(path) for text in texts] == ["123", "", ""]
    frame = read_table(path)
    assert frame["label"].astype(str).tolist() == ["1", "2", "1"] and frame.index.tolist() == [0, 1, 2]
    assert [c["label"].astype(str).tolist() for c in read_chunks(path, None, 2)] == [["1", "2"], ["1"]]


def test_a_one_column_files_blank_line_is_an_empty_text_for_predict(tmp_path):
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    one.write_text('text\n10\n\n"a\nb"\n007\n')  # a spreadsheet writes an empty cell of one column so
    two.write_text("text,id\n10,1\n\n007,2\n")
    assert list(iter_texts(one, keep_blank=True)) == [([f"{one}:2", f"{one}:3", f"{one}:4", f"{one}:6"],
                                                       ["10", "", "a\nb", "007"])]  # answers line up with its rows
    assert list(iter_texts(one)) == [([f"{one}:2", f"{one}:4", f"{one}:6"], ["10", "a\nb", "007"])]
    assert list(iter_texts(two, keep_blank=True)) == [([f"{two}:2", f"{two}:4"], ["10", "007"])]


def test_a_bad_json_array_file_is_named_where_it_goes_wrong(tmp_path):
    broken, numbers = tmp_path / "broken.json", tmp_path / "numbers.json"
    broken.write_text('[\n{"text": "a", "label": "x"},\n{"text": b}\n]')
    numbers.write_text('[{"text": "a", "label": "x"}, 2]')
    for read in (lambda p: read_table(p, "jsonl"), lambda p: list(read_chunks(p, "jsonl", 5))):  # train and predict
        with pytest.raises(DataError, match=r"broken\.json:3: not valid JSON \(Expecting value, column 10\)\. Write an "
                                            r"array of objects, or one object per line\.$"):
            read(broken)  # training had named line 1, with the advice for JSON lines
        with pytest.raises(DataError, match=r"numbers\.json: item 2 of the JSON array is not an object\."):
            read(numbers)


def test_a_folder_given_as_data_is_named_as_a_folder(tmp_path):
    for read in (lambda: read_table(tmp_path), lambda: list(read_chunks(tmp_path, "csv", 10)),
                 lambda: read_texts(tmp_path)):
        with pytest.raises(DataError, match=r": is a folder, not a data file\. Give a \.csv"):
            read()


def test_predict_reads_a_file_without_a_header_row(trained_run, tmp_path):
    import csv
    import io

    path = tmp_path / "smsa-like.tsv"
    path.write_text("lost my bag\tnegative\ngreat crew\tpositive\n", encoding="utf-8")
    model = trained_run[0] / "model"
    result = CliRunner().invoke(app, ["predict", str(model), "--file", str(path), "--no-header", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert [r[0] for r in csv.reader(io.StringIO(result.stdout))] == ["text", "lost my bag", "great crew"]
    headed = CliRunner().invoke(app, ["predict", str(model), "--file", str(path)])
    assert "no column 'text'" in str(headed.exception) and "or --no-header for a file without a header row" in \
        str(headed.exception)


def test_reading_standard_input_leaves_it_open(monkeypatch):
    import io
    import sys

    stdin = io.TextIOWrapper(io.BytesIO(b"one\n\ntwo\n"), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert read_texts("-") == ["one", "two"]  # blank lines skipped where nothing lines up with them
    assert not sys.stdin.buffer.closed  # a notebook or server process keeps its stdin


def test_detect_lang_reads_a_plain_text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("the flight was late and the crew was rude to everyone\n\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["detect-lang", str(path), "--json"])
    assert result.exit_code == 0, result.output
    import json

    assert json.loads(result.stdout)["total"] == 1  # the blank line is no row


def test_a_row_is_named_by_the_line_it_starts_on_past_quoted_line_breaks_and_blank_lines(tmp_path):
    from lstmtext.data.lines import row_ref

    path = tmp_path / "d.csv"
    path.write_text('text,label\n"two\nlines",a\n\nthird row,b\n"x ""q""\n\n!",c\nlast,d\n', encoding="utf-8")
    assert read_table(path)["text"].tolist() == ["two\nlines", "third row", 'x "q"\n\n!', "last"]
    assert [row_ref(path, i, "csv") for i in range(4)] == [f"{path}:{n}" for n in (2, 5, 6, 9)]
    tsv = tmp_path / "d.tsv"  # IndoNLU's layout: no header, quotes are text
    tsv.write_text('"so late\tneg\nfine\tpos\n', encoding="utf-8")
    assert [row_ref(tsv, i, "tsv", header=False) for i in range(2)] == [f"{tsv}:1", f"{tsv}:2"]
    path.write_text("text,label\nshort,a\nrows,b\n", encoding="utf-8")  # the file changed: counted again
    assert row_ref(path, 1, "csv") == f"{path}:3"
    path.write_text("\ufeff\ntext,label\r\nhello,a\r\n   \r\nworld,b\r\n", encoding="utf-8")  # BOM, CRLF, spaces
    assert read_table(path)["text"].tolist() == ["hello", "world"]
    assert [row_ref(path, i, "csv") for i in range(2)] == [f"{path}:3", f"{path}:5"]


def test_a_semicolon_separated_csv_is_pointed_at_its_delimiter(tmp_path):
    path = tmp_path / "export.csv"  # a spreadsheet's export where the decimal mark is a comma
    path.write_text("text;label\ngood;positive\nfine, really;neutral\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_table(path)
    assert str(err.value).startswith(f"{path}:3: cannot parse as csv: the row has 2 fields, 1 expected. ")
    assert str(err.value).endswith("Its first line is separated by semicolons: save the file with commas, or as TSV "
                                   "(tabs).")
    with pytest.raises(DataError, match=r"separated by semicolons"):  # read in chunks: the same advice
        list(read_chunks(path, "csv", 1))
    path.write_text("text;label\ngood;positive\nfine;neutral\n", encoding="utf-8")  # parses, as one column
    from lstmtext.config import build_config
    from lstmtext.pipeline.prepare import load_data

    with pytest.raises(DataError, match=r"no column 'text' .*Columns in the file: text;label\. Its first line is "
                                        r"separated by semicolons"):
        load_data(build_config(None), path)


def test_a_json_array_files_rows_are_named_by_item_not_line():
    """A JSON array is often one line: its 701st item was named 'file:701', a line the file does not have."""
    import tempfile
    from pathlib import Path

    from lstmtext.data.lines import row_refs

    with tempfile.TemporaryDirectory() as tmp:
        array, lines = Path(tmp) / "a.json", Path(tmp) / "l.jsonl"
        array.write_text('[{"text": "a"}, {"text": "b"}]')
        lines.write_text('{"text": "a"}\n{"text": "b"}\n')
        assert row_refs(array, [0, 1], "jsonl") == [f"{array} item 1", f"{array} item 2"]
        assert row_refs(lines, [1], "jsonl") == [f"{lines}:2"]


@pytest.mark.parametrize("kind", ["txt", "csv", "jsonl", "json", "parquet"])
def test_texts_are_read_in_chunks_of_bounded_characters_whatever_their_count(kind, tmp_path, monkeypatch):
    """A chunk was 50,000 texts whatever their length: 10,000 lines of 20,000 characters were one chunk, cleaned
    and tokenised at once (4.6 GB to predict a 200 MB file). A chunk now also ends at about CHUNK_CHARS."""
    import json

    monkeypatch.setattr("lstmtext.data.texts.CHUNK_CHARS", 1000)
    texts = [f"text {i} " + "x" * (300 if i % 2 else 30) for i in range(600)]  # 100,000 characters in all
    path = tmp_path / f"d.{kind}"
    if kind == "txt":
        path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    elif kind == "csv":
        pd.DataFrame({"text": texts}).to_csv(path, index=False)
    elif kind == "jsonl":
        path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    elif kind == "json":
        path.write_text(json.dumps([{"text": t} for t in texts]), encoding="utf-8")
    else:
        pd.DataFrame({"text": texts}).to_parquet(path)
    chunks = list(iter_texts(path))
    assert [t for _, part in chunks for t in part] == texts  # every text, in order, once
    sizes = [sum(map(len, part)) for _, part in chunks]
    first = 256 * 180 if kind == "csv" else 1000  # a CSV file's first read: 256 rows, then sized by what is left
    assert len(chunks) > 40 and max(sizes[1:]) <= 2000 and sizes[0] <= first + 400
    wheres = [w for where, _ in chunks for w in where]
    assert len(wheres) == len(texts) and wheres[-1].endswith(("600", "601", "row 599", "599"))


def test_a_jsonl_record_without_the_text_key_is_named_not_read_as_an_empty_text(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"text": "lost bag"}\n{"text": null}\n{"txt": "hi", "id": 3}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"mixed\.jsonl:3: the record has no 'text' key \(its keys: txt, id\)\. Give "
                                        r"every record its text under 'text', or name the key with --text-col\.$"):
        list(iter_texts(path))
    path.write_text('{"text": "lost bag"}\n{"text": null}\n', encoding="utf-8")  # a null text: an empty one, as written
    assert [t for _, part in iter_texts(path) for t in part] == ["lost bag", ""]


def test_a_headerless_files_long_first_text_is_cut_in_the_missing_column_error(tmp_path):
    """A TSV without a header row printed its first review whole as the column's name."""
    path = tmp_path / "reviews.tsv"
    path.write_text("warung ini dimiliki oleh pengusaha pabrik tahu yang sudah puluhan tahun\tpositive\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"reviews\.tsv: no column 'text'\. Columns: warung ini dimiliki oleh pengusaha "
                                        r"pa\.\.\., positive\. Use --text-col, or --no-header"):
        list(iter_texts(path, header_flag="--no-header"))


def test_a_block_of_long_rows_after_short_ones_is_read_in_chunks_of_bounded_characters(tmp_path, monkeypatch):
    """Sized by the rows before them, 3,000 rows of 20,000 characters after 2,000 short ones were one chunk of
    60 million characters, 7.5 times the cap."""
    monkeypatch.setattr("lstmtext.data.texts.CHUNK_CHARS", 100_000)
    path = tmp_path / "mixed.csv"
    pd.DataFrame({"text": ["short"] * 2000 + ["x" * 2_000] * 3000}).to_csv(path, index=False)
    chunks = list(iter_texts(path))
    assert sum(len(part) for _, part in chunks) == 5000
    # at most the cap and one read past it (256 rows): rows are only known once read (6 million characters before)
    assert max(sum(map(len, part)) for _, part in chunks) <= 100_000 + 256 * 2_000
