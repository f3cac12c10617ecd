"""Multi-label classification: the three input layouts, thresholds tuned on valid, scores, a run end to end, and
one-line errors for bad files."""

import csv
import io
import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from helpers import MULTILABEL
from lstmtext.cli import app
from lstmtext.config import build_config
from lstmtext.errors import ConfigError, DataError
from lstmtext.tasks.metrics import multilabel_metrics
from lstmtext.tasks.multilabel.task import MultiLabel
from lstmtext.tasks.thresholds import best_threshold, micro_thresholds

FAST = ['data.label_col="labels"', 'data.split_col="split"', 'preprocess.preset="plain"', "vocab.num_words=100",
        "model.embedding_dim=16", "model.hidden_size=16", "model.embed_dropout=0.0", "train.epochs=40",
        "train.batch_size=4", "train.lr=0.03", 'train.monitor="valid_loss"',
        'train.precision="fp32"']  # the tiny model's exact labels are checked: the same on CPUs with and without bf16


def _cfg(*overrides, **sections):
    return build_config(None, overrides=list(overrides), extra={"task": "multilabel", **sections})


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_delimited_labels_are_sets_and_an_empty_cell_is_none_of_them():
    data = MultiLabel.load(MULTILABEL, _cfg(*FAST[:2]))
    train = data.splits["train"]
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 22, "valid": 5, "test": 5}
    assert train.labels[2] == ("billing", "staff") and () in train.labels
    task = MultiLabel.from_data(data, _cfg(*FAST[:2]))
    assert task.labels == ["billing", "late", "staff"]
    np.testing.assert_array_equal(task.targets([("billing", "staff"), ()]), [[1, 0, 1], [0, 0, 0]])


def test_jsonl_lists_and_01_columns_read_the_same_labels(tmp_path):
    rows = [("late and rude", ["late", "staff"]), ("fine", []), ("fee", ["billing"]), ("late", ["late"])]
    jsonl = _write(tmp_path, "d.jsonl", "\n".join(json.dumps({"text": t, "label": y}) for t, y in rows) + "\n")
    from_lists = MultiLabel.read_file(jsonl, _cfg()).split.labels
    wide = _write(tmp_path, "w.csv", "text,billing,late,staff\n" + "\n".join(
        f"{t},{int('billing' in y)},{int('late' in y)},{int('staff' in y)}" for t, y in rows) + "\n")
    table = MultiLabel.read_file(wide, _cfg(multilabel={"layout": "columns"}))
    assert from_lists == table.split.labels == [("late", "staff"), (), ("billing",), ("late",)]
    assert table.info["labels"] == ["billing", "late", "staff"]  # the columns, in file order


def test_a_listed_label_holding_the_separator_is_refused(tmp_path):
    """["a|b"] trained as one label, then every CSV output read it back as two."""
    path = _write(tmp_path, "d.jsonl", '{"text": "late", "label": ["late"]}\n{"text": "both", "label": ["a|b", "late"]}\n')
    with pytest.raises(DataError, match=r"d\.jsonl:2: the label 'a\|b' holds '\|', which joins a text's labels in "
                                        r"every CSV output.*another --label-sep"):
        MultiLabel.read_file(path, _cfg())
    assert MultiLabel.read_file(path, _cfg(multilabel={"label_sep": ";"})).split.labels == [("late",), ("a|b", "late")]


def test_a_text_on_two_rows_with_other_labels_is_refused_naming_both(tmp_path):
    """The long form (a row per text and label) trained each row as if its text had one label, and put copies of
    one text in train and test."""
    path = _write(tmp_path, "long.csv", "text,label\nlate and rude,late\nfine,\nlate and rude,staff\n")
    with pytest.raises(DataError, match=r"long\.csv:2 and .*long\.csv:4: the text 'late and rude' is on two rows with "
                                        r"other labels \(late; staff\)\. .*separated by '\|': merge the rows\."):
        MultiLabel.read_file(path, _cfg())
    same = _write(tmp_path, "same.csv", "text,label\nlate and rude,late|staff\nlate and rude,staff|late\n")
    assert MultiLabel.read_file(same, _cfg()).split.labels == [("late", "staff")] * 2  # a repeat: the duplicate note


