"""`compare`: configs per entry, one cleaning, mean ± std, the TF-IDF baseline, reports, row-numbered split files."""

import json

import pandas as pd
import pytest

from lstmtext.config import DataConfig
from lstmtext.data import LabelledData, Split
from lstmtext.errors import ConfigError, DataError
from lstmtext.experiments.compare import clean_data, compare, model_config, summarize
from lstmtext.experiments.compare_report import report_markdown, write_report

FAST = ["train.epochs=2", "model.embedding_dim=8", "model.hidden_size=8", "train.batch_size=8",
        "model.options={}", "vocab.num_words=200"]


@pytest.fixture(scope="module")
def tiny_data(tiny_path):
    from helpers import load_labelled as load_data

    return load_data(tiny_path, DataConfig(split_col="split"))


def test_model_config_uses_the_preset_or_the_default_with_the_architecture():
    cfg = model_config("clstm", seed=2, threads=1)
    assert cfg.model.name == "clstm" and cfg.train.seed == 2 and cfg.train.threads == 1
    assert cfg.preprocess.steps == []  # texts arrive cleaned
    plain = model_config("gru", seed=0, threads=2, overrides=["train.epochs=1"])
    assert plain.model.name == "gru" and plain.train.epochs == 1
    with pytest.raises(ConfigError, match="'transformer' is neither a model preset nor an architecture"):
        model_config("transformer", 0, 1)
    variant = model_config('bilstm:model.embedding.kind="random":train.lr=0.002', 1, 1, overrides=["train.lr=0.1"])
    assert variant.model.name == "bilstm" and variant.model.embedding.kind == "random"
    assert variant.train.lr == 0.002 and variant.train.seed == 1  # the entry's own overrides come last
    from lstmtext.models import describe_model

    assert describe_model(model_config("cnn-bag-long", 0, 1).model) == "cnn + n-gram bag"
    assert describe_model(model_config("absa", 0, 1).model) == "bilstm 128 x 5 members"
    assert describe_model(model_config("default", 0, 1).model) == "bilstm 128"  # lstm, bidirectional
    assert describe_model(plain.model) == "bigru 128" and describe_model(model_config("lstm", 0, 1).model) == "lstm 128"
    deep = model_config("lstm", 0, 1, overrides=["model.num_layers=2", "model.hidden_size=64"])
    assert describe_model(deep.model) == "lstm 64 x2 layers"
    with pytest.raises(ConfigError, match="is not key=value"):
        model_config("bilstm:hidden", 0, 1)
    # runs of a 5-member ensemble share no member: run k trains seeds 5k .. 5k + 4
    assert [model_config("absa", k, 1).train.seed for k in range(3)] == [0, 5, 10]
    # a run that trains a language model has its own: lm.seed moves on with the run (each run's had been the same)
    assert [model_config("ulmfit", k, 1).lm.seed for k in range(3)] == [42, 43, 44]
    assert [model_config("ulmfit", k, 1, overrides=["lm.seed=7"]).lm.seed for k in range(2)] == [7, 8]
    assert model_config("bilstm", 2, 1).lm.seed == 42  # no language model: its seed is left as it is


def test_clean_data_cleans_every_split_once(tiny_data):
    cleaned = clean_data(tiny_data, "en-tweet")
    assert cleaned.splits["test"].texts[0] == "your awful service worst today"
    assert cleaned.splits["train"].labels == tiny_data.splits["train"].labels


def test_clean_data_accepts_comma_separated_steps(tiny_data):
    cleaned = clean_data(tiny_data, "lowercase,punctuation_to_space,normalize_whitespace")
    assert cleaned.splits["test"].texts[0] == "airline your awful service worst today"
    with pytest.raises(ConfigError, match="unknown cleaning step 'nope'"):
        clean_data(tiny_data, "lowercase,nope")


def test_summarize_means_and_sample_std():
    runs = [{"model": "a", "architecture": "cnn", "accuracy": x, "macro_f1": x / 2, "valid_accuracy": 0.5,
             "valid_macro_f1": 0.4, "n_parameters": 10, "train_seconds": 1.0, "texts_per_second": 100.0}
            for x in (0.6, 0.8)]
    (row,) = summarize(runs)
    assert row["accuracy_mean"] == pytest.approx(0.7) and row["accuracy_std"] == pytest.approx(0.14142, abs=1e-5)
    assert row["macro_f1_mean"] == pytest.approx(0.35) and row["runs"] == 2 and row["n_parameters_std"] == 0


