"""Experiments: grid and TPE search with resume, learning-curve subsets, cross-validation, imbalance, CLI."""

import csv
import json
import logging
import pickle
import re
from collections import Counter

import pytest
from typer.testing import CliRunner

from helpers import TINY_OVERRIDES, ctrl_c_at_call
from helpers import load_labelled as load_data
from lstmtext.cli import app
from lstmtext.config import build_config
from lstmtext.data import LabelledData, Split
from lstmtext.errors import ConfigError, DataError
from lstmtext.experiments import search as search_mod
from lstmtext.experiments.cv import cross_validate, fold_rows, write_cv
from lstmtext.experiments.learning_curve import (
    fewest_rows,
    learning_curve,
    nested_subsets,
    stratified_order,
    write_learning_curve,
)
from lstmtext.experiments.pool import failed_job_warnings, holding_warnings, score_job, warn_afresh
from lstmtext.experiments.search import search, trial_records_of
from lstmtext.experiments.search_report import with_sessions, write_search_report
from lstmtext.experiments.space import parse_space

FAST = [*TINY_OVERRIDES, "train.epochs=2"]
GRID = ["train.batch_size=4,8", "train.lr=0.01,0.03"]


@pytest.fixture(scope="module")
def tiny_data(tiny_path):
    return load_data(tiny_path, build_config(None, overrides=FAST).data)


@pytest.fixture
def base():
    return build_config(None, overrides=FAST)


def test_tiny_grid_runs_end_to_end_and_writes_every_report(base, tiny_data, tmp_path):
    space = parse_space(base, GRID)
    summary = search(base, tiny_data, tmp_path, space, mode="sequential", workers=1)
    assert summary["ran"] == 4 and summary["complete"] == 4 and summary["failed"] == 0
    records = trial_records_of(tmp_path)
    points = {(r["params"]["train.batch_size"], r["params"]["train.lr"]) for r in records}
    assert points == {(4, 0.01), (4, 0.03), (8, 0.01), (8, 0.03)}
    assert all(0 <= r["value"] <= 1 and r["value"] == r["valid_macro_f1"] and "test_macro_f1" in r for r in records)
    paths = write_search_report(tmp_path, records, space, "macro_f1", base, summary)
    assert len(paths["csv"].read_text().strip().splitlines()) == 5
    assert paths["markdown"].read_text().startswith("| trial | train.batch_size | train.lr | valid macro_f1")
    best = build_config(None, paths["best"])  # the best config is a loadable TOML file
    assert best.train.batch_size == summary["best"]["params"]["train.batch_size"]
    assert best.train.lr == summary["best"]["params"]["train.lr"] and best.preprocess.preset == base.preprocess.preset
    assert paths["heatmap"].read_bytes()[:4] == b"\x89PNG" and paths["trials"].is_file()
    page = paths["html"].read_text()
    assert page.count("data:image/png;base64,") == 2 and 'src="http' not in page
    assert "<th>valid accuracy</th>" in page  # the page's trials had one score column where results.md has two
    from lstmtext.experiments.search_report import _param

    assert [_param(v) for v in (0.0085, 0.000138699, 64, "x")] == ["0.0085", "0.0001387", "64", "x"]  # one format
    # another search's report in the same folder (after --overwrite): a one-key grid has no heat map, and the
    # earlier one is not left beside it
    one_key = parse_space(base, ["train.lr=0.03,0.01"])
    assert "heatmap" not in write_search_report(tmp_path, records, one_key, "macro_f1", base, summary)
    assert not (tmp_path / "search_heatmap.png").exists()
    from lstmtext.experiments.search_report import _ordered

    assert _ordered([0.01, 0.001, 0.003]) == [0.001, 0.003, 0.01] and _ordered(["b", 1]) == ["b", 1]  # axes in order


def test_an_interrupted_grid_resumes_with_only_the_unfinished_trials(base, tiny_data, tmp_path, monkeypatch, caplog):
    calls = []

    def killed_on_third(job, data=None):
        calls.append(job["key"])
        if len(calls) == 3:
            raise KeyboardInterrupt  # the process dies in the middle of trial 2
        return score_job(job, data)

    space = parse_space(base, GRID)
    monkeypatch.setattr(search_mod, "score_job", killed_on_third)
    with pytest.raises(KeyboardInterrupt):
        search(base, tiny_data, tmp_path, space, mode="sequential", workers=1)
    states = Counter(r["state"] for r in trial_records_of(tmp_path))
    assert states == {"COMPLETE": 2, "RUNNING": 1}
    # the stopped call's facts are kept by the library (they were written by the command line only)
    stopped = json.loads((tmp_path / "search.json").read_text())["sessions"]
    assert [(s["ran"], s["mode"], s["workers"], s["threads_per_run"]) for s in stopped] == [(2, "sequential", 1, 1)]
    calls.clear()
    monkeypatch.setattr(search_mod, "score_job", lambda job, data=None: calls.append(job["key"]) or score_job(job, data))
    summary = search(base, tiny_data, tmp_path, space, mode="sequential", workers=2)  # resumed on 2 threads a run
    assert len(calls) == 2 and summary["ran"] == 2  # the interrupted point and the one never started
    assert (summary["mode"], summary["threads_per_run"], summary["source"]) == ("sequential", 2, tiny_data.source)
    assert with_sessions(tmp_path, summary)["ran"] == 4  # this call's trials and the stopped call's
    assert "earlier trials trained with 1 thread(s) each and these train with 2 (--mode sequential)" in caplog.text
    records = trial_records_of(tmp_path)
    assert sorted(r["threads"] for r in records if r["state"] == "COMPLETE") == [1, 1, 2, 2]  # each trial's own
    csv_head = write_search_report(tmp_path, records, space, "macro_f1", base, summary)["csv"].read_text()
    assert csv_head.splitlines()[0].endswith("epochs_run,best_epoch,train_seconds,threads,error")
    assert "failed" not in (tmp_path / "results.md").read_text()  # the interrupted point completed on resume
    assert Counter(r["state"] for r in records) == {"COMPLETE": 4, "FAIL": 1}
    done = {(r["params"]["train.batch_size"], r["params"]["train.lr"]) for r in records if r["state"] == "COMPLETE"}
    assert len(done) == 4
    calls.clear()
    assert search(base, tiny_data, tmp_path, space, mode="sequential", workers=1)["ran"] == 0 and not calls


