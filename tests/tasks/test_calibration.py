"""Calibration: temperatures recovered on known data, ECE and coverage values, unsure answers, and a run's report."""

import html
import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from lstmtext.cli import app
from lstmtext.errors import ConfigError
from lstmtext.models import OutputLayout
from lstmtext.tasks.calibration import (
    accuracy_at,
    coverage_curve,
    decisions,
    expected_calibration_error,
    fit_temperatures,
    scale,
)


def test_temperatures_are_recovered_per_group_and_per_label():
    """Labels drawn from softmax(z / T) with known T: the fitted temperature is T, for each group on its own."""
    rng = np.random.default_rng(0)
    n, true = 20_000, (2.5, 0.6)
    z = torch.from_numpy(rng.normal(0, 2, size=(n, 5)))
    layout = OutputLayout((3, 2))
    y = np.stack([[rng.choice(3, p=torch.softmax(row[:3] / true[0], 0).numpy()) for row in z],
                  [rng.choice(2, p=torch.softmax(row[3:] / true[1], 0).numpy()) for row in z]], 1)
    temps = fit_temperatures(z, torch.from_numpy(y), layout)
    assert temps == pytest.approx(true, rel=0.06)
    scaled = scale(z, temps, layout)
    assert torch.allclose(scaled[:, :3], z[:, :3] / temps[0]) and torch.allclose(scaled[:, 3:], z[:, 3:] / temps[1])
    sig = OutputLayout((2,), "sigmoid")
    y2 = (rng.random((n, 2)) < torch.sigmoid(z[:, :2] / torch.tensor([3.0, 0.5])).numpy()).astype(float)
    assert fit_temperatures(z[:, :2], torch.from_numpy(y2), sig) == pytest.approx([3.0, 0.5], rel=0.08)


def test_a_label_valid_decides_without_a_mistake_takes_the_shared_temperature():
    """Its own NLL falls as T shrinks, and it was fitted at the grid's end (0.05): certain, never unsure."""
    rng = np.random.default_rng(1)
    n = 5_000
    z = torch.from_numpy(rng.normal(0, 2, size=(n, 4)))
    y = (rng.random((n, 4)) < torch.sigmoid(z / torch.tensor([2.0, 2.0, 1.0, 1.0])).numpy()).astype(float)
    z[:, 2] = -z[:, 2].abs() - 0.1  # the third label: no valid text has it, every logit says so
    y[:, 2] = 0
    z[:4, 3], y[:4, 3] = -5.0, 1  # the fourth: four texts with it in 5,000, each a mistake
    sig = OutputLayout((4,), "sigmoid")
    temps = fit_temperatures(z, torch.from_numpy(y), sig)
    pooled = fit_temperatures(z[:, [0, 1, 3]].reshape(-1, 1), torch.from_numpy(y[:, [0, 1, 3]].reshape(-1, 1)),
                              OutputLayout((1,), "sigmoid"))[0]
    assert temps[:2] == pytest.approx([2.0, 2.0], rel=0.08) and temps[2] == pytest.approx(pooled) and pooled > 0.5
    assert temps[3] != pytest.approx(pooled)  # few texts with it, but mistaken ones: its own fit (the review's case)
    assert fit_temperatures(z[:, 2:3], torch.from_numpy(y[:, 2:3]), OutputLayout((1,), "sigmoid")) == [1.0]
    # a softmax group valid gets right every time (an aspect, or a whole single-label model): the same
    right = torch.from_numpy(np.argmax(z[:, :2].numpy(), 1))
    assert fit_temperatures(z[:, :2], right, OutputLayout((2,))) == [1.0]
    groups = fit_temperatures(z, torch.stack([right, torch.from_numpy(y[:, 3]).long()], 1), OutputLayout((2, 2)))
    assert groups[0] == groups[1] and groups[1] > 0.05


def test_ece_reliability_and_coverage_values():
    conf = np.array([0.95, 0.95, 0.55, 0.55, 0.75, 0.75, 0.75, 0.75])
    right = np.array([1, 1, 0, 1, 1, 0, 1, 1], dtype=bool)
    # bins: 0.95 -> acc 1 (|1-0.95| x 2/8); 0.55 -> acc 0.5 (0.05 x 2/8); 0.75 -> acc 0.75 (0)
    assert expected_calibration_error(conf, right) == pytest.approx(0.05 * 2 / 8 + 0.05 * 2 / 8)
    assert accuracy_at(conf, right, 1.0) == (0.75, 0.55) and accuracy_at(conf, right, 0.75) == (5 / 6, 0.75)
    curve = coverage_curve(conf, right, points=4)
    # most confident first: the 0.95s (right, right), then the 0.75s (right, wrong, right, right), then the 0.55s
    assert curve["coverage"] == [0.25, 0.5, 0.75, 1.0] and curve["accuracy"] == [1.0, 0.75, 5 / 6, 0.75]


