"""Bundles saved before the one-pipeline change (format 1, commit 9aae418) load and predict the same.

``tests/fixtures/bundles/`` holds a single-label LSTM and an aspect model (BiLSTM, per-aspect attention heads,
a 2-member seed ensemble), each with the probabilities the old version predicted (see its README).
"""

import json

import numpy as np
import pytest

from helpers import FIXTURES
from lstmtext.inference.predictor import Predictor

BUNDLES = FIXTURES / "bundles"


def test_old_single_label_bundle_predicts_the_same():
    expected = json.loads((BUNDLES / "v1-classify.expected.json").read_text())
    predictor = Predictor.from_bundle(BUNDLES / "v1-classify")
    assert predictor.task.name == "classify" and predictor.labels == ["negative", "neutral", "positive"]
    np.testing.assert_allclose(predictor.predict_proba(expected["texts"]), expected["proba"], atol=1e-6)


def test_old_aspect_ensemble_bundle_predicts_the_same():
    expected = json.loads((BUNDLES / "v1-absa.expected.json").read_text())
    predictor = Predictor.from_bundle(BUNDLES / "v1-absa")
    assert predictor.task.name == "absa" and predictor.task.aspects == ["food", "service", "price"]
    proba = predictor.predict_proba(expected["texts"])
    old = np.concatenate([np.asarray(expected["proba"][a]) for a in predictor.task.aspects], 1)
    np.testing.assert_allclose(proba, old, atol=1e-6)
    record = predictor.predict(expected["texts"][:1])[0].to_dict()
    assert set(record["aspects"]) == {"food", "service", "price"}
    assert record["aspects"]["price"]["probabilities"] == pytest.approx(
        dict(zip(predictor.labels["price"], expected["proba"]["price"][0])), abs=1e-6)