def test_tpe_search_counts_complete_trials_towards_the_total(base, tiny_data, tmp_path):
    space = parse_space(base, space=["train.lr=1e-3:1e-1:log", "model.hidden_size=8,16", "train.epochs=1:2"])
    first = search(base, tiny_data, tmp_path, space, trials=2, mode="sequential", workers=1)
    assert first["ran"] == 2
    again = search(base, tiny_data, tmp_path, space, trials=3, mode="sequential", workers=1)
    assert again["ran"] == 1 and again["complete"] == 3
    params = [r["params"] for r in trial_records_of(tmp_path)]
    assert all(1e-3 <= p["train.lr"] <= 1e-1 and p["model.hidden_size"] in (8, 16) and p["train.epochs"] in (1, 2)
               for p in params)
    # the resumed session draws new points: the sampler's seed again had it repeat the first session's trials
    assert params[2] not in params[:2]
    assert len({p["train.lr"] for p in params}) == 3


UNCALIBRATED = [*FAST, "train.calibrate_min_texts=100000"]  # every run's valid split is too small: each one warns


def _said(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "too few to fit a temperature on" in r.getMessage()]


def test_a_note_every_trial_makes_is_shown_once(tiny_data, tmp_path, caplog):
    base = build_config(None, overrides=UNCALIBRATED)
    with caplog.at_level(logging.WARNING):
        summary = search(base, tiny_data, tmp_path, parse_space(base, ["train.lr=0.01,0.03"]), mode="sequential",
                         workers=1)
    assert summary["complete"] == 2 and len(_said(caplog)) == 1
    result = score_job({"key": 0, "config": base.model_dump(mode="json")}, tiny_data)
    assert [m for m in result["warnings"] if "too few to fit a temperature on" in m] == _said(caplog)


def test_a_failed_jobs_warnings_go_with_its_error_to_the_parent(caplog):
    warn_afresh()
    with caplog.at_level(logging.WARNING), pytest.raises(RuntimeError) as info:
        with holding_warnings():
            logging.getLogger("lstmtext.tasks").warning("the valid split holds 3 texts")
            raise RuntimeError("no rows left")
    assert not caplog.records  # not shown in the job (a pool worker's process and format)
    error = pickle.loads(pickle.dumps(info.value))  # as a process pool sends it back
    assert error.held_warnings == ["the valid split holds 3 texts"]
    with caplog.at_level(logging.WARNING):
        failed_job_warnings(error)
    assert [(r.name, r.getMessage()) for r in caplog.records] == [("lstmtext.experiments.pool", "the valid split holds 3 texts")]


@pytest.mark.slow  # two spawned workers each import torch: ~40 s on the loaded 2-core machine
def test_search_in_a_pool_of_two_processes(tiny_data, tmp_path, caplog):
    base = build_config(None, overrides=UNCALIBRATED)
    space = parse_space(base, ["train.lr=0.01,0.03"])
    with caplog.at_level(logging.WARNING):
        summary = search(base, tiny_data, tmp_path, space, mode="pool", workers=2)
    assert summary["complete"] == 2
    assert len(_said(caplog)) == 1  # each worker had printed its own copy, in its bare format


def test_a_data_error_stops_a_search_before_its_trials(base, tiny_data, tmp_path):
    test = tiny_data.splits["test"]
    odd = LabelledData({**tiny_data.splits, "test": Split(test.texts, ["testonly", *test.labels[1:]])},
                       tiny_data.source, tiny_data.info)
    with pytest.raises(DataError, match="'testonly' appears in the test split but not in the training split"):
        search(base, odd, tmp_path, parse_space(base, GRID), mode="sequential", workers=1)  # each trial had failed
    assert not trial_records_of(tmp_path)


def test_a_timeout_starts_no_new_trial(base, tiny_data, tmp_path):
    summary = search(base, tiny_data, tmp_path, parse_space(base, GRID), timeout=1e-9, mode="sequential", workers=1)
    assert summary["ran"] == 0 and summary["stopped_by_timeout"]


@pytest.mark.parametrize(("grid", "space", "message"), [
    (["train.batchsize=16,32"], None, r"--grid 'train.batchsize': not a config key. Did you mean 'train.batch_size'\?"),
    (["train.batch_size=0,16"], None, r"--grid train.batch_size=0: .*greater than or equal to 1"),
    (["data.text_col=a,b"], None, r"--grid 'data.text_col': data.\* keys choose the rows"),
    (["model=1,2"], None, r"--grid 'model': a section, not a key"),
    (["train.lr"], None, r"--grid 'train.lr': expected key=values"),
    (["train.lr=1e-3"], ["train.epochs=1:3"], "--grid and --space cannot be mixed"),
    (["train.lr=1e-3,0.01,0.001"], None, r"--grid train.lr: 0.001 is listed twice"),
    (["model.dropout=0.0,0.5"], None, r"--grid model.dropout=0.5 does nothing with model.num_layers=1: .*"
                                      r"Use model.rnn_input_dropout"),
    (None, ["train.lr=1e-2:1e-3"], r"--space train.lr='1e-2:1e-3': a range is low:high"),
    (None, ["model.hidden_size=8.0:32"], r"--space model.hidden_size='8.0:32': the setting takes whole numbers.*"
                                         r"model.hidden_size=8:32\."),
    (None, None, "give --grid key=a,b"),
    (["model.name=lstm,nosuch"], None, r"--grid model.name='nosuch': unknown architecture 'nosuch'\. Available: .*lstm"),
    # the same value as the config reads it: one grid point run twice, one choice drawn twice as often
    (["train.batch_size=32,32.0"], None, r"--grid train.batch_size: 32 and 32.0 are the same value"),
    (None, ["train.lr=1e-3,0.001"], r"--space train.lr: 0.001 is listed twice"),
    (None, ["train.batch_size=16,16"], r"--space train.batch_size: 16 is listed twice"),
    (None, ["train.lr="], r"--space 'train.lr': no values"),  # Optuna's traceback
])
def test_bad_search_options_are_one_line_config_errors(base, grid, space, message):
    with pytest.raises(ConfigError, match=message):
        parse_space(base, grid, space)