def test_compare_sequential_trains_each_model_per_seed_and_writes_reports(tiny_data, tmp_path):
    report = compare(tiny_data, ["cnn", "bilstm_attn"], seeds=2, overrides=FAST, mode="sequential", workers=1)
    assert report["eval_split"] == "test"
    assert [(r["model"], r["seed"]) for r in report["runs"]] == [
        ("cnn", 0), ("cnn", 1), ("bilstm_attn", 0), ("bilstm_attn", 1), ("tfidf_logreg", 0)]
    assert all(0 <= r["accuracy"] <= 1 and r["n_parameters"] > 0 for r in report["runs"])
    assert [s["model"] for s in report["summary"]] == ["cnn", "bilstm_attn", "tfidf_logreg"]
    again = compare(tiny_data, ["cnn"], seeds=1, overrides=FAST, mode="sequential", workers=1, baseline=False)
    assert again["runs"][0]["accuracy"] == report["runs"][0]["accuracy"]  # seeded: same run, same score
    paths = write_report(report, tmp_path / "cmp")
    assert json.loads(paths["json"].read_text())["seeds"] == 2
    table = paths["markdown"].read_text()
    assert "| cnn | cnn |" in table and " ± " in table and "scores on the **test** split" in table
    baseline = next(line for line in table.splitlines() if line.startswith("| tfidf_logreg"))
    assert " ± " not in baseline  # one deterministic run: no spread to show
    assert paths["chart"].read_bytes()[:4] == b"\x89PNG"
    from lstmtext.experiments.compare_report import compare_figure

    assert compare_figure(report).axes[0].get_ylabel() == "test score"  # the chart had no y label
    page = paths["html"].read_text(encoding="utf-8")  # compare alone of the experiments wrote no page
    assert "data:image/png;base64," in page and "<td>tfidf_logreg</td>" in page and "test" in page


