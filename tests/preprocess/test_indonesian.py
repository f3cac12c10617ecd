"""The thesis's normalisation and negation examples, the Indonesian presets, and each step's edge cases."""


import pytest

from lstmtext.errors import ConfigError, DataError
from lstmtext.preprocess import Pipeline, available_steps, indonesian, make_step, preprocess_preset

# Gambar 2.4 and 2.5 of the aspect-sentiment thesis (case folding and filtering already applied).
THESIS_FILTERED = (
    "saya paling senang blnja online disini slama thn blnja disini gk pernah tertipu sellernya jujur ramah "
    "serta cs nya juga sopan klo kita ada kendala beda ama toko online shop sebelah saya ketipu dionline shop "
    "sebelah online shope disini saya nyaman blnja apapun itu cuma yg bikin kesal tentang serbu seru blm prnh "
    "dpt barang"
)
THESIS_NORMALISED = (
    "saya paling senang belanja online di sini selama tahun belanja di sini tidak pernah tertipu penjualnya "
    "jujur ramah serta layanan pelanggan nya juga sopan kalau kita ada kendala beda sama toko online shop "
    "sebelah saya tertipu dionline shop sebelah online shope di sini saya nyaman belanja apapun itu cuma yang "
    "membuat kesal tentang serbu seru belum pernah dapat barang"
)
THESIS_NEGATION = (
    "saya paling senang belanja online di sini selama tahun belanja di sini tidak_pernah tertipu penjualnya "
    "jujur ramah serta layanan pelanggan nya juga sopan kalau kita ada kendala beda sama toko online shop "
    "sebelah saya tertipu dionline shop sebelah online shope di sini saya nyaman belanja apapun itu cuma yang "
    "membuat kesal tentang serbu seru belum_pernah dapat barang"
)
EDGE_TEXTS = ["", "   ", "!!!,,,...", "Привет мир 你好 saya senang"]


@pytest.fixture(scope="module")
def normalize():
    return make_step("normalize_slang")


@pytest.fixture(scope="module")
def negation():
    return make_step("join_negation")


@pytest.fixture(scope="module")
def stopwords():
    return make_step("remove_stopwords_id")


def test_steps_registered():
    steps = available_steps()
    for name in ("normalize_slang", "join_negation", "remove_stopwords_id", "stem_id"):
        assert name in steps and steps[name]


def test_thesis_normalisation(normalize):
    assert normalize(THESIS_FILTERED) == THESIS_NORMALISED


def test_thesis_negation(negation):
    assert negation(THESIS_NORMALISED) == THESIS_NEGATION


def test_review_preset_runs_the_thesis_chain():
    raw = (
        "Saya PALING senang blnja online disini, slama 2 thn blnja disini gk pernah tertipu 😊 sellernya jujur & "
        "ramah serta CS nya juga sopan. klo kita ada kendala beda ama toko online shop sebelah x"
    )
    review = Pipeline(**preprocess_preset("id-review"))
    assert review(raw) == (
        "paling senang belanja online belanja tidak_pernah tertipu penjualnya jujur ramah layanan pelanggan nya "
        "sopan kendala beda toko online shop sebelah"
    )


def test_review_presets_do_not_join_a_negation_to_the_next_sentence_or_clause():
    raw = "Pelayanannya kurang. Karena lama, gk enak! Kebersihan kurang, berisik"
    # "lama" (slow) is a stopword the review preset keeps, as it keeps biasa saja, tapi, kecil (REVIEW_KEEP)
    assert Pipeline(**preprocess_preset("id-review"))(raw) == "pelayanannya kurang lama tidak_enak kebersihan kurang berisik"
    assert Pipeline(**preprocess_preset("id-review"))("rasanya biasa saja, pelayanan lama tapi murah") == \
        "biasa saja pelayanan lama tapi murah"  # the stopword list alone had left "pelayanan murah"
    assert Pipeline(**preprocess_preset("id-aspect"))(raw) == \
        "pelayanannya kurang karena lama tidak_enak kebersihan kurang berisik"
    # "g" is slang for tidak: filtering single letters had dropped it ("g dingin" read as "dingin", cold); a unit
    # such as 4G or 200g goes whole, so that it leaves no g to read as a negation
    aspect = Pipeline(**preprocess_preset("id-aspect"))
    assert aspect("ac g dingin, air g ada") == "ac tidak_dingin air tidak_ada"
    assert aspect("sinyal 4G kencang, porsi 200g cukup") == "sinyal kencang porsi cukup"
    # A model saved before the option existed stored options without it: it keeps cleaning as it was trained.
    saved = Pipeline(preprocess_preset("id-review")["steps"], {})
    assert saved(raw) == "pelayanannya kurang_karena tidak_enak kebersihan kurang_berisik"


