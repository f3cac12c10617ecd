"""train.self_training: the model's surest answers on unlabelled texts train a second model (kept if no worse)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import ABSA_WIDE, MULTILABEL, TINY, TINY_OVERRIDES
from lstmtext.config import Config, build_config
from lstmtext.errors import ConfigError
from lstmtext.pipeline import run
from lstmtext.pipeline.checks import check_run
from lstmtext.tasks.absa.task import AspectSentiment
from lstmtext.tasks.classify import Classify
from lstmtext.tasks.multilabel.task import MultiLabel
from lstmtext.training import self_training
from lstmtext.training.self_training import most_sure, sample_rows

SHORT = [*TINY_OVERRIDES, "train.epochs=4"]


def test_most_sure_keeps_the_surest_share_of_each_answer():
    answers = np.array([0, 0, 0, 0, 1, 1, 2])
    sure = np.array([0.9, 0.5, 0.7, 0.6, 0.8, 0.3, 0.4])
    assert most_sure(answers, sure, 0.5).tolist() == [0, 2, 4, 6]  # rounded up: class 2's one row too
    assert most_sure(answers, sure, 0.25).tolist() == [0, 4, 6]
    assert most_sure(answers, sure, 1.0).tolist() == list(range(7))
    # aspect answers: a row's whole combination is its answer
    combos = np.array([[0, 1], [0, 1], [1, 1], [0, 0]])
    assert most_sure(combos, np.array([0.2, 0.9, 0.5, 0.6]), 0.5).tolist() == [1, 2, 3]
    assert most_sure(combos, np.array([0.2, 0.9, 0.5, 0.6]), 0.6).tolist() == [0, 1, 2, 3]


def test_sample_rows_is_uniform_seeded_and_none_under_the_limit():
    assert sample_rows(10, 10, 0) is None
    rows = sample_rows(1000, 100, 3)
    assert len(rows) == 100 == len(set(rows.tolist())) and rows.tolist() == sorted(rows.tolist())
    assert rows.tolist() == sample_rows(1000, 100, 3).tolist() != sample_rows(1000, 100, 4).tolist()
    assert rows.max() < 1000 and rows.min() >= 0


def test_each_task_answers_with_its_targets_and_its_least_sure_decision():
    config = Config()
    classify = Classify(["a", "b", "c"], config)
    targets, sure = classify.answers(np.array([[0.2, 0.7, 0.1], [0.5, 0.1, 0.4]]))
    assert targets.tolist() == [1, 0] and np.allclose(sure, [0.7, 0.5])
    assert targets.dtype == classify.targets(["a"]).dtype
    absa = AspectSentiment({"food": ["neg", "pos"], "price": ["neg", "neu", "pos"]}, config)
    targets, sure = absa.answers(np.array([[0.9, 0.1, 0.2, 0.7, 0.1], [0.4, 0.6, 0.1, 0.1, 0.8]]))
    assert targets.tolist() == [[0, 1], [1, 2]] and np.allclose(sure, [0.7, 0.6])
    assert targets.shape[1:] == absa.targets([("neg", "neu")]).shape[1:]
    multi = MultiLabel(["late", "refund"], config)
    multi.state["thresholds"] = [0.3, 0.5]
    targets, sure = multi.answers(np.array([[0.35, 0.9], [0.1, 0.45]]))
    assert targets.tolist() == [[1, 1], [0, 0]] and np.allclose(sure, [0.35, 0.55])
    assert targets.dtype == multi.targets([["late"]]).dtype


@pytest.fixture(scope="module")
def unlabelled(tmp_path_factory):
    """The tiny training texts, three times, and the valid texts (which self-training must not answer)."""
    frame = pd.read_csv(TINY)
    path = tmp_path_factory.mktemp("unlabelled") / "texts.txt"
    texts = frame[frame.split == "train"].text.tolist() * 3 + frame[frame.split == "valid"].text.tolist()
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return path


def _config(unlabelled, *overrides, **extra):
    return build_config(None, overrides=[*SHORT, *overrides],
                        extra={"data": {"unlabelled": str(unlabelled)}, **extra})


def test_the_student_trains_on_the_labels_and_the_surest_half_of_each_answer(unlabelled, monkeypatch):
    from lstmtext.pipeline import runner

    rows, real_fit = [], runner.fit
    monkeypatch.setattr(runner, "fit", lambda model, train, *a, **k: rows.append(len(train.targets))
                        or real_fit(model, train, *a, **k))
    result = run(_config(unlabelled, "train.self_training=0.5"), TINY, None, progress=False)
    info = result.summary["self_training"]
    valid = result.summary["split_sizes"]["valid"]
    assert info["unlabelled_texts"] == 72 + valid and info["answered"] == 72  # the valid texts are not answered
    labelled = result.summary["split_sizes"]["train"]
    assert rows == [labelled, labelled + info["added"]]
    # of each answer, half its rows: at most one lost to rounding per class
    assert 36 - len(result.task.labels) <= info["added"] <= 36 + len(result.task.labels)
    assert info["kept"] in ("student", "teacher") and (info["kept"] == "student") == (info["student"] >= info["teacher"])
    kept_seconds = info["student_seconds"] if info["kept"] == "student" else info["teacher_seconds"]
    assert result.summary["train_seconds"] == pytest.approx(kept_seconds, abs=0.05)  # the kept model's own history
    assert any(n.startswith("self-training: the model answered 72 unlabelled texts") for n in result.summary["notes"])


def test_a_worse_student_is_dropped_and_the_teacher_kept_as_it_was(unlabelled, monkeypatch):
    plain = run(_config(unlabelled, 'train.monitor="valid_loss"'), TINY, None, progress=False)

    def wrong(labelled, added):  # the student learns every class as the next one
        return self_training.joined(labelled, type(added)(added.sequences, (added.targets + 1) % 3))

    from lstmtext.pipeline import runner

    monkeypatch.setattr(runner, "joined", wrong)
    result = run(_config(unlabelled, 'train.monitor="valid_loss"', "train.self_training=1.0"), TINY, None,
                 progress=False)
    info = result.summary["self_training"]
    assert info["kept"] == "teacher" and info["student"] < info["teacher"]
    np.testing.assert_array_equal(result.probabilities["valid"], plain.probabilities["valid"])
    assert result.task.state["temperatures"] == plain.task.state["temperatures"]


def test_without_unlabelled_texts_it_trains_one_model_and_says_so():
    result = run(build_config(None, overrides=[*SHORT, "train.self_training=0.5"]), TINY, None, progress=False)
    assert "self_training" not in result.summary
    assert any("train.self_training learns from the model's answers on unlabelled texts and none were given" in n
               for n in result.summary["notes"])


def test_self_training_with_unlabelled_texts_is_refused_with_nproc(unlabelled):
    with pytest.raises(ConfigError, match=r"train\.self_training cannot be combined with --nproc"):
        check_run(_config(unlabelled, "train.self_training=0.5"), data=TINY, shard=object())


@pytest.mark.parametrize(("task", "data", "extra"), [
    ("absa", ABSA_WIDE, []),
    ("multilabel", MULTILABEL, ["multilabel.label_sep=\"|\"", "data.label_col=\"labels\""]),
])
def test_aspect_and_multilabel_runs_self_train(tmp_path, task, data, extra):
    texts = tmp_path / "texts.txt"
    frame = pd.read_csv(data)
    train = frame[frame.split == "train"].text.tolist()
    texts.write_text("\n".join(train * 2) + "\n", encoding="utf-8")
    cfg = build_config(None, overrides=[*SHORT, *extra, "model.ensemble=1", "train.self_training=0.5"],
                       extra={"task": task, "data": {"unlabelled": str(texts)}})
    result = run(cfg, data, None, progress=False)
    info = result.summary["self_training"]
    assert info["answered"] == 2 * len(train) and 0 < info["added"] <= info["answered"]


def test_a_run_stopped_before_its_student_resumes_and_ends_with_the_same_model(unlabelled, tmp_path):
    import shutil

    first = run(_config(unlabelled, "train.self_training=0.5"), TINY, tmp_path / "run", progress=False)
    assert (tmp_path / "run" / "checkpoint_student" / "state.json").is_file()
    shutil.rmtree(tmp_path / "run" / "checkpoint_student")  # as if killed before the student's first epoch ended
    again = run(_config(unlabelled, "train.self_training=0.5"), TINY, tmp_path / "run", resume=True, progress=False)
    assert again.summary["self_training"]["added"] == first.summary["self_training"]["added"]
    np.testing.assert_array_equal(again.probabilities["valid"], first.probabilities["valid"])
    done = run(_config(unlabelled, "train.self_training=0.5"), TINY, tmp_path / "run", resume=True, progress=False)
    np.testing.assert_array_equal(done.probabilities["valid"], first.probabilities["valid"])  # both from checkpoints


def test_a_one_aspect_model_answers_with_one_column_per_aspect(tmp_path):
    frame = pd.read_csv(ABSA_WIDE)[["text", "food", "split"]]
    frame.to_csv(tmp_path / "food.csv", index=False)
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(frame.text.tolist()) + "\n", encoding="utf-8")
    cfg = build_config(None, overrides=[*SHORT, "model.ensemble=1", "train.self_training=1.0"],
                       extra={"task": "absa", "data": {"unlabelled": str(texts)}})
    result = run(cfg, tmp_path / "food.csv", None, progress=False)
    assert result.summary["self_training"]["added"] == result.summary["self_training"]["answered"] > 0
