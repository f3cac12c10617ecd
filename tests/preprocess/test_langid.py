"""Language detection: the lecture's examples, the short/unsure-row rule, the summary, and bad arguments."""


import pytest

from lstmtext.errors import ConfigError
from lstmtext.preprocess import langid_step
from lstmtext.preprocess.langid_step import (
    DroppedRow,
    detect_languages,
    filter_language,
    language_summary,
)

VI = "Quán này thấy khá nhiều người bảo mình nên mình đã đi ăn thử , nhưng thực_sự ăn xong thấy không được ngon."
VI_LINK = "Mình được 1 cô bạn giới_thiệu đến đây, tìm địa_chỉ khá dễ. Menu nước uống chất khỏi nói. https://foody.com"
EN = "Visiting_Da_Nang frequently but this is the first time I have found a coffee shop which has a creative design"
EN2 = "The room is cheap!!!! It's near the city center. The staff is so nice :-D"
ID = "saya paling senang belanja online di sini selama tahun belanja"
VI_NO_DIACRITICS = "Quan nay hinh nhu dep roi . May lan them uong ma_chay lai k thay ban"
ROWS = [VI, EN, "ngon", "", VI_LINK, EN2, ID, "!!! 123 :)", VI_NO_DIACRITICS]


def _rounded(results):
    return [(lang, round(conf, 3)) for lang, conf in results]


def test_detect_lecture_examples():
    assert _rounded(detect_languages([VI, VI_LINK, EN, EN2, ID])) == [
        ("vi", 1.0),
        ("vi", 1.0),
        ("en", 1.0),
        ("en", 1.0),
        ("id", 1.0),
    ]


@pytest.mark.parametrize("text", ["", "   ", "!!! ... ???", "12345 :) 😀", "https://foody.vn/a/b <br/>"])
def test_no_letters_is_undetermined(text):
    assert detect_languages([text]) == [("und", 0.0)]


def test_detect_is_deterministic_and_restricted():
    first = detect_languages(ROWS, languages=("vi", "en"))
    assert first == detect_languages(ROWS, languages=["en", "vi"])
    assert {lang for lang, _ in first} <= {"vi", "en", "und"}


def test_mixed_scripts():
    assert detect_languages(["Quán ăn 好吃 очень вкусно, nhân viên phục vụ rất nhiệt tình"])[0][0] == "vi"
    assert detect_languages(["Привет мир, как дела у тебя сегодня"], languages=None)[0][0] == "ru"


def test_filter_keeps_short_and_unsure_rows():
    kept, dropped = filter_language(ROWS, keep="vi")
    assert kept == [0, 2, 3, 4, 7, 8]  # the Vietnamese typed without marks too: langid reads it as English
    assert [(d.index, d.language, d.text) for d in dropped] == [
        (1, "en", EN),
        (5, "en", EN2),
        (6, "id", ID),
    ]
    assert all(isinstance(d, DroppedRow) and d.confidence >= 0.9 for d in dropped)


def test_vietnamese_without_its_marks_is_told_by_its_syllables():
    from lstmtext.preprocess.vietnamese import syllable_share

    # langid alone: English at 0.99 and more (9 of NTC-SCV's 5,000 reviews were dropped so, 0 after)
    assert detect_languages([VI_NO_DIACRITICS], languages=("en", "id"))[0][0] == "en"
    assert detect_languages([VI_NO_DIACRITICS]) == [("vi", 15 / 16)]  # "k" is no syllable
    assert syllable_share("Phuc vu vo cung te, nhan_vien dot nhien quay") == (1.0, 0.5, 10)
    assert syllable_share("I went there for fun but the water is dirty")[0] == 0.3  # i, but, the
    assert syllable_share("saya paling senang belanja online di sini selama tahun")[0] == 1 / 9  # di
    # English of short words is all syllables, but none with a Vietnamese onset or vowel group: it stays English
    assert syllable_share("so i can not go to the top at noon") == (1.0, 0.0, 10)
    assert detect_languages(["so i can not go to the top at noon"])[0][0] == "en"
    short = "Quan nay ngon lam , gia re"  # 6 words: too few to tell by syllables, so langid's answer stands
    assert detect_languages([short]) == detect_languages([short], languages=("vi", "en", "id"))
    assert detect_languages([short])[0][0] != "vi"