def test_bad_counts_are_refused_before_any_trial(base, tiny_data, tmp_path, tiny_path):
    space = parse_space(base, ["train.lr=1e-3"])
    for kwargs, message in [({"trials": 0}, "--trials must be at least 1"), ({"timeout": -5}, "--timeout above 0")]:
        with pytest.raises(ConfigError, match=message):  # 0 trials ran one; a negative timeout none, with a report
            search(base, tiny_data, tmp_path / "s", space, mode="sequential", workers=1, **kwargs)
    assert not (tmp_path / "s").exists()
    for command in ("search", "cv", "learning-curve", "compare", "audit"):  # --workers 0 read as "every core"
        extra = ["--grid", "train.lr=1e-3"] if command == "search" else []
        res = CliRunner().invoke(app, [command, str(tiny_path), "--workers", "0", "--out", str(tmp_path / command), *extra])
        assert res.exit_code == 1 and str(res.exception) == "--workers must be at least 1 (or left out: every core); " \
            "got 0.", (command, res.output)


def test_a_key_the_architecture_does_not_read_is_refused_unless_the_architecture_varies_too(base):
    cnn = build_config("cnn", overrides=FAST)
    with pytest.raises(ConfigError, match=r"--grid model.hidden_size: the 'cnn' architecture does not read it"):
        parse_space(cnn, ["model.hidden_size=16,64"])
    with pytest.raises(ConfigError, match=r"--space model.bidirectional: the 'bilstm' architecture does not read it"):
        parse_space(build_config("bilstm", overrides=FAST), space=["model.bidirectional=true,false"])
    assert parse_space(cnn, ["model.hidden_size=16,64", "model.name=cnn,lstm"]).grid  # lstm reads it
    assert parse_space(base, ["model.hidden_size=16,64"]).grid  # the lstm default
    # an option the architecture has not, or a value it refuses: every trial failed with it, one after another
    with pytest.raises(ConfigError, match=r"^--grid model.options.num_filters=10: model.options.num_filters: not an "
                                          r"option of architecture 'lstm'\."):
        parse_space(base, ["model.options.num_filters=10,20"])
    with pytest.raises(ConfigError, match=r"^--space model.options.weight_drop=7: .* must be a number in \[0, 1\)"):
        parse_space(base, space=["model.options.weight_drop=0.1,7"])
    assert parse_space(cnn, ["model.options.num_filters=10,20"]).grid == {"model.options.num_filters": [10, 20]}
    with pytest.raises(ConfigError, match=r"^--grid model.options.num_filters=10 \(with model.name='lstm': every "
                                          r"architecture searched meets every value\): .*not an option of architecture"):
        parse_space(base, ["model.name=cnn,lstm", "model.options.num_filters=10,20"])  # every lstm point failed


def test_dropout_between_layers_is_searchable_with_two_layers(base):
    assert parse_space(build_config(None, overrides=[*FAST, "model.num_layers=2"]), ["model.dropout=0.0,0.5"]).grid


def test_a_folder_holding_another_search_is_refused(base, tiny_data, tmp_path):
    search(base, tiny_data, tmp_path, parse_space(base, ["train.lr=0.01"]), mode="sequential", workers=1)
    with pytest.raises(ConfigError, match="holds another search"):
        search(base, tiny_data, tmp_path, parse_space(base, ["train.lr=0.02"]), mode="sequential", workers=1)
    again = search(base, tiny_data, tmp_path / "y", parse_space(base, ["train.lr=0.01,0.02"]), mode="sequential",
                   workers=1)
    # the same grid listed in another order is the same search: resumed, nothing to run
    same = search(base, tiny_data, tmp_path / "y", parse_space(base, ["train.lr=0.02,0.01"]), mode="sequential",
                  workers=1)
    assert (again["ran"], same["ran"], same["complete"]) == (2, 0, 2)
    with pytest.raises(ConfigError, match="--space needs --trials"):
        search(base, tiny_data, tmp_path / "x", parse_space(base, space=["train.lr=0.01,0.02"]))
    (tmp_path / "z").mkdir()
    (tmp_path / "z" / "study.db").write_text("not a database", encoding="utf-8")  # SQLAlchemy's traceback
    with pytest.raises(ConfigError, match=r"study\.db: cannot read it as a search's study .*--overwrite"):
        search(base, tiny_data, tmp_path / "z", parse_space(base, ["train.lr=0.01"]), mode="sequential", workers=1)
    # overwrite starts afresh from Python too (only the command line could: it deleted the study itself)
    fresh = search(base, tiny_data, tmp_path, parse_space(base, ["train.lr=0.02"]), mode="sequential", workers=1,
                   overwrite=True)
    assert (fresh["ran"], fresh["complete"]) == (1, 1) and fresh["best"]["params"] == {"train.lr": 0.02}


LABELS = ["a"] * 100 + ["b"] * 50 + ["c"] * 30


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learning_curve_subsets_are_nested_and_stratified(seed):
    subsets = nested_subsets(LABELS, [18, 45, 90, 180], seed)
    sizes = sorted(subsets)
    for small, large in zip(sizes, sizes[1:]):
        assert set(subsets[small]) <= set(subsets[large])
    share = {c: n / len(LABELS) for c, n in Counter(LABELS).items()}
    for size, rows in subsets.items():
        assert len(rows) == len(set(rows)) == size
        counts = Counter(LABELS[i] for i in rows)
        assert all(abs(counts[c] - size * share[c]) < 1 + 1e-9 for c in share), (size, counts)


def test_learning_curve_subsets_differ_between_seeds_and_check_sizes():
    assert stratified_order(LABELS, 0) != stratified_order(LABELS, 1)
    with pytest.raises(ConfigError, match="--sizes must be between 1 and the 180 training rows"):
        nested_subsets(LABELS, [10, 181], 0)
    rare = ["a"] * 98 + ["b"] * 2
    with pytest.raises(DataError, match="leave out class 'b'") as err:
        nested_subsets(rare, [5], 0)
    advised = int(str(err.value).split("Start the sizes at ")[1].split()[0])  # it had advised 20, leaving b out too
    assert nested_subsets(rare, [advised], 0)  # the fewest rows that hold b
    with pytest.raises(DataError, match="leave out class 'b'"):
        nested_subsets(rare, [advised - 1], 0)
    seeds = [1, 2, 3, 5]  # a curve's seeds: the advice holds for each of them, not only the one that failed
    with pytest.raises(DataError) as err:
        nested_subsets(rare, [5], 1, seeds=seeds)
    advised = int(str(err.value).split("Start the sizes at ")[1].split()[0])
    assert all(nested_subsets(rare, [advised], seed, seeds=seeds) for seed in seeds)
    assert advised == max(fewest_rows(rare, seed) for seed in seeds) > fewest_rows(rare, 1)