def test_json_lists_in_csv_cells_and_label_col_naming_01_columns_read_the_same_labels(tmp_path):
    from lstmtext.pipeline.options import run_config

    rows = [("late and rude", ["late", "staff"]), ("fine", []), ("fee", ["billing"]), ("late", ["late"])]
    cells = _write(tmp_path, "c.csv", "text,label\n" + "\n".join(
        f'{t},"{json.dumps(y).replace(chr(34), 2 * chr(34))}"' for t, y in rows) + "\n")
    assert MultiLabel.read_file(cells, _cfg()).split.labels == [("late", "staff"), (), ("billing",), ("late",)]
    wide = _write(tmp_path, "w.csv", "text,billing,late,staff,stars\n" + "\n".join(
        f"{t},{int('billing' in y)},{int('late' in y)},{int('staff' in y)},5" for t, y in rows) + "\n")
    config = run_config(None, None, [], task="multilabel", label_col="late, billing")
    assert config.multilabel.layout == "columns" and config.multilabel.labels == ["late", "billing"]
    by_preset = run_config("multilabel", None, [], label_col="late,billing")  # the task from the preset, not --task
    assert by_preset.multilabel.layout == "columns" and by_preset.multilabel.labels == ["late", "billing"]
    assert MultiLabel.read_file(wide, config).split.labels == [("late",), (), ("billing",), ("late",)]
    bad = _write(tmp_path, "b.csv", "text,label\nok,\"['late']\"\n")
    with pytest.raises(DataError, match=r"b.csv:2: column 'label' holds \"\['late'\]\", which looks like a JSON list but is "
                                        r"not one \(.*\)\. Write it as \[\"a\", \"b\"\], with double quotes\."):
        MultiLabel.read_file(bad, _cfg())


@pytest.mark.parametrize("text,match", [
    ("text,label\na,x|y\nb,\nc,z\n", None),  # fine: the control case
    ("text,label\na,x;y\nb,y;z\nc,z\n", r"--label-sep '\|' splits no cell of column 'label', but ';' appears in 2 "
                                        r"of them .* Pass --label-sep ';'"),
    ("text,label\na,\nb,\n", r"no training text has a label \(column 'label' split by '\|'\)"),
])
def test_a_delimiter_that_splits_nothing_and_no_labels_at_all_are_errors(tmp_path, text, match):
    path = _write(tmp_path, "d.csv", text)
    cfg = _cfg('data.split_col="none"', "data.valid_size=0.34", "data.test_size=0.0")
    if match is None:
        assert MultiLabel.load(path, cfg)
        return
    with pytest.raises(DataError, match=match):
        MultiLabel.from_data(MultiLabel.load(path, cfg), cfg)


def test_mixed_layouts_and_bad_01_cells_name_the_row(tmp_path):
    mixed = _write(tmp_path, "m.jsonl", '{"text": "a", "label": ["x"]}\n{"text": "b", "label": "x|y"}\n')
    with pytest.raises(DataError, match=r"m\.jsonl:2: column 'label' mixes layouts: row .*m\.jsonl:1 holds a list"):
        MultiLabel.read_file(mixed, _cfg())
    bad = _write(tmp_path, "w.csv", "text,a,b\nt1,1,0\nt2,yes please,1\n")
    with pytest.raises(DataError, match=r"w\.csv:3: column 'a' holds 'yes please'; the columns layout needs 0 or 1"):
        MultiLabel.read_file(bad, _cfg(multilabel={"layout": "columns"}))
    empty = _write(tmp_path, "e.csv", "text,a,b\nt1,1,0\nt2,,1\n")
    with pytest.raises(DataError, match=r"e\.csv:3: column 'a' is empty; the columns layout needs 0 or 1"):  # 'holds nan'
        MultiLabel.read_file(empty, _cfg(multilabel={"layout": "columns"}))


