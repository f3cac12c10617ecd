"""report.md tables: a class, label or aspect name never breaks its row."""

import pytest

from lstmtext.reports.markdown import md_cell, per_class_table


def test_a_name_with_a_pipe_or_line_break_stays_in_its_cell():
    assert md_cell("neu|tral\nx") == "neu\\|tral x"
    row = per_class_table({"neu|tral": {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 3}})[-1]
    assert row == "| neu\\|tral | 1.0000 | 0.5000 | 0.6667 | 3 |"


def test_a_class_the_macro_f1_leaves_out_shows_no_zero_scores():
    from lstmtext.reports.markdown import LEFT_OUT, per_class_table
    from lstmtext.tasks.metrics import classification_metrics

    m = classification_metrics([0, 0, 1], [0, 1, 1], ["neg", "neu|tral", "pos"])  # no 'pos' text, none predicted
    assert m["per_class"]["pos"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0, "predicted": 0}
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3) / 2)  # over neg and neu|tral alone
    lines = per_class_table(m["per_class"])
    assert "| pos | - | - | - | 0 |" in lines and lines[-1] == LEFT_OUT  # it read 0.0000, as if counted
    assert "| neu\\|tral | 0.5000 | 1.0000 | 0.6667 | 1 |" in lines
    assert LEFT_OUT not in per_class_table(classification_metrics([0, 1], [0, 1], ["a", "b"])["per_class"])


def test_the_confusion_matrix_escapes_a_bar_in_a_class_name():
    from lstmtext.config import build_config
    from lstmtext.tasks.classify import Classify
    from lstmtext.tasks.metrics import classification_metrics

    m = classification_metrics([0, 1], [0, 1], ["neg|bad", "pos"])
    lines = Classify(["neg|bad", "pos"], build_config(None)).split_markdown("test", m)
    assert "| | neg\\|bad | pos |" in lines and "| **neg\\|bad** | 1 | 0 |" in lines  # it added a column


def test_a_run_that_stopped_early_says_so():
    from lstmtext.reports.markdown import stopped_early

    summary = {"stopped_early": True, "epochs_run": 4, "epochs_asked": 8, "monitor": "valid_macro_f1", "patience": 3}
    assert stopped_early(summary) == " of 8 (stopped early: no better valid_macro_f1 for 3 epochs)"
    assert stopped_early({**summary, "stopped_early": False}) == "" and stopped_early({}) == ""
    assert stopped_early({**summary, "epochs_run": 8}) == ""  # patience ran out on the last epoch: nothing stopped
    assert stopped_early({**summary, "epochs_run": 2, "patience": 1}).endswith("for 1 epoch)")


def test_the_data_table_follows_the_labels_order_not_the_alphabet():
    from lstmtext.config import build_config
    from lstmtext.data.dataset import Split
    from lstmtext.tasks import get_task

    absa = get_task("absa")({"service": ["pos", "neg"], "fuel": ["neg", "pos"]}, build_config("absa"))
    counts = absa.label_counts(Split(["a", "b"], [("neg", "pos"), ("pos", "neg")]))
    assert list(counts) == ["service=pos", "service=neg", "fuel=neg", "fuel=pos"]  # aspects as the file has them
    classify = get_task("classify")(["negative", "neutral", "positive"], build_config(None))
    assert list(classify.label_counts(Split(["a", "b", "c"], ["positive", "negative", "neutral"]))) == \
        ["negative", "neutral", "positive"]


def test_a_run_that_keeps_its_last_epoch_says_whose_weights_it_saved(tmp_path):
    """With train.restore_best = false (seed001's setting) the reports said "best epoch 1" beside a model that is the
    last epoch's (training review)."""
    from helpers import TINY, TINY_OVERRIDES
    from lstmtext.config import build_config
    from lstmtext.pipeline import run

    said = "the saved weights are the last epoch's (train.restore_best = false)"
    run(build_config(None, overrides=[*TINY_OVERRIDES, "train.epochs=2", "train.restore_best=false"]), TINY,
        tmp_path / "last", progress=False)
    assert said in (tmp_path / "last" / "report.md").read_text(encoding="utf-8")
    assert said.replace("'", "&#x27;") in (tmp_path / "last" / "report.html").read_text(encoding="utf-8")
    run(build_config(None, overrides=[*TINY_OVERRIDES, "train.epochs=2"]), TINY, tmp_path / "best", progress=False)
    assert "restore_best" not in (tmp_path / "best" / "report.md").read_text(encoding="utf-8")