def test_news_preset_removes_all_stopwords_and_stems():
    news = Pipeline(**preprocess_preset("id-news"))
    assert news("Iuran Naik, BPJS Tawarkan 4 Layanan Baru") == "iur bpjs tawar 4 layan"
    assert news("Pemerintah Tidak Akan Menaikkan Harga BBM") == "perintah naik harga bbm"


# normalize_slang ---------------------------------------------------------------------------------------


def test_normalize_keeps_marks_and_whitespace(normalize):
    assert normalize("Gk, yg/gk  (blm)") == "tidak, yang/tidak  (belum)"
    assert normalize('anak2 bangt" "gk"...') == 'anak-anak banget-banget "tidak"...'


def test_normalize_uses_overrides_for_negation(normalize):
    assert normalize("gapernah gabisa nggak enggak ga") == "tidak pernah tidak bisa tidak tidak tidak"


@pytest.mark.parametrize("text", EDGE_TEXTS)
def test_normalize_edge_cases(normalize, text):
    assert normalize(text) == text


def test_normalize_mixed_scripts(normalize):
    assert normalize("Привет yg 你好 gk") == "Привет yang 你好 tidak"


def test_normalize_user_lexicon(tmp_path):
    lex = tmp_path / "lex.csv"
    lex.write_text('slang,formal,context\nmantul,mantap betul,"a, b"\nmantul,mantap,x\nmantul,mantap,y\n')
    step = make_step("normalize_slang", {"lexicon": str(lex), "overrides": ""})
    assert step("mantul gk") == "mantap gk"


def test_normalize_user_overrides_tsv(tmp_path):
    ovr = tmp_path / "o.tsv"
    ovr.write_text("# my fixes\nslang\tformal\n# negation\ngk\tenggak\n")
    assert make_step("normalize_slang", {"overrides": str(ovr)})("gk yg") == "enggak yang"


def test_user_files_saved_with_a_byte_order_mark_read_as_without(tmp_path):
    """Excel's "CSV UTF-8" starts the file with a BOM: the lexicon's header read '\ufeffslang' (refused) and a
    stopword list's first word was one no text holds."""
    lex, stop = tmp_path / "lex.csv", tmp_path / "stop.txt"
    lex.write_bytes("slang,formal\nbgt,banget\n".encode("utf-8-sig"))
    stop.write_bytes("bagus\nyang\n".encode("utf-8-sig"))
    assert make_step("normalize_slang", {"lexicon": str(lex), "overrides": ""})("bgt enak") == "banget enak"
    assert make_step("remove_stopwords_id", {"stopwords": str(stop)})("bagus yang enak") == "enak"


def test_parse_lexicon_ties_are_alphabetical():
    table = indonesian.parse_lexicon("slang\tformal\nu\tuntuk\nu\tlu\nq\tku\n", "t.tsv")
    assert table == {"u": "lu", "q": "ku"}


def test_lexicon_without_slang_column(tmp_path):
    lex = tmp_path / "bad.csv"
    lex.write_text("word,formal\ngk,tidak\n")
    with pytest.raises(DataError, match=r"bad\.csv: no 'slang' column"):
        make_step("normalize_slang", {"lexicon": str(lex)})


def test_lexicon_empty_formal_names_the_line(tmp_path):
    lex = tmp_path / "bad.tsv"
    lex.write_text("# c\nslang\tformal\ngk\ttidak\nyg\t\n")
    with pytest.raises(DataError, match=r"bad\.tsv, line 4: empty formal field"):
        make_step("normalize_slang", {"lexicon": str(lex)})


def test_lexicon_missing_file():
    with pytest.raises(ConfigError, match="normalize_slang.lexicon: file 'nope.tsv' not found"):
        make_step("normalize_slang", {"lexicon": "nope.tsv"})


def test_normalize_long_input(normalize):
    text = "yg gk blm bisa, " * 7000
    out = normalize(text)
    assert out == "yang tidak belum bisa, " * 7000