def test_an_interrupted_comparison_goes_on_with_the_runs_it_has_not_finished(tiny_data, tmp_path, monkeypatch):
    import lstmtext.experiments.compare as module

    settings = dict(seeds=2, overrides=FAST, mode="sequential", workers=1, baseline=False)
    whole = compare(tiny_data, ["cnn"], **settings)
    partial = tmp_path / "compare.partial.json"

    def stop(record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        compare(tiny_data, ["cnn"], **settings, partial=partial, on_result=stop)  # killed after its first run
    trained = []
    real = module.train_and_score
    monkeypatch.setattr(module, "train_and_score", lambda *a, **k: trained.append(1) or real(*a, **k))
    again = compare(tiny_data, ["cnn"], **settings, partial=partial)
    assert len(trained) == 1 and again["runs_reused"] == 1  # only seed 1: seed 0 was kept
    assert [r["accuracy"] for r in again["runs"]] == [r["accuracy"] for r in whole["runs"]]
    other = compare(tiny_data, ["cnn"], **{**settings, "seeds": 1, "overrides": [*FAST, "train.epochs=1"]},
                    partial=partial)  # another config: nothing reused
    assert len(trained) == 2 and other["runs"][0]["epochs_run"] == 1
    partial = tmp_path / "edited.partial.json"
    with pytest.raises(KeyboardInterrupt):
        compare(tiny_data, ["cnn"], **settings, partial=partial, on_result=stop)
    train = tiny_data.splits["train"]
    flipped = LabelledData({**tiny_data.splits, "train": Split(train.texts, train.labels[::-1], train.rows)},
                           tiny_data.source)  # the same file, edited: same path and sizes, other labels
    # its runs are not thrown away without a word (as search and learning-curve refuse another search's folder)
    with pytest.raises(ConfigError, match=r"edited\.partial\.json: this folder holds an interrupted comparison of other "
                                          r"data or another cleaning \(1 finished run\)\. .* pass --overwrite to start over"):
        compare(flipped, ["cnn"], **settings, partial=partial)
    edited = compare(flipped, ["cnn"], **settings, partial=partial, overwrite=True)  # from Python too
    assert len(trained) == 5 and edited["runs_reused"] == 0  # 1 before the interruption, both seeds again


def test_the_data_fingerprint_follows_texts_and_labels_in_order():
    from lstmtext.data.dataset import fingerprint

    one = {"train": Split(["a", "b"], ["x", "y"]), "valid": Split(["c"], [["p", "q"]])}
    assert fingerprint(one) == fingerprint({k: Split(list(v.texts), list(v.labels)) for k, v in one.items()})
    assert fingerprint(one) != fingerprint({**one, "train": Split(["a", "b"], ["y", "x"])})
    assert fingerprint(one) != fingerprint({**one, "train": Split(["ab", ""], ["x", "y"])})  # not joined ambiguously


def test_valid_split_is_scored_when_there_is_no_test():
    texts = ["good nice", "great good", "bad awful", "awful worse", "nice good", "worse bad"] * 2
    labels = ["pos", "pos", "neg", "neg", "pos", "neg"] * 2
    data = LabelledData({"train": Split(texts[:8], labels[:8]), "valid": Split(texts[8:], labels[8:])}, "mem")
    report = compare(data, ["cnn"], seeds=1, preprocess="plain", overrides=FAST, mode="sequential", workers=1)
    assert report["eval_split"] == "valid"
    head = report_markdown(report).splitlines()[0]  # each column once (valid macro-F1 was shown twice)
    assert head == "| model | architecture | valid accuracy | valid macro-F1 | parameters | train s | inference texts/s |"
    assert report_markdown(report).splitlines()[1] == "|---|---|---|---|---|---|---|"
    assert report["runs"][-1]["accuracy"] == 1.0  # tf-idf separates these words perfectly
    assert "No test split: the valid split that scores the runs also chose each run's epoch" in report_markdown(report)


def test_tfidf_baseline_picks_c_on_valid(tiny_data):
    from lstmtext.config import Config
    from lstmtext.experiments.baselines import C_GRID, tfidf_logreg
    from lstmtext.tasks.classify import Classify

    cleaned = clean_data(tiny_data, "en-tweet")
    out = tfidf_logreg(cleaned, Classify.from_data(cleaned, Config()), "test")
    assert out["C"] in C_GRID and 0 <= out["metrics"]["macro_f1"] <= 1
    assert out["n_parameters"] > 3 and out["metrics"]["n"] == 6


def test_bad_settings_are_config_errors(tiny_data):
    with pytest.raises(ConfigError, match="--seeds must be from 1 to 1,000"):
        compare(tiny_data, ["cnn"], seeds=0)
    with pytest.raises(ConfigError, match=r"--seeds must be from 1 to 1,000 .* Got 1,001"):
        compare(tiny_data, ["cnn"], seeds=1001)  # 100 million: its jobs were all built first, gigabytes, no run
    with pytest.raises(ConfigError, match="--workers >= 1"):
        compare(tiny_data, ["cnn"], seeds=1, workers=0)
    with pytest.raises(ConfigError, match="--models: no model named"):
        compare(tiny_data, [], seeds=1)
    with pytest.raises(ConfigError, match="--models names lstm more than once"):
        compare(tiny_data, ["lstm", "cnn", "lstm"], seeds=1)
    with pytest.raises(ConfigError, match=r"--set train.seed: compare sets it for every run; use --seeds"):
        compare(tiny_data, ["cnn"], seeds=1, overrides=["train.seed=3"])
    with pytest.raises(ConfigError, match=r"--set preprocess.preset: compare sets it for every run; use --preprocess"):
        compare(tiny_data, ["cnn"], seeds=1, overrides=['preprocess.preset="id-news"'])
    with pytest.raises(ConfigError, match=r"^--models: 'lstm:train.nosuch=1': train.nosuch=1: unknown key"):
        compare(tiny_data, ["lstm:train.nosuch=1"], seeds=1)  # the entry named, not a --set it is not
    # a variant's key that compare sets for every run, or that the architecture never reads: the row was named after
    # it while the run used en-tweet, or was the preset itself
    for entry, message in [('bilstm:preprocess.preset="id-news"', "sets preprocess.preset, which compare sets for every "
                            "run: use --preprocess"), ('bilstm:data.text_col="foo"', "sets data.text_col, which compare "
                            "sets for every run"), ("cnn:train.seed=4", "sets train.seed, which compare sets for every run: use --seeds"),
                           ("cnn:model.hidden_size=64", "sets model.hidden_size, which the 'cnn' architecture does not "
                            "read: the variant would be the same model")]:
        with pytest.raises(ConfigError, match=f"^--models: '{entry}' {message}"):
            compare(tiny_data, [entry], seeds=1)
    model_config('cnn:model.name="lstm":model.hidden_size=64', 0, 1)  # another architecture: it reads it
    with pytest.raises(ConfigError, match="which the 'cnn' architecture does not read"):  # and the other way round
        model_config('bilstm:model.name="cnn":model.hidden_size=64', 0, 1)
    with pytest.raises(ConfigError, match=r"--models: 'lstm:train.lr=1e-3:train.lr=2e-3' sets train.lr twice\."):
        compare(tiny_data, ["lstm:train.lr=1e-3:train.lr=2e-3"], seeds=1)


def test_join_split_file_by_row_number(tmp_path):
    from lstmtext.data.splits import join_split_file

    frame = pd.DataFrame({"text": ["a", "b", "c"], "label": ["x", "y", "x"]})
    (tmp_path / "s.csv").write_text("row,split\n2,test\n0,train\n1,dev\n", encoding="utf-8")
    out = join_split_file(frame, tmp_path / "s.csv")
    assert out["split"].tolist() == ["train", "valid", "test"] and out["text"].tolist() == ["a", "b", "c"]
    (tmp_path / "far.csv").write_text("row,split\n0,train\n9,test\n", encoding="utf-8")
    with pytest.raises(DataError, match="row 9 is outside the data"):
        join_split_file(frame, tmp_path / "far.csv")
    (tmp_path / "twice.csv").write_text("row,split\n0,train\n0,test\n", encoding="utf-8")
    with pytest.raises(DataError, match="row 0 is listed twice"):
        join_split_file(frame, tmp_path / "twice.csv")
    (tmp_path / "odd.csv").write_text("row,split\n0,holdout\n", encoding="utf-8")
    with pytest.raises(DataError, match="split value 'holdout'"):
        join_split_file(frame, tmp_path / "odd.csv")
    # each was a traceback (int('x'), a NaN row, an empty file, a folder), and '1.5' was cut to row 1
    for name, rows, said in [("x.csv", "x,train", r"x\.csv:2: row 'x' is not a row number"),
                             ("gap.csv", "0,train\n,test", r"gap\.csv:3: row '' is not a row number"),
                             ("half.csv", "0,train\n1.5,test", r"half\.csv:3: row '1\.5' is not a row number"),
                             ("arabic.csv", "0,train\n\u0663,test", r"arabic\.csv:3: row '\u0663' is not a row number"),
                             ("huge.csv", "0,train\n" + "9" * 20 + ",test", r"huge\.csv:3: row '9+' is not a row number")]:
        (tmp_path / name).write_text(f"row,split\n{rows}\n", encoding="utf-8")
        with pytest.raises(DataError, match=said + r"\. Give each data row's 0-based number \(0, 1, 2, \.\.\.\)\.$"):
            join_split_file(frame, tmp_path / name)
    (tmp_path / "floats.csv").write_text("row,split\n2.0,test\n0.0,train\n1,dev\n", encoding="utf-8")  # pandas' floats
    assert join_split_file(frame, tmp_path / "floats.csv")["split"].tolist() == ["train", "valid", "test"]
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match=r"empty\.csv: the file is empty"):
        join_split_file(frame, tmp_path / "empty.csv")
    with pytest.raises(DataError, match="is a folder, not a data file"):
        join_split_file(frame, tmp_path)


