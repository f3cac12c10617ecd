"""The report's confident mistakes: one per wrong decision, surest first, naming the output to explain."""

import numpy as np

from helpers import FakePredictor
from lstmtext.tasks.mistakes import confident_mistakes


def test_an_aspect_mistake_is_the_wrong_aspect_with_its_own_probability():
    task = FakePredictor({"food": ["neg", "pos"], "price": ["neg", "neu", "pos"]}, {"food": [[0.5, 0.5]], "price": [[0.2, 0.3, 0.5]]}).task
    proba = np.array([[0.98, 0.02, 0.30, 0.40, 0.30],    # food wrong at 0.98; price right (neu) but unsure
                      [0.10, 0.90, 0.05, 0.05, 0.90]])   # both right
    found = confident_mistakes(task, ["t0", "t1"], [("pos", "neu"), ("pos", "pos")], proba, 10)
    assert found == [{"text": "t0", "true": "food=pos", "predicted": "food=neg", "probability": 0.98, "output": 0,
                      "sign": 1}]


def test_aspect_and_label_names_with_a_colon_are_kept_whole():
    """An aspect named car:price showed its mistakes as car:price=price:positive."""
    task = FakePredictor({"car:fuel": ["neg", "pos"], "car:price": ["neg", "a:pos"]},
                         {"car:fuel": [[0.5, 0.5]], "car:price": [[0.5, 0.5]]}).task
    proba = np.array([[0.1, 0.9, 0.95, 0.05]])
    found = confident_mistakes(task, ["t0"], [("pos", "a:pos")], proba, 10)
    assert [(m["true"], m["predicted"]) for m in found] == [("car:price=a:pos", "car:price=neg")]


def test_audit_names_labels_with_a_colon_whole():
    from lstmtext.models import OutputLayout
    from lstmtext.tasks.quality import label_issues

    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.2, 0.8], [0.05, 0.95]])  # row 4: given a, b claims it
    issues = label_issues(proba, np.array([0, 0, 1, 1, 0]), OutputLayout((2,)), ["ns:a", "ns:b"], ["classify"])
    assert {(r["given"], r["suggested"]) for r in issues} == {("ns:a", "ns:b")}  # a class name, not cut at its ':'
    grouped = label_issues(np.hstack([proba, proba]), np.array([[0, 0], [0, 0], [1, 1], [1, 1], [0, 0]]),
                           OutputLayout((2, 2)), ["car:x:ns:a", "car:x:ns:b", "y:ns:a", "y:ns:b"], ["car:x", "y"])
    assert {(r["field"], r["given"], r["suggested"]) for r in grouped} == {("car:x", "ns:a", "ns:b"), ("y", "ns:a", "ns:b")}
    one = label_issues(proba, np.array([0, 0, 1, 1, 0]), OutputLayout((2,)), ["food:neg", "food:pos"], ["food"])
    assert {(r["given"], r["suggested"]) for r in one} == {("neg", "pos")}  # one aspect's labels, not food:neg


def test_a_multilabel_mistake_is_one_label_judged_at_its_threshold():
    task = FakePredictor(["a", "b"], [], thresholds=[0.3, 0.7]).task
    proba = np.array([[0.35, 0.65],   # a chosen (0.35 >= 0.3) but not given; b given, missed at 0.65 < 0.7
                      [0.10, 0.95]])  # right: b only
    found = confident_mistakes(task, ["t0", "t1"], [("b",), ("b",)], proba, 10)
    assert [(m["true"], m["predicted"], round(m["probability"], 2), m["output"], m["sign"]) for m in found] == [
        ("not a", "a", 0.35, 0, 1), ("b", "not b", 0.35, 1, -1)]
    assert [m["predicted"] for m in confident_mistakes(task, ["t0", "t1"], [("a", "b"), ("b",)], proba, 10)] == ["not b"]


def test_single_label_mistakes_are_sorted_and_cut_to_n():
    task = FakePredictor(["x", "y"], []).task
    proba = np.array([[0.6, 0.4], [0.9, 0.1], [0.2, 0.8]])
    found = confident_mistakes(task, ["t0", "t1", "t2"], ["y", "y", "y"], proba, 1)
    assert [(m["text"], m["predicted"], m["probability"]) for m in found] == [("t1", "x", 0.9)]