# join_negation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, joined",
    [
        ("tidak", "tidak"),
        ("barang ini tidak", "barang ini tidak"),
        ("bukan tidak mungkin", "bukan_tidak_mungkin"),
        ("Tidak  bagus\n", "Tidak_bagus"),
        ("tidak ! bagus", "tidak ! bagus"),
        ("tanpa masalah kurang enak", "tanpa_masalah kurang_enak"),
        ("tidak_pernah datang", "tidak_pernah datang"),
        ("bukan tidak\x1dmungkin  kurang \x1d \x1d enak", "bukan_tidak mungkin kurang enak"),  # clause breaks
        ("Kamarnya tidak\nbersih", "Kamarnya tidak_bersih"),  # a raw line break is whitespace, as it always was
    ],
)
def test_negation_cases(negation, text, joined):
    assert negation(text) == joined


@pytest.mark.parametrize("text, joined", [("", ""), ("   ", ""), ("!!! ...", "!!! ..."), ("不 tidak 好", "不 tidak_好")])
def test_negation_edge_cases(negation, text, joined):
    assert negation(text) == joined


def test_negation_is_idempotent(negation):
    assert negation(THESIS_NEGATION) == THESIS_NEGATION


def test_negation_custom_list():
    step = make_step("join_negation", {"negations": ["ga"]})
    assert step("ga suka tidak suka") == "ga_suka tidak suka"
    with pytest.raises(ConfigError, match="join_negation.negations"):
        make_step("join_negation", {"negations": "tidak"})
    with pytest.raises(ConfigError, match="not a single word"):
        make_step("join_negation", {"negations": ["tidak ada"]})


def test_a_degree_word_passes_the_negation_on_when_asked():
    through = make_step("join_negation", {"through": ["terlalu", "begitu", "sangat"]})
    assert through("makanan tidak terlalu berat") == "makanan tidak_terlalu_berat"  # not "tidak_terlalu berat"
    assert through("terlalu berat tapi tidak begitu mahal") == "terlalu berat tapi tidak_begitu_mahal"  # only after one
    assert make_step("join_negation")("tidak terlalu berat") == "tidak_terlalu berat"  # the default: as it was
    with pytest.raises(ConfigError, match="join_negation.through"):
        make_step("join_negation", {"through": "terlalu"})


def test_negation_long_input(negation):
    text = "tidak bagus sekali " * 6000
    out = negation(text)
    assert out == " ".join(["tidak_bagus sekali"] * 6000)


# remove_stopwords_id -----------------------------------------------------------------------------------


def test_stopwords_keep_negations_and_intensifiers(stopwords):
    assert stopwords("saya tidak sangat suka dan itu kurang baik") == "tidak sangat suka kurang baik"
    assert stopwords(THESIS_NEGATION).startswith("paling senang belanja online belanja tidak_pernah tertipu")


def test_stopwords_keep_empty_removes_everything():
    step = make_step("remove_stopwords_id", {"keep": []})
    assert step("Saya TIDAK suka dan itu") == "suka"


def test_stopwords_user_list(tmp_path):
    words = tmp_path / "stop.txt"
    words.write_text("# mine\nbarang\n\nini\n")
    assert make_step("remove_stopwords_id", {"stopwords": str(words)})("barang ini saya") == "saya"


@pytest.mark.parametrize("text, out", [("", ""), ("   ", ""), ("!!! ,,", "!!! ,,"), ("你好 dan мир", "你好 мир")])
def test_stopwords_edge_cases(stopwords, text, out):
    assert stopwords(text) == out


def test_stopwords_bad_keep():
    with pytest.raises(ConfigError, match="remove_stopwords_id.keep"):
        make_step("remove_stopwords_id", {"keep": 5})


def test_shipped_stopwords_are_the_iso_list():
    words = indonesian._cached_stopwords("x", 0, indonesian._resource(indonesian.STOPWORDS_FILE))
    assert len(words) == 758 and {"tidak", "selagi", "yang"} <= words


# stem_id -----------------------------------------------------------------------------------------------


def test_stem_words_and_joined_parts():
    stem = make_step("stem_id")
    assert stem("pembelian menyenangkan anak-anak") == "beli senang anak"
    assert stem("tidak_menyenangkan belum_pernah") == "tidak_senang belum_pernah"


@pytest.mark.parametrize(
    "text, out",
    [("", ""), ("   ", ""), ("!!! ...", "!!! ..."), ("Membeli covid19 мир 你好", "Membeli covid19 мир 你好")],
)
def test_stem_edge_cases(text, out):
    assert make_step("stem_id")(text) == out


def test_stem_long_input_is_cached():
    stem = make_step("stem_id")
    stem("pembelian")
    before = indonesian.stem_cache_info()
    text = "pembelian menyenangkan " * 6000 + "x" * 50_000
    out = stem(text)
    assert out == "beli senang " * 6000 + "x" * 50_000
    assert indonesian.stem_cache_info().hits - before.hits >= 11_999
