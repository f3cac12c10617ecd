"""NTC-SCV end to end (docs/languages.md): the `cnn-bag-long` preset and TF-IDF + logistic regression.

Slow (two to four minutes on 2 cores: pyvi segments 5,000 reviews, then one CNN trains); skipped where the
shared data folder is absent. The split is lstmtext's stratified 80/10/10 (seed 42); the test split was
only used for reported figures. Measured with seed 0, as below, and the `vi-review` chain of 2026-12-06
(emoticons as words, everyday spellings and tone marks unified): test macro-F1 0.8899 (valid 0.8820) against
0.8980 for TF-IDF + LR (with the chain before: 0.8979 against 0.8900; the new chain lifted the baseline more).
"""

import pytest

from helpers import SHARED_DATA
from helpers import load_labelled as load_data
from lstmtext.config import DataConfig
from lstmtext.experiments.compare import compare

pytestmark = pytest.mark.slow
REVIEWS = SHARED_DATA / "ntc-scv" / "reviews.csv"


def test_cnn_bag_long_and_tfidf_on_the_test_split():
    if not REVIEWS.is_file():
        pytest.skip(f"{REVIEWS} is not here")
    data = load_data(REVIEWS, DataConfig())
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 4000, "valid": 500, "test": 500}
    report = compare(data, ["cnn-bag-long"], seeds=1, preprocess="vi-review", mode="sequential", workers=2)
    neural, tfidf = (next(r for r in report["runs"] if r["model"] == m) for m in ("cnn-bag-long", "tfidf_logreg"))
    assert tfidf["macro_f1"] == pytest.approx(0.8980, abs=5e-4)  # the baseline is deterministic
    # one run's scores move with the CPU's float rounding (a valid score of 0.88 on an AMD EPYC was 0.87999 on an
    # Intel Xeon with the same code), so the bars leave that room, not a past run's value (valid 0.8820, test 0.8899)
    assert neural["valid_macro_f1"] >= 0.87 and neural["macro_f1"] >= 0.88