def test_learning_curve_run_seeds_reach_the_language_model_and_wrap(base, tiny_data, monkeypatch):
    from lstmtext.experiments import learning_curve as lc

    jobs = []
    monkeypatch.setattr(lc, "run_jobs", lambda found, *args: jobs.extend(found))
    lm = base.model_copy(deep=True)
    lm.train.pretrain, lm.lm.seed = True, 7
    learning_curve(lm, tiny_data, [12], seeds=3, mode="sequential", workers=1)
    assert [(j["config"]["train"]["seed"], j["config"]["lm"]["seed"]) for j in jobs] == [(42, 7), (43, 8), (44, 9)]
    jobs.clear()
    learning_curve(base, tiny_data, [12], seeds=2, mode="sequential", workers=1)  # no language model: its seed stays
    assert [(j["config"]["train"]["seed"], j["config"]["lm"]["seed"]) for j in jobs] == [(42, 42), (43, 42)]
    jobs.clear()  # shares of the training split, from Python too (only the command line read them)
    n_train = len(tiny_data.splits["train"])
    learning_curve(base, tiny_data, [0.5, 1.0, n_train], seeds=1, mode="sequential", workers=1)
    assert sorted({j["key"][0] for j in jobs}) == [round(0.5 * n_train), n_train]
    with pytest.raises(ConfigError, match=r"--sizes: a share of the training split is in \(0, 1\]; got 1\.5"):
        learning_curve(base, tiny_data, [1.5], seeds=1, mode="sequential", workers=1)
    jobs.clear()
    top = base.model_copy(deep=True)
    top.train.seed, top.model.ensemble = 2**64 - 1, 2  # seeds wrap as an ensemble's members do (a ValidationError)
    learning_curve(top, tiny_data, [12], seeds=2, mode="sequential", workers=1)
    assert [j["config"]["train"]["seed"] for j in jobs] == [2**64 - 1, 1]


def test_learning_curve_end_to_end_keeps_valid_and_test_whole_and_resumes(base, tiny_data, tmp_path):
    report = learning_curve(base, tiny_data, [6, 12, 24], seeds=2, mode="sequential", workers=1, out_dir=tmp_path)
    assert [(r["size"], r["seed"]) for r in report["runs"]] == [(6, 42), (6, 43), (12, 42), (12, 43), (24, 42), (24, 43)]
    assert all(r["n_train"] == r["size"] for r in report["runs"])
    assert [s["size"] for s in report["summary"]] == [6, 12, 24] and report["eval_split"] == "test"
    assert report["summary"][0]["test_macro_f1_std"] >= 0 and report["summary"][0]["runs"] == 2
    paths = write_learning_curve(report, tmp_path, reference={6: 0.5, 24: 0.9})
    assert "| 6 |" in paths["markdown"].read_text() and " ± " in paths["markdown"].read_text()
    assert paths["chart"].read_bytes()[:4] == b"\x89PNG" and "base64," in paths["html"].read_text()
    again = learning_curve(base, tiny_data, [6, 12, 24], seeds=2, mode="sequential", workers=1, out_dir=tmp_path)
    assert again["runs_reused"] == 6 and again["runs"] == report["runs"]
    part = learning_curve(base, tiny_data, [6], seeds=1, mode="sequential", workers=1, out_dir=tmp_path)
    assert part["runs_reused"] == 1 and part["runs"] == report["runs"][:1]  # what it used, not what was saved
    write_learning_curve(part, tmp_path)  # the curve of one size keeps the other sizes' runs for later
    row = next(line for line in (tmp_path / "learning_curve.md").read_text().splitlines() if line.startswith("| 6 |"))
    assert " ± " not in row  # one run per size: no spread to show (it had printed ± 0.0000)
    assert len(json.loads((tmp_path / "learning_curve.json").read_text())["runs"]) == 6
    other = base.model_copy(deep=True)
    other.train.epochs += 1  # another config: its curve would silently replace this one's runs
    with pytest.raises(ConfigError, match=r"learning_curve\.json: this folder holds another learning curve .*6 runs.*"
                                          r"--overwrite"):
        learning_curve(other, tiny_data, [6], seeds=1, mode="sequential", workers=1, out_dir=tmp_path)
    fresh = learning_curve(other, tiny_data, [6], seeds=1, mode="sequential", workers=1, out_dir=tmp_path,
                           overwrite=True)
    assert fresh["runs_reused"] == 0 and len(fresh["runs"]) == 1
    # a run reused under other --workers keeps the threads it ran on (the table had only this command's)
    more = learning_curve(other, tiny_data, [6], seeds=2, mode="sequential", workers=2, out_dir=tmp_path)
    assert more["runs_reused"] == 1 and [r["threads"] for r in more["runs"]] == [1, 2]
    del more["runs"][0]["threads"]  # a run saved by an older lstmtext, without the field
    write_learning_curve(more, tmp_path)
    rows = list(csv.DictReader((tmp_path / "learning_curve.csv").read_text(encoding="utf-8").splitlines()))
    assert [r["threads"] for r in rows] == ["", "2"]


def test_a_damaged_saved_learning_curve_is_named_and_overwrite_replaces_it(base, tiny_data, tmp_path):
    (tmp_path / "learning_curve.json").write_text("not json", encoding="utf-8")  # a traceback, --overwrite too
    with pytest.raises(ConfigError, match=r"learning_curve\.json: cannot read the saved learning curve .*--overwrite"):
        learning_curve(base, tiny_data, [6], seeds=1, mode="sequential", workers=1, out_dir=tmp_path)
    fresh = learning_curve(base, tiny_data, [6], seeds=1, mode="sequential", workers=1, out_dir=tmp_path,
                           overwrite=True)
    assert fresh["runs_reused"] == 0 and len(fresh["runs"]) == 1


def test_learning_curve_runs_of_an_ensemble_share_no_member(base, tiny_data, monkeypatch):
    seen = []

    def no_training(jobs, *args):
        seen.extend(job["config"]["train"]["seed"] for job in jobs)
        raise KeyboardInterrupt

    monkeypatch.setattr("lstmtext.experiments.learning_curve.run_jobs", no_training)
    base.model.ensemble = 3
    with pytest.raises(KeyboardInterrupt):
        learning_curve(base, tiny_data, [6], seeds=3, mode="sequential", workers=1)
    assert seen == [42, 45, 48]  # members 42-44, 45-47, 48-50


