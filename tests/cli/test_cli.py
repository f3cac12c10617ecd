"""The command line: exit codes, messages and outputs (Typer's CliRunner)."""

import json
import os

import pytest
import typer
from typer.testing import CliRunner

from lstmtext.cli import app, main

runner = CliRunner()


def _invoke(args, monkeypatch=None):
    return runner.invoke(app, args, catch_exceptions=True)


def test_train_predict_evaluate(tiny_path, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", str(tiny_path), "--out", str(out), "--preset", "default", "--split-col", "split",
                                 "--set", "train.epochs=2", "--set", "model.hidden_size=8", "--set", "model.embedding_dim=8",
                                 "--quiet"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output and (out / "model" / "model.safetensors").is_file()
    result = runner.invoke(app, ["predict", str(out), "great flight!", "lost my bag", "--top-k", "2"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.strip().splitlines()]
    assert len(lines) == 2 and len(lines[0]["top_k"]) == 2 and len(lines[0]["probabilities"]) == 3
    assert lines[0]["label"] == lines[0]["top_k"][0]["label"] and lines[0]["score"] == lines[0]["top_k"][0]["score"]
    result = runner.invoke(app, ["predict", str(out), "great flight!", "--format", "csv"])
    assert result.output.splitlines()[0] == "text,label,score,abstained,top_k,probabilities,no_known_word,truncated"
    # an abstention is said, not only an empty label (the JSON record said it; the CSV did not)
    import csv as csv_module
    import io

    result = runner.invoke(app, ["predict", str(out), "great flight!", "zzqx", "--format", "csv", "--min-confidence", "1"])
    rows = list(csv_module.DictReader(io.StringIO(result.stdout)))
    assert [(r["label"], r["abstained"], r["no_known_word"]) for r in rows] == [("", "true", "false"), ("", "true", "true")]
    assert json.loads(rows[0]["probabilities"]).keys() == {"negative", "neutral", "positive"}
    # a text longer than the model reads is said to be (the answer read its last max_len words, silently)
    long = " ".join(["great flight"] * 300)
    result = runner.invoke(app, ["predict", str(out), long, "lost my bag"])
    records = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert records[0]["truncated"] is True and "truncated" not in records[1]
    result = runner.invoke(app, ["predict", str(out), long, "--format", "csv"])
    assert list(csv_module.DictReader(io.StringIO(result.stdout)))[0]["truncated"] == "true"
    result = runner.invoke(app, ["evaluate", str(out), str(tiny_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "accuracy" in result.output
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in result.output.splitlines() if line.startswith("│")]
    per_class, matrix = rows[:3], rows[3:]
    assert [r[0] for r in per_class] == [r[0] for r in matrix] == ["negative", "neutral", "positive"]
    n = len(tiny_path.read_text().splitlines()) - 1
    assert sum(int(r[4]) for r in per_class) == n == sum(int(v) for r in matrix for v in r[1:])
    assert [int(r[4]) for r in per_class] == [sum(int(v) for v in r[1:]) for r in matrix]  # support = row sums
    result = runner.invoke(app, ["evaluate", str(out), str(tiny_path), "--label-sep", "|"])
    assert result.exit_code == 1 and str(result.exception) == ("--label-sep and a,b,c in --label-col read multi-label "
                                                                "files; this model's task is 'classify'.")


def test_piped_training_writes_one_line_per_epoch_and_no_bar_redraws(tiny_path, tmp_path):
    result = runner.invoke(app, ["train", str(tiny_path), "--out", str(tmp_path / "run"), "--split-col", "split",
                                 "--set", "train.epochs=2", "--set", "model.hidden_size=8", "--set", "model.embedding_dim=8"])
    assert result.exit_code == 0, result.output
    epochs = [line for line in result.output.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epochs] == ["epoch 1/2", "epoch 2/2"]
    assert "train_loss" in epochs[0] and "valid_macro_f1" in epochs[0] and "\r" not in result.output
    assert "; 1 epoch left, about " in epochs[0] and " left" not in epochs[1]  # the whole run's time left


def test_time_left_extrapolates_the_epochs_done():
    from lstmtext.utils.progress import time_left

    assert time_left(4.0, 2, 5) == "; 3 epochs left, about 6.0 s"
    assert time_left(40.0, 1, 2) == "; 1 epoch left, about 40 s"
    assert time_left(3.0, 4, 4) == "" and time_left(3.0, 0, 4) == ""


def test_progress_bars_draw_on_a_terminal_only(monkeypatch):
    from lstmtext.utils import progress

    monkeypatch.setattr(progress, "on_terminal", lambda: False)
    assert progress.progress_bar(range(3), 3, "x", True).disable
    monkeypatch.setattr(progress, "on_terminal", lambda: True)
    assert not progress.progress_bar(range(3), 3, "x", True).disable
    assert progress.progress_bar(range(3), 3, "x", False).disable


def _a_saved_model(folder):
    folder.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):  # what makes a folder a saved model's
        (folder / name).write_text("{}")


def test_train_refuses_to_overwrite(tiny_path, tmp_path, capsys, monkeypatch):
    _a_saved_model(tmp_path / "run" / "model")
    monkeypatch.setattr("sys.argv", ["lstmtext", "train", str(tiny_path), "--out", str(tmp_path / "run"), "--quiet"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "a trained model is already there. Pass --overwrite" in err


def test_demo_refuses_to_replace_a_model_too(tmp_path, capsys, monkeypatch):
    _a_saved_model(tmp_path / "run" / "model")  # someone's trained model, not the demo's
    monkeypatch.setattr("sys.argv", ["lstmtext", "demo", "--out", str(tmp_path / "run"), "--quiet"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1 and "a trained model is already there. Pass --overwrite" in capsys.readouterr().err


def test_train_warns_about_a_setting_its_architecture_does_not_read(tmp_path, capsys, monkeypatch):
    missing = tmp_path / "none.csv"  # the run stops at reading the data: the warning comes first
    monkeypatch.setattr("sys.argv", ["lstmtext", "train", str(missing), "--preset", "cnn", "--set", "model.hidden_size=512",
                                     "--set", "model.embedding_dim=32", "--out", str(tmp_path / "o"), "--quiet"])
    with pytest.raises(SystemExit):
        main()
    err = capsys.readouterr().err
    assert "warning: --set model.hidden_size=512: the 'cnn' architecture does not read model.hidden_size" in err
    assert "embedding_dim" not in err.split("error:")[0]  # a setting it reads: no warning


def test_brackets_in_what_is_printed_are_data_not_markup(tiny_path, capsys, monkeypatch):
    """rich reads '[fuel]' as a style tag and drops it: an aspect, a label or a column name vanished from the output."""
    monkeypatch.setattr("sys.argv", ["lstmtext", "train", str(tiny_path), "--text-col", "[tweet]", "--quiet"])
    with pytest.raises(SystemExit):
        main()
    assert "no column '[tweet]'" in capsys.readouterr().err
    from lstmtext.cli.common import print_breakdown, print_scores

    print_scores({"[valid]": {"n": 3, "accuracy": 1.0}})
    print_breakdown({"aspects": {"[fuel]": {"accuracy": 1.0, "macro_f1": 1.0, "n": 3}}})
    print_breakdown({"per_class": {"[pos]": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 3}},
                     "labels": ["[pos]"], "confusion_matrix": [[3]]})
    out = capsys.readouterr().out
    assert "[valid] (3 texts)" in out and "[fuel]" in out and out.count("[pos]") == 3


def test_user_error_is_one_line_exit_1(tiny_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["lstmtext", "train", str(tiny_path), "--text-col", "tweet", "--quiet"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "no column 'tweet'" in err and "Traceback" not in err


def test_a_config_files_model_options_join_the_presets(tmp_path):
    from lstmtext.config import build_config

    (tmp_path / "o.toml").write_text("[model.options]\nhead_dropout = 0.2\n")
    # the file had replaced them whole: num_filters fell back from the preset's 200 to 100
    assert build_config("cnn", tmp_path / "o.toml").model.options == \
        build_config("cnn", overrides=["model.options.head_dropout=0.2"]).model.options == \
        {"kernel_sizes": [3, 4, 5], "num_filters": 200, "head_dropout": 0.2}
    (tmp_path / "l.toml").write_text('[model]\nname = "lstm"\n[model.options]\nimpl = "fused"\n')
    assert build_config("cnn", tmp_path / "l.toml").model.options == {"impl": "fused"}  # another architecture's


def test_init_config_writes_loadable_toml(tmp_path):
    from lstmtext.config import build_config

    path = tmp_path / "c.toml"
    assert runner.invoke(app, ["init-config", str(path), "--preset", "seed001"]).exit_code == 0
    text = path.read_text()
    assert "hidden_size = 256" in text and "# " in text
    # every key carries its comment, as README says (task, the sizes, epochs, lr ... had none: docs review)
    bare = [line for line in text.splitlines() if " = " in line and not line.startswith("#") and "  # " not in line]
    assert bare == []
    assert build_config(None, path) == build_config("seed001")
    assert runner.invoke(app, ["init-config", str(path)]).exit_code != 0
    (tmp_path / "folder").mkdir()  # --overwrite over a folder was a traceback (IsADirectoryError)
    said = runner.invoke(app, ["init-config", str(tmp_path / "folder"), "--overwrite"])
    assert said.exit_code == 1 and "is a folder: give the path of a file" in str(said.exception)
    said = runner.invoke(app, ["init-config", str(tmp_path / "c.json")])  # TOML in a .json: --config read it as JSON
    assert said.exit_code == 1 and str(said.exception).endswith("name the file c.toml.")
    assert not (tmp_path / "c.json").exists()
    from lstmtext.classifier import TextClassifier
    from lstmtext.pipeline.options import run_config

    # as `train --config` and the estimators read it: its `pretrained = "none"` (TOML's null) had been taken for a
    # language model's folder named none
    assert 'pretrained = "none"' in text
    assert run_config(None, path, []) == build_config("seed001")
    assert TextClassifier(None, config=path).resolve_config() == build_config("seed001")


def test_a_config_folder_without_a_config_is_named_as_such_and_a_misspelt_example_gets_a_guess(tmp_path):
    (tmp_path / "my.toml").write_text("[train]\nepochs = 1\n")
    said = runner.invoke(app, ["train", "--config", str(tmp_path), "--out", str(tmp_path / "o")])
    # it said "config file not found. Write one with `lstmtext init-config FOLDER/config.json`": TOML in a .json
    assert said.exit_code == 1 and str(said.exception) == (
        f"{tmp_path}: a folder without a saved model's config.json. Give the TOML file itself (lstmtext init-config "
        "writes one), or a model or training output folder.")
    said = runner.invoke(app, ["explain", "lstmm", "hi"])  # it said "lstmm: no such folder"
    assert said.exit_code == 1 and str(said.exception).endswith("nor a model folder. Did you mean 'lstm'?")


def test_init_config_dash_writes_to_standard_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # it wrote a file named "-"
    said = runner.invoke(app, ["init-config", "-", "--preset", "cnn"])
    assert said.exit_code == 0 and said.output.startswith("# lstmtext config (preset 'cnn').")
    assert 'name = "cnn"' in said.output and not (tmp_path / "-").exists()


def test_an_edited_init_config_file_trains_without_a_warning_about_a_preset(tmp_path, caplog):
    # init-config, change model.name, train --config: it warned that the file replaced "the preset default", a preset
    # the user never named, and advised dropping the file's [model] section (their edit)
    from lstmtext.pipeline.options import run_config

    path = tmp_path / "c.toml"
    assert runner.invoke(app, ["init-config", str(path)]).exit_code == 0
    path.write_text(path.read_text().replace('name = "lstm"', 'name = "cnn"', 1))
    with caplog.at_level("WARNING"):
        assert run_config(None, path, []).model.name == "cnn"
    assert "replacing" not in caplog.text
    with caplog.at_level("WARNING"):  # a preset the user named and a file of another architecture: still said
        assert run_config("bilstm", path, []).model.name == "cnn"
    assert "replacing 'bilstm' of the preset bilstm" in caplog.text


def test_a_sections_key_given_at_the_top_level_is_pointed_to_its_section(tmp_path):
    from lstmtext.config import build_config
    from lstmtext.errors import ConfigError

    path = tmp_path / "c.toml"
    path.write_text("epochs = 3\n")
    with pytest.raises(ConfigError, match=r"c\.toml: unknown key 'epochs'\. Did you mean 'train\.epochs'\?"):
        build_config(None, path)
    path.write_text("[train]\nepochs = true\n")  # TOML's true is not the number 1
    with pytest.raises(ConfigError, match=r"c\.toml: train value error, epochs must be a number, not true"):
        build_config(None, path)


def test_a_saved_models_config_json_or_folder_is_a_config_file(trained_run, tmp_path, caplog):
    import json

    from lstmtext.config import build_config
    from lstmtext.errors import ConfigError

    out = trained_run[0]
    saved = json.loads((out / "model" / "config.json").read_text())["lstmtext"]
    for given in (out / "model" / "config.json", out / "model", out):  # the file, the model folder, the run folder
        assert build_config(None, given).model_dump(mode="json") == saved
    assert not caplog.records
    cnn = build_config("cnn", out)  # every key set by the file: the preset is replaced, and a warning says so
    assert cnn.model.name == saved["model"]["name"] and "replacing 'cnn' of the preset cnn" in caplog.text
    del saved["train"]["bucket_chunks"]  # as a model saved before the key existed: it trained with today's default
    (tmp_path / "old.json").write_text(json.dumps({"lstmtext": saved}))
    assert build_config("default", tmp_path / "old.json").train.bucket_chunks == 8  # not the default preset's 256
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ConfigError, match=r"bad\.json: not valid JSON"):
        build_config(None, tmp_path / "bad.json")


def test_preprocess_preview(tiny_path, tmp_path):
    result = runner.invoke(app, ["preprocess", "--text", "@VirginAmerica heyyyy guyyyys.. :/"])
    assert result.exit_code == 0 and "hey guys perplexed" in result.output
    result = runner.invoke(app, ["preprocess", str(tiny_path), "--n", "3"])
    assert result.exit_code == 0 and "airline" not in result.output.split("after")[-1].lower().split("\n")[3]
    lines = tmp_path / "lines.txt"
    lines.write_text("first line Here\n", encoding="utf-8")  # a plain text file: its first line is a text
    result = runner.invoke(app, ["preprocess", str(lines), "--preset", "plain"])
    assert result.exit_code == 0 and "first line here" in result.output and "[line]" in result.output
    headless = tmp_path / "smsa.tsv"  # IndoNLU's TSV files have no header row: the first review is a text
    headless.write_text("Kamarnya Bersih sekali\tpositive\n", encoding="utf-8")
    result = runner.invoke(app, ["preprocess", str(headless), "--preset", "plain", "--no-header"])
    assert result.exit_code == 0 and "kamarnya bersih sekali" in result.output and "[text]" in result.output
    result = runner.invoke(app, ["preprocess"])
    assert result.exit_code == 1 and "give a FILE to preview or --text" in str(result.exception)
    # without --no-header the first review was the header and the first column was previewed, silently; a table
    # without a 'text' column previewed its first (the news titles' dates)
    headless.write_text("Kamarnya Bersih sekali , pelayanan ramah\tpositive\nmahal\tnegative\n", encoding="utf-8")
    result = runner.invoke(app, ["preprocess", str(headless), "--preset", "plain"])
    assert result.exit_code == 1 and "The first line looks like data, not a header: pass --no-header" in \
        str(result.exception)
    news = tmp_path / "news.csv"
    news.write_text("date,title\n01/13/2020,Harga cabai naik\n", encoding="utf-8")
    result = runner.invoke(app, ["preprocess", str(news)])
    assert result.exit_code == 1 and "no column 'text'" in str(result.exception) and "date, title" in \
        str(result.exception)
    assert runner.invoke(app, ["preprocess", str(news), "--text-col", "title", "--preset", "plain"]).exit_code == 0


def test_preprocess_builds_the_chain_a_run_builds_and_refuses_what_it_would_ignore(tiny_path, tmp_path):
    # a step's option could not be passed, so a chain a run would train with could not be previewed
    said = runner.invoke(app, ["preprocess", "--text", "wait...what SFO-PDX", "--set",
                               "preprocess.options.remove_punctuation.split=true"], terminal_width=200)
    assert said.exit_code == 0 and "wait what sfo pdx" in said.output
    for args, error in [
        ([str(tiny_path), "--text", "x"], "give a FILE to preview or --text to trace step by step, not both"),  # ignored
        (["--text", "x", "--steps", ""], "--steps: no step name given"),  # ran the preset's chain
        (["--text", "x", "--preset", "id-review", "--steps", "lowercase"], "--preset id-review and --steps: the "
                                                                            "steps are the whole chain"),  # ignored
        (["--text", "x", "--steps", "lowercase,remove_url"], "unknown cleaning step 'remove_url'. Did you mean "
                                                             "'remove_urls'?"),
        (["--text", "x", "--set", "train.epochs=1"], "preprocess.* keys only")]:
        said = runner.invoke(app, ["preprocess", *args])
        assert said.exit_code == 1 and error in str(said.exception), (args, said.output)
    long = tmp_path / "long.txt"  # a 200 MB line printed a 22 MB table
    long.write_text("kata " * 5000 + "\n", encoding="utf-8")
    said = runner.invoke(app, ["preprocess", str(long), "--preset", "plain"], terminal_width=200)
    assert said.exit_code == 0 and "(25,000 characters" in said.output and len(said.output) < 12_000


def test_preprocess_shows_the_text_as_it_is_and_marks_clause_breaks(tmp_path):
    result = runner.invoke(app, ["preprocess", "--text", "Bagus, tapi [b]mahal[/b]", "--preset", "id-review"],
                           terminal_width=200)
    assert result.exit_code == 0 and "[b]mahal[/b]" in result.output  # rich read it as markup and dropped it
    assert "\x1d" not in result.output and "bagus ‖  tapi" in result.output and "‖ marks a clause break" in result.output
    result = runner.invoke(app, ["preprocess", "--text", "Bagus, Tapi", "--steps", "lowercase, normalize_whitespace"],
                           terminal_width=200)
    assert result.exit_code == 0 and "steps lowercase,normalize_whitespace: step by" in result.output
    assert "bagus, tapi" in result.output and "clause break" not in result.output
    rows = tmp_path / "rows.txt"
    rows.write_text("[i]Enak[/i]. Murah\n", encoding="utf-8")
    # steps of one's own are a chain written out, as a run reads them: its options are the --set ones
    result = runner.invoke(app, ["preprocess", str(rows), "--steps", "punctuation_to_space",
                                 "--set", "preprocess.options.punctuation_to_space.clause_ends=true"],
                           terminal_width=200)
    assert result.exit_code == 0 and "[i]Enak[/i]. Murah" in result.output and "Enak  i  ‖  Murah" in result.output



def test_every_command_reading_texts_takes_no_header(trained_run, tmp_path):
    """IndoNLU's TSV files have no header row: detect-lang, embed, pretrain and suggest read them as train does."""
    headless = tmp_path / "smsa.tsv"
    rows = ["kamarnya bersih sekali dan nyaman\tpositive", "makanannya enak tapi pelayanannya lambat\tneutral",
            "kecewa sekali dengan kamarnya\tnegative"] * 10
    headless.write_text("\n".join(rows) + "\n", encoding="utf-8")
    model = trained_run[0]
    commands = {
        "detect-lang": ["detect-lang", str(headless), "--json"],
        "embed": ["embed", str(headless), "--out", str(tmp_path / "v.txt"), "--dim", "8", "--epochs", "1"],
        "pretrain": ["pretrain", str(headless), "--out", str(tmp_path / "lm"), "--quiet", "--set", "lm.epochs=1",
                     "--set", "model.embedding_dim=8", "--set", "model.hidden_size=8"],
        "suggest": ["suggest", str(model), str(headless), "--n", "2", "--out", str(tmp_path / "s")],
    }
    for name, args in commands.items():
        refused = runner.invoke(app, args)  # the first review read as a header: its column names the fix
        assert refused.exit_code == 1, (name, refused.output)
        assert "no column" in str(refused.exception) and "or --no-header for a file without a header row" in \
            str(refused.exception), name
        result = runner.invoke(app, [*args, "--no-header"])
        assert result.exit_code == 0, (name, result.output)
    assert json.loads(runner.invoke(app, [*commands["detect-lang"], "--no-header"]).output)["total"] == 30
    assert "from 30 texts" in runner.invoke(app, [*commands["embed"], "--no-header", "--overwrite"]).output
    assert json.loads((tmp_path / "s" / "suggest.json").read_text())["texts_read"] == 30



def test_help_is_wrapped_not_cut_at_80_columns():
    """Rich ellipsises a word wider than the help column: choice lists and --no-X twins once left it 12 characters."""
    commands = [c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands]
    assert "train" in commands and len(commands) > 15
    for name in ["", *commands]:
        result = runner.invoke(app, [name, "--help"] if name else ["--help"], env={"COLUMNS": "80"})
        assert result.exit_code == 0, name
        assert "…" not in result.output, (name, [line for line in result.output.splitlines() if "…" in line])
        description = result.output.split("╭")[0].splitlines()
        for line, after in zip(description, description[1:]):  # a sentence goes on only where the line was full
            line, after = line.strip(), after.strip()
            if line and after[:1].islower():
                assert len(line) + 1 + len(after.split()[0]) > 78, (name, line, after)
    serve = runner.invoke(app, ["serve", "--help"], env={"COLUMNS": "80"}).output
    assert "LSTMTEXT_<OPTION> environment variable" in serve  # not read as an HTML tag


def test_flags_show_no_type_in_the_scripts_help(monkeypatch, capsys):
    """Typer 0.29 wrote ``<bool>`` after every flag (``--verbose <bool>``), as if it took a value."""
    from lstmtext.cli.app import main

    for argv in (["--help"], ["train", "--help"], ["predict", "--help"]):
        monkeypatch.setattr("sys.argv", ["lstmtext", *argv])
        monkeypatch.setenv("COLUMNS", "120")
        with pytest.raises(SystemExit) as done:
            main()
        out = capsys.readouterr().out
        assert done.value.code == 0 and "--help" in out and "<bool>" not in out, (argv, out)
        if argv[0] == "train":
            assert "--overwrite" in out and "<int>" in out  # options that take a value keep their type


def test_the_script_runs_without_the_click_package():
    """typer 0.29 carries its own click, and a plain install of lstmtext has no click package: an `import click`
    in the command line had ended every command with ModuleNotFoundError (the serve and dev extras bring one)."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['click'] = None; sys.argv = ['lstmtext'] + sys.argv[1:]; "
            "from lstmtext.cli.app import main; main()")
    for args in (["--version"], ["predict", "--help"]):
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and ("lstmtext 0.1" in done.stdout or "Usage" in done.stdout), done.stderr


def test_presets_describes_every_preset_and_architecture():
    from lstmtext.config.presets import CLEANING_DESCRIPTIONS, PRESET_DESCRIPTIONS, available_presets
    from lstmtext.preprocess import PREPROCESS_PRESETS

    assert sorted(PRESET_DESCRIPTIONS) == sorted(available_presets())
    assert sorted(CLEANING_DESCRIPTIONS) == sorted(PREPROCESS_PRESETS)
    result = runner.invoke(app, ["presets"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in result.output.splitlines()
            if line.count("│") == 3}
    assert rows["cnn-bag-long"] == PRESET_DESCRIPTIONS["cnn-bag-long"] and rows["id-aspect"].startswith("id-review")
    assert rows["ulmfit-long"] == "ulmfit for reviews: texts cut at 256 tokens" and "seed001" in rows


def test_bad_set_is_a_clear_error(tiny_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["lstmtext", "train", str(tiny_path), "--set", "model.hiden_size=3"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    assert "unknown key 'model.hiden_size'. Did you mean 'model.hidden_size'?" in capsys.readouterr().err


def test_a_json_table_in_set_says_how_to_write_it():
    from lstmtext.config import build_config
    from lstmtext.errors import ConfigError

    with pytest.raises(ConfigError, match=r"preprocess.options input should be a valid dictionary\. Got '\{\"a\": 1\}' "
                                          r"instead\. Set one key at a time \(--set preprocess\.options\.KEY=VALUE"):
        build_config(None, overrides=['preprocess.options={"a": 1}'])
    tree = build_config(None, overrides=['preprocess.options={normalize_slang = {overrides = ""}}'])
    assert tree.preprocess.options == {"normalize_slang": {"overrides": ""}}


def test_a_config_error_names_the_flag_or_setting_that_gave_the_value(tmp_path):
    from lstmtext.errors import ConfigError
    from lstmtext.pipeline.options import run_config

    with pytest.raises(ConfigError, match=r"^--oversample: train.oversample input should be 'random'\. Got 'yes'"):
        run_config(None, None, ["train.lr=0.01", "model.hidden_size=8"], oversample="yes")
    with pytest.raises(ConfigError, match=r"^--set train.lr=-1: train.lr input should be greater than 0"):
        run_config("cnn", None, ["train.lr=-1", "model.hidden_size=8"], class_weight="balanced")
    with pytest.raises(ConfigError, match=r"^--preset 'vi-review': that is a cleaning preset; choose it with --set "
                                          r"preprocess.preset=vi-review \(the model presets: absa, bilstm"):
        run_config("vi-review")
    from lstmtext import TextClassifier

    with pytest.raises(ConfigError, match=r"^preset='en-tweet': that is a cleaning preset; choose it with "
                                          r"preprocess=en-tweet \(the model presets: absa"):  # the Python API's terms
        TextClassifier("en-tweet").fit(["a good one", "a bad one"] * 5, ["p", "n"] * 5)
    toml = tmp_path / "c.toml"
    toml.write_text("[model]\nhidden_size = 0\n")
    with pytest.raises(ConfigError, match=rf"^{toml}: model.hidden_size input should be greater than or equal to 1"):
        run_config(None, toml, ["train.lr=0.01"])
    toml.write_text("[data]\nvalid_size = 0.6\ntest_size = 0.5\n")  # a check across keys names no location
    with pytest.raises(ConfigError, match=rf"^{toml}: value error, data.valid_size \+ data.test_size must be < 1"):
        run_config(None, toml, ["train.lr=0.01"])


def test_a_set_value_of_the_wrong_kind_says_how_to_write_it(tmp_path):
    """A number for a text key and a comma list for a list key said only "should be a valid string/list" (training
    review); --set task=absa did not point to --task."""
    from lstmtext.errors import ConfigError
    from lstmtext.pipeline.options import run_config

    with pytest.raises(ConfigError, match=r"Got 2024 instead\. Write it as a TOML string, \"2024\" \(on the command "
                                          r"line: --set 'data\.text_col=\"2024\"'\)\.$"):
        run_config(None, None, ["data.text_col=2024"])
    with pytest.raises(ConfigError, match=r"Write it as a TOML list, \[\"lowercase\", \"normalize_whitespace\"\] \(on the "
                                          r"command line: --set 'preprocess\.steps=\[\"lowercase\", \"normalize_whitespace\"\]'\)"):
        run_config(None, None, ["preprocess.steps=lowercase,normalize_whitespace"])
    with pytest.raises(ConfigError, match=r"Write it as a TOML list, \[\"food\", \"service\"\]"):
        run_config(None, None, ["absa.aspects=[food,service]"], task="absa")
    with pytest.raises(ConfigError, match=r"Write each item of the list as a TOML string \(on the command line: --set "
                                          r"'multilabel\.labels=\[\"1\"\]'\)\.$"):  # not multilabel.labels.0=...
        run_config(None, None, ["multilabel.labels=[1,2]"], task="multilabel")
    with pytest.raises(ConfigError, match=r"dotted as section\.key, e\.g\. model\.hidden_size \(the task is --task TASK\)"):
        run_config(None, None, ["task=absa"])


def test_ctrl_c_says_what_was_kept_and_how_to_go_on(tiny_path, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("lstmtext.pipeline.run", interrupted)
    result = runner.invoke(app, ["train", str(tiny_path), "--out", str(tmp_path / "r")])
    assert result.exit_code == 130  # interrupted before the first epoch ended: no checkpoint to resume from
    assert "interrupted: nothing was saved yet: run the same command to start again." in " ".join(result.output.split())
    result = runner.invoke(app, ["train", str(tiny_path), "--out", str(tmp_path / "r"), "--overwrite"])
    assert " ".join(result.output.split()).endswith("nothing was saved yet: run the same command to start again.")
    (tmp_path / "r" / "checkpoint").mkdir(parents=True)
    (tmp_path / "r" / "checkpoint" / "state.json").write_text("{}")
    os.utime(tmp_path / "r" / "checkpoint" / "state.json", (1e9, 1e9))  # an earlier run's: --overwrite did not
    result = runner.invoke(app, ["train", str(tiny_path), "--out", str(tmp_path / "r"), "--overwrite"])  # replace it
    assert " ".join(result.output.split()).endswith("interrupted: nothing of this run was saved yet (what an earlier run "
                                                    f"left in {tmp_path / 'r'} is as it was): run the same command to "
                                                    "start again.")  # it said "kept ... run with --resume"

    def one_epoch_then_interrupted(config, data, out, **kwargs):
        (out / "checkpoint" / "state.json").write_text("{}")  # this run's first epoch
        raise KeyboardInterrupt

    monkeypatch.setattr("lstmtext.pipeline.run", one_epoch_then_interrupted)
    result = runner.invoke(app, ["train", str(tiny_path), "--out", str(tmp_path / "r"), "--overwrite"])
    said = " ".join(result.output.split())  # --resume beside --overwrite is refused: the hint had said to add it
    assert said.endswith(f"interrupted: what was done is kept in {tmp_path / 'r'} (the last finished epoch, or "
                         "--stream's shards): run the same command with --resume to go on. Leave out --overwrite, or it "
                         "starts over.")
    monkeypatch.setattr("lstmtext.pipeline.run", interrupted)
    (tmp_path / "r" / "checkpoint" / "state.json").unlink()
    (tmp_path / "r" / "checkpoint" / "member0").mkdir()  # an ensemble's first member: its epochs are kept
    (tmp_path / "r" / "checkpoint" / "member0" / "state.json").write_text("{}")
    result = runner.invoke(app, ["train", str(tiny_path), "--out", str(tmp_path / "r")])
    assert " ".join(result.output.split()).endswith("with --resume to go on.")  # it had said "nothing was saved yet"
    (tmp_path / "r" / "checkpoint" / "member0" / "state.json").unlink()  # stopped in the language-model stage
    (tmp_path / "r" / "lm_work" / "checkpoint").mkdir(parents=True)
    (tmp_path / "r" / "lm_work" / "checkpoint" / "state.json").write_text("{}")
    result = runner.invoke(app, ["train", str(tiny_path), "--out", str(tmp_path / "r")])
    assert " ".join(result.output.split()).endswith("with --resume to go on.")


def test_kill_stops_a_long_command_as_ctrl_c_does_and_overwrite_is_named_where_it_restarts(tmp_path, capsys):
    import os
    import signal

    from lstmtext.cli.common import interruptible

    def killed(out, overwrite=False):
        os.kill(os.getpid(), signal.SIGTERM)  # `kill PID`: a pool's workers are stopped on the way out

    before = signal.getsignal(signal.SIGTERM)
    for restarts, extra in ((False, ""), (True, " Leave out --overwrite, or it starts over.")):
        command = interruptible("kept in OUT/study.db: run the same command again to go on.",
                                overwrite_restarts=restarts)(killed)
        with pytest.raises(typer.Exit) as stopped:
            command(out=tmp_path, overwrite=True)
        assert stopped.value.exit_code == 130 and signal.getsignal(signal.SIGTERM) is before
        said = " ".join(capsys.readouterr().err.split())
        assert said == f"interrupted: kept in {tmp_path}/study.db: run the same command again to go on.{extra}"


def test_the_preprocess_option_sets_a_cleaning_preset_or_steps(tiny_path, tmp_path):
    from lstmtext.pipeline.options import run_config

    assert run_config("cnn", preprocess="id-review").preprocess.preset == "id-review"
    assert run_config(None, preprocess="lowercase, normalize_whitespace").preprocess.steps == ["lowercase",
                                                                                              "normalize_whitespace"]
    result = runner.invoke(app, ["cv", str(tiny_path), "--split-col", "split", "--folds", "2", "--preprocess", "plain",
                                 "--mode", "sequential", "--workers", "1", "--out", str(tmp_path / "cv"),
                                 "--set", "train.epochs=1", "--set", "model.hidden_size=4", "--set", "model.embedding_dim=4"])
    assert result.exit_code == 0, result.output


def test_preprocess_refuses_a_negative_sample_size(tiny_path):
    result = runner.invoke(app, ["preprocess", str(tiny_path), "--n", "-3"])
    assert result.exit_code == 2 and "greater than or equal to 1" in " ".join(result.output.split())


def test_version_and_verbose_after_the_command(monkeypatch, capsys, tiny_path):
    from lstmtext import __version__
    from lstmtext.cli.app import hoist_verbose

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith(f"lstmtext {__version__} (Python ")
    assert hoist_verbose(["train", "d.csv", "-v", "--quiet"]) == ["-v", "train", "d.csv", "--quiet"]
    assert hoist_verbose(["predict", "m", "--", "-v"]) == ["predict", "m", "--", "-v"]  # a text after --
    monkeypatch.setattr("sys.argv", ["lstmtext", "train", str(tiny_path), "--text-col", "tweet", "--verbose"])
    from lstmtext.errors import DataError

    with pytest.raises(DataError, match="no column 'tweet'"):  # verbose: the error is raised, not one line
        main()


def test_piped_output_is_not_cut_at_80_columns(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    long_token = "supercalifragilisticexpialidocious"
    result = runner.invoke(app, ["explain", "onehot", f"{long_token} is a word, {long_token} again"])
    assert result.exit_code == 0, result.output
    assert long_token in result.output and "…" not in result.output


def test_a_check_across_keys_does_not_print_the_whole_config():
    from lstmtext.config import build_config
    from lstmtext.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        build_config(None, overrides=["data.test_size=0.95"])
    assert str(err.value) == "--set data.test_size=0.95: value error, data.valid_size + data.test_size must be < 1."


def test_pretrain_warns_about_the_classifiers_training_keys(tmp_path):
    res = runner.invoke(app, ["pretrain", str(tmp_path / "none.txt"), "--out", str(tmp_path / "lm"), "--set",
                              "train.lr=0.5", "--set", "train.precision=\"fp32\"", "--set", "train.patience=2"])
    assert "warning: --set train.lr: pretrain does not read it (it is the classifier's); set lm.lr." in res.output
    assert "warning: --set train.patience: pretrain does not read it (it is the classifier's)." in res.output
    assert "train.precision" not in res.output  # pretraining runs in that precision


@pytest.mark.parametrize("argv, code, said", [
    (["predict", "m", "hi", "--min-confidence", "abc"], 2, "error: Invalid value for '--min-confidence': Input should be "
     "a valid number, unable to parse string as a number. See lstmtext predict --help."),
    (["predict", "m", "hi", "--nosuch"], 2, "error: No such option: --nosuch. See lstmtext predict --help."),
    (["nosuchcommand"], 2, "error: No such command 'nosuchcommand'. See lstmtext --help."),
    (["predict", "/nonexistent/model", "hi"], 1, "error: /nonexistent/model: no such folder."),
])
def test_the_script_says_a_usage_error_in_one_line_like_its_own(argv, code, said, monkeypatch, capsys):
    """The `lstmtext` script (main()), not the app: typer framed a bad option value in a 5-line panel."""
    from lstmtext.cli.app import main

    monkeypatch.setattr("sys.argv", ["lstmtext", *argv])
    monkeypatch.setenv("COLUMNS", "300")
    with pytest.raises(SystemExit) as done:
        main()
    err = capsys.readouterr().err.strip()
    assert done.value.code == code and err.startswith(said) and "\n" not in err, err


def test_the_script_exits_0_after_help_and_a_prediction(trained_run, monkeypatch, capsys):
    from lstmtext.cli.app import main

    for argv in (["predict", "--help"], ["predict", str(trained_run[0]), "great crew"]):
        monkeypatch.setattr("sys.argv", ["lstmtext", *argv])
        with pytest.raises(SystemExit) as done:
            main()
        assert done.value.code == 0
    assert '"label"' in capsys.readouterr().out


def test_log_records_read_like_the_clis_own_warnings():
    import logging

    from lstmtext.utils.logs import CliFormatter

    def shown(level: int) -> str:
        return CliFormatter().format(logging.LogRecord("lstmtext.data.dataset", level, __file__, 1, "3 rows %s", ("kept",),
                                                       None))

    # it had printed "WARNING lstmtext.data.dataset: ..." beside the CLI's "warning: ..." lines
    assert shown(logging.WARNING) == "warning: 3 rows kept" and shown(logging.ERROR) == "error: 3 rows kept"
    assert shown(logging.INFO) == "INFO lstmtext.data.dataset: 3 rows kept"  # --verbose: the source helps


def test_a_text_that_names_a_file_is_classified_with_a_hint(trained_run, tmp_path, monkeypatch, capsys):
    (tmp_path / "reviews.txt").write_text("great crew\nlost my bag\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", ["lstmtext", "predict", str(trained_run[0]), "reviews.txt", "great crew", "x" * 5000])
    with pytest.raises(SystemExit) as done:
        main()
    got = capsys.readouterr()
    assert done.value.code == 0 and [json.loads(line)["text"] for line in got.out.splitlines()] == \
        ["reviews.txt", "great crew", "x" * 5000]  # as asked, and a name too long for a path is just a text
    assert "warning: the text 'reviews.txt' is classified as it is written, and it is also a file's name: to " \
           "classify the texts in the file, give --file reviews.txt." in got.err
    monkeypatch.setattr("sys.argv", ["lstmtext", "predict", str(trained_run[0]), "great crew"])
    with pytest.raises(SystemExit):
        main()
    assert "--file" not in capsys.readouterr().err


def test_train_says_where_a_blended_valid_score_comes_from(tmp_path):
    """With the TF-IDF path fitted after training (ulmfit's), the epochs score the network alone and the final
    line the blend: the jump between them (0.15 to 0.69 in a review) had nothing on screen to explain it."""
    from helpers import TINY, TINY_OVERRIDES

    args = ["train", str(TINY), "--out", str(tmp_path / "run"), "--quiet"]
    for item in [*TINY_OVERRIDES, "train.epochs=2", "model.ngram_bag=2", "model.ngram_buckets=4096",
                 'model.ngram_fit="after"']:
        args += ["--set", item]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    fit = metrics["summary"]["ngram_fit"]["members"][0]
    line = next(x for x in result.output.splitlines() if "TF-IDF + logistic regression path" in x)
    assert f"share of {fit['blend']} (chosen on valid): valid_macro_f1 " in line
    assert f"{fit['valid_scores'][str(fit['blend'])]}, against {fit['valid_scores']['0.0']} for the network" in line


def test_detect_lang_shows_its_progress_on_a_terminal(tmp_path, monkeypatch):
    # --languages all judged 14,640 tweets for 1.5 minutes without a sign of life
    import lstmtext.utils.progress as progress

    data = tmp_path / "d.csv"
    data.write_text("text\n" + "\n".join(f"the flight number {i} was late again today" for i in range(30)) + "\n")
    monkeypatch.setattr(progress, "on_terminal", lambda: True)
    said = runner.invoke(app, ["detect-lang", str(data)])
    import re

    # a count and a rate (no total: the file is streamed); how many by the first redraw depends on the clock
    assert said.exit_code == 0 and re.search(r"detect-lang: \d+ rows \[", said.stderr)
    monkeypatch.setattr(progress, "on_terminal", lambda: False)  # piped: no bar
    assert "detect-lang:" not in runner.invoke(app, ["detect-lang", str(data)]).stderr


def test_more_workers_than_cores_is_warned_about(caplog, monkeypatch):
    """--workers 8 on 2 cores ran 8 processes sharing them, and the report said 8 worker(s), without a word."""
    import logging

    from lstmtext.cli import common

    monkeypatch.setattr("lstmtext.utils.cores.usable_cores", lambda: 2)
    with caplog.at_level(logging.WARNING):
        assert common.workers_or_cores(8) == 8 and common.workers_or_cores(None) == 2 and common.workers_or_cores(2) == 2
    assert caplog.text.count("--workers 8 is more than the 2 usable cores") == 1
