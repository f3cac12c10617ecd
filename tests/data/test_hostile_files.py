"""Files that are not what they seem: a delimiter at the end of every row, a column named twice, Parquet lists and
bytes, byte-order marks, archives and UTF-16 without a mark, a line of hundreds of megabytes. Each was read as
something else, silently, or answered with advice that fixes nothing."""

from __future__ import annotations

import gzip
import io
import logging
import lzma
import re
import zipfile

import pandas as pd
import pytest

from lstmtext.config import build_config
from lstmtext.data.io import read_chunks, read_table, table_columns
from lstmtext.data.texts import _bounded, read_texts
from lstmtext.errors import DataError
from lstmtext.pipeline.prepare import load_data


def _rows(n: int = 40) -> list[tuple[str, str, str]]:
    return [(f"text number {i} about the flight", ["negative", "positive"][i % 2], ["app", "web"][i % 2])
            for i in range(n)]


def test_a_delimiter_ending_every_row_keeps_the_columns_where_the_header_puts_them(tmp_path):
    """pandas made the first column the row index: the labels became the texts and 'source' the labels."""
    path = tmp_path / "trailing.csv"
    path.write_text("text,label,source\n" + "".join(f"{t},{y},{s},\n" for t, y, s in _rows()), encoding="utf-8")
    frame = read_table(path)
    assert list(frame.columns) == ["text", "label", "source"]
    assert frame["text"].iloc[0] == "text number 0 about the flight" and frame["label"].iloc[1] == "positive"
    chunks = list(read_chunks(path, None, 5))
    assert [list(c.columns) for c in chunks] == [["text", "label", "source"]] * 8
    assert list(pd.concat(chunks)["source"]) == list(frame["source"])
    data = load_data(build_config(None, overrides=['data.text_col="text"', 'data.label_col="source"']), path)
    assert sorted(set(data.splits["train"].labels) | set(data.splits["valid"].labels)) == ["app", "web"]
    assert read_texts(path)[0] == "text number 0 about the flight"  # predict --file: a traceback before


def test_a_filled_field_past_the_header_is_named_not_dropped(tmp_path):
    path = tmp_path / "extra.csv"
    path.write_text("text,label\nfine flight,positive,\nlate again,negative,but the crew was kind\n",
                    encoding="utf-8")
    with pytest.raises(DataError, match=r"extra\.csv:3: the row has 3 fields, one more than the header names, and "
                                        r"fills the last \('but the crew was kind'\) where other rows leave it empty\. Add the column"):
        read_table(path)


def test_a_column_named_twice_is_refused_where_it_is_read(tmp_path):
    """pandas renamed the second 'label.1': a classifier ignored it, an aspect model learnt an aspect 'price.1'."""
    rows = "".join(f"text {i},{['positive', 'negative'][i % 2]},{['negative', 'positive'][i % 2]}\n" for i in range(40))
    path = tmp_path / "twice.csv"
    path.write_text("text,label,label\n" + rows, encoding="utf-8")
    assert list(read_table(path).columns) == ["text", "label", "label.1"]  # read; refused by what reads it
    said = (r"twice\.csv: the header names column 'label' 2 times \(pandas read the copies as 'label\.1'\)\. Give "
            r"every column its own name\.$")
    with pytest.raises(DataError, match=said):
        load_data(build_config(None), path)
    with pytest.raises(DataError, match=said):  # an aspect file: every column but the text is an aspect
        load_data(build_config(None, extra={"task": "absa"}), path)
    other = tmp_path / "notes.csv"  # a name repeated in columns no task reads stops nothing (it read before)
    other.write_text("text,label,note,note\n" + "".join(f"text {i},{['a', 'b'][i % 2]},x,y\n" for i in range(40)),
                     encoding="utf-8")
    assert len(load_data(build_config(None), other).splits["train"]) == 32
    headless = tmp_path / "headless.tsv"  # without a header row the names are lstmtext's own
    headless.write_text("a\tpositive\tpositive\nb\tnegative\tnegative\n", encoding="utf-8")
    assert list(read_table(headless, header=False).columns) == ["text", "label", "col2"]


