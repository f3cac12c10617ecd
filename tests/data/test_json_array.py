"""A JSON array file read one item at a time gives json.load's values and json.load's error places."""

import json
import random
import re
import tracemalloc

import pytest

from lstmtext.data.io import read_chunks, read_table
from lstmtext.data.json_array import json_array_items
from lstmtext.errors import DataError

DOCS = [
    '[]',
    ' \n [ ] \n',
    '[{"text": "a", "label": 1}]',
    '[\n  {"text": "caf\\u00e9 \\"ok\\"\\n", "n": -12.5e3, "x": null, "t": true},\n  {"text": "\U0001F600 \\ud83d\\ude00"}'
    ',\n  {"nested": {"a": [1, 2, {"b": "]"}]}, "s": "[,]{}"}\n]\n',
    '[1234567890123, 0.000001, "x", [], {}, false]',
]
BAD = [
    '[',
    '[{"text": "a"}',
    '[{"text": "a"},',
    '[{"text": "a"} {"text": "b"}]',
    '[\n{"text": "a", "label": "x"},\n{"text": b}\n]',
    '[{"text": "unterminated}]',
    '[{"text": "a"}] trailing',
    '[{"text": "a\tb"}]',  # a raw tab in a string
    '[{"text": "\\q"}]',
    '[tru]',
    '[{"a": 1,}]',
]


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("piece", [1, 2, 3, 7, 1 << 20])
def test_items_are_json_loads_values_whatever_the_pieces(tmp_path, doc, piece):
    path = tmp_path / "a.json"
    path.write_text(doc, encoding="utf-8")
    assert list(json_array_items(path, piece=piece)) == json.loads(doc)


@pytest.mark.parametrize("doc", BAD)
@pytest.mark.parametrize("piece", [1, 3, 1 << 20])
def test_an_error_names_the_line_and_column_json_loads_names(tmp_path, doc, piece):
    path = tmp_path / "bad.json"
    path.write_text(doc, encoding="utf-8")
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(doc)
    with pytest.raises(DataError) as found:
        list(json_array_items(path, piece=piece))
    where = re.fullmatch(rf"{re.escape(str(path))}:(\d+): not valid JSON \((.*), column (\d+)\)\. Write an array of "
                         r"objects, or one object per line\.", str(found.value))
    assert where, str(found.value)
    assert (int(where[1]), int(where[3])) == (expected.value.lineno, expected.value.colno)
    # the same message, but where Python 3.13's json names a trailing comma itself
    assert where[2] == expected.value.msg or expected.value.msg.startswith("Illegal trailing comma")


def test_random_records_over_many_pieces(tmp_path):
    rng = random.Random(0)
    records = [{"text": "".join(rng.choice('ab "\\\n\u00e9\U0001F600{}[],') for _ in range(rng.randrange(30))),
                "label": rng.choice([1, -2.5, None, True, "x"])} for _ in range(300)]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(records, indent=rng.choice([None, 2])), encoding="utf-8")
    for piece in (5, 64, 4096):
        assert list(json_array_items(path, piece=piece)) == records


def test_a_byte_order_mark_is_no_text(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b'\xef\xbb\xbf[{"text": "a"}]')
    assert list(json_array_items(path)) == [{"text": "a"}]


def test_an_item_that_never_closes_stops_at_the_cap(tmp_path):
    path = tmp_path / "open.json"
    path.write_text('[{"text": "a"},\n {"text": "' + "x" * 5000 + '"' + ", " * 10, encoding="utf-8")
    with pytest.raises(DataError, match=r"open\.json:2: the JSON array's item at column 2 runs past 1,000 characters "
                                        r"\(or is never closed\)\."):
        list(json_array_items(path, piece=100, item_chars=1000))


def test_streaming_a_large_array_holds_one_chunk_not_the_file(tmp_path):
    path = tmp_path / "big.json"
    row = '{"text": "' + "lost my bag again in denver " * 20 + '", "label": "negative"}'
    with path.open("w") as fh:  # about 30 MB: json.load held it and its 50,000 objects at once
        fh.write("[" + ",\n".join([row] * 50_000) + "]")
    tracemalloc.start()
    rows = 0
    for chunk in read_chunks(path, "jsonl", 1000):
        rows += len(chunk)
        assert chunk.index[0] == rows - len(chunk)  # numbered by item, from chunk to chunk
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert rows == 50_000
    assert peak < 15 * 2**20, f"{peak / 2**20:.0f} MiB"  # a 1,000-row chunk and a 1 MiB piece, not 30 MB and more


def test_read_table_reads_the_array_whole_as_before(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text('[{"text": "a", "label": "x"}, {"text": "b", "label": 2}]')
    frame = read_table(path)
    assert frame["text"].tolist() == ["a", "b"] and frame["label"].astype(str).tolist() == ["x", "2"]
    assert frame.index.tolist() == [0, 1]


def test_a_jsonl_line_past_the_cap_is_refused_not_read_whole(tmp_path, monkeypatch):
    import lstmtext.data.jsonl as jsonl

    monkeypatch.setattr(jsonl, "ITEM_CHARS", 1000)
    path = tmp_path / "one-line.jsonl"
    path.write_text('{"text": "a"}\n' + '{"t": "' + "y" * 991 + '"}\n' + '{"text": "' + "x" * 5000 + '"}\n')
    # line 2 holds exactly 1,000 characters and its end: read
    for read in (lambda: read_table(path), lambda: list(read_chunks(path, None, 10))):
        with pytest.raises(DataError, match=r"one-line\.jsonl:3: the line runs past 1,000 characters\. Write one "
                                            r"object per line, each with its own line end\.$"):
            read()
