"""The lecture's Vietnamese examples, the vi-review preset, and each Vietnamese step's edge cases."""

import unicodedata

import pytest

from lstmtext.errors import ConfigError
from lstmtext.preprocess import Pipeline, available_steps, make_step, preprocess_preset

# The lecture's NTC-SCV examples (slide "Preprocessing"). The lecture deletes the emoji; vi-review names them.
LECTURE = [
    (
        "Quán này thấy khá nhiều người bảo mình nên mình đã đi ăn thử , nhưng thực_sự ăn xong thấy không "
        "được ngon. 👍 👍",
        "quán này thấy khá nhiều người bảo mình nên mình đã đi ăn thử nhưng thực_sự ăn xong thấy không được ngon "
        "thumbs up thumbs up",
    ),
    (
        "Mình được 1 cô bạn giới_thiệu đến đây, tìm địa_chỉ khá dễ. Menu nước uống chất khỏi nói. https://foody.com",
        "mình được cô bạn giới_thiệu đến đây tìm địa_chỉ khá dễ menu nước uống chất khỏi nói",
    ),
]
EDGE_TEXTS = ["", "   ", "!!! ... ?", "Quán ăn 好吃 очень вкусно"]


@pytest.fixture(scope="module")
def review():
    return Pipeline(**preprocess_preset("vi-review"))


def test_steps_registered():
    steps = available_steps()
    for name in ("segment_vi", "remove_text_emoticons", "strip_spaced_html_tags", "fix_vi_diacritics"):
        assert name in steps and steps[name]


@pytest.mark.parametrize("raw, clean", LECTURE)
def test_lecture_examples(review, raw, clean):
    assert review(raw) == clean


def test_review_raw_text_is_segmented(review):
    # a price's k goes with its digits (k is also the slang for "không"), emoticons become words
    assert review("Nhân viên dễ thương, giá 30k :))) <br/> sẽ quay lại =))") == "nhân_viên dễ_thương giá smiley sẽ quay lại smiley"
    assert review("Ko ngon, k thích, đc cái hoà bình") == "không ngon không thích được cái hòa_bình"  # one word now


def test_review_ntc_quirks(review):
    spaced_tag = (
        "đi thử cho bit thế_nào là < a class = ' hashtag-link ' href = ' / ho-chi-minh/hashtag/kem-up-nguoc-1868 ' "
        "> # kem úp ngược </a> nên T_T ^ ^ : v"
    )
    assert review(spaced_tag) == "đi thử cho bit thế_nào là kem úp ngược nên crying happy pacman"
    assert review("Go ̣ i 1 set dimsum , dimsum ăn bi ̀ nh thươ ̀ ng : |") == "gọi set dimsum dimsum ăn bình_thường straightface"


@pytest.mark.parametrize(
    "text, clean", [("", ""), ("   ", ""), ("!!! ... :)", "smiley"), ("!!! ...", ""), ("Quán ăn 好吃 очень", "quán ăn 好吃 очень")]
)
def test_review_edge_cases(review, text, clean):
    assert review(text) == clean


# segment_vi --------------------------------------------------------------------------------------------


def test_segment_raw_and_segmented_agree():
    segment = make_step("segment_vi")
    raw = "nhân viên phục vụ nhiệt tình không gian thoáng mát"
    segmented = segment(raw)
    assert segmented == "nhân_viên phục_vụ nhiệt_tình không_gian thoáng mát"
    assert segment(segmented) == segmented
    assert segment(raw).split() == segment(segmented).split()


def test_segment_leaves_segmented_text_unchanged():
    segment = make_step("segment_vi")
    ntc = "Lần đầu_tiên tới quán nhưng không hề hài_lòng về quán .  Điểm cộng duy_nhất là cách trang_trí quán"
    assert segment(ntc) == ntc