def test_cross_validation_folds_are_stratified_disjoint_and_cover_every_row(base, tiny_data):
    labels = tiny_data.splits["train"].labels + tiny_data.splits["valid"].labels
    folds = fold_rows(labels, len(labels), 3, seed=0, valid_size=0.2)
    held = [i for f in folds for i in f["heldout"]]
    assert sorted(held) == list(range(len(labels)))
    for f in folds:
        assert not set(f["heldout"]) & (set(f["train"]) | set(f["valid"]))
        counts = Counter(labels[i] for i in f["heldout"])
        assert max(counts.values()) - min(counts.values()) <= 1
    report = cross_validate(base, tiny_data, folds=3, mode="sequential", workers=1)
    assert [r["fold"] for r in report["folds"]] == [0, 1, 2] and report["rows"] == 30
    assert len(report["load_average"]) == 3  # recorded by the library, not only by the command line
    assert 0 <= report["mean"]["macro_f1"] <= 1 and report["std"]["macro_f1"] >= 0
    with pytest.raises(DataError, match="fewer than --folds 20"):
        fold_rows(labels, len(labels), 20, 0, 0.2)
    with pytest.raises(DataError, match="^d.csv: class 'rare' has 1 row: stratified folds need at least 2 of each"):
        fold_rows([*labels, "rare"], len(labels) + 1, 2, 0, 0.2, "d.csv")  # no --folds value could help
    with pytest.raises(DataError, match="1 row cannot make folds: k-fold needs at least 2 rows"):
        fold_rows(None, 1, 2, 0, 0.2)


def test_cv_saves_each_fold_and_a_rerun_trains_only_the_folds_not_done(base, tiny_data, tmp_path, monkeypatch):
    import lstmtext.experiments.cv as cv_module

    trained = []
    real = cv_module.run_jobs

    def counting(jobs, *args):
        trained.extend(job["key"] for job in jobs)
        return real(jobs, *args)

    monkeypatch.setattr(cv_module, "run_jobs", counting)
    full = cross_validate(base, tiny_data, folds=3, mode="sequential", workers=1, out_dir=tmp_path)
    assert trained == [0, 1, 2] and full["folds_reused"] == 0
    saved = json.loads((tmp_path / "cv.json").read_text())
    assert [r["fold"] for r in saved["folds"]] == [0, 1, 2]  # each fold written as it finished
    saved["folds"] = saved["folds"][:2]  # as a kill after the second fold leaves it
    (tmp_path / "cv.json").write_text(json.dumps(saved))
    trained.clear()
    again = cross_validate(base, tiny_data, folds=3, mode="sequential", workers=1, out_dir=tmp_path)
    assert trained == [2] and again["folds_reused"] == 2
    timeless = lambda folds: [{k: v for k, v in r.items() if k != "train_seconds"} for r in folds]  # noqa: E731
    assert timeless(again["folds"]) == timeless(full["folds"]) and again["mean"] == full["mean"]  # a fixed seed
    write_cv(again, tmp_path)  # the report in the same file: the next run reuses every fold
    trained.clear()
    assert cross_validate(base, tiny_data, folds=3, mode="sequential", workers=1, out_dir=tmp_path)["folds_reused"] == 3
    assert trained == []
    with pytest.raises(ConfigError, match=r"cv\.json: this folder holds another cross-validation .*3 folds.*--overwrite"):
        cross_validate(base, tiny_data, folds=2, mode="sequential", workers=1, out_dir=tmp_path)  # another K
    fresh = cross_validate(base, tiny_data, folds=2, mode="sequential", workers=1, out_dir=tmp_path, overwrite=True)
    assert fresh["folds_reused"] == 0 and trained == [0, 1]
    trained.clear()  # --overwrite starts afresh with the same settings too (it had reused every fold)
    assert cross_validate(base, tiny_data, folds=2, mode="sequential", workers=1, out_dir=tmp_path,
                          overwrite=True)["folds_reused"] == 0 and trained == [0, 1]
    from dataclasses import replace

    from lstmtext.experiments.resume import run_spec

    threads = base.model_copy(deep=True)
    threads.train.threads = 7  # set per run by the experiment; and the path as typed is no part of the data
    assert run_spec(threads, replace(tiny_data, source="./elsewhere/" + str(tiny_data.source))) == run_spec(base, tiny_data)
    (tmp_path / "cv.json").write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cv\.json: cannot read the saved cross-validation .*--overwrite"):
        cross_validate(base, tiny_data, folds=2, mode="sequential", workers=1, out_dir=tmp_path)


def _imbalanced(data):
    train = data.splits["train"]
    keep = [i for i, y in enumerate(train.labels) if y == "negative" or i % 4 == 0]
    return LabelledData({**data.splits, "train": Split([train.texts[i] for i in keep], [train.labels[i] for i in keep])},
                        data.source)


def test_oversampling_only_touches_the_training_rows(tiny_data, caplog):
    data = _imbalanced(tiny_data)
    train_counts = Counter(data.splits["train"].labels)
    config = build_config(None, overrides=[*FAST, 'train.oversample="random"'])
    with caplog.at_level(logging.INFO, logger="lstmtext.tasks.sampling"):
        result = score_job({"key": 0, "config": config.model_dump(mode="json")}, data)
    logged = [r.getMessage() for r in caplog.records if "random oversampling" in r.getMessage()]
    top = max(train_counts.values())  # by name: the log said [12, 3, 3] -> [12, 12, 12]
    before = " ".join(f"{c}={train_counts[c]}" for c in sorted(train_counts))
    after = " ".join(f"{c}={top}" for c in sorted(train_counts))
    assert logged == [f"random oversampling: class counts {before} -> {after}"]
    for split in ("valid", "test"):
        m = result["metrics"][split]
        assert m["n"] == len(data.splits[split])
        assert {c: v["support"] for c, v in m["per_class"].items()} == Counter(data.splits[split].labels)


def test_cv_names_its_folds_in_the_overlap_warning(base, tiny_data, caplog):
    train = tiny_data.splits["train"]
    thrice = LabelledData({**tiny_data.splits, "train": Split(train.texts * 3, train.labels * 3)}, tiny_data.source,
                          tiny_data.info)
    with caplog.at_level(logging.WARNING):
        cross_validate(base, thrice, folds=3, mode="sequential", workers=1)
    said = [r.getMessage() for r in caplog.records if "are also training texts" in r.getMessage()]
    assert said and all("held-out fold texts are also training texts (after cleaning), so the held-out fold scores "
                        "overstate" in m and
                        m.endswith("--set data.drop_duplicates=true drops repeated rows before the folds are made.")
                        for m in said)  # it had said "test texts" and "Give a test split without them"


