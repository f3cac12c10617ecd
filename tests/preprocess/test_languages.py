"""Language filtering end to end: `detect-lang` and `preprocess.keep_language` in a training run."""

import json

from typer.testing import CliRunner

from lstmtext.cli import app
from lstmtext.config import build_config
from lstmtext.data import LabelledData, Split
from lstmtext.pipeline.prepare import drop_other_languages

VI = ["Quán này đồ ăn rất ngon, nhân viên phục vụ nhiệt tình và giá cả hợp lý",
      "Món ăn dở tệ, phục vụ chậm chạp, sẽ không bao giờ quay lại quán này nữa"]
EN = ["I went there for fun but realised that it is extremely busy and the water is dirty"]


def test_detect_lang_counts_and_examples(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("text\n" + "\n".join(f'"{t}"' for t in VI + EN + ["ok"]), encoding="utf-8")
    result = CliRunner().invoke(app, ["detect-lang", str(path), "--keep", "vi", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["counts"] == {"vi": 2, "en": 1} and summary["too_short"] == 1
    assert summary["would_drop"] == 1 and summary["examples"][0]["index"] == 2


def test_keep_language_drops_rows_from_every_split():
    data = LabelledData({"train": Split(VI + EN, ["pos", "neg", "pos"]), "valid": Split(EN + VI[:1], ["neg", "pos"])},
                        source="mem")
    drop_other_languages(data, "vi", ["en", "id", "vi"])
    assert data.splits["train"].texts == VI and data.splits["valid"].labels == ["pos"]
    assert any("train: dropped 1 of 3 rows not in 'vi'" in n for n in data.notes)
    assert build_config(None, overrides=["preprocess.keep_language=\"vi\""]).preprocess.keep_language == "vi"


def test_vietnamese_bundle_segments_raw_text_like_the_segmented_form(tmp_path):
    import numpy as np

    from lstmtext.classifier import TextClassifier
    from lstmtext.preprocess import Pipeline

    pos = ["Quán này đồ ăn rất ngon và nhân viên nhiệt tình", "Không gian đẹp, giá cả hợp lý, sẽ quay lại",
           "Món nướng ngon tuyệt, phục vụ nhanh", "Nhân viên thân thiện, đồ uống ngon"]
    neg = ["Đồ ăn dở tệ, phục vụ chậm chạp", "Giá đắt mà chất lượng kém, thất vọng",
           "Nhân viên thái độ khó chịu, không quay lại", "Quán bẩn, món ăn nguội và nhạt"]
    clf = TextClassifier(preset=None, preprocess="vi-review", hidden_size=8, embedding_dim=8, epochs=5, batch_size=4)
    clf.fit(pos + neg, ["pos"] * 4 + ["neg"] * 4, valid_texts=pos + neg, valid_labels=["pos"] * 4 + ["neg"] * 4)
    clf.save(tmp_path / "vi")
    again = TextClassifier.load(tmp_path / "vi")
    raw = ["Nhân viên phục vụ nhiệt tình nhưng đồ ăn hơi nguội", "Không gian quán đẹp và giá cả hợp lý"]
    segmenter = Pipeline(["segment_vi"])
    segmented = [segmenter(t) for t in raw]
    assert all("_" in s for s in segmented) and segmented != raw  # the raw form really is unsegmented
    assert np.array_equal(again.predict_proba(raw), again.predict_proba(segmented))
    assert list(again.predict(raw)) == list(again.predict(segmented))
