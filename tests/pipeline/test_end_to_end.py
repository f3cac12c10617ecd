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
    # TF-IDF + logistic regression on this split (the data notes): 0.806 / 0.736. One seed's test figures move by
    # about 0.01 (before dropout's torch.rand masks, seed 42: 0.8102 / 0.7606; seeds 1-3: 0.8088 / 0.7525, 0.8219 /
    # 0.7645, 0.8206 / 0.7647; since, seed 42: 0.8102 / 0.7631),
    # so the claim is about the mean of three seeds, not one run
    tests = []
    for seed in (1, 2, 3):
        out = tmp_path / f"default-{seed}"
        tests.append(run(build_config("default", overrides=[f"train.seed={seed}"]), None, out,
                         progress=False).metrics["test"])
    assert sum(t["accuracy"] for t in tests) / 3 >= 0.806 and sum(t["macro_f1"] for t in tests) / 3 >= 0.736
    preds = Predictor.from_bundle(out).predict(["@united thank you so much, great crew!",
                                                 "@AmericanAir lost my bag again, worst service ever"])
    assert [p.label for p in preds] == ["positive", "negative"]