def test_cli_search_exits_1_when_no_trial_completes(tiny_path, tmp_path, monkeypatch):
    def fails(job, data=None):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(search_mod, "score_job", fails)
    common = ["--split-col", "split", "--mode", "sequential", "--workers", "1"] + \
        [x for o in FAST if not o.startswith("data.") for x in ("--set", o)]
    result = CliRunner().invoke(app, ["search", str(tiny_path), "--grid", "train.lr=0.01,0.03", "--out",
                                      str(tmp_path / "s"), *common])
    assert result.exit_code == 1 and "2 trials ran" in result.output  # it had exited 0, a search that learnt nothing
    assert str(result.exception) == f"no trial completed: each one's error is above and in {tmp_path / 's' / 'results.md'}."


def test_cli_search_learning_curve_and_cv(tiny_path, tmp_path):
    runner = CliRunner()
    common = ["--split-col", "split", "--mode", "sequential", "--workers", "1"] + \
        [x for o in FAST if not o.startswith("data.") for x in ("--set", o)]
    result = runner.invoke(app, ["search", str(tiny_path), "--grid", "train.lr=0.01,0.03", "--out",
                                 str(tmp_path / "s"), "--class-weight", "balanced", *common])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s" / "best.toml").is_file() and (tmp_path / "s" / "report.html").is_file()
    assert "2 trials ran" in result.output
    # a tiny trial's seconds read as such, not "(0 s)"
    assert re.search(r"\(\d\.\d s\)", result.output) and "(0 s)" not in result.output, result.output
    result = runner.invoke(app, ["learning-curve", str(tiny_path), "--sizes", "0.5,1.0", "--seeds", "1", "--out",
                                 str(tmp_path / "lc"), "--oversample", "random", *common])  # shares of the 24 rows
    assert result.exit_code == 0, result.output
    assert [s["size"] for s in json.loads((tmp_path / "lc" / "learning_curve.json").read_text())["summary"]] == [12, 24]
    result = runner.invoke(app, ["learning-curve", str(tiny_path), "--sizes", "0.5,1.5", "--out", str(tmp_path / "x")])
    assert isinstance(result.exception, ConfigError) and "a share of the training split is in (0, 1]; got 1.5" in str(
        result.exception)
    result = runner.invoke(app, ["cv", str(tiny_path), "--folds", "2", "--out", str(tmp_path / "cv"), *common])
    assert result.exit_code == 0, result.output
    assert "over 2 folds" in result.output and (tmp_path / "cv" / "report.html").is_file()
    # what ran is recorded: the default preset's BiLSTM (it was "lstm", the one-directional preset's name), the
    # cleaning and the settings
    report = json.loads((tmp_path / "cv" / "cv.json").read_text())
    assert (report["model"], report["cleaning"]) == ("bilstm 16", "en-tweet")
    assert report["config"]["train.epochs"] == 2 and report["config"]["model.hidden_size"] == 16
    assert "model.hidden_size=16" in (tmp_path / "cv" / "report.html").read_text()
    assert json.loads((tmp_path / "lc" / "learning_curve.json").read_text())["model"] == "bilstm 16"
    result = runner.invoke(app, ["search", str(tiny_path), "--grid", "train.lrate=1", *common])
    assert isinstance(result.exception, ConfigError) and "Did you mean 'train.lr'" in str(result.exception)


def test_folds_without_strata_cover_every_row_once():
    """Multi-label and aspect rows have no single class: plain shuffled folds."""
    folds = fold_rows(None, 10, 3, seed=0, valid_size=0.2)
    held = sorted(i for f in folds for i in f["heldout"])
    assert held == list(range(10)) and [len(f["heldout"]) for f in folds] == [4, 3, 3]
    with pytest.raises(DataError, match="2 rows cannot make 3 folds"):
        fold_rows(None, 2, 3, seed=0, valid_size=0.2)


def test_cv_folds_a_file_without_a_split_whole(tmp_path):
    path = tmp_path / "d.tsv"  # without a header row, as IndoNLU's files come
    path.write_text("\n".join(f"{'great' if i % 2 else 'awful'} flight {i}\t{'pos' if i % 2 else 'neg'}"
                              for i in range(40)) + "\n")
    common = ["--mode", "sequential", "--workers", "1", "--no-header"] + \
        [x for o in FAST if not o.startswith("data.") for x in ("--set", o)]
    result = CliRunner().invoke(app, ["cv", str(path), "--folds", "2", "--out", str(tmp_path / "cv"), *common])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "cv" / "cv.json").read_text())["rows"] == 40  # not 36: no test rows held out


def test_an_interrupted_search_session_counts_in_the_totals(tiny_path, tmp_path, monkeypatch):
    import lstmtext.experiments.search as module

    real = module.score_job
    ctrl_c_at_call(monkeypatch, module, "score_job", 2)
    args = ["search", str(tiny_path), "--grid", "train.lr=0.01,0.03,0.1", "--out", str(tmp_path / "s"), "--split-col",
            "split", "--mode", "sequential", "--workers", "1", *[x for o in FAST if not o.startswith("data.")
                                                                 for x in ("--set", o)]]
    assert CliRunner().invoke(app, args).exit_code == 130
    monkeypatch.setattr(module, "score_job", real)
    assert CliRunner().invoke(app, args).exit_code == 0
    summary = json.loads((tmp_path / "s" / "search.json").read_text())
    # 1 trial in the interrupted session, 2 in the resumed one: the total said 2 (the first session was lost)
    assert [s["ran"] for s in summary["sessions"]] == [1, 2] and summary["ran"] == 3 and summary["complete"] == 3
    # a sampled search: 2 trials, then a session asked for 4 and interrupted at its second: the first session's
    # summary (best, complete) stays in search.json beside the sessions (it was replaced by a stub)
    sampled = ["search", str(tiny_path), "--space", "train.lr=1e-3:1e-1:log", "--out", str(tmp_path / "t"),
               *args[args.index("--split-col"):]]
    monkeypatch.setattr(module, "score_job", real)
    assert CliRunner().invoke(app, [*sampled, "--trials", "2"]).exit_code == 0
    first = json.loads((tmp_path / "t" / "search.json").read_text())
    ctrl_c_at_call(monkeypatch, module, "score_job", 2)
    assert CliRunner().invoke(app, [*sampled, "--trials", "4"]).exit_code == 130
    after = json.loads((tmp_path / "t" / "search.json").read_text())
    assert after["best"] == first["best"] and [s["ran"] for s in after["sessions"]] == [2, 1] and after["ran"] == 3


