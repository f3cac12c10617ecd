"""--unlabelled: raw texts without labels widen the vocabulary and train the word2vec vectors, streamed."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from helpers import TINY, TINY_OVERRIDES
from lstmtext.cli import app
from lstmtext.config import build_config
from lstmtext.encoding import embeddings
from lstmtext.encoding.corpus import UnlabelledCorpus
from lstmtext.errors import ConfigError, DataError
from lstmtext.experiments.compare import _cleaned_unlabelled
from lstmtext.pipeline import run
from lstmtext.preprocess import build_pipeline

UNLABELLED = ["@airline the zebra lounge was superb", "", "http://t.co/x", "@airline zebra zebra quokka lounge",
              "@airline superb quokka"]


@pytest.fixture
def unlabelled(tmp_path):
    path = tmp_path / "raw.txt"
    path.write_text("\n".join(UNLABELLED) + "\n", encoding="utf-8")
    return path


def test_corpus_streams_cleaned_tokens_and_can_be_read_again(unlabelled):
    corpus = UnlabelledCorpus(unlabelled, None, build_pipeline(build_config(None)))
    first = list(corpus)
    assert first == list(corpus)  # restartable: word2vec reads it once per epoch
    assert first[0] == ["the", "zebra", "lounge", "was", "superb"]
    assert corpus.texts == 3 and corpus.tokens == sum(map(len, first))  # the blank line and the bare URL skipped


def test_corpus_cleans_the_file_once_and_removes_its_cleaned_copy(unlabelled, monkeypatch):
    pipeline = build_pipeline(build_config(None))
    calls = []
    clean = pipeline.clean_many
    monkeypatch.setattr(pipeline, "clean_many", lambda texts, **kw: calls.append(len(texts)) or clean(texts, **kw))
    corpus = UnlabelledCorpus(unlabelled, None, pipeline)
    unlabelled.unlink()  # later passes read the cleaned copy, not the source
    assert list(corpus) == list(corpus) and len(list(corpus)) == 3
    assert calls == [len(UNLABELLED) - 1]  # one cleaning pass over the non-blank lines
    cleaned = corpus.cleaned
    assert cleaned.is_file()
    del corpus
    import gc

    gc.collect()
    assert not cleaned.exists()


def test_corpus_errors_name_the_file_and_the_fix(tmp_path):
    pipeline = build_pipeline(build_config(None))
    (tmp_path / "t.csv").write_text("body\nhello\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"t\.csv: no column 'text'.*Use --unlabelled-col\."):  # the flag for this file
        UnlabelledCorpus(tmp_path / "t.csv", None, pipeline)
    from lstmtext.pipeline.prepare import unlabelled_corpus

    (tmp_path / "nohead.csv").write_text("great flight,positive\nlost my bag,negative\n", encoding="utf-8")
    config = build_config(None, overrides=[f'data.unlabelled="{tmp_path / "nohead.csv"}"'])
    with pytest.raises(DataError, match=r"nohead\.csv: no column 'text'\. Columns: great flight, positive\. Use "
                                        r"--unlabelled-col, or a plain \.txt file of one text a line \(the text column "
                                        r"alone, no header\)"):  # its hint was `cut -f1`, which splits a CSV at no comma
        unlabelled_corpus(config, pipeline, [])
    (tmp_path / "urls.txt").write_text("http://a.b/c\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"urls\.txt: no unlabelled text is left after cleaning"):
        UnlabelledCorpus(tmp_path / "urls.txt", None, pipeline)
    with pytest.raises(DataError, match=r"missing\.txt: file not found"):
        UnlabelledCorpus(tmp_path / "missing.txt", None, pipeline)


def test_a_run_learns_vocabulary_and_vectors_from_unlabelled_text(unlabelled, monkeypatch):
    seen = {}
    real = embeddings.train_word2vec

    def spy(sentences, *args, **kwargs):
        seen["passes"] = [list(sentences), list(sentences)]
        return real(sentences, *args, **kwargs)

    monkeypatch.setattr(embeddings, "train_word2vec", spy)
    cfg = build_config(None, overrides=[*TINY_OVERRIDES, "train.epochs=1", "model.embedding.min_count=1"],
                       extra={"data": {"unlabelled": str(unlabelled)}})
    result = run(cfg, TINY, None, progress=False)
    assert {"zebra", "quokka", "lounge"} <= set(result.encoder.vocab.itos)  # words only the unlabelled text has
    assert cfg.model.embedding.kind == "word2vec"  # a random embedding would never learn their rows
    notes = result.summary["notes"]
    assert any("unlabelled text from" in n and "3 texts" in n for n in notes)
    assert any("set from random to word2vec" in n for n in notes)
    corpus = seen["passes"][0]
    assert ["zebra", "zebra", "quokka", "lounge"] in corpus and corpus == seen["passes"][1]


def test_unlabelled_texts_that_are_also_valid_or_test_texts_are_counted(tmp_path):
    import pandas as pd

    frame = pd.read_csv(TINY)
    held_out = frame[frame["split"] != "train"]["text"].tolist()
    path = tmp_path / "raw.txt"
    path.write_text("\n".join(["@airline the zebra lounge was superb", held_out[0], "  " + held_out[1].upper(),
                               "@airline zebra quokka"]) + "\n", encoding="utf-8")
    cfg = build_config(None, overrides=[*TINY_OVERRIDES, "train.epochs=1", "model.embedding.min_count=1"],
                       extra={"data": {"unlabelled": str(path)}})
    notes = run(cfg, TINY, None, progress=False).summary["notes"]
    leaks = [n for n in notes if "also in the valid or test split" in n]
    assert len(leaks) == 1 and leaks[0].startswith(f"{path}: 2 unlabelled texts are also in the valid or test split")


def test_unlabelled_is_refused_with_stream_and_with_init_from(unlabelled, tmp_path):
    cfg = build_config(None, overrides=TINY_OVERRIDES, extra={"data": {"unlabelled": str(unlabelled)}})
    with pytest.raises(ConfigError, match=r"data\.unlabelled \(--unlabelled\) is not supported with --stream"):
        run(cfg, TINY, tmp_path / "s", stream=True, progress=False)
    cfg = build_config(None, overrides=TINY_OVERRIDES,
                       extra={"data": {"unlabelled": str(unlabelled)}, "train": {"init_from": str(tmp_path)}})
    with pytest.raises(ConfigError, match="--unlabelled cannot be combined with --init-from"):
        run(cfg, TINY, None, progress=False)


def test_compare_cleans_the_unlabelled_file_once(unlabelled):
    base = {"task": "classify", "data": {"unlabelled": str(unlabelled)}}
    with _cleaned_unlabelled(base, "en-tweet") as (cleaned, names):
        path = cleaned["data"]["unlabelled"]
        assert names == {path: str(unlabelled)}  # how the runs' warnings name the copy: the user's file
        from pathlib import Path

        lines = Path(path).read_text(encoding="utf-8").splitlines()
        assert lines == ["the zebra lounge was superb", "zebra zebra quokka lounge", "superb quokka"]
        assert base["data"]["unlabelled"] == str(unlabelled)  # the caller's dict is left alone
    assert not Path(path).exists()  # removed with its temporary folder
    with _cleaned_unlabelled({"task": "classify"}, "en-tweet") as same:
        assert same == ({"task": "classify"}, {})


def test_cli_unlabelled_col_needs_unlabelled():
    res = CliRunner().invoke(app, ["train", str(TINY), "--unlabelled-col", "body"])
    assert isinstance(res.exception, ConfigError) and "give --unlabelled too" in str(res.exception)


def test_unlabelled_with_onehot_is_refused(unlabelled):
    cfg = build_config(None, overrides=[*TINY_OVERRIDES, 'model.embedding.kind="onehot"'],
                       extra={"data": {"unlabelled": str(unlabelled)}})
    with pytest.raises(ConfigError, match="--unlabelled cannot be combined with model.embedding.kind onehot"):
        run(cfg, TINY, None, progress=False)



def test_a_plain_text_file_of_any_suffix_is_told_about_the_cleaning_not_a_column(tmp_path):
    from lstmtext.encoding.corpus import UnlabelledCorpus
    from lstmtext.preprocess import Pipeline, preprocess_preset

    path = tmp_path / "urls.log"
    path.write_text("http://t.co/x\n")
    with pytest.raises(DataError) as err:
        UnlabelledCorpus(path, None, Pipeline(**preprocess_preset("en-tweet")))
    assert "--unlabelled-col" not in str(err.value) and str(err.value).endswith("Check the file, or the cleaning.")


def test_the_cleaned_copy_is_named_after_its_process_and_a_killed_ones_is_removed(tmp_path, monkeypatch):
    """Each pretraining killed outright (kill -9) left its cleaned copy of the corpus in the temporary folder."""
    import os
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = 2**22 + 12_345  # above Linux's largest pid_max: no such process
    orphan = tmp_path / f"lstmtext-unlabelled-{dead}-x1.txt"
    live = tmp_path / f"lstmtext-unlabelled-{os.getppid()}-x2.txt"
    old = tmp_path / "lstmtext-unlabelled-abc123.txt"  # an older lstmtext's name: whose it is is unknown, left
    for path in (orphan, live, old):
        path.write_text("a corpus\n", encoding="utf-8")
    texts = tmp_path / "t.txt"
    texts.write_text("lost my bag\ngreat crew\n", encoding="utf-8")
    corpus = UnlabelledCorpus(texts, None, build_pipeline("plain"))
    assert corpus.cleaned.name.startswith(f"lstmtext-unlabelled-{os.getpid()}-") and corpus.cleaned.parent == tmp_path
    assert not orphan.exists() and live.exists() and old.exists()
    assert list(corpus) == [["lost", "my", "bag"], ["great", "crew"]]


def test_cleaning_an_unlabelled_file_shows_a_bar_on_a_terminal(tmp_path, monkeypatch, capsys):
    """pretrain cleaned a big file for minutes with nothing on the screen."""
    monkeypatch.setattr("lstmtext.utils.progress.on_terminal", lambda: True)
    texts = tmp_path / "t.txt"
    texts.write_text("lost my bag\ngreat crew\n", encoding="utf-8")
    UnlabelledCorpus(texts, None, build_pipeline("plain"), progress=True)
    assert "cleaning t.txt" in capsys.readouterr().err
    UnlabelledCorpus(texts, None, build_pipeline("plain"))  # not asked: silent
    assert capsys.readouterr().err == ""


def test_a_held_orphan_and_an_undeletable_one_are_left_alone(tmp_path, monkeypatch):
    """A live process of another pid namespace (a container sharing /tmp) holds its file although its pid means
    nothing here; a file this user may not delete ended the command in an error naming a stranger's file."""
    import os

    from lstmtext.utils import orphans

    dead = 2**22 + 12_345
    held_path, free_path, stuck = (tmp_path / f"lstmtext-x-{dead}-{k}.txt" for k in ("a", "b", "c"))
    errors = tmp_path / f"lstmtext-x-{dead}-a.txt.error.DataError"  # a live launcher's rank wrote it: it goes with
    for path in (held_path, free_path, stuck, errors):  # its held job file (removed, a failed run read as done)
        path.write_text("x", encoding="utf-8")
    held = orphans.hold(held_path)
    real_unlink = type(stuck).unlink

    def unlink(self, *args, **kwargs):
        if self == stuck:
            raise PermissionError(1, "Operation not permitted", str(self))
        return real_unlink(self, *args, **kwargs)

    monkeypatch.setattr(type(stuck), "unlink", unlink)
    try:
        assert orphans.remove_orphans("lstmtext-x-", tmp_path) == [free_path]
    finally:
        held.close()
    assert held_path.exists() and stuck.exists() and errors.exists() and not free_path.exists()
    monkeypatch.setattr(os, "name", "nt")  # os.kill(pid, 0) ends a process there: nothing is probed or removed
    assert orphans.remove_orphans("lstmtext-x-", tmp_path) == []