def test_filter_thresholds():
    kept, dropped = filter_language(ROWS, keep="vi", min_letters=1, min_confidence=0.999)
    assert kept == [0, 2, 3, 4, 7, 8]  # "ngon" is now judged (English, but unsure); the 0.993 row is kept
    assert [d.index for d in dropped] == [1, 5, 6]
    kept, _ = filter_language(ROWS, keep="en", min_letters=200)
    assert kept == list(range(len(ROWS)))


def test_summary():
    summary = language_summary(ROWS, keep="vi", max_examples=2)
    assert summary.total == 9
    assert summary.counts == {"vi": 3, "en": 2, "id": 1}
    assert (summary.too_short, summary.uncertain, summary.would_drop) == (3, 0, 3)
    assert [e.index for e in summary.examples] == [1, 5]
    data = summary.to_dict()
    assert data["keep"] == "vi" and data["examples"][0]["text"] == EN


def test_summary_without_keep_only_counts():
    summary = language_summary(["", EN], keep=None)
    assert (summary.counts, summary.too_short, summary.would_drop, summary.examples) == ({"en": 1}, 1, 0, [])


def test_empty_input():
    assert detect_languages([]) == []
    assert filter_language([], keep="vi") == ([], [])
    assert language_summary([]).total == 0


def test_model_is_cached():
    detect_languages([EN])
    before = langid_step._identifier.cache_info()
    detect_languages([EN], languages=("id", "en", "vi"))
    assert langid_step._identifier.cache_info().hits == before.hits + 1
    assert langid_step._full_model.cache_info().currsize == 1


def test_long_input():
    text = VI * 1000  # about 100k characters
    assert detect_languages([text])[0][0] == "vi"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"languages": ("vi", "xx")}, r"preprocess\.languages \(detect-lang --languages\): unknown language code "
                                      r"'xx'.*\(detect-lang --languages all tries every one"),
        ({"languages": ()}, "the list is empty"),
        # it named neither --keep nor --languages
        ({"keep": "fr"}, r"preprocess\.keep_language \(detect-lang --keep\) 'fr' is not among the candidate languages "
                         r"\(en, id, vi\): keep one of them, or add it to preprocess\.languages \(detect-lang "
                         r"--languages\)\."),
        ({"min_confidence": 1.5}, "min_confidence between 0 and 1"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = {"keep": "vi", **kwargs}
    with pytest.raises(ConfigError, match=message):
        filter_language([VI], **args)


def test_summary_reads_a_generator_once_and_names_where_examples_are():
    """detect-lang counts a file a chunk at a time (a generator, read once) and shows where the dropped rows are."""
    summary = language_summary((t for t in ROWS), keep="vi", max_examples=2,
                               where=(f"f.txt:{i + 3}" for i in range(len(ROWS))))
    assert summary.total == 9 and summary.would_drop == 3
    assert [(e.index, e.where, e.text) for e in summary.examples] == [(1, "f.txt:4", EN), (5, "f.txt:8", EN2)]


def test_detect_lang_cli_names_file_lines(tmp_path):
    """The dropped rows are shown as file:line, counting the header and a quoted text's line breaks ("row 0" before)."""
    from typer.testing import CliRunner

    from lstmtext.cli import app

    data = tmp_path / "mixed.csv"
    data.write_text(f'text\n"{VI}\nsecond line"\n\n{EN}\n"{VI_LINK}"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["detect-lang", str(data), "--keep", "vi"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"  {data}:5 [en " in result.output and "row " not in result.output


def test_capitals_are_not_read_as_english():
    """langid took ALL CAPS and Title Case for English: a third of the Indonesian news titles that --keep id dropped
    (on all 21,924 titles: 1,124 judged not Indonesian before, 734 after; 14,640 airline tweets not English: 31, 20)."""
    from lstmtext.preprocess.langid_step import detect_languages

    found = detect_languages(["TIDAK LAYAK UNTUK HOTEL, PENGINAPAN", "Rahasia Iis Dahlia Tetap Awet Muda",
                              "THANK YOU FOR THE GREAT FLIGHT"], ["en", "id", "vi"])
    assert [language for language, _ in found] == ["id", "id", "en"]
