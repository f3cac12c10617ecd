"""Label-error audit: confident learning on known probabilities, out-of-fold scores, the CLI, and bad input."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from lstmtext.cli import app
from lstmtext.errors import DataError
from lstmtext.models import OutputLayout
from lstmtext.tasks.quality import label_issues


def test_confident_learning_flags_the_rows_another_class_claims():
    # class thresholds: a 0.8 (mean over rows labelled a), b 0.7; row 2 is labelled a but b is confident there
    proba = np.array([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8], [0.3, 0.7], [0.4, 0.6], [0.1, 0.9]])
    given = np.array([0, 0, 0, 1, 1, 1])
    issues = label_issues(proba, given, OutputLayout((2,)), ["a", "b"], ["classify"])
    assert [(r["row"], r["given"], r["suggested"]) for r in issues] == [(2, "a", "b")]
    # now thresholds a 0.6, b (0.7 + 0.35 + 0.9) / 3 = 0.65: row 4 (labelled b, p_b 0.35) is claimed by a (0.65)
    proba[4] = [0.65, 0.35]
    issues = label_issues(proba, given, OutputLayout((2,)), ["a", "b"], ["classify"])
    # ranked by the given label's probability, lowest first: row 2 (0.2), then row 4 (0.35)
    assert [(r["row"], r["suggested"], r["p_given"]) for r in issues] == [(2, "b", 0.2), (4, "a", 0.35)]


def test_confident_learning_counts_the_suspects_and_the_least_probable_given_labels_are_listed():
    # thresholds a 0.575, b 0.65, c 0.85: only row 2 (labelled a) is claimed by another class (b 0.7), so one
    # suspect; row 3 (labelled a too) is claimed by none, but its given label is less probable (0.2 against 0.3)
    proba = np.array([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.3, 0.7, 0.0], [0.2, 0.4, 0.4],
                      [0.4, 0.6, 0.0], [0.3, 0.7, 0.0], [0.1, 0.1, 0.8], [0.0, 0.1, 0.9]])
    given = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    issues = label_issues(proba, given, OutputLayout((3,)), ["a", "b", "c"], ["classify"])
    assert [(r["row"], r["given"], r["suggested"], r["p_given"]) for r in issues] == [(3, "a", "b", 0.2)]


def test_sigmoid_labels_are_audited_one_by_one():
    proba = np.array([[0.9, 0.1], [0.95, 0.2], [0.05, 0.9], [0.1, 0.85]])
    targets = np.array([[1, 0], [0, 0], [0, 1], [0, 1]], dtype=float)  # row 1 misses label x
    issues = label_issues(proba, targets, OutputLayout((2,), "sigmoid"), ["x", "y"], ["x", "y"])
    assert [(r["row"], r["field"], r["given"], r["suggested"]) for r in issues] == [(1, "x", "no", "yes")]


FLIPPED = {3, 11, 57}


def _flipped(tmp_path, *settings):
    """Two clearly separable classes with 3 flipped labels, audited by cnn + TF-IDF: (rows, the run, its folder)."""
    tails = [f"{a}{b}" for a in "abcdefgh" for b in "xyzuv"]  # 40 different endings
    pos = [f"great lovely flight {w}" for w in tails]
    neg = [f"awful lost bag {w}" for w in tails]
    rows = [(t, "pos") for t in pos] + [(t, "neg") for t in neg]
    rows = [(t, ("neg" if y == "pos" else "pos") if i in FLIPPED else y) for i, (t, y) in enumerate(rows)]
    path = tmp_path / "d.csv"
    path.write_text("text,label\n" + "\n".join(f"{t},{y}" for t, y in rows) + "\n")
    out = tmp_path / "audit"
    res = CliRunner().invoke(app, _audit_args(path, out, *settings))
    return rows, path, res, out


def _audit_args(path, out, *settings):
    return ["audit", str(path), "--folds", "4", "--mode", "sequential", "--workers", "1",
            "--out", str(out), "--preset", "cnn", "--set", "train.epochs=15",
            "--set", "train.batch_size=8",  # ~100 steps per fold, not 15
            "--set", 'model.embedding.kind="random"', "--set", "vocab.min_freq=1",
            "--set", 'preprocess.preset="plain"',
            "--set", "train.calibrate_min_texts=1",  # each fold's 6 valid texts calibrate
            *[a for s in settings for a in ("--set", s)]]


def test_a_member_that_learnt_nothing_is_left_out_of_the_mean(tmp_path):
    _, _, res, out = _flipped(tmp_path, "train.lr=1e-9", "train.epochs=1")
    assert res.exit_code == 0, res.output
    report = json.loads((out / "audit.json").read_text())
    # the network at chance: averaged in, it blurred TF-IDF's ranking (tweets: 0.414 against 0.499 alone)
    assert report["out_of_fold_alone"]["cnn"]["macro_f1"] < report["chance"]["macro_f1"] + 0.05
    assert (report["scored_by"], report["left_out"]) == ("tfidf_logreg", ["cnn"])
    assert report["out_of_fold"] == report["out_of_fold_alone"]["tfidf_logreg"]
    assert report["warnings"][0].startswith("cnn alone scores macro-F1 ") and "so it was left out" in res.output


def test_when_every_member_is_weak_the_best_one_alone_ranks_the_rows():
    from lstmtext.experiments.audit import members_used

    alone = {"cnn": {"macro_f1": 0.0}, "tfidf_logreg": {"macro_f1": 0.1562}}
    assert members_used(alone, floor=0.1082) == ["tfidf_logreg"]  # both were averaged: the 0.0 one blurred it
    assert members_used({"cnn": {"macro_f1": 0.40}, "tfidf_logreg": {"macro_f1": 0.30}}, floor=0.1082) == [
        "cnn", "tfidf_logreg"]
    assert members_used({**alone, "cnn": {"macro_f1": 0.40}}, floor=0.1082) == ["cnn"]  # the weak one left out
    assert members_used({"cnn": {"macro_f1": 0.12}}, floor=0.1082) == ["cnn"]  # --no-tfidf: the model it has


def test_audit_finds_flipped_labels_out_of_fold(tmp_path, caplog):
    """Two clearly separable classes with 3 flipped labels: the audit names exactly those rows first."""
    rows, path, res, out = _flipped(tmp_path)
    flipped = FLIPPED
    assert res.exit_code == 0, res.output
    report = json.loads((out / "audit.json").read_text())
    assert report["rows"] == len(rows)  # a file without a split is audited whole: no test rows held out
    assert report["out_of_fold"]["accuracy"] == pytest.approx(1 - 3 / 80)  # wrong exactly on the 3 flipped rows
    assert report["majority"]["accuracy"] == pytest.approx(41 / 80)  # the flips leave 41 neg
    assert 0.3 < report["chance"]["accuracy"] < 0.7  # guessing a shuffled label: about 41² + 39² over 80² = 0.50
    assert "out-of-fold cnn + tfidf_logreg (mean): accuracy 0.9625" in res.output
    assert report["scored_by"] == "cnn + tfidf_logreg (mean)" and set(report["out_of_fold_alone"]) == {"cnn", "tfidf_logreg"}
    assert report["out_of_fold_alone"]["tfidf_logreg"]["accuracy"] == pytest.approx(1 - 3 / 80)  # it errs there too
    said = [r for r in caplog.records if "the valid split holds" in r.getMessage()]
    assert len(said) == 1  # each fold's tiny valid split: said once, not once per fold
    texts = {i: t for i, (t, _) in enumerate(rows)}
    # confident learning counts as suspects the rows another class claims above that class's mean confidence; with
    # the models' own probabilities (a fold whose 6 valid texts are all decided right fits no temperature on them:
    # it had sat at 0.05, making every probability 0 or 1) this toy's count is below 3, and every row listed is a
    # flipped one
    top = [r["text"] for r in report["issues"]]
    assert top and set(top) <= {texts[i] for i in flipped}
    for issue in report["issues"]:  # each suspect names its line of the file (row i is line i + 2)
        line = int(issue["where"].rsplit(":", 1)[1])
        assert issue["where"] == f"{path}:{line}" and texts[line - 2] == issue["text"]
    assert (out / "audit.csv").read_text().splitlines()[0].startswith("rank,where,field,given,suggested")
    # each fold's out-of-fold probabilities are kept: every row once, and a killed audit goes on from them
    folds = report["fold_probabilities"]
    assert sorted(i for f in folds for i in f["heldout"]) == list(range(len(rows)))
    assert all(len(f["proba"]) == len(f["heldout"]) and f["outputs"] == ["neg", "pos"] for f in folds)
    csv_before = (out / "audit.csv").read_text()
    # run again, a finished audit is refused: it would only rewrite audit.csv, which may hold the user's notes (it
    # reused every fold and rewrote it; docs review)
    (out / "audit.csv").write_text(csv_before + "my notes\n")
    finished = CliRunner().invoke(app, _audit_args(path, out))
    assert finished.exit_code == 1 and "a finished audit is there (audit.csv, audit.json, report.html): the same " \
        "audit again would only rewrite its reports, and another one would replace them. Pass --overwrite to run one " \
        "again" in str(finished.exception)
    assert (out / "audit.csv").read_text().endswith("my notes\n")
    # as a kill during the fourth fold leaves the file: the finished folds alone
    (out / "audit.json").write_text(json.dumps({"spec": report["spec"], "fold_probabilities": folds[:3]}))
    again = CliRunner().invoke(app, _audit_args(path, out))
    assert again.exit_code == 0, again.output
    assert "3 of 4 folds reused from" in again.output and again.output.count(" scored (") == 1
    assert (out / "audit.csv").read_text() == csv_before  # the fourth fold trained again to the same probabilities
    timeless = lambda fs: [{k: v for k, v in f.items() if k != "train_seconds"} for f in fs]  # noqa: E731
    assert timeless(json.loads((out / "audit.json").read_text())["fold_probabilities"]) == timeless(folds)


def test_the_tfidf_member_is_fitted_on_each_folds_rows_and_scores_only_its_held_out_ones():
    from lstmtext.config import build_config
    from lstmtext.data import Split
    from lstmtext.experiments.audit import _tfidf_out_of_fold
    from lstmtext.tasks.classify import Classify

    # "red" always means a, "blue" b; the held-out rows of fold 0 are scored by a model that never saw them
    texts = [f"red w{i}" for i in range(10)] + [f"blue w{i}" for i in range(10)]
    pool = Split(texts, ["a"] * 10 + ["b"] * 10)
    task = Classify(["a", "b"], build_config(None))
    rows = [{"train": list(range(2, 8)) + list(range(12, 18)), "valid": [8, 9, 18, 19], "heldout": [0, 1, 10, 11]},
            {"train": list(range(0, 6)) + list(range(10, 16)), "valid": [6, 7, 16, 17],
             "heldout": [8, 9, 18, 19, 2, 3, 4, 5, 12, 13, 14, 15]}]  # two folds cover every row but 6, 7, 16, 17
    proba = _tfidf_out_of_fold(pool, task, rows, seed=0)
    assert proba.shape == (20, 2) and np.allclose(proba[[6, 7, 16, 17]], 0)  # rows no fold held out: untouched
    held = [0, 1, 10, 11, 8, 9, 18, 19, 2, 3, 4, 5, 12, 13, 14, 15]
    assert (proba[held].argmax(1) == np.array([0 if i < 10 else 1 for i in held])).all()
    assert np.allclose(proba[held].sum(1), 1)


def test_too_few_rows_per_class_for_the_folds_is_one_line(tmp_path):
    from lstmtext.config import build_config
    from lstmtext.experiments.audit import audit
    from lstmtext.pipeline import load_data

    path = tmp_path / "d.csv"
    path.write_text("text,label\n" + "\n".join(f"t{i},{'a' if i < 12 else 'b'}" for i in range(15)) + "\n")
    cfg = build_config(None, overrides=["data.test_size=0.0", "data.valid_size=0.2"])
    with pytest.raises(DataError, match=r"class 'b' has \d rows, fewer than --folds 5"):
        audit(cfg, load_data(cfg, path), folds=5, mode="sequential", workers=1)


def test_a_weak_out_of_fold_model_is_flagged():
    from lstmtext.experiments.audit import weak_model

    assert weak_model({"out_of_fold": {"macro_f1": 0.80}, "majority": {"macro_f1": 0.30}}) == []
    [warning] = weak_model({"out_of_fold": {"macro_f1": 0.33}, "majority": {"macro_f1": 0.30}})
    assert warning.startswith("the out-of-fold model scores macro-F1 0.3300, hardly above 0.3000 for always answering")
    # 3 balanced classes: the majority scores 1/6, guessing 1/3; a model at 0.35 is at chance, and is flagged
    [chance] = weak_model({"out_of_fold": {"macro_f1": 0.35}, "majority": {"macro_f1": 0.1667},
                           "chance": {"macro_f1": 0.3333}})
    assert chance.startswith("the out-of-fold model scores macro-F1 0.3500, hardly above 0.3333 for guessing with the "
                             "labels' frequencies")
    [worse] = weak_model({"out_of_fold": {"macro_f1": 0.2474}, "majority": {"macro_f1": 0.25},
                          "chance": {"macro_f1": 0.3833}})  # not "hardly above" a floor it is under
    assert worse.startswith("the out-of-fold model scores macro-F1 0.2474, below 0.3833 for guessing")
    # a member at the floor was left out of the mean: said, while the rest scores well
    [left] = weak_model({"out_of_fold": {"macro_f1": 0.50}, "majority": {"macro_f1": 0.2587}, "left_out": ["lstm"],
                         "out_of_fold_alone": {"lstm": {"macro_f1": 0.2587}, "tfidf_logreg": {"macro_f1": 0.50}},
                         "scored_by": "tfidf_logreg"})
    assert left == ("lstm alone scores macro-F1 0.2587, not above 0.2587 for always answering the most frequent label, "
                    "so it was left out of the mean (the suspects are tfidf_logreg's). Train it longer or with a "
                    "stronger preset.")
    [tfidf] = weak_model({"out_of_fold": {"macro_f1": 0.50}, "majority": {"macro_f1": 0.2587}, "left_out": ["tfidf_logreg"],
                          "out_of_fold_alone": {"lstm": {"macro_f1": 0.5}, "tfidf_logreg": {"macro_f1": 0.26}},
                          "scored_by": "lstm"})
    assert tfidf.endswith("(the suspects are lstm's). It needs more labelled rows; --no-tfidf leaves it out from the "
                          "start.")  # not "train it longer": it has no epochs
