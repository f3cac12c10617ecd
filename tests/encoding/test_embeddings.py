"""Initial embeddings: random, one-hot, word2vec on the training texts, pretrained files; and `lstmtext embed`."""

import logging

import numpy as np
import pytest
import torch

from lstmtext.config import ModelConfig, build_config
from lstmtext.encoding.embeddings import initial_embedding, train_word2vec
from lstmtext.encoding.vector_files import read_vectors
from lstmtext.encoding.vocab import Vocab
from lstmtext.errors import ConfigError, DataError
from lstmtext.preprocess import Pipeline

TEXTS = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog", "The Cat"] * 5
PIPE = Pipeline(["lowercase", "normalize_whitespace"])
VOCAB = Vocab.build([t.split() for t in PIPE.clean_many(TEXTS)])


def _cfg(kind: str, dim: int = 3, **emb) -> ModelConfig:
    return ModelConfig(embedding_dim=dim, embedding={"kind": kind, **emb})


def test_random_returns_no_kwargs_unless_frozen():
    assert initial_embedding(_cfg("random"), VOCAB, TEXTS, PIPE) == {}
    # freeze = true had been ignored for random vectors: the run trained them (training review)
    frozen = initial_embedding(_cfg("random", freeze=True), VOCAB, TEXTS, PIPE)
    assert frozen == {"freeze_embedding": True}
    from lstmtext.models import build_model

    model = build_model(_cfg("random", freeze=True), len(VOCAB), 2, **frozen)
    assert not model.embedding.weight.requires_grad and build_model(_cfg("random"), len(VOCAB), 2).embedding.weight.requires_grad


def test_onehot_is_a_frozen_identity_with_zero_padding_and_sets_the_dim():
    cfg = _cfg("onehot", dim=128)
    out = initial_embedding(cfg, VOCAB, TEXTS, PIPE)
    w = out["embedding_weights"]
    assert cfg.embedding_dim == len(VOCAB) and w.shape == (len(VOCAB), len(VOCAB))
    assert out["freeze_embedding"] is True
    assert torch.equal(w[0], torch.zeros(len(VOCAB)))
    assert torch.equal(w[1:], torch.eye(len(VOCAB))[1:])


def test_onehot_refuses_a_large_vocabulary():
    big = Vocab.build([[f"w{i}" for i in range(6000)]])
    with pytest.raises(ConfigError, match=r"at most 5,000 words .* Got 6,002 instead. Lower vocab.num_words"):
        initial_embedding(_cfg("onehot"), big, [], PIPE)


def test_word2vec_is_seeded_and_covers_the_vocabulary(caplog):
    cfg = _cfg("word2vec", dim=8, min_count=1, epochs=3)
    torch.manual_seed(7)
    with caplog.at_level(logging.INFO, logger="lstmtext.encoding.embeddings"):
        first = initial_embedding(cfg, VOCAB, TEXTS, PIPE)["embedding_weights"]
    torch.manual_seed(7)
    again = initial_embedding(cfg, VOCAB, TEXTS, PIPE)["embedding_weights"]
    assert first.shape == (len(VOCAB), 8) and torch.equal(first, again)
    assert torch.equal(first[0], torch.zeros(8))
    words = len(VOCAB) - 2
    assert f"embedding coverage: {words} of {words} vocabulary words found in word2vec (cbow)" in caplog.text
    skip = initial_embedding(_cfg("word2vec", dim=8, algo="skipgram", epochs=3), VOCAB, TEXTS, PIPE)
    assert not torch.allclose(skip["embedding_weights"][2:], first[2:])


def test_word2vec_vectors_match_gensim_directly():
    sentences = [t.split() for t in PIPE.clean_many(TEXTS)]
    a = train_word2vec(sentences, 5, "skipgram", 2, 1, 2, seed=3)
    b = train_word2vec(sentences, 5, "skipgram", 2, 1, 2, seed=3)
    assert set(a) == {"the", "cat", "sat", "on", "mat", "dog", "log", "a", "and"}
    assert all(np.array_equal(a[w], b[w]) for w in a)