def test_a_label_training_never_has_is_an_error_naming_the_row(tmp_path):
    train = _write(tmp_path, "train.csv", "text,label\na,x\nb,y\nc,x|y\n")
    valid = _write(tmp_path, "valid.csv", "text,label\nd,x\ne,y|z\n")
    cfg = _cfg()
    with pytest.raises(DataError, match=r"valid\.csv:3: label 'z' does not occur in the training split"):
        MultiLabel.from_data(MultiLabel.load(train, cfg, valid_path=valid), cfg)
    zeros = _write(tmp_path, "w.csv", "text,a,b,split\nt1,1,0,train\nt2,1,0,train\nt3,0,1,valid\n")
    cols = _cfg('data.split_col="split"', multilabel={"layout": "columns"})
    with pytest.raises(DataError, match=r"label 'b' never occurs in the training split.* or leave its column out of "
                                        r"--label-col a,b,c \(multilabel\.labels\)\.$"):
        MultiLabel.from_data(MultiLabel.load(zeros, cols), cols)


def test_best_threshold_maximises_the_labels_f1():
    y = np.array([1, 1, 0, 1, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.3, 0.1])
    # cuts: top 1 F1 2/4, top 2 4/5, top 3 4/6, top 4 6/7 (best), top 5 6/8 ... -> between 0.6 and 0.3
    assert best_threshold(y, p) == pytest.approx(0.45)
    assert best_threshold(np.zeros(3), np.array([0.2, 0.4, 0.9])) == 0.5  # no positive: the default
    # the best cut would split the two 0.7s (F1 1); a cut never falls between equal probabilities, so the best
    # allowed one takes both (F1 2/3, against 1/2 for all three), half-way to the 0.2
    assert best_threshold(np.array([1, 0, 0]), np.array([0.7, 0.7, 0.2])) == pytest.approx(0.45)


def test_micro_thresholds_reach_the_best_pooled_f1_and_keep_a_badly_ranked_rare_label_out():
    import itertools

    rng = np.random.default_rng(0)
    y = np.zeros((12, 3))
    y[:6, 0] = 1  # a common label, well ranked
    y[[0, 3, 7, 9], 1] = 1
    y[11, 2] = 1  # a rare label whose one text the model ranks last but one
    p = np.column_stack([np.r_[rng.uniform(0.6, 0.9, 6), rng.uniform(0.1, 0.5, 6)],
                         np.round(rng.uniform(0, 1, 12), 2), np.r_[np.linspace(0.3, 0.05, 11), 0.04]])
    p[10, 2] = 0.03

    def micro(t):
        d = p >= np.asarray(t)
        tp = (y * d).sum()
        return 2 * tp / (2 * tp + (d & (y == 0)).sum() + ((~d) & (y == 1)).sum())

    tuned = micro_thresholds(y, p)
    grid = [sorted({1.0, *((a + b) / 2 for a, b in zip(np.sort(p[:, j])[::-1], np.r_[np.sort(p[:, j])[::-1][1:], 0]))})
            for j in range(3)]
    assert micro(tuned) == pytest.approx(max(micro(t) for t in itertools.product(*grid)))  # the best of every cut
    assert (p[:, 2] >= tuned[2]).sum() == 0  # the rare label is predicted for no text
    assert (p[:, 2] >= best_threshold(y[:, 2], p[:, 2])).sum() == 11  # its own F1 would predict it for 11 of 12


def test_micro_thresholds_keep_unseen_labels_at_half_and_their_extreme_cuts_mean_all_or_none():
    y = np.array([[1, 0], [0, 0], [1, 0], [0, 0]])
    p = np.array([[0.9, 0.6], [0.1, 0.2], [0.8, 0.1], [0.2, 0.3]])
    assert micro_thresholds(y, p)[1] == 0.5  # no valid text has label 1: it is not switched off for good
    y, p = np.array([[0], [0], [1], [0]]), np.array([[1.0], [1.0], [0.0], [0.0]])  # saturated sigmoids
    t = micro_thresholds(y, p)[0]
    d = p[:, 0] >= t
    tp = (d & (y[:, 0] == 1)).sum()
    assert 2 * tp / (2 * tp + (d & (y[:, 0] == 0)).sum() + ((~d) & (y[:, 0] == 1)).sum()) == pytest.approx(0.4)


