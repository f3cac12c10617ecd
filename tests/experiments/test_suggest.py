"""lstmtext suggest: the least sure texts first, no near-copies, any file size; random as the baseline."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from helpers import TINY, TINY_OVERRIDES
from lstmtext.cli import app
from lstmtext.config import build_config
from lstmtext.data.texts import iter_texts
from lstmtext.errors import ConfigError, DataError
from lstmtext.experiments.suggest import pick_diverse, suggest, uncertainty
from lstmtext.inference.predictor import Predictor
from lstmtext.models.heads import OutputLayout
from lstmtext.pipeline import run


def test_uncertainty_is_one_minus_the_least_sure_decision():
    single = np.array([[0.7, 0.2, 0.1], [0.34, 0.33, 0.33]])
    np.testing.assert_allclose(uncertainty(single, OutputLayout((3,))), [0.3, 0.66])
    aspects = np.array([[0.9, 0.1, 0.6, 0.3, 0.1]])  # aspect 1 sure (0.9), aspect 2 less (0.6)
    np.testing.assert_allclose(uncertainty(aspects, OutputLayout((2, 3))), [0.4])
    labels = np.array([[0.95, 0.02, 0.55], [0.95, 0.45, 0.55]])  # one label nearly a coin flip; then two
    # multi-label: the mean over labels of one minus each decision's confidence (0.95, 0.98, 0.55 -> 0.1733)
    np.testing.assert_allclose(uncertainty(labels, OutputLayout((3,), "sigmoid")), [0.52 / 3, 0.95 / 3])


def test_diversity_skips_a_near_copy_of_a_text_already_picked():
    sequences = [[5, 6, 7], [5, 6, 7, 7], [8, 9]]  # 0 and 1 nearly the same words
    scores = np.array([0.60, 0.59, 0.40])
    assert pick_diverse(scores, sequences, 2, diversity=0.0) == [0, 1]
    assert pick_diverse(scores, sequences, 2, diversity=0.3) == [0, 2]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    out = tmp_path_factory.mktemp("suggest") / "m"
    run(build_config(None, overrides=[*TINY_OVERRIDES, "train.epochs=3"]), TINY, out, progress=False)
    return out


def _pool(path):
    with TINY.open(encoding="utf-8") as fh:
        texts = [row["text"] for row in csv.DictReader(fh)]
    texts += [texts[0], "http://t.co/x", texts[1] + "  "]  # a duplicate, one that cleans to nothing, a copy after cleaning
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return texts


def test_suggest_ranks_by_uncertainty_and_skips_duplicates_and_empty_texts(model, tmp_path):
    texts = _pool(tmp_path / "pool.txt")
    predictor = Predictor.from_bundle(model)
    report = suggest(predictor, iter_texts(tmp_path / "pool.txt"), n=5, diversity=0.0)
    assert report["texts_read"] == len(texts) and report["skipped_empty"] == 1 and report["skipped_duplicates"] >= 2
    distinct = {tuple(ids): t for ids, t in zip(predictor.encoder.encode(texts), texts) if any(i > 1 for i in ids)}
    assert len(distinct) == len(texts) - 3
    expected = np.sort(uncertainty(predictor.predict_proba(list(distinct.values())), predictor.task.layout))[::-1][:5]
    got = [r["uncertainty"] for r in report["suggested"]]
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert [r["rank"] for r in report["suggested"]] == [1, 2, 3, 4, 5]
    first = report["suggested"][0]
    assert first["where"].startswith(f"{tmp_path / 'pool.txt'}:") and first["model_guess"] in predictor.task.labels

    # reading in chunks of 4 picks the same texts as reading the file at once
    chunked = suggest(predictor, iter_texts(tmp_path / "pool.txt", chunk_size=4), n=5, diversity=0.0)
    assert [r["text"] for r in chunked["suggested"]] == [r["text"] for r in report["suggested"]]


def test_texts_that_differ_only_in_unknown_words_are_not_duplicates(model):
    predictor = Predictor.from_bundle(model)
    known = next(w for w in predictor.encoder.vocab.stoi if predictor.encoder.vocab.stoi[w] > 1)
    texts = [f"zzqx {known}", f"qqzx {known}", f"zzqx {known}"]  # the first two encode alike, the third is a copy
    assert predictor.encoder.encode(texts[:1]) == predictor.encoder.encode(texts[1:2])
    report = suggest(predictor, [(["a:1", "a:2", "a:3"], texts)], n=5, diversity=0.0)
    assert sorted(r["text"] for r in report["suggested"]) == sorted(texts[:2]) and report["skipped_duplicates"] == 1


def test_random_strategy_is_seeded_and_distinct(model, tmp_path):
    _pool(tmp_path / "pool.txt")
    predictor = Predictor.from_bundle(model)
    draw = [suggest(predictor, iter_texts(tmp_path / "pool.txt", chunk_size=5), n=6, strategy="random", seed=s)
            for s in (1, 1, 2)]
    texts = [[r["text"] for r in d["suggested"]] for d in draw]
    assert texts[0] == texts[1] and texts[0] != texts[2]
    assert len(set(texts[0])) == 6


@pytest.mark.parametrize("kwargs, message", [
    ({"n": 0}, "--n must be at least 1"),
    ({"diversity": 1.5}, r"--diversity must be in \[0, 1\]"),
    ({"strategy": "entropy"}, "--strategy must be 'uncertainty' or 'random'"),
])
def test_bad_options_are_one_line_errors(model, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        suggest(Predictor.from_bundle(model), [], **kwargs)


def _suggest_cli(model, tmp_path, out: str, *extra: str):
    """``lstmtext suggest MODEL pool.txt --n 4 --out tmp_path/out`` (the pool written first), checked to succeed."""
    _pool(tmp_path / "pool.txt")
    res = CliRunner().invoke(app, ["suggest", str(model), str(tmp_path / "pool.txt"), "--n", "4", "--out",
                                   str(tmp_path / out), *extra])
    assert res.exit_code == 0, res.output
    return res


def test_cli_writes_a_file_ready_to_label(model, tmp_path):
    _suggest_cli(model, tmp_path, "s")
    with (tmp_path / "s" / "to_label.csv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["text", "label"] and len(rows) == 5 and all(r[1] == "" for r in rows[1:])
    report = json.loads((tmp_path / "s" / "suggest.json").read_text())
    assert [r["text"] for r in report["suggested"]] == [r[0] for r in rows[1:]]


def test_to_label_uses_the_models_text_column_whatever_the_pool_calls_its(model, tmp_path):
    import pandas as pd

    pool = tmp_path / "pool.csv"
    pd.DataFrame({"tweet": _pool(tmp_path / "p.txt")}).to_csv(pool, index=False)
    res = CliRunner().invoke(app, ["suggest", str(model), str(pool), "--text-col", "tweet", "--n", "3", "--out",
                                   str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    # it wrote "tweet", and `train --init-from` on the filled file then found no column 'text'
    assert (tmp_path / "s" / "to_label.csv").read_text(encoding="utf-8").splitlines()[0] == "text,label"
    picked = set(pd.read_csv(tmp_path / "s" / "to_label.csv")["text"])
    res = CliRunner().invoke(app, ["suggest", str(model), str(pool), "--text-col", "tweet", "--n", "3", "--out",
                                   str(tmp_path / "s2"), "--exclude", str(tmp_path / "s" / "to_label.csv")])
    assert res.exit_code == 0, res.output  # the next round: to_label.csv read by the model's column, not 'tweet'
    assert not picked & set(pd.read_csv(tmp_path / "s2" / "to_label.csv")["text"])


def test_texts_already_labelled_are_not_suggested_again(model, tmp_path):
    _suggest_cli(model, tmp_path, "s1")
    with (tmp_path / "s1" / "to_label.csv").open(encoding="utf-8") as fh:
        done = [row["text"] for row in csv.DictReader(fh)]
    # round 2 with round 1's file (its texts, labelled or not): none of them comes back (33 of 100 did)
    res = _suggest_cli(model, tmp_path, "s2", "--exclude", str(tmp_path / "s1" / "to_label.csv"))
    again = json.loads((tmp_path / "s2" / "suggest.json").read_text())
    assert len(again["suggested"]) == 4 and not {r["text"] for r in again["suggested"]} & set(done)
    assert again["skipped_labelled"] >= 4 and "already labelled" in res.output
    # a text is the same one after cleaning: case and spacing do not hide it
    report = suggest(Predictor.from_bundle(model), [(["a:1"], [done[0].upper() + "  "])], 4, labelled=[done[0]])
    assert report["suggested"] == [] and report["skipped_labelled"] == 1


def test_a_training_file_named_txt_is_excluded_as_train_reads_it(model, tmp_path):
    """train reads a .txt as a tab-separated table; --exclude (whose help asks for the model's training file) read
    it one line a text, "text<TAB>label", which matched none of its texts (structure review)."""
    _suggest_cli(model, tmp_path, "s1")
    with (tmp_path / "s1" / "to_label.csv").open(encoding="utf-8") as fh:
        done = [row["text"] for row in csv.DictReader(fh)]
    train = tmp_path / "train.txt"
    train.write_text("text\tlabel\n" + "".join(f"{t}\tpos\n" for t in done), encoding="utf-8")
    _suggest_cli(model, tmp_path, "s2", "--exclude", str(train))
    again = json.loads((tmp_path / "s2" / "suggest.json").read_text())
    assert again["skipped_labelled"] >= len(done) and not {r["text"] for r in again["suggested"]} & set(done)
    plain = tmp_path / "lines.txt"  # a .txt whose first line names no column stays one text a line, tabs and all
    plain.write_text("good\tflight\nbad seat\n", encoding="utf-8")
    assert [t for _, part in iter_texts(plain) for t in part] == ["good\tflight", "bad seat"]
    assert [t for _, part in iter_texts(train) for t in part] == done
    from lstmtext.data.texts import sample_texts  # preprocess's preview asks the same rule (it read the lines)
    column, texts = sample_texts(train, n=100)
    assert column == "text" and sorted(texts) == sorted(done)
    from lstmtext.pipeline.embed import embed_file  # and embed --split-col (it refused the file as plain text)

    split = tmp_path / "split.txt"
    split.write_text("text\tsplit\nzebra crew\ttrain\nquokka gate\tvalid\nzebra gate\ttrain\n", encoding="utf-8")
    assert embed_file(split, tmp_path / "v.txt", dim=3, epochs=1, split_col="split", preprocess="lowercase") == (3, 2)


def test_annotation_columns_follow_the_task():
    from lstmtext.tasks.absa.task import AspectSentiment
    from lstmtext.tasks.multilabel.task import MultiLabel

    absa = AspectSentiment({"food": ["neg", "pos"], "price": ["neg", "pos"]}, build_config(None, extra={"task": "absa"}))
    assert absa.annotation_columns() == ["food", "price"]
    ml = build_config(None, extra={"task": "multilabel", "multilabel": {"layout": "columns"}})
    assert MultiLabel(["a", "b"], ml).annotation_columns() == ["a", "b"]
    assert MultiLabel(["a", "b"], build_config(None, extra={"task": "multilabel"})).annotation_columns() == ["label"]
    assert MultiLabel(["a", "b"], ml).annotation_placeholder == "" == absa.annotation_placeholder  # blank: refused


def test_an_unfilled_multilabel_to_label_file_is_refused_not_read_as_no_labels(tmp_path):
    from lstmtext.experiments.suggest import write_suggestions
    from lstmtext.tasks.multilabel.task import MultiLabel

    config = build_config(None, extra={"task": "multilabel"})
    task = MultiLabel(["a", "b"], config)
    report = {"suggested": [{"text": t, "rank": r, "where": f"x.txt:{r}", "uncertainty": 0.5, "model_guess": "a"}
                            for r, t in ((1, "first text"), (2, "second"))]}
    write_suggestions(report, tmp_path, "text", task.annotation_columns(), task.annotation_placeholder)
    path = tmp_path / "to_label.csv"
    assert path.read_text().splitlines() == ["text,label", "first text,?", "second,?"]
    with pytest.raises(DataError, match=r"to_label\.csv:2: column 'label' holds '\?', which lstmtext suggest writes for "
                                        r"a text not labelled yet\. Replace it .* or empty the cell for a text with no label"):
        MultiLabel.load(path, config, whole=True)
    path.write_text("text,label\nfirst text,a|b\nsecond,\n")  # filled in: labels, and none for the second
    assert MultiLabel.load(path, config, whole=True).splits["train"].labels == [("a", "b"), ()]


def test_iter_texts_names_rows_and_reads_tables_in_chunks(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,text\n1,hello there\n2,\n3,bye\n", encoding="utf-8")
    chunks = list(iter_texts(path, chunk_size=2))
    assert chunks == [([f"{path}:2", f"{path}:3"], ["hello there", ""]), ([f"{path}:4"], ["bye"])]
    with pytest.raises(Exception, match=r"no column 'body'"):
        list(iter_texts(path, "body"))


def test_multilabel_uncertainty_is_measured_from_each_labels_threshold():
    layout = OutputLayout((2,), "sigmoid")
    proba = np.array([[0.30, 0.99], [0.60, 0.99]])
    # label 0's threshold is 0.3: the first text sits on it (most unsure), the second is well above it; label 1
    # is sure (0.99 over 0.5: uncertainty 0.01); a text's uncertainty is the mean of its labels'
    np.testing.assert_allclose(uncertainty(proba, layout, np.array([0.3, 0.5])),
                               [(0.5 + 0.01) / 2, (0.5 - 0.5 * 0.3 / 0.7 + 0.01) / 2])
    np.testing.assert_allclose(uncertainty(proba, layout), [(0.3 + 0.01) / 2, (0.4 + 0.01) / 2])  # max(p, 1 - p)


def test_the_models_own_training_texts_are_not_suggested(model, tmp_path):
    """Every suggestion of a review's run came from the 300 rows the model was trained on: labelled already, and the
    run folder's training_texts.json says which they are."""
    with TINY.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    trained = {" ".join(r["text"].lower().split()) for r in rows if r["split"] == "train"}
    res = _suggest_cli(model, tmp_path, "s")
    report = json.loads((tmp_path / "s" / "suggest.json").read_text())
    # 24 training rows, and the pool's copy of one of them with spaces added
    assert report["skipped_trained"] == 25 and "25 the model's training texts" in res.output
    assert not {" ".join(r["text"].lower().split()) for r in report["suggested"]} & trained
    assert len(report["suggested"]) == 4  # from the 12 valid and test texts