def test_decisions_per_task_layout():
    proba = np.array([[0.7, 0.2, 0.1, 0.4, 0.6], [0.1, 0.1, 0.8, 0.9, 0.1]])
    conf, right = decisions(proba, np.array([[0, 1], [1, 0]]), OutputLayout((3, 2)))  # aspects: text x aspect
    assert conf.tolist() == [0.7, 0.8, 0.6, 0.9] and right.tolist() == [True, False, True, True]
    conf, right = decisions(np.array([[0.9, 0.2]]), np.array([[1.0, 1.0]]), OutputLayout((2,), "sigmoid"))
    assert conf.tolist() == pytest.approx([0.9, 0.8]) and right.tolist() == [True, False]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from helpers import TINY, TINY_OVERRIDES
    from lstmtext.config import build_config
    from lstmtext.pipeline import run

    out = tmp_path_factory.mktemp("cal") / "run"
    run(build_config(None, overrides=[*TINY_OVERRIDES, "train.epochs=8"]), TINY, out, progress=False)
    return out


def test_a_run_calibrates_on_valid_saves_the_temperature_and_reports_it(run_dir):
    from lstmtext.inference.predictor import Predictor

    state = json.loads((run_dir / "model" / "task.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    cal = metrics["valid"]["calibration"]
    assert len(state["temperatures"]) == 1 and state["temperatures"][0] == pytest.approx(cal["temperatures"][0])
    assert cal["ece_after"] <= cal["ece_before"] + 1e-9  # fitted on valid: never worse there
    assert set(cal["coverage_table"]) == {"100%", "90%", "80%"}
    for report in ("report.md", "report.html"):
        assert "Calibration and unsure answers" in (run_dir / report).read_text()
    assert 'alt="calibration, test"' in (run_dir / "report.html").read_text()
    predictor = Predictor.from_bundle(run_dir)
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    np.testing.assert_allclose(predictor.task.probabilities(logits),
                               torch.softmax(logits / state["temperatures"][0], 1).numpy(), rtol=1e-6)


def test_a_valid_split_too_small_to_fit_a_temperature_keeps_the_models_probabilities(run_dir, tmp_path):
    from helpers import TINY

    # a warm start from a calibrated model, on a valid split of 6 texts: its temperature would fit their noise, and the
    # saved one was fitted to the model before this training
    assert json.loads((run_dir / "model" / "task.json").read_text())["temperatures"]
    res = CliRunner().invoke(app, ["train", str(TINY), "--init-from", str(run_dir), "--split-col", "split",
                                   "--set", "train.epochs=1", "--set", "train.calibrate_min_texts=100",  # the default
                                   "--out", str(tmp_path / "warm"), "--quiet"])
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "warm" / "model" / "task.json").exists()  # no temperature saved
    metrics = json.loads((tmp_path / "warm" / "metrics.json").read_text())
    assert metrics["valid"]["calibration"]["ece_after"] == metrics["valid"]["calibration"]["ece_before"]
    said = [n for n in metrics["summary"]["notes"] if n.startswith("train.calibrate: the valid split holds 6 texts, "
                                                                    "too few to fit a temperature on (train.calibrate_min_texts = 100)")]
    page = (tmp_path / "warm" / "report.html").read_text()
    assert len(said) == 1 and html.escape(said[0]) in page  # the page said "temperature-scaled" and kept no note
    assert "no temperature was fitted" in page and "temperature-scaled" not in page
    assert "temperature-scaled on the valid split" in (run_dir / "report.html").read_text()


def test_calibration_turned_off_is_said_in_the_notes_and_both_reports(tmp_path):
    from helpers import TINY

    res = CliRunner().invoke(app, ["train", str(TINY), "--split-col", "split", "--set", "train.epochs=1", "--set",
                                   "train.calibrate=false", "--set", "model.hidden_size=8", "--out", str(tmp_path / "r"),
                                   "--quiet"])
    assert res.exit_code == 0, res.output
    notes = json.loads((tmp_path / "r" / "metrics.json").read_text())["summary"]["notes"]
    # the page said "the run's notes say why" and no note did
    assert "train.calibrate = false: no temperature was fitted, so the probabilities are the model's own, " \
           "uncalibrated" in notes
    assert "No temperature was fitted (the notes say why)" in (tmp_path / "r" / "report.md").read_text()


def test_cv_advises_what_gives_its_folds_more_valid_rows(tiny_path, caplog):
    import logging

    from lstmtext.config import build_config
    from lstmtext.experiments.cv import cross_validate
    from lstmtext.pipeline.prepare import load_data

    config = build_config(None, overrides=["train.epochs=1", "model.hidden_size=8", "data.split_col=split",
                                           "train.threads=1"])
    with caplog.at_level(logging.WARNING):
        cross_validate(config, load_data(config, tiny_path), folds=2, mode="sequential", workers=1)
    said = [r.getMessage() for r in caplog.records if "too few to fit a temperature" in r.getMessage()]
    assert said and all(m.endswith("give a larger valid split: more rows, or a larger data.valid_size (cv and audit "
                                   "cut each fold's valid rows from the pooled data: a --valid file is pooled); or "
                                   "lower train.calibrate_min_texts to fit on these few (a temperature fitted on few "
                                   "texts fits their noise).")
                        for m in said)  # it said "a --valid file", which cv pools into the folds


def test_min_confidence_answers_unsure(run_dir):
    runner = CliRunner()
    res = runner.invoke(app, ["predict", str(run_dir), "lost my bag", "--min-confidence", "1.0"])
    record = json.loads(res.output)
    assert res.exit_code == 0 and record["label"] is None and record["abstained"] is True
    assert record["top_k"][0]["score"] == record["score"] < 1.0
    res = runner.invoke(app, ["predict", str(run_dir), "lost my bag", "--min-confidence", "0.01"])
    assert json.loads(res.output)["label"] is not None and "abstained" not in json.loads(res.output)
    for bad in ("1.5", "0"):  # 0 is a value outside (0, 1], not "no minimum"
        res = runner.invoke(app, ["predict", str(run_dir), "lost my bag", "--min-confidence", bad])
        assert res.exit_code == 1 and "--min-confidence (min_confidence) must be in (0, 1]" in str(res.exception)
    from lstmtext.inference.predictor import Predictor

    predictor = Predictor.from_bundle(run_dir)
    for bad in ("0.5", True):  # from Python: a string was a TypeError, True was taken as 1.0 (every text unsure)
        with pytest.raises(ConfigError, match=rf"^--min-confidence \(min_confidence\) must be a number; got {bad!r}\.$"):
            predictor.predict(["lost my bag"], min_confidence=bad)


def test_predict_warns_about_texts_with_no_known_word(run_dir):
    runner = CliRunner()
    res = runner.invoke(app, ["predict", str(run_dir), "lost my bag", "", "zzqx qqzx"])
    records = [json.loads(line) for line in res.stdout.splitlines()]
    assert res.exit_code == 0 and len(records) == 3 and all(r["label"] for r in records)
    assert [r.get("no_known_word", False) for r in records] == [False, True, True]  # the record says it too
    assert "warning: 2 of 3 texts have no word the model knows after cleaning (the first is record 2)" in res.stderr
    res = runner.invoke(app, ["predict", str(run_dir), "lost my bag"])
    assert res.exit_code == 0 and "warning" not in res.stderr


def test_the_python_api_flags_texts_with_no_known_word(run_dir):
    from lstmtext.inference.predictor import Predictor

    predictor = Predictor.from_bundle(run_dir)
    found = predictor.predict(["lost my bag", "zzqx qqzx", ""])
    assert [p.no_known_word for p in found] == [False, True, True]
    assert found[1].to_dict()["no_known_word"] is True and "no_known_word" not in found[0].to_dict()
    proba, known = predictor.proba_and_known(["lost my bag", "zzqx qqzx"])
    assert known.tolist() == [True, False] and np.allclose(proba, predictor.predict_proba(["lost my bag", "zzqx qqzx"]))


def test_the_python_predictor_refuses_a_non_string_text_and_names_the_engine_loader(run_dir):
    from lstmtext.errors import DataError
    from lstmtext.inference.predictor import Predictor

    predictor = Predictor.from_bundle(run_dir)
    with pytest.raises(DataError, match=r"texts\[1\] is nan, not a string: give every text as a string"):
        predictor.predict(["good flight", float("nan")])
    with pytest.raises(DataError, match=r"texts\[0\] is None, not a string"):
        predictor.predict_proba([None])
    from lstmtext import load_predictor
    from lstmtext.errors import ConfigError

    with pytest.raises(ConfigError, match=r"for engine='onnx' call lstmtext\.load_predictor\(path, 'onnx'\)"):
        Predictor.from_bundle(run_dir, engine="onnx")
    onnx = load_predictor(run_dir, "onnx")
    assert onnx.engine == "onnx" and np.allclose(onnx.predict_proba(["good flight"]),
                                                 predictor.predict_proba(["good flight"]), atol=1e-5)


def test_multilabel_coverage_judges_the_decisions_at_their_thresholds():
    from lstmtext.tasks.calibration import calibration_report

    proba = np.array([[0.30, 0.9], [0.20, 0.1], [0.05, 0.8]])  # label 0 cut at 0.25: chosen for text 0 only
    targets = np.array([[1, 1], [0, 0], [0, 1]], dtype=float)
    layout = OutputLayout((2,), "sigmoid")
    report = calibration_report(proba, proba, targets, layout, None, np.array([0.25, 0.5]))
    # every decision right at the thresholds (at 0.5, text 0's label 0 is wrong): the coverage judges those
    assert report["coverage_table"]["100%"]["accuracy"] == 1.0
    assert report["coverage_table"]["100%"]["min_confidence"] == pytest.approx(0.3)  # chosen label 0: as sure as p
    assert report["accuracy"] == pytest.approx(5 / 6)  # beside mean_confidence: the probabilities judged at 0.5
    assert calibration_report(proba, proba, targets, layout, None)["coverage_table"]["100%"]["accuracy"] == \
        pytest.approx(5 / 6)


def test_test_is_read_at_the_cuts_chosen_on_valid(run_dir):
    """The coverage table gives each split its own cut (from its confidences); a user's --min-confidence comes from
    valid, so test is also read at valid's cuts (the experiments review asked for it)."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    valid, test = metrics["valid"]["calibration"], metrics["test"]["calibration"]
    assert "at_chosen_cuts" not in valid and set(test["at_chosen_cuts"]) == {"90%", "80%"}
    for key, got in test["at_chosen_cuts"].items():
        assert got["min_confidence"] == valid["coverage_table"][key]["min_confidence"]
        assert 0 <= got["coverage"] <= 1
    assert "at the cuts chosen on valid: P" in (run_dir / "report.md").read_text()
    assert "at the cuts chosen on valid: P" in (run_dir / "report.html").read_text()


def test_at_cut_counts_what_a_min_confidence_answers():
    from lstmtext.tasks.calibration import at_cut

    got = at_cut(np.array([0.9, 0.8, 0.6, 0.4]), np.array([1, 0, 1, 1]), 0.6)
    assert got == {"min_confidence": 0.6, "coverage": 0.75, "accuracy": pytest.approx(2 / 3)}


@pytest.mark.parametrize("layout", [OutputLayout((3,)), OutputLayout((2, 3)), OutputLayout((4,), "sigmoid")])
def test_the_probabilities_before_the_temperatures_are_read_back_from_those_after(layout):
    """evaluate gets calibrated probabilities from every engine; ECE before them needs the raw ones."""
    from lstmtext.tasks.calibration import scale, uncalibrate

    logits = torch.randn(50, layout.total, generator=torch.Generator().manual_seed(0)) * 3
    temperatures = [1.7] if layout.activation != "sigmoid" and len(layout.sizes) == 1 else \
        [0.6, 2.5] if layout.activation != "sigmoid" else [0.5, 1.0, 1.5, 3.0]
    raw = layout.probabilities(logits).numpy()
    calibrated = layout.probabilities(scale(logits, temperatures, layout)).numpy()
    np.testing.assert_allclose(uncalibrate(calibrated, temperatures, layout), raw, atol=1e-5)
    assert uncalibrate(calibrated, None, layout) is calibrated  # no temperature fitted: as they are


def test_evaluate_takes_the_raw_probabilities_from_the_model_below_a_temperature_of_half(trained_run, tiny_frame):
    """Read back from float32 probabilities, ECE before a temperature of 0.1 read 0.21 for 0.16."""
    from lstmtext.encoding.batching import predict_logits
    from lstmtext.inference.engines import load_predictor
    from lstmtext.pipeline.evaluate import _calibration
    from lstmtext.tasks.calibration import calibration_report

    p = load_predictor(trained_run[0], "torch")
    p.task.state["temperatures"] = [0.1]
    sequences = p.encoder.encode(tiny_frame["text"].tolist())
    proba, targets = p.proba_from_ids(sequences), p.task.targets(tiny_frame["label"].tolist())
    raw = p.task.probabilities(predict_logits(p.bundle.model, sequences, 256), calibrated=False)
    expected = calibration_report(raw, proba, targets, p.task.layout, [0.1])
    assert _calibration(p.bundle, proba, targets, sequences)["ece_before"] == pytest.approx(expected["ece_before"])