def test_the_monitor_scores_the_decisions_the_run_would_tune():
    """A model that ranks well but under 0.5 (early epochs, rare labels) scores what its tuned cut gives, not 0."""
    task = MultiLabel(["a", "b"], _cfg())
    targets = torch.tensor([[1, 0], [0, 1], [0, 0], [1, 1]], dtype=torch.float32)
    logits = torch.where(targets > 0, -1.0, -3.0)  # every p under 0.5, the labelled ones higher
    assert task.monitor_scores(logits, targets) == {"accuracy": 1.0, "macro_f1": 1.0, "micro_f1": 1.0}
    fixed = MultiLabel(["a", "b"], _cfg("multilabel.threshold=0.5"))
    assert fixed.monitor_scores(logits, targets)["micro_f1"] == 0.0


def test_metrics_values():
    y = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0], [1, 1, 0]])
    pred = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 0, 1]])
    m = multilabel_metrics(y, pred, ["a", "b", "c"])
    # label a: tp 2 -> F1 1; b: tp 1, fn 1 -> 2/3; c: tp 0, fn 1, fp 1 -> 0; micro: tp 3, fp 1, fn 2 -> 6/9
    assert m["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3) and m["micro_f1"] == pytest.approx(6 / 9)
    assert m["subset_accuracy"] == m["accuracy"] == pytest.approx(2 / 4)
    assert m["hamming_loss"] == pytest.approx(3 / 12)
    # samples: row 1 F1 2/3, row 2 1, row 3 (nothing true, nothing predicted) 1, row 4 1/2
    assert m["samples_f1"] == pytest.approx((2 / 3 + 1 + 1 + 1 / 2) / 4)
    assert m["per_class"]["b"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2,
                                   "predicted": 1}
    assert m["texts_without_label"] == 1


def test_macro_f1_leaves_out_a_label_the_split_lacks_and_nothing_predicts():
    # label c: no text has it, nothing predicts it: no F1 to count (single-label macro-F1 leaves such a class out)
    y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]])
    m = multilabel_metrics(y, y.copy(), ["a", "b", "c"])
    assert m["macro_f1"] == 1.0 and m["per_class"]["c"]["support"] == 0
    wrong = y.copy()
    wrong[0, 2] = 1  # predicted once, never true: F1 0, and it counts
    assert multilabel_metrics(y, wrong, ["a", "b", "c"])["macro_f1"] == pytest.approx(2 / 3)
    task = MultiLabel(["a", "b", "c"], _cfg())
    logits = torch.tensor(np.where(y == 1, 5.0, -5.0), dtype=torch.float32)
    assert task.monitor_scores(logits, torch.tensor(y, dtype=torch.float32))["macro_f1"] == 1.0


def test_objective_is_binary_cross_entropy_with_balanced_positive_weights():
    task = MultiLabel(["a", "b"], _cfg())
    targets = np.array([[1, 0], [0, 0], [1, 1], [0, 0]], dtype=np.float32)
    plain = task.objective(targets, _cfg().train)
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.0], [-1.0, 1.0], [0.0, 3.0]])
    y = torch.from_numpy(targets)
    assert torch.isclose(plain.loss(logits, y), torch.nn.functional.binary_cross_entropy_with_logits(logits, y))
    weighted = task.objective(targets, _cfg('train.class_weight="balanced"').train)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, pos_weight=torch.tensor([1.0, 3.0]))
    assert torch.isclose(weighted.loss(logits, y), expected)  # a: 2 negatives / 2 positives, b: 3 / 1


def test_oversampling_is_refused_in_one_line(tmp_path):
    from lstmtext.pipeline import run

    with pytest.raises(ConfigError, match="train.oversample cannot be combined with --task multilabel"):
        run(_cfg(*FAST, 'train.oversample="random"'), MULTILABEL, tmp_path / "o", progress=False)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from lstmtext.pipeline import run

    out = tmp_path_factory.mktemp("ml") / "run"
    return out, run(_cfg(*FAST), MULTILABEL, out, progress=False)