@pytest.mark.parametrize(
    "text, out",
    [
        ("", ""),
        ("   ", "   "),
        ("!!!", "! ! !"),
        ("Quán ăn 好吃 очень вкусно nhân viên", "Quán ăn 好吃 очень вкусно nhân_viên"),
        ("Hà  Nội\n đẹp", "Hà_Nội đẹp"),
    ],
)
def test_segment_edge_cases(text, out):
    assert make_step("segment_vi")(text) == out


def test_segment_reads_a_lone_surrogate_as_a_replacement_character():
    """A terminal that is not UTF-8 passes 'quán' as 'qu\\udce1n': pyvi's CRF raised a SystemError on it."""
    assert make_step("segment_vi")("qu\udce1n ngon") == "qu \ufffd n ngon"
    assert "\ufffd" in Pipeline(**preprocess_preset("vi-review"))("qu\udce1n ngon")


def test_segment_long_input():
    segment = make_step("segment_vi")
    segment("khởi động")  # load the model outside the timing
    text = "quán này ngon nhân viên dễ thương " * 3000
    out = segment(text)
    assert out == " ".join(["quán này ngon nhân_viên dễ_thương"] * 3000)


# remove_text_emoticons ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, out",
    [
        ("ngon :)))", "ngon  "),
        ("ngon : ) ) )", "ngon  "),
        ("=)) vui", "  vui"),
        ("ngon:D quá", "ngon  quá"),
        ("^ ^ và ^_^ và -_- và T_ T", "  và   và   và  "),
        ("<3 < 3 </3", "     "),
        (": v :P xD", "     "),
        ("lưu ý:dễ", "lưu ý:dễ"),
        ("mở 10:30 sáng", "mở 10:30 sáng"),
        ("http://foody.vn", "http://foody.vn"),
        ("x = 3 và giá < 30k", "x = 3 và giá < 30k"),
        ("Ưu_điểm :\n- Thịt", "Ưu_điểm :\n- Thịt"),
        ("anh_em fixD", "anh_em fixD"),
    ],
)
def test_emoticons(text, out):
    assert make_step("remove_text_emoticons")(text) == out


@pytest.mark.parametrize("text", EDGE_TEXTS)
def test_emoticons_edge_cases(text):
    assert make_step("remove_text_emoticons")(text) == text


def test_emoticons_long_input():
    step = make_step("remove_text_emoticons")
    text = "ngon :))) 10:30 " * 7000
    assert step(text) == "ngon   10:30 " * 7000


# text_emoticons_to_words, normalize_slang_vi, unify_vi_tone_marks -----------------------------------------


@pytest.mark.parametrize(
    "text, out",
    [
        ("ngon : ) ) )", "ngon  smiley "),
        ("=)) vui", " smiley  vui"),
        ("dở : ( và :'(", "dở  frown  và  crying "),
        ("ngon:D quá", "ngon laughing  quá"),
        ("^ ^ và -_- và T_ T", " happy  và  annoyed  và  crying "),
        ("<3 </3", " heart   brokenheart "),
        (": v :P xD ;)", " pacman   tongue   laughing   wink "),
        ("lưu ý:dễ, mở 10:30, http://foody.vn, x = 3 và giá < 30k", "lưu ý:dễ, mở 10:30, http://foody.vn, x = 3 và giá < 30k"),
    ],
)
def test_emoticons_to_words(text, out):
    assert make_step("text_emoticons_to_words")(text) == out


def test_emoticons_to_words_finds_what_removal_removes():
    text = "ngon :))) ^^ -_- <3 :v 10:30 " * 50
    words = make_step("text_emoticons_to_words")(text).split()
    assert make_step("remove_text_emoticons")(text).split() == [w for w in words if w not in
                                                                  {"smiley", "happy", "annoyed", "heart", "pacman"}]