def test_a_header_without_the_row_names_column_reads_as_before(tmp_path, caplog):
    """R's write.table and pandas' index_label=False write row names the header does not name: every row has one
    field more, filled; pandas took them as the index, and so does lstmtext (a trailing delimiter's is empty). It
    says so once: a header that lacks a data column's name reads the same way, and the user's texts were left out
    without a word (a file of 'text' over rows 'hello world,pos' said only that it had no label column)."""
    path = tmp_path / "rownames.csv"
    path.write_text("text,label\n" + "".join(f"{i},text {i},{['a', 'b'][i % 2]}\n" for i in range(10)),
                    encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        frame = read_table(path)
    assert list(frame.columns) == ["text", "label"] and frame["text"].iloc[3] == "text 3"
    assert frame["label"].tolist() == ["a", "b"] * 5
    said = [r.getMessage() for r in caplog.records if "row's name" in r.getMessage()]
    assert said == [f"{path}: every row has one more field than the header names, and the first field of each is read "
                    "as the row's name (as R's write.table writes them: '0', '1') and left out. If that field is data, "
                    "name its column in the header."]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert len(pd.concat(read_chunks(path, None, 3))) == 10
    assert sum("row's name" in r.getMessage() for r in caplog.records) == 1  # once per file, not per chunk
    several = tmp_path / "several.csv"  # two fields past the header: pandas dropped them without a word
    several.write_text("text,label\nhello, world, again,pos\nbye,neg\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"several\.csv: the first data row has 4 fields, the header names 2\. Quote"):
        read_table(several)


def test_parquet_lists_are_lists_and_bytes_are_refused(tmp_path):
    labels = [["food", "price"], ["food"], ["service"], ["price"]] * 10
    texts = [f"review {i} of the place" for i in range(40)]
    path = tmp_path / "ml.parquet"
    pd.DataFrame({"text": texts, "labels": labels}).to_parquet(path)
    cfg = build_config(None, overrides=['data.label_col="labels"'], extra={"task": "multilabel"})
    data = load_data(cfg, path)
    labels_read = {tuple(y) for split in data.splits.values() for y in split.labels}
    assert labels_read == {("food", "price"), ("food",), ("service",), ("price",)}, labels_read  # not "['food' 'price']"
    as_texts = tmp_path / "listtext.parquet"
    pd.DataFrame({"text": [[t] for t in texts], "label": ["a", "b"] * 20}).to_parquet(as_texts)
    with pytest.raises(DataError, match=r"listtext\.parquet row 0: 'text' holds a list, not a text"):
        read_texts(as_texts)
    with pytest.raises(DataError, match=r"text in column 'text' holds a JSON list, not a string"):
        load_data(build_config(None), as_texts)
    binary = tmp_path / "binary.parquet"
    pd.DataFrame({"text": [t.encode() for t in texts], "label": ["a", "b"] * 20}).to_parquet(binary)
    with pytest.raises(DataError, match=r"text in column 'text' holds bytes \(a binary column\), not a string"):
        load_data(build_config(None), binary)
    with pytest.raises(DataError, match=r"binary\.parquet row 0: 'text' holds bytes \(a binary column\), not a text"):
        read_texts(binary)
    digest = tmp_path / "digest.parquet"  # bytes in a column no task reads stop nothing
    pd.DataFrame({"text": texts, "label": ["a", "b"] * 20, "digest": [b"\x00\x01"] * 40}).to_parquet(digest)
    assert len(load_data(build_config(None), digest).splits["train"]) == 32


def test_a_byte_order_mark_is_no_text(tmp_path):
    bom = "\ufeff"
    jsonl = tmp_path / "bom.jsonl"
    jsonl.write_text(bom + '{"text": "good flight", "label": "positive"}\n', encoding="utf-8")
    array = tmp_path / "bom.json"
    array.write_text(bom + '[{"text": "good flight", "label": "positive"}]', encoding="utf-8")
    plain = tmp_path / "bom.txt"
    plain.write_text(bom + "good flight\nbad seat\n", encoding="utf-8")
    assert read_table(jsonl)["text"].tolist() == ["good flight"] == read_table(array)["text"].tolist()
    assert read_texts(plain, header=False) == ["good flight", "bad seat"]


@pytest.mark.parametrize(("name", "make", "said"), [
    ("book.xlsx", lambda p: zipfile.ZipFile(p, "w").writestr("xl/workbook.xml", "<x/>"),
     "the file is a zip archive (an Excel .xlsx workbook is one), not text. Export the sheet as CSV"),
    ("data.csv.gz", lambda p: p.write_bytes(gzip.compress(b"text,label\na,b\n")),
     "the file is gzip-compressed, not text. Decompress it first: `gunzip -c DIR/data.csv.gz > DIR/data.csv`."),
    ("data.gz", lambda p: p.write_bytes(gzip.compress(b"text\tlabel\na\tb\n")),  # `data` was refused next
     "the file is gzip-compressed, not text. Decompress it first: `gunzip -c DIR/data.gz > DIR/data.tsv`."),
    ("rows.gz", lambda p: p.write_bytes(gzip.compress(b'{"text": "a", "label": "b"}\n')),
     "the file is gzip-compressed, not text. Decompress it first: `gunzip -c DIR/rows.gz > DIR/rows.jsonl`."),
    ("corpus.gz", lambda p: p.write_bytes(gzip.compress(b"the flight was late, again\n")),  # prose: one text a line
     "the file is gzip-compressed, not text. Decompress it first: `gunzip -c DIR/corpus.gz > DIR/corpus.txt`."),
    ("table.xz", lambda p: p.write_bytes(lzma.compress(b"text,label\na,b\n")),
     "the file is xz-compressed, not text. Decompress it first: `unxz -c DIR/table.xz > DIR/table.csv`."),
    ("gz.csv", lambda p: p.write_bytes(gzip.compress(b"text,label\na,b\n")),  # `gunzip -k gz.csv`: unknown suffix
     "the file is gzip-compressed, not text. Decompress it first: `gunzip -c DIR/gz.csv > DIR/gz-plain.csv`."),
    ("u16.txt", lambda p: p.write_bytes("good flight\nbad\n".encode("utf-16-le")),
     "the file holds NUL bytes: it is probably UTF-16 without a byte-order mark; lstmtext reads UTF-8. Convert it: "
     "`iconv -f utf-16le -t utf-8"),
    ("u16.csv", lambda p: p.write_bytes("text,label\nok,positive\n".encode("utf-16-le")),
     "the file holds NUL bytes: it is probably UTF-16"),
])
def test_a_file_that_is_not_text_is_named_for_what_it_is(tmp_path, name, make, said):
    """Read as UTF-8 they were answered with 'byte 12 is not valid UTF-8 ... iconv -f cp1252', or, for UTF-16
    without a mark, predicted as texts of letters and NULs."""
    path = tmp_path / name
    make(path)
    said = said.replace("DIR", str(tmp_path))
    readers = [lambda: read_texts(path, header=False), lambda: table_columns(path)]
    if path.suffix == ".csv":
        readers += [lambda: read_table(path), lambda: list(read_chunks(path, None, 10))]
    if path.suffix == ".gz":  # the compression's extension: named for what it is, not "cannot tell the format"
        readers += [lambda: read_table(path)]
    for read in readers:
        with pytest.raises(DataError) as err:
            read()
        assert str(err.value).startswith(f"{path}: {said}")


def test_a_huge_line_is_read_up_to_a_cap(caplog):
    """A 200 MB line was read whole (2.1 GB) before being cut at preprocess.max_chars."""
    text = io.StringIO("short\n" + "x" * 95 + "\n" + "y" * 10 + "\nafter\nlast")
    with caplog.at_level(logging.WARNING):
        assert list(_bounded(text, "big.txt", cap=10)) == ["short\n", "x" * 10, "y" * 10, "after\n", "last"]
    assert [r.getMessage() for r in caplog.records] == [  # a line of exactly 10 was read whole: no word of it
        "big.txt:2: the line holds 95 characters; only its first 10 are read"]


def test_a_huge_line_on_standard_input_is_read_up_to_a_cap(caplog):
    """A 200 MB line through --file - was read whole (1.9 GB); a cut must not split a UTF-8 character."""
    from lstmtext.data.texts import _decoded_lines

    raw = io.BytesIO(b"short\n" + "\u00e9".encode() * 20 + b"\n" + b"y" * 10 + b"\nlast")
    with caplog.at_level(logging.WARNING):
        assert list(_decoded_lines(raw, cap=11)) == ["short\n", "\u00e9" * 11, "y" * 10 + "\n", "last"]
    assert [r.getMessage() for r in caplog.records] == [
        "stdin:2: the line holds 20 characters; only its first 11 are read"]
    # a lone \r ends a line, and \r\n on the cap's edge is one line end, not a blank line after it (a byte cap read
    # an old Mac file's lines as one and dropped all but its first 10 MB)
    assert list(_decoded_lines(io.BytesIO(b"one\rtwo\rthree\rfour\r"), cap=10)) == ["one\n", "two\n", "three\n",
                                                                                   "four\n"]
    assert list(_decoded_lines(io.BytesIO(b"abcdefghi\r\nnext\r\n"), cap=10)) == ["abcdefghi\n", "next\n"]
    with pytest.raises(DataError, match=r"^stdin: line 2, byte 3 \(b'\\xe9'\) is not valid UTF-8\."):
        list(_decoded_lines(io.BytesIO(b"fine\nok\xe9 not\n")))
    assert list(_decoded_lines(io.BytesIO(b"\xef\xbb\xbfgreat crew\n"))) == ["great crew\n"]  # a BOM, as files


def test_a_misnamed_file_is_pointed_at_its_format(tmp_path):
    """A TSV or JSON file named .csv got only pandas' 'Expected 1 fields in line 3, saw 2'."""
    tsv = tmp_path / "tabs.csv"
    tsv.write_text("text\tlabel\nlate, again\tnegative\nfine, thanks\tpositive\nok\tneutral\n", encoding="utf-8")
    said = r"separated by tabs: name the file \.tsv \(train and evaluate also take --format tsv\)\.$"
    with pytest.raises(DataError, match=said):
        read_table(tsv)
    # predict, pretrain and --unlabelled advised --no-header, which then read the header line as a text
    with pytest.raises(DataError, match=r"tabs\.csv:2: the row has 2 fields, .*" + said):
        read_texts(tsv)
    tsv.write_text("text\tlabel\nlate again\tnegative\n", encoding="utf-8")  # no comma: one column, 'text\tlabel'
    with pytest.raises(DataError, match=r"no column 'text'\. Columns: text\tlabel\. Its first line is " + said):
        read_texts(tsv)
    jsonl = tmp_path / "lines.csv"
    jsonl.write_text('{"text": "late, again", "label": "negative"}\n{"text": "ok, fine, thanks", "label": "x"}\n',
                     encoding="utf-8")
    with pytest.raises(DataError, match=r"It looks like JSON: name the file \.jsonl"):
        read_table(jsonl)


def test_standard_input_for_a_labelled_file_says_so(tmp_path):
    """train - said 'cannot tell the format', and with --format csv then '-: file not found'."""
    from pathlib import Path

    for fmt in (None, "csv"):
        with pytest.raises(DataError, match=r"^-: this command reads a labelled file, not standard input\."):
            read_table(Path("-"), fmt)


def test_a_header_name_with_a_stray_space_is_pointed_at(tmp_path):
    path = tmp_path / "spaces.csv"
    path.write_text("text ,label \nlate again,negative\nfine,positive\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"no column 'text' \(given by --text-col\)\. .* The file has 'text ' \(other "
                                        r"spaces or case\): pass --text-col 'text ', or fix the header\.$"):
        load_data(build_config(None), path)


def test_preview_of_a_column_without_any_text_says_so(tmp_path):
    """lstmtext preprocess printed an empty before/after table and exited 0."""
    from lstmtext.data.texts import sample_texts

    path = tmp_path / "nan.csv"
    path.write_text("text,label\n,pos\n,neg\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"nan\.csv: column 'text' holds no text in any of its 2 rows\. Check "
                                        r"--text-col\.$"):
        sample_texts(path)


def test_text_files_that_look_like_other_things_are_still_read(tmp_path):
    """A stray NUL is no UTF-16, 'BZh' no bzip2 stream: both files read as before (they were refused)."""
    stray = tmp_path / "nul.csv"
    stray.write_bytes(b"text,label\nhello\x00world,pos\nbye,neg\n")
    assert read_table(stray)["label"].tolist() == ["pos", "neg"]
    named = tmp_path / "b.txt"
    named.write_text("BZh is my name\nsecond\n", encoding="utf-8")
    assert read_texts(named, header=False) == ["BZh is my name", "second"]
    onecol = tmp_path / "onecol.tsv"  # pandas' one-column TSV: no tab on any line says nothing about its quotes
    texts = ['say "hi"', "two\nlines", "plain"]
    pd.DataFrame({"text": texts}).to_csv(onecol, sep="\t", index=False)
    assert read_texts(onecol) == texts


def test_row_names_are_told_from_data_the_same_way_whole_and_in_chunks(tmp_path):
    """R's row names after filtering do not count 1, 2, 3 but are unique; a first column with repeats is data. A
    chunked read (--stream, predict) decides on its first chunk and holds every chunk to it: chunk by chunk, a
    first chunk of two texts holding commas was read as row names, silently."""
    filtered = tmp_path / "filtered.csv"
    filtered.write_text('"text","label"\n' + "".join(f'"{i * 3 + 2}","text {i}","{"ab"[i % 2]}"\n' for i in range(10)),
                        encoding="utf-8")
    assert read_table(filtered)["text"].tolist() == [f"text {i}" for i in range(10)]
    assert pd.concat(read_chunks(filtered, None, 3))["label"].tolist() == read_table(filtered)["label"].tolist()
    repeats = tmp_path / "repeats.csv"
    repeats.write_text("text,label\n" + "".join(f"same text,{['a', 'b'][i % 2]},{2000 + i}\n" for i in range(10)),
                       encoding="utf-8")
    with pytest.raises(DataError, match=r"repeats\.csv: every row has 3 fields, one more than the header names, and "
                                        r"the first column repeats values"):
        read_table(repeats)
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("id,text,label\n1,hello, world,pos\n2,fine, ok,neg\n3,fine,neg\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"mixed\.csv:2: the row has 4 fields, one more than the header names"):
        read_table(mixed)
    with pytest.raises(DataError, match=r"mixed\.csv:4: the row has 3 fields, as many as the header names, but the "
                                        r"rows before it have one more \(row names first\)"):
        list(read_chunks(mixed, None, 2))


def test_empty_header_names_and_a_trailing_delimiter(tmp_path):
    """Two empty names and a delimiter ending every row: a ValueError traceback from the chunked reader."""
    path = tmp_path / "empty_names.csv"
    path.write_text("text,,,label\nhi,a,b,pos,\nyo,c,d,neg,\n", encoding="utf-8")
    frame = read_table(path)
    assert list(frame.columns) == ["text", "Unnamed: 1", "Unnamed: 2", "label"]
    assert frame["label"].tolist() == ["pos", "neg"]
    assert read_texts(path) == ["hi", "yo"]


@pytest.mark.parametrize("header", [True, False])
def test_a_parse_error_names_the_line_of_the_file_not_pandas_row_count(tmp_path, header):
    """pandas counts rows, blank lines included, and a text over three lines as one: its 'Expected 2 fields in line
    5, saw 4' was a row on line 7, 'EOF inside string starting at row 5' a quote opened on line 7."""
    head = "text,label\n" if header else ""
    fields, quote = tmp_path / "fields.csv", tmp_path / "quote.csv"
    body = '\n"a text\nover three\nlines",pos\nok,neg\n'
    fields.write_text(head + body + "bad,neg,extra,more\nok,neg\n", encoding="utf-8")
    quote.write_text(head + body + '"never closed,neg\nok,neg\n', encoding="utf-8")
    line = 7 if header else 6
    for read in (lambda p: read_table(p, header=header), lambda p: list(read_chunks(p, "csv", 2, header))):
        with pytest.raises(DataError, match=rf"fields\.csv:{line}: cannot parse as csv: the row has 4 fields, 2 "
                                            r"expected\. Check quoting and the delimiter \(a comma\)\.$"):
            read(fields)
        with pytest.raises(DataError, match=rf"quote\.csv:{line}: cannot parse as csv: a quote opened in this row is "
                                            r"never closed\. Check quoting"):
            read(quote)


def test_a_broken_parquet_file_is_one_line_for_every_reader(tmp_path):
    """predict --file, pretrain, --unlabelled and absa-convert ended in pyarrow's ArrowInvalid traceback."""
    path = tmp_path / "cut.parquet"
    frame = pd.DataFrame({"text": ["good flight", "bad seat"], "label": ["pos", "neg"]})
    frame.to_parquet(path)
    path.write_bytes(path.read_bytes()[:100])  # a copy cut short
    for read in (lambda: read_texts(path), lambda: table_columns(path), lambda: read_table(path)):
        with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: cannot (read|parse) as parquet: .*write it "
                                            r"again \(e\.g\. pandas' to_parquet\)\.$"):
            read()


def test_a_text_column_named_twice_is_refused_by_the_text_readers_too(tmp_path):
    """train refused it; predict --file and --unlabelled read the first of the two, silently."""
    path = tmp_path / "dup.csv"
    path.write_text("text,text,label\na b,c d,pos\ne f,g h,neg\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"dup\.csv: the header names column 'text' 2 times \(pandas read the copies "
                                        r"as 'text\.1'\)\. Give every column its own name\.$"):
        read_texts(path)