def _write_vectors(path, header: bool):
    rows = {"cat": [0.1, 0.2, 0.3], "dog": [1.0, 2.0, 3.0], "zebra": [9.0, 9.0, 9.0]}
    lines = ([f"{len(rows)} 3"] if header else []) + [f"{w} " + " ".join(map(str, v)) for w, v in rows.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("name, header", [("glove.txt", False), ("w2v.txt", True), ("wiki.vec", True)])
def test_pretrained_text_files_with_and_without_header(tmp_path, caplog, name, header):
    path = tmp_path / name
    _write_vectors(path, header)
    cfg = _cfg("pretrained", path=str(path), freeze=True)
    with caplog.at_level(logging.INFO, logger="lstmtext.encoding.embeddings"):
        out = initial_embedding(cfg, VOCAB, TEXTS, PIPE)
    w, itos = out["embedding_weights"], VOCAB.itos
    assert out["freeze_embedding"] is True
    assert torch.allclose(w[itos.index("cat")], torch.tensor([0.1, 0.2, 0.3]))
    assert torch.allclose(w[itos.index("dog")], torch.tensor([1.0, 2.0, 3.0]))
    assert w[itos.index("mat")].abs().max() <= 0.05  # not in the file: small random
    assert f"2 of {len(VOCAB) - 2} vocabulary words found in pretrained vectors {path}" in caplog.text


def test_cased_vocabulary_words_fall_back_to_lower_case_vectors():
    from lstmtext.encoding.embeddings import embedding_matrix

    vocab = Vocab(["<pad>", "<unk>", "Cat", "cat", "Dog"])
    w = embedding_matrix(vocab, {"cat": np.ones(2, dtype=np.float32), "Dog": np.zeros(2, dtype=np.float32)}, 2, "x")
    assert torch.equal(w[2], torch.ones(2)) and torch.equal(w[3], torch.ones(2)) and torch.equal(w[4], torch.zeros(2))


def test_pretrained_binary_word2vec(tmp_path):
    from gensim.models import KeyedVectors

    kv = KeyedVectors(3)
    kv.add_vectors(["cat", "sat"], np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32))
    kv.save_word2vec_format(str(tmp_path / "v.bin"), binary=True)
    vectors, dim = read_vectors(tmp_path / "v.bin")
    assert dim == 3 and np.array_equal(vectors["sat"], [0, 1, 0])


def test_pretrained_dimension_mismatch_says_how_to_fix(tmp_path):
    _write_vectors(tmp_path / "g.txt", header=False)
    with pytest.raises(ConfigError, match=r"model.embedding_dim is 8 but .*g.txt has 3-dimensional vectors. "
                                          r"Set --set model.embedding_dim=3"):
        initial_embedding(_cfg("pretrained", dim=8, path=str(tmp_path / "g.txt")), VOCAB, TEXTS, PIPE)


def test_pretrained_missing_path_and_bad_rows(tmp_path):
    with pytest.raises(ConfigError, match="model.embedding.path is not set"):
        initial_embedding(_cfg("pretrained"), VOCAB, TEXTS, PIPE)
    with pytest.raises(ConfigError, match="no file"):
        initial_embedding(_cfg("pretrained", path=str(tmp_path / "nope.txt")), VOCAB, TEXTS, PIPE)
    (tmp_path / "bad.txt").write_text("cat 1 2 3\ndog 1 2\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.txt:2: 2 values where the file's vectors have 3"):
        read_vectors(tmp_path / "bad.txt")


