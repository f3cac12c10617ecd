"""Aspect models: the several-head wrapper, the objective, the scores, oversampling, and a tiny run end to end."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from helpers import ABSA_LONG
from helpers import ABSA_WIDE as WIDE
from lstmtext.config import ModelConfig, build_config
from lstmtext.encoding.batching import EncodedSplit, predict_logits
from lstmtext.models import OutputLayout, build_model
from lstmtext.models.heads import MultiHeadClassifier
from lstmtext.tasks.absa.metrics import aspect_metrics, summary_scores
from lstmtext.tasks.absa.task import AspectSentiment

TINY = ['data.split_col="split"', 'preprocess.preset="plain"', "vocab.num_words=100", "model.embedding_dim=16",
        "model.hidden_size=16", "model.embed_dropout=0.0", "train.epochs=30", "train.batch_size=4", "train.lr=0.03",
        'train.monitor="valid_loss"', "train.eval_batch_size=5"]


def _task(labels):
    return AspectSentiment(labels, build_config(None, extra={"task": "absa"}))


def test_several_output_groups_wrap_the_base_in_one_head_per_group():
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="bilstm", embedding_dim=8, hidden_size=6), 30, OutputLayout((3, 4)),
                        head_names=["a", "b"])
    assert isinstance(model, MultiHeadClassifier) and model.head_names == ["a", "b"]
    model.eval()
    seqs = [[2, 3, 4], [5], [6, 7, 8, 9, 10], [3, 3]]
    logits = predict_logits(model, seqs, batch_size=4)
    assert tuple(logits.shape) == (4, 7)  # the heads side by side
    alone = torch.cat([predict_logits(model, [s], batch_size=1) for s in seqs])
    assert torch.allclose(logits, alone, atol=1e-5)  # padding never leaks into a text's prediction


def test_objective_is_the_mean_of_the_aspects_cross_entropies():
    task = _task({"a": ["neg", "pos"], "b": ["neg", "neut", "pos"]})
    logits = torch.tensor([[2.0, 0.0, 0.0, 3.0, 0.0], [0.0, 1.0, 1.0, 0.0, 0.0]])
    y = torch.tensor([[0, 1], [1, 2]])
    ce = torch.nn.functional.cross_entropy
    expected = (ce(logits[:, :2], y[:, 0]) + ce(logits[:, 2:], y[:, 1])) / 2
    objective = task.objective(y.numpy(), build_config(None).train)
    assert torch.isclose(objective.loss(logits, y), expected)
    summary = objective.summarize(logits, y)
    assert summary["accuracy"] == pytest.approx(0.75)  # 3 of the 4 aspect predictions are right
    assert objective.correct(logits, y) == pytest.approx(1.5)  # rows right, averaged over the aspects


def test_one_aspects_training_accuracy_counts_rows_right():
    task = _task({"fuel": ["neg", "neut", "pos"]})
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    y = torch.tensor([[0], [1], [0]])  # (B, 1): compared with (B,) it broadcast, and train_accuracy read 24.6
    objective = task.objective(y.numpy(), build_config(None).train)
    assert objective.correct(logits, y) == 2.0


def test_flat_and_mean_aspect_macro_f1_values():
    labels = {"a": ["neg", "neut", "pos"], "b": ["neg", "neut", "pos"]}
    y_true = np.array([[0, 1], [1, 1], [2, 1], [1, 0]])
    y_pred = np.array([[0, 1], [1, 1], [1, 1], [1, 1]])
    s = summary_scores(y_true, y_pred, labels)
    # aspect a: neg 1, neut 4/5 (p 2/3, r 1), pos 0 -> 3/5; aspect b: neut 6/7 (p 3/4, r 1), neg 0 -> 3/7
    assert s["mean_aspect_macro_f1"] == pytest.approx((3 / 5 + 3 / 7) / 2)
    # flattened: neg (p 1, r 1/2) 2/3; neut (p 5/7, r 1) 5/6; pos 0 -> mean 1/2
    assert s["flat_macro_f1"] == pytest.approx((2 / 3 + 5 / 6 + 0) / 3)
    m = aspect_metrics(y_true, y_pred, labels)
    assert m["macro_f1"] == s["flat_macro_f1"] and m["accuracy"] == pytest.approx(6 / 8)
    assert m["exact_match"] == pytest.approx(2 / 4)
    assert m["aspects"]["b"]["confusion_matrix"] == [[0, 1, 0], [0, 3, 0], [0, 0, 0]]


def test_labels_absent_from_truth_and_predictions_do_not_count():
    labels = {"a": ["neg", "neg_pos", "neut"]}  # neg_pos known from training, absent here
    s = summary_scores(np.array([[0], [2]]), np.array([[0], [2]]), labels)
    assert s["flat_macro_f1"] == 1.0 and s["mean_aspect_macro_f1"] == 1.0


def test_oversampling_raises_every_pair_to_its_aspects_majority(caplog):
    labels = np.array([[0, 0]] * 8 + [[1, 0], [1, 1], [2, 0], [0, 1]])  # a: 9/2/1, b: 10/2
    split = EncodedSplit([[i + 2] for i in range(len(labels))], labels)
    with caplog.at_level("INFO", logger="lstmtext.tasks.sampling"):
        out = _task({"a": ["n", "x", "y"], "b": ["n", "x"]}).oversample(split, seed=0)
    # the counts by label name, as docs/absa.md quotes them (the log said "a 0=9 1=2 2=1")
    assert "class counts before: a n=9 x=2 y=1; b n=10 x=2" in caplog.text
    assert out.sequences[: len(labels)] == split.sequences  # originals first, then copies
    a, b = np.bincount(out.targets[:, 0], minlength=3), np.bincount(out.targets[:, 1], minlength=2)
    assert a[1] >= 9 and a[2] >= 9 and b[1] >= 10
    copies = out.targets[len(labels):]
    assert not ((copies[:, 0] == 0) & (copies[:, 1] == 0)).any()  # only rows with a rare pair are copied


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from lstmtext.pipeline import run

    out = tmp_path_factory.mktemp("absa") / "run"
    cfg = build_config(None, overrides=TINY, extra={"task": "absa"})
    return out, run(cfg, WIDE, out, progress=False)


def test_tiny_run_overfits_saves_reloads_and_predicts_the_same(tiny_run):
    from lstmtext.inference.predictor import Predictor

    out, result = tiny_run
    assert result.history[-1]["train_accuracy"] == 1.0 and result.history[-1]["train_loss"] < 0.05
    cfg = build_config(None, overrides=TINY, extra={"task": "absa"})
    train = AspectSentiment.load(WIDE, cfg).splits["train"]
    predictor = Predictor.from_bundle(out)
    assert predictor.task.aspects == ["food", "service", "price"]
    proba = predictor.predict_proba(train.texts)
    assert proba.shape == (len(train), 9)  # three aspects of three classes, side by side
    pred = np.stack([proba[:, s].argmax(1) for s in predictor.task.layout.slices()], 1)
    np.testing.assert_array_equal(pred, predictor.task.targets(train.labels))  # overfit: every aspect right
    again = Predictor.from_bundle(out / "model")
    np.testing.assert_allclose(again.predict_proba(train.texts), proba, atol=1e-6)
    first = predictor.predict(train.texts[:2])[0]
    assert list(first.aspects) == ["food", "service", "price"] and first.aspects["price"].label == "negative"
    assert sum(first.aspects["food"].probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    only = predictor.predict(["harga mahal sekali"], only_mentioned=True)[0]
    assert list(only.aspects) == ["price"]
    # unsure answers for every aspect: those whose best guess is 'not mentioned' still stay out
    nm = predictor.task.config.absa.not_mentioned[0]
    row = np.zeros(9)
    for (aspect, names), part in zip(predictor.task.labels.items(), predictor.task.layout.slices()):
        best = nm if aspect != "price" else next(n for n in names if n != nm)
        row[part] = [0.4 if n == best else 0.3 for n in names]
    unsure = predictor.task.predictions(row[None], only_mentioned=True, min_confidence=0.9)[0]
    assert list(unsure.aspects) == ["price"] and unsure.aspects["price"].abstained


def test_tiny_run_writes_reports_and_scores(tiny_run):
    out, result = tiny_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"valid", "test", "summary"}
    assert metrics["valid"]["flat_macro_f1"] == pytest.approx(result.metrics["valid"]["flat_macro_f1"])
    assert set(metrics["test"]["aspects"]) == {"food", "service", "price"}
    report = (out / "report.md").read_text()
    assert "flat_macro_f1" in report and "mean_aspect_macro_f1" in report and "### test: price" in report
    assert (out / "confusion_test.png").stat().st_size > 10_000
    assert json.loads((out / "model" / "labels.json").read_text())["food"] == ["negative", "neutral", "positive"]


def test_evaluate_file_dispatches_to_aspect_scores(tiny_run, tmp_path):
    from lstmtext.pipeline.evaluate import evaluate_file

    out, result = tiny_run
    test_rows = [line for line in WIDE.read_text().splitlines()[1:] if line.endswith(",test")]
    path = tmp_path / "test.csv"
    path.write_text("text,food,service,price,split\n" + "\n".join(test_rows) + "\n")
    metrics = evaluate_file(out, path, out=tmp_path / "eval")
    assert metrics["flat_macro_f1"] == pytest.approx(result.metrics["test"]["flat_macro_f1"]) and "notes" not in metrics
    assert (tmp_path / "eval" / "confusion.png").is_file() and (tmp_path / "eval" / "report.md").is_file()


def test_explain_units_says_aspect_models_have_no_gate_view(tiny_run):
    from lstmtext.errors import ConfigError
    from lstmtext.explain.model import explain_model

    out, _ = tiny_run  # the advice was to train with model.name=lstm and pooling=last, which this model is
    with pytest.raises(ConfigError, match=r"^explain --units: .* is an aspect model \(3 softmax output groups\); the gate "
                                          r"view reads single-label models only\. Its word attributions cover every "
                                          r"model and task: `lstmtext explain MODEL TEXT` without --units\.$"):
        explain_model(out, "harga mahal", units=True)
    assert any("pushed by" in str(part) for part in explain_model(out, "harga mahal"))  # the attributions


def test_evaluate_reads_a_file_in_the_other_layout(tiny_run, tmp_path):
    from lstmtext.pipeline.evaluate import evaluate_file

    out, result = tiny_run  # trained on the wide file
    long_test = [line for line in ABSA_LONG.read_text().splitlines()[1:] if line.endswith(",test")]
    path = tmp_path / "test_long.csv"
    path.write_text("text,aspect,polarity,split\n" + "\n".join(long_test) + "\n")
    metrics = evaluate_file(out, path)  # it said: no column 'food' for aspect 'food' ... Fix --aspects
    assert metrics["flat_macro_f1"] == pytest.approx(result.metrics["test"]["flat_macro_f1"])
    assert metrics["n"] == result.metrics["test"]["n"]
    other = tmp_path / "other.csv"  # another data set's aspects: evaluate has no --aspects to fix it with
    other.write_text("text,ac,wifi\nkamar dingin,positive,neutral\nwifi lambat,neutral,negative\n")
    from lstmtext.errors import DataError

    with pytest.raises(DataError, match=r"other.csv: no column 'food', an aspect of the training data or model \(food, "
                                        r"service, price\)\. Columns in the file: 'text', 'ac', 'wifi'\. Give a file"):
        evaluate_file(out, other)


def test_evaluating_a_file_of_masked_labels_warns(tiny_run, tmp_path, caplog):
    from lstmtext.pipeline.evaluate import evaluate_file

    out, _ = tiny_run
    import pandas as pd

    texts = pd.read_csv(WIDE)["text"].tolist()[:5]
    path = tmp_path / "masked.csv"  # IndoNLU's test_preprocess_masked_label: one placeholder label everywhere
    pd.DataFrame({"text": texts, "food": "neutral", "service": "neutral", "price": "neutral"}).to_csv(path, index=False)
    metrics = evaluate_file(out, path)
    # (these five are training texts too, which evaluate now also says)
    assert [n for n in metrics["notes"] if n.endswith("every text has the same label ('(no aspect)'): a file with "
                                                      "masked labels (as IndoNLU's test_preprocess_masked_label)? Its "
                                                      "scores say nothing")]
    assert any("masked labels" in r.getMessage() for r in caplog.records)


def test_cli_predict_and_evaluate_an_aspect_model(tiny_run):
    from lstmtext.cli import app

    out, _ = tiny_run
    runner = CliRunner()
    result = runner.invoke(app, ["predict", str(out), "harga mahal sekali", "--only-mentioned"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output.strip())
    assert list(record["aspects"]) == ["price"] and record["aspects"]["price"]["label"] == "negative"
    assert len(record["aspects"]["price"]["top_k"]) == 3 and len(record["aspects"]["price"]["probabilities"]) == 3
    result = runner.invoke(app, ["predict", str(out), "harga mahal sekali", "--format", "csv"])
    assert result.output.splitlines()[0] == ("text,food,food_score,service,service_score,price,price_score,abstained,"
                                            "no_known_word,truncated")
    unsure = runner.invoke(app, ["predict", str(out), "harga mahal sekali", "--format", "csv", "--min-confidence", "1"])
    row = unsure.stdout.splitlines()[1].split(",")  # every aspect unsure at 1.0: said, not only empty cells
    assert row[1] == row[3] == row[5] == "" and row[7] == "food|service|price"
    result = runner.invoke(app, ["evaluate", str(out), str(WIDE)])
    assert result.exit_code == 0 and "flat_macro_f1" in result.output and "per aspect" in result.output


def test_cli_train_task_absa(tmp_path):
    from lstmtext.cli import app

    out = tmp_path / "cli"
    args = ["train", str(WIDE), "--task", "absa", "--aspects", "food,price", "--out", str(out), "--split-col", "split",
            "--quiet", "--set", 'model.embedding.kind="random"', "--set", "train.epochs=2",
            "--set", "model.hidden_size=8", "--set", "model.embedding_dim=8"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "flat_macro_f1" in result.output
    config = json.loads((out / "model" / "config.json").read_text())["lstmtext"]
    assert config["task"] == "absa" and config["absa"]["aspects"] == ["food", "price"]
    assert config["model"]["name"] == "bilstm"  # --task absa starts from the absa preset


def test_the_absa_preset_cleans_with_id_aspect_unless_another_cleaning_is_asked_for():
    from lstmtext.config.presets import task_preset
    from lstmtext.preprocess import preprocess_preset
    from lstmtext.preprocess.presets import build_pipeline

    steps = build_pipeline(build_config(task_preset("absa"))).steps
    assert steps == preprocess_preset("id-aspect")["steps"] and "remove_stopwords_id" not in steps
    chosen = build_config(task_preset("absa"), overrides=['preprocess.preset="en-tweet"'])
    assert build_pipeline(chosen).steps == preprocess_preset("en-tweet")["steps"]


@pytest.mark.parametrize("name,pooling", [("bilstm", "max"), ("gru", "last"), ("bilstm_attn", "max")])
def test_aspect_attention_heads_ignore_padding_and_weigh_real_steps(name, pooling):
    torch.manual_seed(0)
    cfg = ModelConfig(name=name, embedding_dim=8, hidden_size=6, pooling=pooling)
    model = build_model(cfg, 30, OutputLayout((3, 2, 4)), head_names=["a", "b", "c"], head_attention=5).eval()
    seqs = [[2, 3, 4], [5], [6, 7, 8, 9, 10], [3, 3]]
    logits = predict_logits(model, seqs, batch_size=4)
    assert tuple(logits.shape) == (4, 9)
    alone = torch.cat([predict_logits(model, [s], batch_size=1) for s in seqs])
    assert torch.allclose(logits, alone, atol=1e-5)
    ids = torch.tensor([[2, 3, 4, 0, 0], [6, 7, 8, 9, 10]])
    with torch.no_grad():
        w = model.aspect_attention(ids, torch.tensor([3, 5]))  # (B, T, K)
    assert w.shape == (2, 5, 3) and torch.allclose(w.sum(1), torch.ones(2, 3))
    assert torch.equal(w[0, 3:], torch.zeros(2, 3))  # no weight on padding
    assert not torch.allclose(w[1, :, 0], w[1, :, 1])  # each aspect its own query


def test_aspect_attention_needs_a_recurrent_encoder():
    from lstmtext.errors import ConfigError

    with pytest.raises(ConfigError, match="needs a recurrent architecture"):
        build_model(ModelConfig(name="cnn", embedding_dim=8), 30, OutputLayout((3, 3)), head_attention=4)


def test_attention_head_run_overfits_saves_and_reloads(tmp_path):
    from lstmtext.inference.predictor import Predictor
    from lstmtext.pipeline import run

    cfg = build_config(None, overrides=[*TINY, 'absa.head="attention"', "absa.attention_size=8"],
                       extra={"task": "absa"})
    result = run(cfg, WIDE, tmp_path / "run", progress=False)
    assert result.history[-1]["train_accuracy"] == 1.0
    from lstmtext.pipeline.evaluate import evaluate_file

    test_rows = [line for line in WIDE.read_text().splitlines()[1:] if line.endswith(",test")]
    (tmp_path / "test.csv").write_text("text,food,service,price,split\n" + "\n".join(test_rows) + "\n")
    reloaded = evaluate_file(tmp_path / "run", tmp_path / "test.csv", out=tmp_path / "eval")  # scored as trained
    assert reloaded["flat_macro_f1"] == pytest.approx(result.metrics["test"]["flat_macro_f1"])
    assert reloaded["accuracy"] == pytest.approx(result.metrics["test"]["accuracy"])
    # evaluate --out wrote no calibration: its ECE and the valid split's cuts on this file, as the run's test has them
    mine, run_test = reloaded["calibration"], result.metrics["test"]["calibration"]
    for key in ("ece_before", "ece_after", "accuracy"):
        assert mine[key] == pytest.approx(run_test[key], abs=1e-6), key
    assert mine["at_chosen_cuts"].keys() == run_test["at_chosen_cuts"].keys() == {"90%", "80%"}
    for cut in ("90%", "80%"):
        assert mine["at_chosen_cuts"][cut]["coverage"] == pytest.approx(run_test["at_chosen_cuts"][cut]["coverage"])
    assert "Calibration and unsure answers" in (tmp_path / "eval" / "report.html").read_text()
    assert "at the cuts chosen on valid" in (tmp_path / "eval" / "report.md").read_text()
    predictor = Predictor.from_bundle(tmp_path / "run")
    proba = predictor.predict_proba(["harga mahal sekali"])
    assert all(np.allclose(proba[:, s].sum(1), 1.0, atol=1e-5) for s in predictor.task.layout.slices())
    assert json.loads((tmp_path / "run" / "model" / "config.json").read_text())["lstmtext"]["absa"]["head"] == "attention"


def test_a_text_with_no_aspect_mentioned_is_explained_by_the_closest_and_says_so():
    task = AspectSentiment({"food": ["negative", "neutral", "positive"], "price": ["negative", "neutral", "positive"]},
                           build_config(None, extra={"task": "absa"}))
    proba = np.array([[0.2, 0.7, 0.1, 0.05, 0.9, 0.05]])  # both aspects "neutral", the not-mentioned label
    [record] = task.predictions(proba)
    # it read "food=neutral" as if the model had said food is mentioned and neutral
    assert task.explained_outputs(record) == [("food=neutral", 1, "no aspect is mentioned; the closest one")]
    [said] = task.predictions(np.array([[0.2, 0.7, 0.1, 0.8, 0.1, 0.1]]))
    assert task.explained_outputs(said) == [("price=negative", 3, "")]


def test_the_not_mentioned_label_is_found_whatever_its_case(tmp_path):
    """A file of Neutral/Positive/Negative: 'Neutral' is its not-mentioned label (it was 'neutral', no label of the
    model, so --only-mentioned listed every aspect and absa-convert wrote fuel_Neutral for every text)."""
    import pandas as pd

    from lstmtext.tasks.absa.data import find_not_mentioned

    assert find_not_mentioned({"Negative", "Neutral", "Positive"}, ["neutral", "neut", "none"]) == "Neutral"
    assert find_not_mentioned({"negative", "positive"}, ["neutral", "neut", "none"]) is None
    assert find_not_mentioned({"neutral", "Neutral", "positive"}, ["neutral", "neut", "none"]) == "neutral"  # exact first
    frame = pd.read_csv(WIDE)
    for aspect in ("food", "service", "price"):
        frame[aspect] = frame[aspect].str.capitalize()
    path = tmp_path / "cap.csv"
    frame.to_csv(path, index=False)
    task = AspectSentiment.from_data(AspectSentiment.load(path, build_config(None, overrides=TINY,
                                                                              extra={"task": "absa"})),
                                     build_config(None, extra={"task": "absa"}))
    assert task.not_mentioned == "Neutral"
    row = np.zeros(task.layout.total)
    for (aspect, names), part in zip(task.labels.items(), task.layout.slices()):
        row[part] = [0.8 if n == ("Negative" if aspect == "price" else "Neutral") else 0.2 / (len(names) - 1)
                     for n in names]
    assert list(task.predictions(row[None], only_mentioned=True)[0].aspects) == ["price"]


def test_a_valid_file_in_the_other_layout_names_the_layouts_and_the_conversion(tmp_path):
    from lstmtext.errors import DataError

    wide = build_config(None, overrides=["preprocess.preset=\"plain\"", "data.split_col=\"split\""], extra={"task": "absa"})
    long_ = build_config(None, overrides=["preprocess.preset=\"plain\"", "data.split_col=\"split\"", 'absa.layout="long"'],
                         extra={"task": "absa"})
    with pytest.raises(DataError, match=r"its columns 'aspect' and 'polarity' are the long layout .* training file is "
                                        r"in the wide one .* `lstmtext absa-convert .*absa_tiny_long.csv OUT --text-col "
                                        r"text --aspects food,service,price --not-mentioned neutral` rewrites it as "
                                        r"wide, with the training file's aspects and not-mentioned label\.$"):
        AspectSentiment.load(WIDE, wide, valid_path=ABSA_LONG)  # it said "no column 'food'. Fix --aspects"
    with pytest.raises(DataError, match=r"absa_tiny.csv: a column per aspect \(food, price, service\) is the wide "
                                        r"layout, but the training file is in the long one .* then train on OUT without "
                                        r"absa.layout=\"long\"\.$"):
        AspectSentiment.load(ABSA_LONG, long_, valid_path=WIDE)  # it advised absa.layout="wide", for both files


def test_a_detected_column_that_shares_no_label_with_the_aspects_is_refused(tmp_path):
    import pandas as pd

    from lstmtext.errors import DataError

    frame = pd.read_csv(WIDE)
    frame["source"] = ["web", "app"] * (len(frame) // 2) + ["web"] * (len(frame) % 2)
    path = tmp_path / "src.csv"
    frame.to_csv(path, index=False)
    config = build_config(None, overrides=['data.split_col="split"'], extra={"task": "absa"})
    with pytest.raises(DataError, match=r"column 'source' shares no label with the other aspects \(it holds app, web\)"
                                        r".* --aspects a,b,c"):
        AspectSentiment.load(path, config)  # it trained a fourth aspect 'source' [app, web], into flat macro-F1
    named = build_config(None, overrides=['data.split_col="split"', 'absa.aspects=["food", "service", "price"]'],
                         extra={"task": "absa"})
    assert AspectSentiment.load(path, named).info["aspects"] == ["food", "service", "price"]


def test_label_col_is_refused_for_aspect_models_not_ignored(tiny_run, tmp_path):
    """train --task absa --label-col fuel trained every aspect without a word (evaluate too)."""
    from lstmtext.cli import app
    from lstmtext.errors import ConfigError

    res = CliRunner().invoke(app, ["train", str(WIDE), "--task", "absa", "--label-col", "food", "--out", str(tmp_path / "x")])
    assert isinstance(res.exception, ConfigError) and str(res.exception) == (
        "--label-col does not apply to --task absa: its labels are its aspect columns: name them with --aspects "
        "(e.g. --aspects food), or leave --label-col out.")
    assert not (tmp_path / "x").exists()
    res = CliRunner().invoke(app, ["evaluate", str(tiny_run[0]), str(WIDE), "--label-col", "food"])
    assert isinstance(res.exception, ConfigError) and str(res.exception) == (
        "--label-col does not apply to this model (--task absa): its labels are its aspect columns (food, service, "
        "price), or in a long file its 'aspect' and 'polarity' columns. Leave --label-col out.")


def test_a_split_column_of_train_val_test_is_told_apart_from_an_aspect(tmp_path):
    """'val', which every other reader takes for valid, was not a split name here: the column was refused as an
    aspect sharing no label, without the --split-col advice (structure review)."""
    import csv

    from lstmtext.cli import app

    with WIDE.open(encoding="utf-8", newline="") as fh:
        rows = [["val" if cell == "valid" else cell for cell in row] for row in csv.reader(fh)]
    data = tmp_path / "val.csv"
    with data.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    res = CliRunner().invoke(app, ["train", str(data), "--task", "absa", "--out", str(tmp_path / "x")])
    assert "column 'split' holds only test, train, val: a split column" in str(res.exception)
    assert "Pass --split-col split" in str(res.exception)


def test_label_col_with_the_long_layout_points_to_the_polarity_column(tmp_path):
    from lstmtext.cli import app
    from lstmtext.errors import ConfigError

    res = CliRunner().invoke(app, ["train", str(ABSA_LONG), "--task", "absa", "--set", 'absa.layout="long"',
                                   "--label-col", "polarity", "--out", str(tmp_path / "x")])
    assert isinstance(res.exception, ConfigError) and "--set absa.polarity_col=..." in str(res.exception)


def test_a_long_layout_file_refused_by_stream_is_told_how_to_stream(tmp_path):
    """The refusal said only "Drop --stream": absa-convert writes the wide layout, which streams."""
    from lstmtext.errors import ConfigError
    from lstmtext.pipeline import run

    config = build_config("absa", overrides=['absa.layout="long"', "model.ensemble=1", 'model.embedding.kind="random"'])
    with pytest.raises(ConfigError, match=r'^--stream cannot read this --task absa data: absa.layout = "long" groups '
                                          r"rows by text over the whole file\. Rewrite it in the wide layout, which "
                                          r"streams \(lstmtext absa-convert FILE wide\.csv, with --split-col if it "
                                          r"has one\), and train on that without absa\.layout = \"long\"; or drop "
                                          r"--stream\.$"):
        run(config, ABSA_LONG, tmp_path / "r", valid_path=ABSA_LONG, stream=True)