def test_load_with_split_file(tmp_path):
    rows = [("t good", "pos"), ("t bad", "neg"), ("t fine", "pos"), ("t awful", "neg"), ("t ok", "pos"), ("t no", "neg")]
    pd.DataFrame(rows, columns=["title", "category"]).to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "s.csv").write_text("row,split\n0,train\n1,train\n2,valid\n3,valid\n4,test\n5,test\n", encoding="utf-8")
    from helpers import load_labelled

    data = load_labelled(tmp_path / "d.csv", DataConfig(text_col="title", label_col="category"),
                         split_file=tmp_path / "s.csv")
    assert data.splits["train"].texts == ["t good", "t bad"] and data.splits["test"].labels == ["pos", "neg"]


def test_compare_and_models_commands(tiny_path, tmp_path):
    from typer.testing import CliRunner

    from lstmtext.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["models"])
    assert res.exit_code == 0 and "kernel_sizes" in res.output and "bilstm_attn" in res.output
    args = ["compare", str(tiny_path), "--split-col", "split", "--models", "cnn", "--seeds", "1",
            "--mode", "sequential", "--workers", "1", "--no-baseline", "--out", str(tmp_path / "c")]
    res = runner.invoke(app, args + sum((["--set", o] for o in FAST), []))
    assert res.exit_code == 0, res.output
    assert (tmp_path / "c" / "compare.png").exists() and "cnn seed 0" in res.output
    # --set data.* says how the file is split, as it does for train (it had been ignored)
    res = runner.invoke(app, ["compare", str(tiny_path), "--models", "cnn", "--seeds", "1", "--mode", "sequential",
                              "--workers", "1", "--no-baseline", "--out", str(tmp_path / "d"), "--set",
                              "data.test_size=0.5", *sum((["--set", o] for o in FAST), [])])
    assert res.exit_code == 0, res.output
    sizes = json.loads((tmp_path / "d" / "compare.json").read_text())["split_sizes"]
    assert sizes["test"] >= sum(sizes.values()) * 0.45


@pytest.mark.slow
def test_pool_gives_the_same_scores_as_sequential(tiny_data):
    seq = compare(tiny_data, ["cnn", "lstm"], seeds=1, overrides=FAST, mode="sequential", workers=1, baseline=False)
    pool = compare(tiny_data, ["cnn", "lstm"], seeds=1, overrides=FAST, mode="pool", workers=2, baseline=False)
    assert [r["macro_f1"] for r in pool["runs"]] == [r["macro_f1"] for r in seq["runs"]]