def test_vector_files_as_they_come_and_bad_values_in_one_line(tmp_path):
    import gzip

    want = {"cat": [1.0, 0.5, 0.0], "dog": [0.0, 1.0, 0.25]}
    text = "2 3\ncat 1 0.5 0\ndog 0 1 0.25\n"
    (tmp_path / "bom.txt").write_text("\ufeff" + text, encoding="utf-8")  # "16 values where ... have 1"
    (tmp_path / "tabs.txt").write_text(text.replace(" ", "\t"), encoding="utf-8")  # "holds no vectors"
    with gzip.open(tmp_path / "v.txt.gz", "wt", encoding="utf-8") as fh:  # "2 values where ... have 1"
        fh.write(text)
    (tmp_path / "text.bin").write_text(text, encoding="utf-8")  # read as binary: vectors of 1e-9, no word said
    for name in ("bom.txt", "tabs.txt", "v.txt.gz", "text.bin"):
        vectors, dim = read_vectors(tmp_path / name)
        assert dim == 3 and {w: v.tolist() for w, v in vectors.items()} == want, name
    for line, said in (("cat abc 0 0", r"bad.txt:2: 'abc' is not a number \(word 'cat'\)"),
                       ("cat -0,5 0 0", r"bad.txt:2: '-0,5' is not a number"),  # a traceback before
                       ("cat nan 0 0", r"bad.txt:2: the vector of 'cat' holds nan or inf")):  # a model of NaNs
        (tmp_path / "bad.txt").write_text(f"2 3\n{line}\n", encoding="utf-8")
        with pytest.raises(DataError, match=said):
            read_vectors(tmp_path / "bad.txt")
    (tmp_path / "nbsp.vec").write_text("3 3\nnew\xa0york 0.1 0.2 0.3\n\u3000 0.1 0.2 0.3\ncat 1 2 3\n", encoding="utf-8")
    vectors, _ = read_vectors(tmp_path / "nbsp.vec")  # fastText's wiki files hold such words: refused whole before
    assert sorted(vectors) == sorted(["new\xa0york", "\u3000", "cat"])
    (tmp_path / "ru.bin").write_text("2 2\nкошка 0.5 0.25\nсобака 1 2\n", encoding="utf-8")  # text, non-Latin, named .bin
    assert read_vectors(tmp_path / "ru.bin")[0]["кошка"].tolist() == [0.5, 0.25]  # vectors of 1e-19 before
    from gensim.models import KeyedVectors

    kv = KeyedVectors(1)  # a real binary with long words and one value each: by content, binary
    kv.add_vectors(["a" * 60, "b" * 60], np.array([[0.5], [2.0]], dtype=np.float32))
    kv.save_word2vec_format(str(tmp_path / "long.bin"), binary=True)
    assert read_vectors(tmp_path / "long.bin")[0]["b" * 60].tolist() == [2.0]
    (tmp_path / "ft.bin").write_bytes(b"\xba\x16\x4f\x2f\x0c\x00\x00\x00" + bytes(range(256)) * 4)  # fastText's model
    with pytest.raises(DataError, match=r"ft.bin: a fastText model \(.bin\), not word vectors. Give the .vec file"):
        read_vectors(tmp_path / "ft.bin")  # a UnicodeDecodeError traceback before


@pytest.mark.parametrize("kind", ["onehot", "word2vec"])
def test_models_train_and_reload_with_initial_embeddings(tiny_path, tmp_path, kind):
    from conftest import TINY_OVERRIDES
    from lstmtext.config import build_config as bc
    from lstmtext.inference.predictor import Predictor
    from lstmtext.pipeline import run

    config = bc(None, overrides=[*TINY_OVERRIDES, "train.epochs=3", f'model.embedding.kind="{kind}"',
                                 "model.embedding.epochs=2"])
    result = run(config, tiny_path, tmp_path / "r", progress=False)
    predictor = Predictor.from_bundle(tmp_path / "r")
    assert predictor.bundle.config.model.embedding.kind == kind
    if kind == "onehot":
        vocab = len(predictor.bundle.encoder.vocab)
        assert predictor.bundle.config.model.embedding_dim == vocab
        assert torch.equal(predictor.bundle.model.embedding.weight[1:], torch.eye(vocab)[1:])  # frozen
    assert result.metrics["valid"]["n"] == 6
    assert len(predictor.predict(["thanks for the great flight"])) == 1


