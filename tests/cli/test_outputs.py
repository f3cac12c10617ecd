"""Nothing a user had is replaced without --overwrite: every command checks its outputs before its work starts."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lstmtext.cli import app
from lstmtext.errors import OutputExistsError
from lstmtext.utils.outputs import check_out, check_out_file

runner = CliRunner()


def _refused(result, *names):
    assert result.exit_code == 1 and isinstance(result.exception, OutputExistsError), result.output
    message = str(result.exception)
    assert all(n in message for n in names) and "--overwrite" in message and "\n" not in message
    return message


def test_check_out_names_what_is_there(tmp_path):
    assert check_out(tmp_path / "new", "audit", overwrite=False) == tmp_path / "new"
    (tmp_path / "audit.csv").write_text("rank\n")
    (tmp_path / "notes.txt").write_text("mine")  # not the command's: never in the way
    with pytest.raises(OutputExistsError, match=r": audit\.csv already there \(an earlier run's\)\. Pass --overwrite"):
        check_out(tmp_path, "audit", overwrite=False)
    assert check_out(tmp_path, "audit", overwrite=True) == tmp_path
    assert check_out(tmp_path, "cv", overwrite=False) == tmp_path


def test_train_names_a_model_folder_that_is_not_a_saved_model(tiny_path, tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "notes.txt").write_text("mine")  # it said "a trained model is already there"
    result = runner.invoke(app, ["train", str(tiny_path), "--out", str(tmp_path), "--quiet"])
    assert result.exit_code == 1 and "model is there and is not a saved model" in str(result.exception)


def test_train_refuses_a_model_folder_that_is_not_a_saved_model_before_training(tmp_path):
    (tmp_path / "model").mkdir()
    assert check_out(tmp_path, "train", overwrite=True) == tmp_path  # empty: nothing to lose
    (tmp_path / "model" / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match=r"model is there and is not a saved model; the run would save its "
                                                r"model there\. Move it away, or choose another --out\."):
        check_out(tmp_path, "train", overwrite=True)
    assert check_out(tmp_path, "audit", overwrite=True) == tmp_path  # audit writes no model/


def test_a_checkpoint_folder_of_other_files_is_never_replaced(tmp_path):
    # it said "checkpoint already there (an earlier run's)", and --overwrite deleted the user's file in it
    (tmp_path / "checkpoint").mkdir()
    (tmp_path / "checkpoint" / "my_work.txt").write_text("important")
    with pytest.raises(OutputExistsError, match=r"checkpoint is there and is not a training checkpoint \(it holds "
                                                r"other files\).*Move it away, or choose another --out\.$"):
        check_out(tmp_path, "train", overwrite=True)
    (tmp_path / "checkpoint" / "my_work.txt").unlink()
    for name in ("last.safetensors", "state.json", "member1/last.safetensors",  # a run's, an ensemble's too
                 ".member2.x1y2z3w4.old/state.json", ".member3.a_b_c_d_.tmp/last.safetensors"):  # a killed save's
        (tmp_path / "checkpoint" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "checkpoint" / name).write_text("")
    assert check_out(tmp_path, "train", overwrite=True) == tmp_path
    (tmp_path / "checkpoint" / ".todo.tmp").write_text("mine")  # a dot-name of the user's own is theirs
    with pytest.raises(OutputExistsError, match="is not a training checkpoint"):
        check_out(tmp_path, "train", overwrite=True)


def test_an_input_file_is_never_what_a_run_writes(tiny_path, tmp_path):
    # training on OUT/history.csv with --overwrite wrote the loss history over the training data
    data = tmp_path / "history.csv"
    data.write_bytes(tiny_path.read_bytes())
    result = runner.invoke(app, ["train", str(data), "--out", str(tmp_path), "--overwrite", "--quiet"])
    assert isinstance(result.exception, OutputExistsError) and data.read_bytes() == tiny_path.read_bytes()
    assert str(result.exception) == (f"{data}: train writes {tmp_path / 'history.csv'}, which would replace this "
                                     "input file. Move the file, or choose another --out.")
    inside = tmp_path / "checkpoint" / "rows.csv"  # in a folder the run replaces whole
    inside.parent.mkdir()
    inside.write_text("text,label\n")
    with pytest.raises(OutputExistsError, match=r"rows\.csv: train writes .*checkpoint, which would replace this input"):
        check_out(tmp_path, "train", overwrite=True, inputs=[inside])
    assert check_out(tmp_path / "new", "train", overwrite=False, inputs=[data, None]) == tmp_path / "new"
    search = tmp_path / "search"  # a search resuming in its folder still may not write over its data
    search.mkdir()
    (search / "study.db").write_text("")
    (search / "results.csv").write_text("text,label\n")
    with pytest.raises(OutputExistsError, match=r"results\.csv: search writes .*which would replace this input"):
        check_out(search, "search", overwrite=False, inputs=[search / "results.csv"])


def test_check_out_file_refuses_the_input_even_with_overwrite(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("text\n")
    with pytest.raises(OutputExistsError, match="also the input file"):
        check_out_file(data, overwrite=True, inputs=[tmp_path / "." / "d.csv"])
    with pytest.raises(OutputExistsError, match=r"d\.csv is already there\. Pass --overwrite"):
        check_out_file(data, overwrite=False)
    assert check_out_file(tmp_path / "v.txt", overwrite=False) == tmp_path / "v.txt"
    (tmp_path / "folder").mkdir()
    with pytest.raises(OutputExistsError, match=r"folder is a folder: give the path of a file to write"):
        check_out_file(tmp_path / "folder", overwrite=True)  # --overwrite cannot make it a file


def test_evaluate_keeps_a_training_runs_metrics(trained_run, tiny_path, tmp_path):
    out, _ = trained_run
    before = (out / "metrics.json").read_bytes()
    for target in (out, out / "model"):  # a training run or a bundle: refused even with --overwrite
        for extra in ([], ["--overwrite"]):
            result = runner.invoke(app, ["evaluate", str(out), str(tiny_path), "--out", str(target), *extra])
            assert result.exit_code == 1 and isinstance(result.exception, OutputExistsError)
            assert str(result.exception) == (f"{target} holds a trained model, whose own metrics.json the evaluation "
                                              "would replace. Write it to another folder.")
    assert (out / "metrics.json").read_bytes() == before
    elsewhere = tmp_path / "eval"
    assert runner.invoke(app, ["evaluate", str(out), str(tiny_path), "--out", str(elsewhere)]).exit_code == 0
    _refused(runner.invoke(app, ["evaluate", str(out), str(tiny_path), "--out", str(elsewhere)]), "metrics.json")
    result = runner.invoke(app, ["evaluate", str(out), str(tiny_path), "--out", str(elsewhere), "--overwrite"])
    assert result.exit_code == 0, result.output
    # the data file in the folder, named as a file evaluate writes: --overwrite had written the report over it
    data = elsewhere / "report.md"
    data.write_bytes(tiny_path.read_bytes())
    result = runner.invoke(app, ["evaluate", str(out), str(data), "--format", "csv", "--out", str(elsewhere),
                                 "--overwrite"])
    assert result.exit_code == 1 and isinstance(result.exception, OutputExistsError)
    assert "which would replace this input file" in str(result.exception)
    assert data.read_bytes() == tiny_path.read_bytes()


def test_suggest_twice_keeps_the_file_being_labelled(trained_run, tiny_path, tmp_path):
    out, _ = trained_run
    folder = tmp_path / "sug"
    args = ["suggest", str(out), str(tiny_path), "--n", "3", "--out", str(folder)]
    assert runner.invoke(app, args).exit_code == 0
    (folder / "to_label.csv").write_text("my labels so far\n")
    _refused(runner.invoke(app, args), "to_label.csv")
    assert (folder / "to_label.csv").read_text() == "my labels so far\n"
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0
    assert (folder / "to_label.csv").read_text() != "my labels so far\n"


@pytest.mark.parametrize("command", [["compare", "--seeds", "1"]])
def test_experiments_refuse_before_training(command, tiny_path, tmp_path):
    name = {"compare": "compare.json"}[command[0]]
    (tmp_path / name).write_text("{}")
    result = runner.invoke(app, [command[0], str(tiny_path), *command[1:], "--out", str(tmp_path)])
    _refused(result, name)  # at once: no fold or model was trained to get here
    assert (tmp_path / name).read_text() == "{}"


@pytest.mark.parametrize("command, own", [(["search", "--grid", "train.lr=1e-3"], "study.db"),
                                          (["learning-curve", "--sizes", "20", "--seeds", "1"], "learning_curve.json"),
                                          (["cv", "--folds", "2"], "cv.json"), (["audit", "--folds", "2"], "audit.json")])
def test_resumable_experiments_keep_another_commands_report(command, own, tiny_path, tmp_path):
    (tmp_path / "report.html").write_text("the training run's report")
    _refused(runner.invoke(app, [command[0], str(tiny_path), *command[1:], "--out", str(tmp_path)]), "report.html")
    assert (tmp_path / "report.html").read_text() == "the training run's report"
    (tmp_path / own).write_text("")  # its own earlier work: the command goes on from it (resume checks the settings)
    assert check_out(tmp_path, command[0], overwrite=False) == tmp_path


def test_train_keeps_another_commands_report(tiny_path, tmp_path):
    (tmp_path / "report.html").write_text("the audit's report")
    result = runner.invoke(app, ["train", str(tiny_path), "--out", str(tmp_path), "--set", "train.epochs=1", "--quiet"])
    _refused(result, "report.html")
    assert (tmp_path / "report.html").read_text() == "the audit's report" and not (tmp_path / "model").exists()


def test_file_writers_refuse_to_replace(tmp_path):
    data = tmp_path / "aspects.csv"
    data.write_text("text,food\nenak,positive\n")
    result = runner.invoke(app, ["absa-convert", str(data), str(data), "--layout", "wide", "--overwrite"])
    assert isinstance(result.exception, OutputExistsError) and "also the input file" in str(result.exception)
    assert data.read_text() == "text,food\nenak,positive\n"
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("1 1\nx 0.5\n")
    _refused(runner.invoke(app, ["embed", "--out", str(vectors)]), "vectors.txt")
    assert vectors.read_text() == "1 1\nx 0.5\n"


def test_train_again_after_an_interrupted_run_asks_for_resume_or_overwrite(tiny_path, tmp_path):
    (tmp_path / "checkpoint").mkdir()  # what an interrupted run leaves (an empty folder would hold nothing to lose)
    (tmp_path / "checkpoint" / "state.json").write_text("{}")
    result = runner.invoke(app, ["train", str(tiny_path), "--out", str(tmp_path), "--set", "train.epochs=1", "--quiet"])
    message = _refused(result, "checkpoint")
    assert "Pass --resume to continue an interrupted training" in message


def test_out_must_be_a_folder_and_not_a_saved_models_own(trained_run, tiny_path, tmp_path):
    out, _ = trained_run
    data = tmp_path / "data.csv"
    data.write_bytes(tiny_path.read_bytes())
    before = {p.name: p.read_bytes() for p in (out / "model").iterdir() if p.is_file()}
    with pytest.raises(OutputExistsError, match=r"data\.csv is a file: --out takes a folder \(made if missing\)\."):
        check_out(data, "audit", overwrite=True)
    # before any training: refused at once, the file untouched
    result = runner.invoke(app, ["train", str(tiny_path), "--out", str(data), "--set", "train.epochs=1", "--quiet"])
    assert isinstance(result.exception, OutputExistsError) and str(result.exception).startswith(f"{data} is a file")
    assert data.read_bytes() == tiny_path.read_bytes()
    # a run written into a saved model's folder would put a second model in model/ and replace the first's
    # metrics.json, while predict went on reading the first: refused, even with --overwrite
    result = runner.invoke(app, ["train", str(tiny_path), "--out", str(out / "model"), "--overwrite",
                                 "--set", "train.epochs=1", "--quiet"])
    assert isinstance(result.exception, OutputExistsError) and result.exit_code == 1
    assert str(result.exception) == (f"{out / 'model'} is a saved model's own folder. Give a new folder as --out "
                                     "(a training run writes its model to OUT/model).")
    assert not (out / "model" / "model").exists()
    assert {p.name: p.read_bytes() for p in (out / "model").iterdir() if p.is_file()} == before


def test_overwrite_leaves_no_figure_of_the_earlier_run(trained_run, tiny_path, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run[0], run)
    (run / "mine.png").write_bytes(b"not lstmtext's")
    assert (run / "confusion_test.png").exists()
    result = runner.invoke(app, ["train", str(tiny_path), "--out", str(run), "--overwrite", "--quiet",
                                 "--set", "train.epochs=1", "--set", "data.test_size=0"])
    assert result.exit_code == 0, result.output
    assert "test" not in json.loads((run / "metrics.json").read_text())
    assert not (run / "confusion_test.png").exists()  # it showed the earlier run's test split
    assert (run / "confusion_valid.png").exists() and (run / "mine.png").read_bytes() == b"not lstmtext's"


def test_a_folder_that_cannot_be_written_is_refused_before_the_work(tmp_path, monkeypatch, capsys):
    import os

    from lstmtext.cli.app import main

    real = os.access
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(locked) else real(p, mode))
    from lstmtext.errors import NotWritableError

    with pytest.raises(NotWritableError, match=r"locked/run/x: cannot write in .*locked \(no permission to write "
                                               r"there\)\. Choose another --out\.$"):
        check_out(locked / "run" / "x", "train", overwrite=False)  # the nearest folder that is there decides
    with pytest.raises(PermissionError, match=r"cannot write in .*locked .* Choose another path\.$"):
        check_out_file(locked / "p.csv", overwrite=False)
    # it had trained an epoch, then failed with a traceback of the checkpoint's save
    monkeypatch.setattr("sys.argv", ["lstmtext", "train", "--out", str(locked / "run"), "--set", "train.epochs=1"])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 1 and "cannot write in" in capsys.readouterr().err


def test_a_full_disk_is_one_line(monkeypatch, capsys, tmp_path):
    import errno

    from lstmtext.cli.app import main

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run" / "model"))

    monkeypatch.setattr("lstmtext.pipeline.run", full)  # the command imports it when it runs
    monkeypatch.setattr("sys.argv", ["lstmtext", "train", "--out", str(tmp_path / "run"), "--set", "train.epochs=1"])
    with pytest.raises(SystemExit) as done:
        main()
    err = capsys.readouterr().err.strip()
    assert done.value.code == 1 and err == f"error: {tmp_path / 'run' / 'model'}: No space left on device. Free " \
                                           "some space, or write to another disk."


def test_train_and_evaluate_never_replace_a_file_of_the_name_they_write(tmp_path):
    from lstmtext.pipeline.checks import prepare_out

    for name in ("history.csv", "confusion_valid.png", "per_label_test.png", "history.png"):  # replaced in silence
        folder = tmp_path / name
        (folder / name).parent.mkdir()
        (folder / name).write_text("mine")
        with pytest.raises(OutputExistsError, match=f"{name} already there"):
            prepare_out(folder, overwrite=False, resume=False)
        assert prepare_out(folder, overwrite=False, resume=True) == folder  # its own run, resumed
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "confusion.png").write_text("mine")
    result = runner.invoke(app, ["evaluate", str(tmp_path / "no-model"), str(tmp_path / "x.csv"), "--out",
                                 str(tmp_path / "ev")])
    assert isinstance(result.exception, OutputExistsError) and "confusion.png already there" in str(result.exception)


def test_an_experiment_never_writes_its_report_into_a_training_runs_folder(trained_run):
    for command in ("cv", "audit", "search", "learning-curve", "compare"):  # each writes a report.html, as train does
        with pytest.raises(OutputExistsError, match=rf"^{trained_run[0]} holds a training run \(its model/\): "
                                                    rf"{command}'s report\.html would replace the run's own"):
            check_out(trained_run[0], command, overwrite=True)  # --overwrite had mixed the two runs' files
    assert check_out(trained_run[0], "suggest", overwrite=False) == trained_run[0]  # nothing of the run's to replace


def test_an_experiment_to_resume_beside_a_training_run_is_refused_too(trained_run, tmp_path):
    """An interrupted experiment's saved file, then a training run in the same folder: going on had written the
    experiment's report.html over the run's own."""
    import shutil

    from lstmtext.utils.outputs import RESUMES_FROM

    for command, saved in RESUMES_FROM.items():
        folder = tmp_path / command
        shutil.copytree(trained_run[0], folder)
        (folder / saved).write_text("{}")
        with pytest.raises(OutputExistsError, match=rf"holds a training run \(its model/\): {command}'s report\.html"):
            check_out(folder, command, overwrite=False)
    (tmp_path / "alone").mkdir()
    (tmp_path / "alone" / "compare.partial.json").write_text("{}")
    (tmp_path / "alone" / "compare.json").write_text("{}")  # its earlier report: going on replaces it
    assert check_out(tmp_path / "alone", "compare", overwrite=False) == tmp_path / "alone"


def test_a_model_too_big_for_the_machine_is_refused_before_training(tiny_path, tmp_path, monkeypatch):
    """--set model.hidden_size=100000 (a zero too many) ended in an allocator's traceback, or the machine swapping
    (training review). The count is made on the meta device, so nothing is allocated for it."""
    from lstmtext.errors import ConfigError
    from lstmtext.pipeline import checks

    args = ["train", str(tiny_path), "--split-col", "split", "--out", str(tmp_path / "r"), "--set", "train.epochs=1"]
    res = CliRunner().invoke(app, [*args, "--set", "model.hidden_size=1000000"])
    assert isinstance(res.exception, ConfigError), res.output
    assert "parameters (model.hidden_size=1,000,000, model.embedding_dim=" in str(res.exception)
    assert "GiB for its weights, gradients and optimizer state, more than this machine's" in str(res.exception)
    assert not (tmp_path / "r" / "model").exists()
    monkeypatch.setattr(checks, "_physical_memory", lambda: 2**20)  # 1 MiB: the default BiLSTM needs 16 B x 0.2M+
    res = CliRunner().invoke(app, [*args, "--overwrite"])
    assert isinstance(res.exception, ConfigError) and "more than this machine's 0.0 GiB" in str(res.exception)
    monkeypatch.setattr(checks, "_physical_memory", lambda: 64 * 2**20)  # fits: it trains
    assert CliRunner().invoke(app, [*args, "--overwrite", "--quiet"]).exit_code == 0


def test_a_folder_named_as_an_output_file_is_refused_before_training(tiny_path, tmp_path):
    """An empty folder metrics.json passed the check (empty folders are nothing to lose) and the run ended writing
    its metrics there, in an IsADirectoryError traceback (training review)."""
    (tmp_path / "r" / "metrics.json").mkdir(parents=True)
    res = CliRunner().invoke(app, ["train", str(tiny_path), "--out", str(tmp_path / "r"), "--overwrite"])
    assert isinstance(res.exception, OutputExistsError)
    assert f"{tmp_path / 'r' / 'metrics.json'} is a folder; train writes a file of that name there" in str(res.exception)


def test_evaluate_says_which_texts_it_scored_without_a_known_word(trained_run, tiny_frame, tmp_path):
    """predict warns of texts with no word the model knows (their answer is its guess for an empty text); evaluate
    scored them without a word."""
    from lstmtext.pipeline.evaluate import evaluate_file

    out, _ = trained_run
    frame = tiny_frame[tiny_frame["split"] == "test"].drop(columns="split").reset_index(drop=True)
    frame.loc[2, "text"] = "@united http://t.co/abc"
    frame.to_csv(tmp_path / "other.csv", index=False)
    metrics = evaluate_file(out, tmp_path / "other.csv")
    assert [n for n in metrics["notes"] if "no word the model knows" in n] == [
        f"{tmp_path / 'other.csv'}: 1 of its 6 texts have no word the model knows after cleaning (first: "
        f"{tmp_path / 'other.csv'}:4); each is scored on the model's guess for an empty text."]