@pytest.fixture(scope="module")
def aspect_data():

    from helpers import ABSA_WIDE
    from lstmtext.config import build_config
    from lstmtext.tasks.absa.task import AspectSentiment

    cfg = build_config("absa", extra={"task": "absa", "data": {"split_col": "split"}})
    return AspectSentiment.load(ABSA_WIDE, cfg)


def test_compare_takes_aspect_data_with_flattened_scores(aspect_data, tmp_path):

    cleaned = clean_data(aspect_data, "lowercase,punctuation_to_space,normalize_whitespace")
    assert cleaned.splits["train"].labels == aspect_data.splits["train"].labels
    assert cleaned.splits["train"].texts[1] == "makanan enak sekali harga mahal sekali pelayan ramah cepat"
    report = compare(aspect_data, ["bilstm"], seeds=1, preprocess="plain", base={"task": "absa"},
                     overrides=[*FAST, "model.embedding.kind=\"random\""], mode="sequential", workers=1)
    assert report["task"] == "absa"
    run, base = report["runs"]
    assert run["architecture"] == "bilstm 8" and base["model"] == "tfidf_logreg"
    assert len(base["C"]) == 3  # one regression per aspect
    assert 0 <= run["macro_f1"] <= 1 and 0 <= base["accuracy"] <= 1
    assert "IndoNLU's flattened macro-F1" in report_markdown(report)


def test_aspect_baseline_fits_one_regression_per_aspect():
    from lstmtext.config import build_config
    from lstmtext.experiments.baselines import tfidf_logreg
    from lstmtext.tasks.absa.task import AspectSentiment

    # food follows enak/basi, price follows murah/mahal: separable, so every aspect is predicted right
    texts = ["enak murah", "enak mahal", "basi murah", "basi mahal"] * 3
    labels = [("pos", "pos"), ("pos", "neg"), ("neg", "pos"), ("neg", "neg")] * 3
    split = lambda a, b: Split(texts[a:b], labels[a:b], [str(i) for i in range(a, b)])  # noqa: E731
    data = LabelledData({"train": split(0, 8), "valid": split(8, 12), "test": split(8, 12)}, "mem",
                        info={"aspects": ["food", "price"], "not_mentioned": "none"})
    cfg = build_config(None, extra={"task": "absa"})
    out = tfidf_logreg(data, AspectSentiment.from_data(data, cfg), "test")
    assert out["metrics"]["macro_f1"] == 1.0 and out["metrics"]["flat_macro_f1"] == 1.0
    # 8 features (4 words, 4 bigrams); a binary regression per aspect: 8 weights + 1 intercept
    assert out["n_parameters"] == 2 * (8 + 1) and len(out["C"]) == 2


def test_compare_command_with_task_absa(tmp_path):
    from typer.testing import CliRunner

    from helpers import ABSA_WIDE as data
    from lstmtext.cli import app

    args = ["compare", str(data), "--task", "absa", "--split-col", "split", "--models", "cnn", "--seeds", "1",
            "--preprocess", "plain", "--mode", "sequential", "--workers", "1", "--out", str(tmp_path / "c")]
    res = CliRunner().invoke(app, args + sum((["--set", o] for o in FAST), []))
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert report["task"] == "absa" and [s["model"] for s in report["summary"]] == ["cnn", "tfidf_logreg"]
    args[args.index("--preprocess"): args.index("--preprocess") + 2] = ["--overwrite"]  # the task preset's cleaning
    res = CliRunner().invoke(app, args + sum((["--set", o] for o in FAST), []))
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "c" / "compare.json").read_text())["preprocess"] == "id-aspect"  # as train's; was en-tweet
    res = CliRunner().invoke(app, ["compare", str(data), "--aspects", "food"])
    assert res.exit_code != 0 and "--aspects needs --task absa" in str(res.exception or res.output)


def test_compare_reads_the_data_with_the_tasks_own_settings(tmp_path):
    """compare read the data with the --set data.* items only: --set absa.layout="long", the fix its own error asks
    for, was dropped there, and the command failed with the same advice (structure review)."""
    from typer.testing import CliRunner

    from helpers import ABSA_LONG
    from lstmtext.cli import app

    args = ["compare", str(ABSA_LONG), "--task", "absa", "--split-col", "split", "--models", "cnn", "--seeds", "1",
            "--preprocess", "plain", "--mode", "sequential", "--workers", "1", "--out", str(tmp_path / "c"),
            "--no-baseline", "--set", 'absa.layout="long"']
    res = CliRunner().invoke(app, args + sum((["--set", o] for o in FAST), []))
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert report["task"] == "absa" and [s["model"] for s in report["summary"]] == ["cnn"]


