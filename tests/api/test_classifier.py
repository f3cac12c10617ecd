"""The scikit-learn-style API: fit / predict / predict_proba / score / save / load."""

import numpy as np
import pytest

from lstmtext.classifier import TextClassifier
from lstmtext.errors import DataError, NotFittedError

TEXTS = ["great flight thanks", "lovely crew great", "thanks awesome", "best crew ever"] * 3 + \
        ["delayed again awful", "lost my bag", "rude staff worst", "cancelled again"] * 3
LABELS = ["pos"] * 12 + ["neg"] * 12


def test_fit_predict_save_load(tmp_path):
    clf = TextClassifier(preset=None, model__hidden_size=16, model__embedding_dim=16, model__embed_dropout=0.0,
                         train__epochs=30, train__batch_size=8, train__lr=0.03, train__monitor="valid_loss",
                         preprocess__preset="plain")
    clf.fit(TEXTS, LABELS, valid_texts=TEXTS, valid_labels=LABELS)
    assert list(clf.classes_) == ["neg", "pos"]
    assert clf.score(TEXTS, LABELS) == 1.0
    proba = clf.predict_proba(["great crew", "lost bag"])
    assert proba.shape == (2, 2) and np.allclose(proba.sum(1), 1)
    clf.save(tmp_path / "m")
    again = TextClassifier.load(tmp_path / "m")
    assert np.array_equal(again.predict_proba(TEXTS), clf.predict_proba(TEXTS))


def test_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted yet. Call 'fit'"):
        TextClassifier().predict(["x"])


def test_length_mismatch():
    with pytest.raises(DataError, match="3 texts but 2 labels"):
        TextClassifier().fit(["a", "b", "c"], ["x", "y"])
