"""Language filtering end to end: `detect-lang` and `preprocess.keep_language` in a training run."""

import json

from typer.testing import CliRunner

from lstmtext.cli import app
from lstmtext.config import build_config
from lstmtext.data import LabelledData, Split
from lstmtext.runner import drop_other_languages

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