def test_tiny_run_learns_tunes_thresholds_saves_and_reloads(tiny_run):
    from lstmtext.inference.predictor import Predictor

    out, result = tiny_run
    assert result.history[-1]["train_accuracy"] == 1.0  # every label of every training text right
    thresholds = json.loads((out / "model" / "task.json").read_text())["thresholds"]
    assert len(thresholds) == 3 and all(0 < t < 1 for t in thresholds)
    m = result.metrics["test"]
    assert {"micro_f1", "macro_f1", "samples_f1", "subset_accuracy", "hamming_loss"} <= set(m)
    assert [m["per_class"][x]["threshold"] for x in ("billing", "late", "staff")] == pytest.approx(thresholds)
    predictor = Predictor.from_bundle(out)
    texts = ["late again and the crew was rude", "a nice view"]
    first = predictor.predict(texts)
    assert first[0].labels == ["late", "staff"] and first[1].labels == []
    one = predictor.predict(texts, top_k=1)  # a list's length, never the answer (it picked the k best, unlike serve)
    assert one[0].labels == first[0].labels and one[0].top_k == first[0].top_k[:1]
    assert predictor.predict(texts, threshold=0.999)[1].labels == []
    assert sorted(predictor.predict(texts, threshold=0.0)[1].labels) == sorted(predictor.labels)  # a cut at 0: all
    with pytest.raises(ConfigError, match=r"--threshold \(threshold\) must be in \[0, 1\], as the CLI's; got 1\.5"):
        predictor.predict(texts, threshold=1.5)  # it answered no label, silently
    # min_confidence judges a chosen label by p, a left-out one by 1 - p
    row = np.array([[0.04, 0.95, 0.005]])  # billing, late, staff
    record = predictor.task.predictions(row, threshold=0.01, min_confidence=0.9)[0]
    assert record.labels == ["late"] and record.unsure == ["billing"]
    assert predictor.task.predictions(row, threshold=0.5, min_confidence=0.9)[0].unsure == []
    np.testing.assert_allclose(Predictor.from_bundle(out / "model").predict_proba(texts), predictor.predict_proba(texts))
    assert (out / "per_label_test.png").stat().st_size > 5_000 and "per-label F1" in (out / "report.html").read_text()