def test_fasttext_baseline_learns_labels_and_is_the_same_twice():
    from lstmtext.experiments.baselines import fasttext_supervised

    texts = [f"great lovely flight {i}" for i in range(30)] + [f"awful late bag lost {i}" for i in range(30)]
    labels = ["positive sentiment"] * 30 + ["negative"] * 30  # a label with a space, as CSV files have them
    first = fasttext_supervised(texts, labels, seed=0)
    tests = ["a lovely great crew", "bag lost again,\nso late"]
    assert list(first(tests)) == ["positive sentiment", "negative"]
    second = fasttext_supervised(texts, labels, seed=0)
    many = [f"{w} {i}" for i, w in enumerate(["great", "awful", "lost", "lovely"] * 10)]
    assert list(first(many)) == list(second(many))


def test_tuned_fasttext_keeps_the_grids_best_on_valid():
    import itertools

    from sklearn.metrics import f1_score

    from lstmtext.experiments.baselines import FASTTEXT_GRID, fasttext_supervised, tuned_fasttext

    words = ["great", "lovely", "awful", "late", "crew", "bag", "seat", "food"]
    texts = [" ".join(words[(i * k + j) % 8] for k in range(1, 4)) for i in range(40) for j in range(2)]
    labels = ["good" if ("great" in t or "lovely" in t) and "awful" not in t else "bad" for t in texts]
    train, valid = (texts[::2], labels[::2]), (texts[1::2], labels[1::2])
    predict, params, score = tuned_fasttext(train, valid, seed=0)
    scores = {values: f1_score(valid[1], list(fasttext_supervised(*train, 0, dict(zip(FASTTEXT_GRID, values)))(
        valid[0])), average="macro", zero_division=0) for values in itertools.product(*FASTTEXT_GRID.values())}
    assert score == max(scores.values()) == scores[tuple(params.values())] > min(scores.values())  # not the first
    assert params != {k: v[0] for k, v in FASTTEXT_GRID.items()}
    assert f1_score(valid[1], list(predict(valid[0])), average="macro", zero_division=0) == score  # the chosen model