def test_embed_command_writes_word2vec_text(tiny_path, tmp_path):
    from typer.testing import CliRunner

    from lstmtext.cli import app

    out = tmp_path / "vec.txt"
    res = CliRunner().invoke(app, ["embed", str(tiny_path), "--algo", "skipgram", "--dim", "4", "--epochs", "2",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    header = out.read_text(encoding="utf-8").splitlines()[0].split()
    vectors, dim = read_vectors(out)
    assert dim == 4 and int(header[0]) == len(vectors) and "flight" in vectors
    cfg = build_config(None, overrides=['model.embedding.kind="pretrained"', f'model.embedding.path="{out}"',
                                        "model.embedding_dim=4"])
    assert cfg.model.embedding.path == str(out)


def test_embed_reads_a_plain_text_file_line_by_line_and_cleaning_steps(tmp_path):
    from lstmtext.pipeline.embed import embed_file

    raw = tmp_path / "raw.txt"  # a corpus of one text a line: no header row to lose
    raw.write_text("Zebra Quokka flight\n\nzebra crew\n", encoding="utf-8")
    n_vectors, n_texts = embed_file(raw, tmp_path / "v.txt", dim=3, epochs=1, min_count=1,
                                    preprocess="lowercase,normalize_whitespace")
    vectors, _ = read_vectors(tmp_path / "v.txt")
    assert n_texts == 2 and set(vectors) == {"zebra", "quokka", "flight", "crew"}
    table = tmp_path / "e.csv"
    table.write_text('text\nzebra crew\n""\nquokka\n', encoding="utf-8")  # an empty cell is no text
    assert embed_file(table, tmp_path / "w.txt", dim=3, epochs=1, min_count=1)[1] == 2


@pytest.mark.parametrize("flag", ["--window", "--dim", "--epochs", "--min-count"])
def test_embed_refuses_sizes_below_one(tiny_path, tmp_path, flag):
    from typer.testing import CliRunner

    from lstmtext.cli import app
    from lstmtext.errors import ConfigError

    res = CliRunner().invoke(app, ["embed", str(tiny_path), flag, "0", "--out", str(tmp_path / "v.txt")])
    assert isinstance(res.exception, ConfigError) and str(res.exception) == f"{flag} must be at least 1. Got 0 instead."
    assert not (tmp_path / "v.txt").exists()


def test_word2vec_with_no_frequent_enough_word_names_both_settings():
    with pytest.raises(ConfigError) as err:
        train_word2vec([["a", "b"], ["c"]], dim=4, min_count=5)
    assert str(err.value) == ("word2vec found no word seen >= 5 times in the texts. Lower the count (`lstmtext embed "
                              "--min-count`; in training, model.embedding.min_count) or give more texts.")
    with pytest.raises(ConfigError, match=r"^word2vec: no text is left after cleaning\."):  # no count would help
        train_word2vec([[], []], dim=4, min_count=1)



def test_embed_on_texts_that_clean_to_nothing_names_the_file(tmp_path):
    from typer.testing import CliRunner

    from lstmtext.cli import app
    from lstmtext.errors import DataError

    junk = tmp_path / "junk.csv"
    junk.write_text('text\n"http://a.com"\n@bob\n')
    res = CliRunner().invoke(app, ["embed", str(junk), "--out", str(tmp_path / "v.txt")])
    assert isinstance(res.exception, DataError) and str(res.exception) == (
        f"{junk}: no text is left after cleaning (2 read). Check the file, --text-col and --preprocess (en-tweet).")


def test_embed_split_col_learns_from_the_train_rows_only(tmp_path):
    """As train reads --split-col: no valid or test text shapes the vectors a model is then scored with."""
    from typer.testing import CliRunner

    from lstmtext.cli import app
    from lstmtext.errors import ConfigError, DataError

    table = tmp_path / "d.csv"
    table.write_text("text,part\nzebra crew,train\nquokka flight,Dev\nwombat gate,test\nzebra gate, TRAIN\n",
                     encoding="utf-8")
    out = tmp_path / "v.txt"
    res = CliRunner().invoke(app, ["embed", str(table), "--split-col", "part", "--dim", "3", "--epochs", "1",
                                   "--preprocess", "lowercase,normalize_whitespace", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "from 2 texts" in res.output and set(read_vectors(out)[0]) == {"zebra", "crew", "gate"}
    bad = tmp_path / "bad.csv"
    bad.write_text("text,part\nzebra crew,train\nquokka,holdout\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["embed", str(bad), "--split-col", "part", "--out", str(tmp_path / "w.txt")])
    assert isinstance(res.exception, DataError) and str(res.exception).startswith(
        f"{bad}:3: split value 'holdout' in column 'part' is not one of train")
    res = CliRunner().invoke(app, ["embed", str(table), "--split-col", "fold", "--out", str(tmp_path / "w.txt")])
    assert isinstance(res.exception, DataError) and "no column 'fold' (given by --split-col)" in str(res.exception)
    res = CliRunner().invoke(app, ["embed", str(table), "--split-col", "part", "--split-file", str(table),
                                   "--out", str(tmp_path / "w.txt")])
    assert isinstance(res.exception, ConfigError) and "give one" in str(res.exception)
    assert not (tmp_path / "w.txt").exists()


def test_embed_streams_the_corpus_from_a_cleaned_file(tmp_path, monkeypatch):
    """embed held every text and token list in memory (a 46 MB corpus peaked at 1.09 GB, 0.42 GB streamed): word2vec
    now reads a restartable corpus cleaned once into a temporary file, the same sentences in the same order."""
    from lstmtext.encoding.corpus import UnlabelledCorpus
    from lstmtext.pipeline import embed

    seen = {}

    def fake(sentences, *args, **kwargs):
        seen["type"] = type(sentences)
        seen["passes"] = [list(sentences), list(sentences)]  # gensim reads it once per epoch and for its vocabulary
        return {"zebra": np.zeros(3, dtype=np.float32)}

    monkeypatch.setattr(embed, "train_word2vec", fake)
    table = tmp_path / "t.csv"
    table.write_text("text,split\nZebra crew,train\nquokka,valid\nbig zebra,train\n", encoding="utf-8")
    assert embed.embed_file(table, tmp_path / "v.txt", dim=3, split_col="split", preprocess="lowercase") == (1, 2)
    assert seen["type"] is UnlabelledCorpus
    assert seen["passes"] == [[["zebra", "crew"], ["big", "zebra"]]] * 2


def test_embed_reads_a_split_file_or_a_parquet_split_column_a_chunk_at_a_time(tmp_path, monkeypatch):
    """A table split by --split-file, or a Parquet file by --split-col, was read whole into memory."""
    import pandas as pd

    from lstmtext.data import io
    from lstmtext.data.splits import training_texts
    from lstmtext.errors import DataError

    read_whole = []
    monkeypatch.setattr(io, "read_table", lambda *a, **k: read_whole.append(a) or pytest.fail("read whole"))  # not
    # the split file's own reading: lstmtext.data.splits holds its own name for it
    texts = ["zebra crew", "quokka flight", "wombat gate", "zebra gate", "emu bag"]
    split = ["train", "valid", "test", "train", "train"]
    jsonl = tmp_path / "d.jsonl"  # a blank line: a split file's rows count records, not lines
    jsonl.write_text("\n".join(['{"text": "%s"}' % t for t in texts[:2]] + [""] + ['{"text": "%s"}' % t for t in texts[2:]])
                     + "\n", encoding="utf-8")
    split_file = tmp_path / "split.csv"
    pd.DataFrame({"row": range(5), "split": split}).to_csv(split_file, index=False)
    got = list(training_texts(jsonl, "text", split_file, None, True, 2))  # 5 rows: three chunks
    assert got == [["zebra crew"], ["zebra gate"], ["emu bag"]]  # a chunk at a time
    parquet = tmp_path / "d.parquet"
    pd.DataFrame({"text": texts, "part": split, "other": range(5)}).to_parquet(parquet, row_group_size=2)
    got = list(training_texts(parquet, "text", None, "part", True, 2))
    assert [t for chunk in got for t in chunk] == ["zebra crew", "zebra gate", "emu bag"] and len(got) == 3
    got = list(training_texts(parquet, "text", split_file, None, True, 2))
    assert [t for chunk in got for t in chunk] == ["zebra crew", "zebra gate", "emu bag"]
    pd.DataFrame({"row": [0, 7], "split": ["train", "test"]}).to_csv(split_file, index=False)
    with pytest.raises(DataError, match=r"split\.csv: row 7 is outside the data \(5 rows\)\. Is it the split file"):
        list(training_texts(jsonl, "text", split_file, None, True, 2))
    assert not read_whole


def test_pretrained_vectors_that_cover_no_word_are_refused_and_few_are_warned(tmp_path, caplog):
    """A file of another language (or garbage read as one-number vectors) trained with every word random, said only
    at INFO under -v."""
    other = tmp_path / "other.txt"
    other.write_text("kucing 0.1 0.2 0.3\nanjing 1 2 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"other\.txt: none of the \d+ vocabulary words \(e\.g\. .*\) has a vector"):
        initial_embedding(_cfg("pretrained", path=str(other)), VOCAB, TEXTS, PIPE)
    few = tmp_path / "few.txt"
    _write_vectors(few, header=False)  # cat and dog: 2 of the vocabulary's words
    with caplog.at_level(logging.WARNING, logger="lstmtext.encoding.embeddings"):
        initial_embedding(_cfg("pretrained", path=str(few)), VOCAB, TEXTS, PIPE)
    assert f"{few} has vectors for 2 of the {len(VOCAB) - 2} vocabulary words" in caplog.text


def test_a_vectors_path_without_the_pretrained_kind_is_refused(tmp_path):
    """--set model.embedding.path=vec.txt alone trained a random embedding, the file never read, without a word."""
    from lstmtext.config import build_config
    from lstmtext.pipeline.checks import check_run

    vectors = tmp_path / "vec.txt"
    _write_vectors(vectors, header=True)
    config = build_config(None, overrides=[f'model.embedding.path="{vectors}"'])
    with pytest.raises(ConfigError, match=r"model\.embedding\.path is set \(.*vec\.txt\) but model\.embedding\.kind is "
                                          r"'random', which does not read it: add --set model\.embedding\.kind="):
        check_run(config, data="x.csv")
    lm = build_config("ulmfit", overrides=[f'model.embedding.path="{vectors}"'])  # kind must stay random there
    with pytest.raises(ConfigError, match=r"does not read it: drop the path: with train\.pretrain the language model"):
        check_run(lm, data="x.csv")
    check_run(build_config(None, overrides=[f'model.embedding.path="{vectors}"', 'model.embedding.kind="pretrained"']),
              data="x.csv")


def test_a_vectors_file_that_disagrees_with_its_header_or_is_not_utf8_says_so(tmp_path, caplog):
    short = tmp_path / "short.txt"
    short.write_text("9999 3\ncat 0.1 0.2 0.3\ndog 1 2 3\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="lstmtext.encoding.vector_files"):
        vectors, dim = read_vectors(short)
    assert dim == 3 and set(vectors) == {"cat", "dog"}
    assert "its header says 9,999 vectors, the file holds 2: is it cut short?" in caplog.text
    wide = tmp_path / "wide.txt"
    wide.write_text("2 5\ncat 0.1 0.2 0.3\n", encoding="utf-8")  # the 5 came from line 1
    with pytest.raises(DataError, match=r"wide\.txt:2: 3 values where the header \(line 1\) says 5\."):
        read_vectors(wide)
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"cat 0.1 0.2 0.3\ncaf\xe9 1 2 3\xe9\n")
    with pytest.raises(DataError, match=r"latin\.txt:2: bytes that are not UTF-8 .*iconv"):
        read_vectors(latin)
    words = tmp_path / "words.txt"  # latin-1 in the words alone: their keys never match a word of the texts
    words.write_bytes(b"cat 0.1 0.2 0.3\ncaf\xe9 1 2 3\n")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lstmtext.encoding.vector_files"):
        read_vectors(words)
    assert "1 of its words hold bytes that are not UTF-8" in caplog.text