def test_cli_train_predict_evaluate_a_multilabel_model(tiny_run, tmp_path):
    out, result = tiny_run
    runner = CliRunner()
    res = runner.invoke(app, ["predict", str(out), "late again and the crew was rude", "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[0] == "text,labels,unsure,top_k,probabilities,no_known_word,truncated"
    assert "late|staff" in res.output.splitlines()[1]
    row = next(csv.DictReader(io.StringIO(res.output)))  # every label's probability, as a single-label CSV has it
    assert set(json.loads(row["probabilities"])) == set(json.loads((tiny_run[0] / "model" / "labels.json").read_text()))
    text, sure = "late again and the crew was rude", ["--min-confidence", "1"]  # only p = 1.0 is sure enough
    record = json.loads(runner.invoke(app, ["predict", str(out), text, *sure]).output)
    row = runner.invoke(app, ["predict", str(out), text, "--format", "csv", *sure]).output.splitlines()[1].split(",")
    assert record["unsure"] and row[1:3] == ["|".join(record["labels"]), "|".join(record["unsure"])]
    res = runner.invoke(app, ["predict", str(out), "late again", "--only-mentioned"])
    assert res.exit_code == 1 and "--only-mentioned (only_mentioned) does not apply to a 'multilabel' model" in str(res.exception)
    res = runner.invoke(app, ["evaluate", str(out), str(MULTILABEL), "--label-col", "labels"])
    assert res.exit_code == 0 and "micro_f1" in res.output
    # a multi-label model's accuracy is its subset accuracy: named so, as report.md names it
    assert "subset_accuracy " in res.output and "accuracy" not in res.output.replace("subset_accuracy", "")
    # the same rows written another way: labels joined by ';', or one 0/1 column per label
    import pandas as pd

    frame = pd.read_csv(MULTILABEL, keep_default_na=False)
    semi, wide = tmp_path / "semi.csv", tmp_path / "wide.csv"
    frame.assign(labels=frame["labels"].str.replace("|", ";")).to_csv(semi, index=False)
    names = sorted({n for cell in frame["labels"] for n in cell.split("|") if n})
    frame.assign(**{n: [int(n in cell.split("|")) for cell in frame["labels"]] for n in names}).drop(
        columns="labels").to_csv(wide, index=False)
    expected = runner.invoke(app, ["evaluate", str(out), str(MULTILABEL), "--label-col", "labels"]).output
    assert runner.invoke(app, ["evaluate", str(out), str(semi), "--label-col", "labels", "--label-sep", ";"]).output \
        == expected
    assert runner.invoke(app, ["evaluate", str(out), str(wide), "--label-col", ",".join(names)]).output == expected
    res = runner.invoke(app, ["evaluate", str(out), str(wide), "--label-col", ",".join(names[1:])])  # one left out
    assert res.exit_code == 1 and str(res.exception) == (
        f"--label-col names {len(names) - 1} of the model's {len(names)} labels, not {names[0]!r}. Name a column for "
        "every label (0 in every row for a label no text has).")
    # a model trained on 0/1 columns scores the delimited file too, and an empty separator is one line
    columns = tmp_path / "columns"
    res = runner.invoke(app, ["train", str(wide), "--task", "multilabel", "--label-col", ",".join(names), "--split-col",
                              "split", "--out", str(columns), "--quiet", "--set", "train.epochs=1",
                              "--set", "model.embedding.kind=\"random\""])
    assert res.exit_code == 0, res.output
    on_columns = runner.invoke(app, ["evaluate", str(columns), str(wide)])
    on_labels = runner.invoke(app, ["evaluate", str(columns), str(MULTILABEL), "--label-col", "labels", "--label-sep", "|"])
    assert on_columns.exit_code == 0 and on_labels.exit_code == 0, on_labels.output
    assert on_labels.output.replace(MULTILABEL.name, "F") == on_columns.output.replace(wide.name, "F")
    # a file plainly in the other layout is read so without the flags: the delimited one named by --label-col
    # alone (it had asked to fix multilabel.labels), the 0/1 one by a model of label names (multilabel/absa review)
    alone = runner.invoke(app, ["evaluate", str(columns), str(MULTILABEL), "--label-col", "labels"])
    assert alone.exit_code == 0 and alone.output.replace(MULTILABEL.name, "F") == on_columns.output.replace(wide.name, "F")
    assert runner.invoke(app, ["evaluate", str(out), str(wide)]).output.replace(wide.name, "F") == \
        expected.replace(MULTILABEL.name, "F")
    res = runner.invoke(app, ["evaluate", str(out), str(MULTILABEL), "--label-col", "labels", "--label-sep", ""])
    assert res.exit_code == 1 and str(res.exception) == ("--label-sep must not be empty: give what separates a "
                                                         "text's labels, e.g. '|'.")
    cli = tmp_path / "cli"
    res = runner.invoke(app, ["train", str(MULTILABEL), "--task", "multilabel", "--label-col", "labels", "--label-sep",
                              "|", "--split-col", "split", "--out", str(cli), "--quiet", "--set", "train.epochs=2",
                              "--set", "model.embedding.kind=\"random\""])
    assert res.exit_code == 0, res.output
    assert json.loads((cli / "model" / "config.json").read_text())["task"] == "multilabel"
    res = runner.invoke(app, ["train", str(MULTILABEL), "--label-sep", "|", "--out", str(tmp_path / "x")])
    assert res.exit_code == 1 and "--label-sep needs --task multilabel" in str(res.exception)


def test_streamed_multilabel_run_trains_as_in_memory(tmp_path):
    from lstmtext.pipeline import run

    cfg = _cfg(*FAST, "train.epochs=3")
    memory = run(cfg, MULTILABEL, tmp_path / "m", progress=False)
    streamed = run(cfg, MULTILABEL, tmp_path / "s", progress=False, stream=True, chunk_size=1000)
    assert streamed.history == memory.history and streamed.metrics["test"] == memory.metrics["test"]


def test_compare_with_the_one_vs_rest_baseline(tmp_path):
    from lstmtext.experiments.compare import compare
    from lstmtext.experiments.compare_report import report_markdown
    from lstmtext.pipeline import load_data

    data = load_data(_cfg(*FAST[:2]), MULTILABEL)
    report = compare(data, ["lstm"], seeds=1, base={"task": "multilabel"}, preprocess="plain", mode="sequential",
                     workers=1, overrides=["train.epochs=2", "model.embedding_dim=8", "model.hidden_size=8",
                                           'model.embedding.kind="random"'])
    model, baseline = report["runs"]
    assert baseline["model"] == "tfidf_logreg" and len(baseline["C"]) == 3  # one regression per label
    assert {"micro_f1", "valid_micro_f1"} <= set(model) and 0 <= baseline["micro_f1"] <= 1
    assert "micro-F1" in report_markdown(report) and "one-vs-rest" in report_markdown(report)


def test_cv_and_learning_curve_run_without_strata():
    from lstmtext.experiments.cv import cross_validate
    from lstmtext.experiments.learning_curve import learning_curve
    from lstmtext.pipeline import load_data

    cfg = _cfg(*FAST, "train.epochs=2")
    data = load_data(cfg, MULTILABEL)
    folds = cross_validate(cfg, data, folds=3, mode="sequential", workers=1, metric="micro_f1")
    assert [f["n_heldout"] for f in folds["folds"]] == [9, 9, 9]
    assert list(folds["mean"]) == ["micro_f1", "macro_f1", "samples_f1", "accuracy", "weighted_f1"]
    from lstmtext.experiments.cv import cv_markdown

    head, _, *rows = cv_markdown(folds).splitlines()
    assert head.startswith("| fold | held-out texts | micro-F1 | macro-F1 | samples-F1 | accuracy |")
    assert rows[0].split(" | ")[2] == f"{folds['folds'][0]['micro_f1']:.4f}"
    curve = learning_curve(cfg, data, [10, 22], seeds=1, mode="sequential", workers=1, metric="samples_f1")
    assert [r["n_train"] for r in curve["runs"]] == [10, 22] and "test_samples_f1" in curve["runs"][0]
    # the tables' accuracy is subset accuracy: said under them, as compare's table says it (it was not)
    from lstmtext.experiments.learning_curve import curve_markdown

    said = "Multi-label: accuracy is subset accuracy (every label of a text right)"
    assert said in curve_markdown(curve).splitlines()[-1] and said in cv_markdown(folds)
    with pytest.raises(ConfigError, match=r"--metric 'micro_f1': not a score of --task classify\. Choose one of "
                                          r"macro_f1, accuracy, weighted_f1\."):
        cross_validate(build_config(None), data, folds=3, metric="micro_f1")


def test_cv_folds_keep_the_whole_label_space_when_a_folds_training_rows_lack_a_rare_label(tmp_path):
    """Plain folds (no strata) can leave a rare label out of a fold's training rows: the fold then learns it as
    absent instead of stopping the cross-validation."""
    from lstmtext.experiments.cv import cross_validate
    from lstmtext.pipeline import load_data

    rows = [f"late again {i},late" for i in range(12)] + [f"rude staff {i},staff" for i in range(12)] + \
        ["wifi was down,wifi"]  # one row only: whichever fold holds it out trains without it
    path = _write(tmp_path, "d.csv", "text,labels\n" + "\n".join(rows) + "\n")
    cfg = _cfg(*FAST[:1], *FAST[2:], "train.epochs=2", "data.split_col=\"none\"")
    folds = cross_validate(cfg, load_data(cfg, path, whole=True), folds=3, mode="sequential", workers=1)
    assert sum(f["n_heldout"] for f in folds["folds"]) == 25
    assert all({"late", "staff"} <= set(f["per_class_recall"]) for f in folds["folds"])
    # wifi is held out in one fold only: the others have no recall for it (it read 0, "never found" in cv.md)
    assert sum("wifi" in f["per_class_recall"] for f in folds["folds"]) == 1


def test_an_explanation_covers_at_most_the_six_most_probable_chosen_labels():
    from lstmtext.tasks.prediction import Prediction

    names = [f"l{i}" for i in range(10)]
    task = MultiLabel(names, _cfg())
    record = Prediction(labels=names, probabilities={n: 0.5 + i / 100 for i, n in enumerate(names)})
    assert [output.name for output in task.explained_outputs(record)] == ["l9", "l8", "l7", "l6", "l5", "l4"]
    # the cut is said (a review: 9 labels chosen, 6 explained, nothing in the CLI or POST /explain said so)
    assert {output.note for output in task.explained_outputs(record)} == {
        "the 6 most probable of the 10 labels chosen are explained"}
    six = Prediction(labels=names[:6], probabilities=record.probabilities)
    assert {output.note for output in task.explained_outputs(six)} == {""}
    none_chosen = Prediction(labels=[], top_k=[{"label": "l3", "score": 0.4}], probabilities={"l3": 0.4})
    assert task.explained_outputs(none_chosen) == [("l3", 3, "no label is chosen; the most probable one")]



def test_an_unknown_label_in_an_evaluated_file_is_named_as_unknown_to_the_model():
    task = MultiLabel(["a", "b"], _cfg())
    assert task.unknown(("a", "z"), "evaluated") == "label 'z' is not one the model knows (a, b). Check --label-col."
    assert "does not occur in the training split" in task.unknown(("z",), "valid")
    assert task.unknown(("a", "b"), "evaluated") is None


def test_top_k_ranks_labels_and_never_chooses_them():
    # predict --top-k 3 decided 3 labels whatever their thresholds, while the server's top_k only cut the list
    task = MultiLabel(["a", "b", "c"], _cfg())
    proba = np.array([[0.9, 0.6, 0.1]])
    found = task.predictions(proba, top_k=1, threshold=0.5)[0]
    assert found.labels == ["a", "b"] and found.top_k == [{"label": "a", "score": 0.9}]
    assert task.predictions(proba, top_k=3, threshold=0.95)[0].labels == []


def test_label_columns_named_twice_or_holding_the_separator_and_a_null_in_a_list_are_refused(tmp_path):
    """--label-col billing,late,late trained two outputs named late (predict's probabilities kept one); a column
    named staff|crew read back as two labels from every CSV output; ["billing", null] learnt a label 'None'
    (multilabel/absa review)."""
    path = _write(tmp_path, "cols.csv", "text,billing,late,staff|crew\nlost bag,1,0,1\nlate again,0,1,0\n")
    with pytest.raises(DataError, match=r"cols\.csv: the label column 'late' is named twice"):
        MultiLabel.read_file(path, _cfg(multilabel={"layout": "columns", "labels": ["billing", "late", "late"]}))
    with pytest.raises(DataError, match=r"cols\.csv: the label column 'staff\|crew' holds '\|', which joins a text's "
                                        r"labels in every CSV output"):
        MultiLabel.read_file(path, _cfg(multilabel={"layout": "columns"}))
    assert MultiLabel.read_file(path, _cfg(multilabel={"layout": "columns", "label_sep": ";"})).split.labels == [
        ("billing", "staff|crew"), ("late",)]
    lists = _write(tmp_path, "lists.csv", 'text,label\nlost bag,"[""billing"", null]"\n')
    with pytest.raises(DataError, match=r"lists\.csv:2: column 'label' holds .* with null among the labels\. Leave it "
                                        r"out of the list"):
        MultiLabel.read_file(lists, _cfg())


def test_a_separator_that_leaves_another_inside_the_labels_is_said(tmp_path, caplog):
    """--label-sep '_' over HoASA-style 'ac_neg|wifi_pos' cells trained 33 labels such as 'neg|wifi' without a
    word (multilabel/absa review): the separator check fired only when the given one split no cell."""
    path = _write(tmp_path, "hoasa.csv", "text,label\nac mati,ac_neg|wifi_pos\nbersih,kebersihan_pos\n"
                                         "panas,ac_neg\n")
    MultiLabel.read_file(path, _cfg(multilabel={"label_sep": "_"}))
    assert f"{path}: --label-sep '_' leaves '|' inside the labels of 1 cells of column 'label' (e.g. 'ac_neg|wifi_pos'): " \
        "if '|' separates the labels, pass --label-sep '|'." in caplog.text
    caplog.clear()
    assert MultiLabel.read_file(path, _cfg()).split.labels == [("ac_neg", "wifi_pos"), ("kebersihan_pos",), ("ac_neg",)]
    assert "leaves" not in caplog.text