def test_search_reports_show_the_searched_metric_failed_trials_and_every_session(base, tmp_path):
    from lstmtext.experiments.search_report import with_sessions

    space = parse_space(base, ["train.lr=0.01,0.03,0.1"])
    scores = {"valid_micro_f1": 0.7, "valid_macro_f1": 0.5, "valid_accuracy": 0.4, "test_micro_f1": 0.65,
              "test_macro_f1": 0.45, "test_accuracy": 0.35, "epochs_run": 2, "best_epoch": 1, "train_seconds": 3.0}
    records = [{"trial": 0, "state": "COMPLETE", "params": {"train.lr": 0.01}, "value": 0.7, **scores},
               {"trial": 1, "state": "FAIL", "params": {"train.lr": 0.03}, "value": None, "error": "boom"}]
    first = with_sessions(tmp_path, {"ran": 2, "wall_seconds": 10.0, "complete": 1, "failed": 1, "best": records[0],
                                     "stopped_by_timeout": False, "mode": "pool", "load_average": 1.0})
    paths = write_search_report(tmp_path, records, space, "micro_f1", base, first)
    header = paths["csv"].read_text().splitlines()[0].split(",")
    assert header[header.index("value") + 1:header.index("value") + 4] == ["valid_micro_f1", "valid_macro_f1",
                                                                          "valid_accuracy"]
    assert "test_micro_f1" in header and header[-1] == "error" and paths["csv"].read_text().rstrip().endswith("boom")
    md = paths["markdown"].read_text()
    # valid scores per trial; the chosen trial's test scores once, after the choice (every trial's stood beside)
    assert md.startswith("| trial | train.lr | valid micro_f1 | valid macro_f1 | epochs (best) | train s |")
    assert "Chosen on valid micro_f1: trial 0. Its test scores, read once: micro_f1 0.6500, macro_f1 0.4500. " \
           "(Every trial's test scores are in results.csv, not for choosing.)" in md
    assert "test micro_f1" not in md.split("Chosen on")[0] and "Its test scores, read once" in paths["html"].read_text()
    assert "- trial 1 failed {'train.lr': 0.03}: boom" in md
    assert "<h2>Failed trials</h2>" in paths["html"].read_text()
    again = with_sessions(tmp_path, {"ran": 0, "wall_seconds": 0.01, "complete": 1, "failed": 1, "mode": "pool",
                                     "stopped_by_timeout": False, "load_average": 3.0})  # a resume with nothing to run
    assert (again["ran"], again["wall_seconds"], [s["load_average"] for s in again["sessions"]]) == (2, 10.01, [1.0, 3.0])


