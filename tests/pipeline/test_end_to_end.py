"""End-to-end accuracy on the bundled airline tweets (canonical split): the issue's acceptance figures.

Slow (minutes on 2 cores); CI runs them. Scores are on the test split, which was never used for tuning.
"""

import pytest

from lstmtext.config import build_config
from lstmtext.inference.predictor import Predictor
from lstmtext.pipeline import run

pytestmark = pytest.mark.slow


def test_seed001_reaches_the_source_accuracy(tmp_path):
    result = run(build_config("seed001"), None, tmp_path / "seed001", progress=False)
    assert result.metrics["test"]["accuracy"] >= 0.79
    assert result.metrics["test"]["n"] == 1449 and result.metrics["valid"]["n"] == 1448


def test_default_preset_beats_the_baselines(tmp_path):
    out = tmp_path / "default"
    result = run(build_config("default"), None, out, progress=False)
    test = result.metrics["test"]
    # TF-IDF + logistic regression on this split (the data notes): 0.806 / 0.736. One seed's figures move by about
    # 0.01 with any change of the vocabulary's order (docs/tuning.md), so the bar is the baseline, not a past run
    assert test["accuracy"] >= 0.806 and test["macro_f1"] >= 0.736
    preds = Predictor.from_bundle(out).predict(["@united thank you so much, great crew!",
                                                 "@AmericanAir lost my bag again, worst service ever"])
    assert [p.label for p in preds] == ["positive", "negative"]