def test_unlabelled_text_is_named_as_the_user_gave_it(tiny_path, tiny_data, tmp_path, caplog):
    """compare cleans the --unlabelled file once into a temporary copy: its errors and the runs' warnings had
    named that copy (/tmp/lstmtext-unlabelled-.../unlabelled.txt), and a missing column said --text-col."""
    import logging

    import pandas as pd

    texts = pd.read_csv(tiny_path)
    raw = tmp_path / "raw.csv"
    pd.DataFrame({"body": texts["text"]}).to_csv(raw, index=False)
    base = {"data": {"unlabelled": str(raw)}}
    with pytest.raises(DataError, match=r"raw\.csv: no column 'text'\. Columns: body\. Use --unlabelled-col\.$"):
        compare(tiny_data, ["cnn"], seeds=1, base=base, overrides=FAST, mode="sequential", workers=1, baseline=False)
    junk = tmp_path / "junk.txt"
    junk.write_text("@bob\nhttp://a.com\n")  # nothing left once en-tweet drops mentions and links
    with pytest.raises(DataError, match=rf"^{junk}: no unlabelled text is left after cleaning \(--unlabelled\)\. Check "
                                        r"the file and the cleaning \(--preprocess en-tweet\)\.$"):  # a .txt: no column
        compare(tiny_data, ["cnn"], seeds=1, base={"data": {"unlabelled": str(junk)}}, overrides=FAST,
                mode="sequential", workers=1, baseline=False)
    base["data"]["unlabelled_col"] = "body"  # every text is also in valid or test: the runs warn about it
    with caplog.at_level(logging.WARNING):
        compare(tiny_data, ["cnn"], seeds=1, base=base, overrides=FAST, mode="sequential", workers=1, baseline=False)
    said = [r.getMessage() for r in caplog.records if "also in the valid or test split" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(f"{raw}: ")


def test_the_compare_chart_shows_what_compare_md_shows_and_hides_no_dot():
    from lstmtext.experiments.compare_report import compare_figure

    def row(model, runs):
        return {"model": model, "runs": runs, **{f"{k}_{s}": v for k in ("accuracy", "macro_f1", "micro_f1")
                                               for s, v in (("mean", 0.88), ("std", 0.01))}}

    report = {"summary": [row("cnn", 2), row("tfidf_logreg", 1)], "seeds": 2, "eval_split": "test"}
    fig = compare_figure(report)
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["accuracy", "macro-F1", "micro-F1"]  # micro-F1 was left out
    fig.canvas.draw()
    box, axes_box = legend.get_window_extent(), ax.get_window_extent()
    assert box.x0 >= axes_box.x1  # beside the axes: inside, it sat on tfidf_logreg's accuracy dot
    title = ax.get_title()  # it ran past both sides of a 2-model figure
    assert title.replace("\n", " ") == "test split, mean ± std over 2 seed(s); tfidf_logreg once (deterministic)"
    assert max(len(line) for line in title.splitlines()) <= int(fig.get_figwidth() * 11)


def test_an_interrupted_comparison_with_unlabelled_text_goes_on_too(tiny_data, tiny_path, tmp_path, monkeypatch):
    """The cleaned unlabelled text lies in a new temporary folder each call, and its path was in every run's key:
    no run was ever reused (the experiments review found it); the key now holds its content's digest."""
    import lstmtext.experiments.compare as module

    raw = tmp_path / "raw.txt"
    raw.write_text("\n".join(pd.read_csv(tiny_path)["text"]) + "\n")
    settings = dict(seeds=2, overrides=FAST, mode="sequential", workers=1, baseline=False,
                    base={"data": {"unlabelled": str(raw)}})
    partial = tmp_path / "compare.partial.json"

    def stop(record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        compare(tiny_data, ["cnn"], **settings, partial=partial, on_result=stop)
    trained = []
    real = module.train_and_score
    monkeypatch.setattr(module, "train_and_score", lambda *a, **k: trained.append(1) or real(*a, **k))
    assert compare(tiny_data, ["cnn"], **settings, partial=partial)["runs_reused"] == 1 and len(trained) == 1
    raw.write_text("other words entirely\n" * 20)  # other unlabelled text: other runs
    assert compare(tiny_data, ["cnn"], **settings, partial=partial)["runs_reused"] == 0


def test_an_interrupted_compare_overwrite_goes_on_by_the_same_command_from_any_path_or_mode(tiny_path, tmp_path,
                                                                                             monkeypatch):
    """Interrupted under --overwrite over an earlier report, compare said its runs were kept, but the same command
    was refused (the report was there) and --overwrite trained them again; another spelling of the data's path, or
    another --mode, had been another comparison too."""
    import shutil

    from typer.testing import CliRunner

    import lstmtext.experiments.compare as module
    from helpers import ctrl_c_at_call
    from lstmtext.cli import app

    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    shutil.copy(tiny_path, tmp_path / "d.csv")
    out = tmp_path / "c"
    args = ["--split-col", "split", "--models", "cnn", "--seeds", "2", "--no-baseline", "--out", str(out),
            *sum((["--set", o] for o in FAST), [])]
    sequential = ["--mode", "sequential", "--workers", "1"]
    assert runner.invoke(app, ["compare", "d.csv", *args, *sequential]).exit_code == 0  # an earlier report
    trained = ctrl_c_at_call(monkeypatch, module, "train_and_score", 2)
    stopped = runner.invoke(app, ["compare", "d.csv", *args, *sequential, "--overwrite"])
    said = " ".join(stopped.output.split())
    assert stopped.exit_code == 130 and f"kept in {out}/compare.partial.json" in said \
        and said.endswith("Leave out --overwrite, or it starts over."), said
    again = runner.invoke(app, ["compare", str(tmp_path / "d.csv"), *args, "--mode", "sequential", "--workers", "2"])
    assert again.exit_code == 0, again.output
    assert len(trained) == 3 and "(1 finished runs reused" in " ".join(again.output.split())
    assert not (out / "compare.partial.json").exists()
    assert json.loads((out / "compare.json").read_text())["runs_reused"] == 1


def test_a_models_variant_takes_a_list_value(tiny_path, tmp_path):
    """--models was split at every comma: cnn:model.options.kernel_sizes=[2,3] read as 'cnn:...=[2' and '3]'."""
    from typer.testing import CliRunner

    from lstmtext.cli import app

    fast = [o for o in FAST if not o.startswith("model.options")]
    result = CliRunner().invoke(app, ["compare", str(tiny_path), "--split-col", "split", "--seeds", "1", "--no-baseline",
                                      "--mode", "sequential", "--workers", "1", "--out", str(tmp_path / "c"),
                                      "--models", "cnn:model.options.kernel_sizes=[2],cnn:model.options.kernel_sizes=[2,3]",
                                      *sum((["--set", o] for o in fast), [])])
    assert result.exit_code == 0, result.output
    runs = json.loads((tmp_path / "c" / "compare.json").read_text())["runs"]
    assert [r["model"] for r in runs] == ["cnn:model.options.kernel_sizes=[2]", "cnn:model.options.kernel_sizes=[2,3]"]


def test_long_variant_names_do_not_run_into_each_other_under_the_chart():
    """Slanted on one line, a variant's name ran over its neighbours'; then wrapped at 20 characters, its lines were
    still wider than its column."""
    from lstmtext.experiments.compare_report import _tick, compare_figure

    def row(model):
        return {"model": model, "runs": 2, **{f"{k}_{s}": v for k in ("accuracy", "macro_f1")
                                              for s, v in (("mean", 0.8), ("std", 0.01))}}

    names = ["cnn:model.options.kernel_sizes=[2,3]:train.lr=0.0000123456789", "cnn:model.options.kernel_sizes=[2]",
             "lstm"]
    fig = compare_figure({"summary": [row(n) for n in names], "seeds": 2, "eval_split": "test"})
    fig.canvas.draw()
    boxes = [label.get_window_extent() for label in fig.axes[0].get_xticklabels()]
    assert all(left.x1 < right.x0 for left, right in zip(boxes, boxes[1:])), [(b.x0, b.x1) for b in boxes]
    assert _tick(names[0]).splitlines() == ["cnn:", "model.options.", "kernel_sizes=[2,3]:", "train.",
                                            "lr=0.0000123456789"]  # a value is never cut (train.lr=0. had been)


def test_a_models_path_may_hold_an_apostrophe_and_a_reused_run_in_another_mode_is_said(tiny_data, tmp_path, caplog):
    """--models split as --grid does read o'brien/lm,cnn as one model (the quote ran to the end); a run reused from a
    session in another --mode mixed thread counts in the seconds without a word."""
    import logging

    from lstmtext.experiments.space import split_values

    assert split_values("lstm:train.pretrained=o'brien/lm,cnn", quotes=False) == ["lstm:train.pretrained=o'brien/lm", "cnn"]
    partial = tmp_path / "compare.partial.json"
    settings = dict(seeds=1, overrides=FAST, baseline=False)

    def stop(record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        compare(tiny_data, ["cnn", "lstm"], **settings, mode="sequential", workers=2, partial=partial, on_result=stop)
    with caplog.at_level(logging.WARNING):
        report = compare(tiny_data, ["cnn", "lstm"], **settings, mode="sequential", workers=1, partial=partial)
    assert report["runs_reused"] == 1 and [r["threads"] for r in report["runs"]] == [2, 1]
    assert "1 reused run(s) trained with 2 thread(s) each, and this session's with 1 (--mode sequential, --workers)" \
        in caplog.text


def test_a_run_that_stops_a_comparison_is_named(tiny_data):
    """One diverged run stopped the whole comparison with "training diverged: ..." and no word of which run (diff
    review); cv, audit and learning-curve name their fold or size too."""
    bad = [*FAST, "train.lr=1e30", "train.clip_grad_norm=none"]
    with pytest.raises(ConfigError, match=r"^cnn seed 0: training diverged: after epoch 1"):
        compare(tiny_data, ["cnn"], 1, overrides=bad, mode="sequential", workers=1, baseline=False)
    from lstmtext.config import build_config
    from lstmtext.experiments.learning_curve import learning_curve

    with pytest.raises(ConfigError, match=r"^12 texts, seed 42: training diverged"):
        learning_curve(build_config(None, overrides=bad), tiny_data, [12], seeds=1, mode="sequential", workers=1)


def test_comparison_inputs_are_a_library_call_the_command_line_shares(tiny_path, tmp_path):
    """What compare reads before training (the data read with the task's --set items, the shared cleaning and the
    base settings) is one library call; --unlabelled-col without --unlabelled is refused (it was ignored)."""
    from helpers import ABSA_LONG
    from lstmtext.experiments.compare_inputs import comparison_inputs

    data, base, preprocess = comparison_inputs(ABSA_LONG, ['absa.layout="long"', "train.epochs=1"], task="absa",
                                               split_col="split")
    assert base["task"] == "absa" and base["absa"]["aspects"] == list(data.info["aspects"]) and preprocess is None
    assert len(data.splits["train"].texts) > 0 and "data" not in base
    raw = tmp_path / "raw.txt"
    raw.write_text("some words\n")
    _, base, _ = comparison_inputs(tiny_path, [], split_col="split", unlabelled=raw, text_col="text")
    assert base == {"task": "classify", "data": {"unlabelled": str(raw), "unlabelled_col": "text"}}
    with pytest.raises(ConfigError, match=r"--unlabelled-col names the text column of --unlabelled FILE; give "
                                          r"--unlabelled too\."):
        comparison_inputs(tiny_path, [], split_col="split", unlabelled_col="body")