def test_a_learning_curve_with_edited_unlabelled_text_is_another_curve(base, tiny_data, tiny_path, tmp_path):
    """The unlabelled file was keyed on its path only: after an edit, the old runs were reused (experiments review)."""
    import pandas as pd

    raw = tmp_path / "raw.txt"
    raw.write_text("\n".join(pd.read_csv(tiny_path)["text"]) + "\n")
    config = base.model_copy(deep=True)
    config.data.unlabelled = str(raw)
    out = tmp_path / "lc"
    learning_curve(config, tiny_data, [6], seeds=1, mode="sequential", workers=1, out_dir=out)
    assert learning_curve(config, tiny_data, [6], seeds=1, mode="sequential", workers=1, out_dir=out)["runs_reused"] == 1
    raw.write_text("other words entirely\n" * 20)
    with pytest.raises(ConfigError, match=r"learning_curve\.json: this folder holds another learning curve"):
        learning_curve(config, tiny_data, [6], seeds=1, mode="sequential", workers=1, out_dir=out)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by a container's init, counts as ended)."""
    import os
    from pathlib import Path

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def test_pool_workers_end_when_their_parent_is_killed_outright(tmp_path):
    """A parent killed with SIGKILL (or by the out-of-memory killer) never shuts its pool down: its idle workers
    lived on, ~580 MB each, with no end."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "parent.py"
    script.write_text(
        "import os, sys, time\n"
        "from lstmtext.experiments.pool import process_pool\n"
        "if __name__ == '__main__':\n"
        "    with process_pool(2, None) as pool:\n"
        "        pids = {f.result() for f in [pool.submit(os.getpid) for _ in range(8)]}\n"
        "        print(' '.join(map(str, sorted(pids))), flush=True)\n"
        "        time.sleep(600)\n", encoding="utf-8")
    with subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}) as parent:
        workers = [int(p) for p in parent.stdout.readline().split()]
        assert workers and all(_alive(p) for p in workers)
        parent.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p for p in workers if _alive(p)]
    for pid in left:  # not left running after a failure
        os.kill(pid, signal.SIGKILL)
    assert left == []


def test_cv_markdown_shows_each_class_recall_and_the_classes_a_fold_never_found():
    """Per-class recall was kept in cv.json alone: a fold answering one class for every text looked plausible."""
    from lstmtext.experiments.cv import cv_markdown

    folds = [{"fold": 0, "n_heldout": 10, "macro_f1": 0.3, "epochs_run": 2, "best_epoch": 1,
              "per_class_recall": {"neg": 1.0, "pos": 0.0}},
             {"fold": 1, "n_heldout": 10, "macro_f1": 0.7, "epochs_run": 2, "best_epoch": 2,
              "per_class_recall": {"neg": 0.75, "pos": 0.5}}]
    text = cv_markdown({"mean": {"macro_f1": 0.5}, "std": {"macro_f1": 0.2828}, "folds": folds})
    assert "| fold | neg | pos |" in text and "| 0 | 1.0000 | 0.0000 |" in text and "| 1 | 0.7500 | 0.5000 |" in text
    assert "Classes a fold's model never found (recall 0): fold 0: pos." in text
    assert "never found" not in cv_markdown({"mean": {"macro_f1": 0.7}, "std": {"macro_f1": 0.0}, "folds": folds[1:]})


def test_a_search_refused_before_its_first_trial_leaves_the_folder_to_the_corrected_command(base, tiny_data, tmp_path):
    """A search that stopped before any trial (a value failing at its first trial's set-up) had stored its settings:
    the corrected command was refused as "another search"."""
    search_mod.open_study(tmp_path, parse_space(base, ["train.lr=0.01,0.03"]), "macro_f1", base, 42, "d")
    study = search_mod.open_study(tmp_path, parse_space(base, ["train.lr=0.02,0.03"]), "macro_f1", base, 42, "d")
    assert not study.get_trials(deepcopy=False)  # taken: it had no trial
    summary = search(base, tiny_data, tmp_path, parse_space(base, ["train.lr=0.02"]), mode="sequential", workers=1)
    assert summary["complete"] == 1
    with pytest.raises(ConfigError, match="this folder holds another search"):  # a trial there: refused as ever
        search(base, tiny_data, tmp_path, parse_space(base, ["train.lr=0.05"]), mode="sequential", workers=1)


def test_a_search_goes_on_whatever_path_its_data_was_given_by(base, tiny_data, tmp_path, monkeypatch):
    """The data's path as typed was part of the study: d.csv and ./d.csv were refused as another search's data."""
    space = parse_space(base, ["train.lr=0.01,0.03"])
    assert search(base, tiny_data, tmp_path, space, trials=1, mode="sequential", workers=1)["complete"] == 1
    moved = LabelledData(tiny_data.splits, "./elsewhere/" + tiny_data.source, info=tiny_data.info)
    assert search(base, moved, tmp_path, space, mode="sequential", workers=1)["complete"] == 2
    import optuna

    study = optuna.load_study(study_name="search", storage=f"sqlite:///{tmp_path / 'study.db'}")
    spec = json.loads(study.user_attrs["spec"])  # as a study stored before 2026-12-07 had it: the path first
    study.set_user_attr("spec", json.dumps({**spec, "data": "old/path.csv " + spec["data"]}))
    assert search(base, tiny_data, tmp_path, space, mode="sequential", workers=1)["ran"] == 0


def test_a_sampled_search_asks_its_trials_a_batch_at_a_time(base, tiny_data, tmp_path, monkeypatch):
    """Asked as each trial finished, TPE drew from whichever had finished first: the same seed gave other trials.
    Each batch of --workers trials is now asked with none running, so the draws see the same finished trials."""
    from concurrent.futures import Future

    asked_with_running = []

    class Runner:  # a pool of 2 whose trials finish one at a time
        slots = 2

        def __init__(self, *args):
            self.pending = []

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, job):
            asked_with_running.append(len(self.pending))
            future = Future()
            self.pending.append((future, job))
            return future

    def finish_one(futures, return_when=None):
        future, job = runner.pending.pop(0)
        future.set_result({"metrics": {"valid": {"macro_f1": 0.5, "accuracy": 0.5, "weighted_f1": 0.5}}, "task": "classify",
                           "epochs_run": 1, "best_epoch": 1, "train_seconds": 0.0, "n_train": 1, "job": job["key"]})
        return {future}, set()

    runner = None

    def make_runner(*args):
        nonlocal runner
        runner = Runner(*args)
        return runner

    monkeypatch.setattr(search_mod, "JobRunner", make_runner)
    monkeypatch.setattr(search_mod, "wait", finish_one)
    space = parse_space(base, None, ["train.lr=1e-3:1e-1:log"])
    search(base, tiny_data, tmp_path, space, trials=6, mode="pool", workers=2)
    assert asked_with_running == [0, 1, 0, 1, 0, 1]  # pairs, each asked with nothing running


def test_a_learning_curve_refuses_seeds_it_cannot_hold_and_plots_valid_once_without_a_test(base, tiny_data, monkeypatch):
    """100 million seeds drew every seed's subsets first (4.5 GB in 30 s, no run); with no test split the plot had
    drawn valid twice, two legend entries over one line."""
    import lstmtext.reports.html as html_module
    from lstmtext.experiments.learning_curve import plot_curve

    with pytest.raises(ConfigError, match=r"learning-curve: --seeds must be from 1 to 1,000 .*Got 1,001"):
        learning_curve(base, tiny_data, [6], seeds=1001, mode="sequential", workers=1)
    shown = []
    monkeypatch.setattr(html_module, "figure_png", lambda fig, dpi=None: shown.append(fig) or b"")
    row = {"size": 6, "valid_macro_f1_mean": 0.5, "valid_macro_f1_std": 0.1, "test_macro_f1_mean": 0.4,
           "test_macro_f1_std": 0.1}
    for split, legend in (("valid", ["valid (mean ± std, 2 seeds)"]),
                          ("test", ["test (mean ± std, 2 seeds)", "valid (mean ± std, 2 seeds)"])):
        plot_curve({"eval_split": split, "metric": "macro_f1", "summary": [row], "seeds": 2, "model": "cnn"})
        assert [t.get_text() for t in shown[-1].axes[0].get_legend().get_texts()] == legend


def test_a_trial_killed_before_its_point_was_drawn_is_not_reported_as_failed():
    """Killed between ask and its parameters, a trial stood as "failed {}: interrupted" in every report after."""
    from lstmtext.experiments.search_report import results_markdown

    records = [{"trial": 0, "params": {"train.lr": 0.01}, "state": "COMPLETE", "value": 0.5, "valid_macro_f1": 0.5,
                "valid_accuracy": 0.6},
               {"trial": 1, "params": {}, "state": "FAIL"},
               {"trial": 2, "params": {"train.lr": 0.03}, "state": "FAIL", "error": "out of memory"}]
    text = results_markdown(records, ["train.lr"], "macro_f1")
    assert "trial 2 failed {'train.lr': 0.03}: out of memory" in text and "trial 1" not in text


def test_saved_runs_are_keyed_on_the_language_models_content_not_its_path(base, tiny_data, tmp_path):
    """A language model pretrained again at the same path: learning-curve reused the old model's runs ("2 runs (2
    reused)", its old scores), and so did an interrupted compare, cv or audit (a review)."""
    from lstmtext.experiments.compare import _job_key
    from lstmtext.experiments.resume import run_spec

    lm = tmp_path / "LM"
    lm.mkdir()
    (lm / "lm.json").write_text(json.dumps({"weights_sha256": "aa", "vocab_sha256": "bb"}))
    config = base.model_copy(deep=True)
    config.train.pretrained = str(lm)
    job = {"model": "ulmfit", "seed": 0, "config": config.model_dump(mode="json")}
    spec, key = run_spec(config, tiny_data), _job_key(job)
    assert spec["pretrained"] == "aa:bb" and run_spec(config, tiny_data) == spec and _job_key(job) == key
    (lm / "lm.json").write_text(json.dumps({"weights_sha256": "cc", "vocab_sha256": "bb"}))  # pretrained again
    assert run_spec(config, tiny_data) != spec and _job_key(job) != key