@pytest.mark.parametrize(
    "text, out",
    [
        ("Ko ngon, k có j, hok thích", "không ngon, không có gì, không thích"),
        ("ko_gian đẹp, đc lắm, DC", "không_gian đẹp, được lắm, được"),
        ("giá 50k, 3k, kk, koo, kong", "giá 50k, 3k, kk, koo, kong"),  # a price's k, and words that are not the table's
        ("lẩu 290 k, 3 ko ngon, bên hông bàn", "lẩu 290 k, 3 không ngon, bên hông bàn"),  # 290 k had become 290 không
        ("vs bạn, mn ơi", "với bạn, mọi người ơi"),
    ],
)
def test_normalize_slang_vi(text, out):
    assert make_step("normalize_slang_vi")(text) == out


def test_normalize_slang_vi_overrides():
    step = make_step("normalize_slang_vi", {"overrides": {"k": "k", "ngonn": "ngon"}})
    assert step("k ngonn, ko") == "k ngon, không"
    for bad in (["ko"], {"ko": 1}, {" ": "x"}, {"ko ngon": "ngon"}, {"k3": "không"}):  # two words, a digit: never met
        with pytest.raises(ConfigError, match="normalize_slang_vi.overrides"):
            make_step("normalize_slang_vi", {"overrides": bad})


@pytest.mark.parametrize(
    "text, out",
    [
        ("hoà thuỷ khoẻ toà tuỳ", "hòa thủy khỏe tòa tùy"),
        ("Hoà HOÀ Oà", "Hòa HÒA Òa"),
        ("hòa quý quỳ hoàn ngoài quà thuyền khuya", "hòa quý quỳ hoàn ngoài quà thuyền khuya"),  # one place only
    ],
)
def test_unify_tone_marks(text, out):
    assert make_step("unify_vi_tone_marks")(text) == out


@pytest.mark.parametrize("name", ["text_emoticons_to_words", "normalize_slang_vi", "unify_vi_tone_marks"])
@pytest.mark.parametrize("text", EDGE_TEXTS)
def test_new_vi_steps_edge_cases(name, text):
    assert make_step(name)(text) == text


# strip_spaced_html_tags and fix_vi_diacritics ----------------------------------------------------------


@pytest.mark.parametrize(
    "text, out",
    [
        ("< a class = ' x ' href = ' / y ' > # kem </a>", "  # kem  "),
        ("< br / >mới", " mới"),
        ("< 3 giá < 50k > rẻ", "< 3 giá < 50k > rẻ"),
    ],
)
def test_spaced_html_tags(text, out):
    assert make_step("strip_spaced_html_tags")(text) == out


@pytest.mark.parametrize("text", EDGE_TEXTS)
def test_spaced_html_tags_edge_cases(text):
    assert make_step("strip_spaced_html_tags")(text) == text


@pytest.mark.parametrize(
    "text, out",
    [
        ("Go ̣ i món , đô ̀ đông la ̣ nh", "Gọi món , đồ đông lạnh"),
        ("cu ̉ a nươ ́ c", "của nước"),
        ("Ho\u0302\u0300", "Hồ"),
        ("đã NFC", "đã NFC"),
    ],
)
@pytest.mark.parametrize("name", ["fix_vi_diacritics", "fix_vi_diacritics_v2"])
def test_fix_diacritics(text, out, name):
    assert make_step(name)(text) == out


@pytest.mark.parametrize("text", EDGE_TEXTS)
@pytest.mark.parametrize("name", ["fix_vi_diacritics", "fix_vi_diacritics_v2"])
def test_fix_diacritics_edge_cases(text, name):
    assert make_step(name)(text) == text


def test_fix_diacritics_v2_only_composes_text_typed_with_decomposed_accents():
    typed = unicodedata.normalize("NFD", "đồ ăn ngon, người phục vụ")
    assert make_step("fix_vi_diacritics_v2")(typed) == "đồ ăn ngon, người phục vụ"
    assert make_step("fix_vi_diacritics")(typed) == "đồăn ngon, người phục vụ"  # version 1, kept for old models


def test_fix_diacritics_long_input():
    text = "bi ̀ nh thươ ̀ ng " * 7000
    assert make_step("fix_vi_diacritics")(text) == "bình thường " * 7000 == make_step("fix_vi_diacritics_v2")(text)
