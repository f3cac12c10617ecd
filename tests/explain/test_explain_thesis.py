"""``lstmtext explain bilstm|cbow|onehot``: the thesis's BiLSTM step, CBOW step and one-hot table on the command line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lstmtext.cli import app, main
from lstmtext.errors import ConfigError
from lstmtext.explain.reference import bilstm, onehot, thesis_examples
from lstmtext.explain.reference.tables import format_value

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "src" / "lstmtext" / "resources" / "examples"


def _invoke(*args: str):
    return runner.invoke(app, ["explain", *args], env={"COLUMNS": "240"})


def _ok(*args: str) -> str:
    result = _invoke(*args)
    assert result.exit_code == 0, result.output
    return result.output


def test_bilstm_prints_every_table_and_value():
    output = _ok("bilstm")
    for title in ("\u2192 forward LSTM layer", "\u2190 backward LSTM layer", "Output layer", "BPTT, \u2192 forward",
                  "BPTT, \u2190 backward", "Gradients, summed over the steps (2.43-2.45)", "SGD update (2.46)"):
        assert title in output, title
    run = thesis_examples.run_bilstm_example()
    for name in bilstm.param_keys():  # every gradient and every updated parameter
        assert format_value(run.grads[name]) in output and format_value(run.updated[name]) in output, name
    for o in run.outputs:
        assert format_value(o.y) in output and format_value(o.dy) in output
    assert "LCE(y_rt, y_t) = 1.94860 (2.24)" in output and "E = 1.90725" in output and "all 25 parameters" in output


def test_bilstm_weights_file_lr_and_decimals():
    built_in = _ok("bilstm")
    assert _ok("bilstm", "--weights", str(EXAMPLES_DIR / "bilstm_small.json")) == built_in
    output = _ok("bilstm", "--weights", str(EXAMPLES_DIR / "bilstm_small.json"), "--lr", "0.5", "--decimals", "3")
    run = thesis_examples.run_bilstm_example(lr=0.5)
    assert "0.5 \u00d7 \u2202E/\u2202\u03b8" in output and f"E = {run.loss_after:.3f}" in output
    assert format_value(run.updated["bw.W_c"], 3) in output and format_value(run.updated["bw.W_c"]) not in output


def test_cbow_prints_the_step_and_the_movement():
    output = _ok("cbow")
    for title in ("Input layer \u2192 hidden layer (2.1)", "Hidden layer \u2192 output layer (2.2-2.5)",
                  "Output vectors, SGD with \u03b7 = 0.1 (2.6-2.7)", "Input vectors (2.8-2.10)", "What the step did"):
        assert title in output, title
    step = thesis_examples.run_cbow_example()
    for value in (step.h, step.EH, step.W_new[step.context], step.W_prime_new[:, 3], *step.u, *step.y, *step.e):
        assert format_value(value) in output
    row = next(line for line in output.splitlines() if line.startswith("\u2502 sesuai  (w_O)"))  # "What the step did"
    assert re.findall(r"-?\d+\.\d+", row) == ["-0.12000", "-0.09624", "-0.48626", "-0.40756"]
    assert "loss E = 1.71077 before, 1.66735 after both updates (2.4); p(w_O|w_I) = y_j* 0.18073 \u2192 0.18875" in output
    assert _ok("cbow", "--weights", str(EXAMPLES_DIR / "cbow_small.json")) == output
    assert "\u03b7 = 0.5" in _ok("cbow", "--lr", "0.5")


def _table_rows(output: str, first: str) -> list[list[str]]:
    """The cells of the table rows whose first cell is ``first``."""
    rows = []
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("\u2502").split("\u2502")]
        if line.startswith("\u2502") and cells[0] == first:
            rows.append(cells)
    return rows


def test_onehot_prints_figure_2_9():
    output = _ok("onehot", onehot.THESIS_SENTENCE)
    assert "13 tokens, V = 12 words in order of first appearance" in output
    header = next(line for line in output.splitlines() if "Corpus" in line)
    assert re.findall(r"[a-z]+", header.replace("Corpus", "")) == onehot.THESIS_SENTENCE.split()
    assert _table_rows(output, "bukalapak")[-1][1:] == ["1"] + ["0"] * 10 + ["1", "0"]
    assert _table_rows(output, "belanja")[-1][1:] == ["0"] * 10 + ["1", "0", "0"]
    assert _table_rows(output, "hahaha")[-1][1:] == ["0"] * 12 + ["1"]
    vocabulary = [row[1] for row in (_table_rows(output, str(k))[0] for k in range(12))]
    assert vocabulary == onehot.encode(onehot.THESIS_SENTENCE).vocabulary
    assert _table_rows(output, "0")[0] == ["0", "bukalapak", "0, 11", "(1 0 0 0 0 0 0 0 0 0 0 0)"]


def test_onehot_escapes_markup():
    output = _ok("onehot", "[bold]x[/bold] y")
    assert "[bold]x[/bold]" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["onehot", ""], "has no tokens; expected a sentence of one or more words"),
        (["onehot", "   "], "has no tokens"),
        (["onehot"], "explain onehot: TEXT is missing"),
        (["onehot", "a b", "--weights", "x.json"], "--weights is not an option"),
        (["onehot", "a b", "--inputs", "1,2"], "--inputs is not an option of `explain onehot`"),
        (["bilstm", "some text"], "TEXT is for `explain onehot` or a model folder"),
        (["bilstm", "--example", "slides"], "--example is not an option of `explain bilstm`"),
        (["cbow", "--out", "x.png"], "--out is not an option of `explain cbow`"),
        (["cbow", "--units"], "--units is not an option"),
        (["bilstm", "--lr", "-1"], "--lr must be a positive number"),
        (["bilstm", "--lr", "inf"], "--lr must be a positive number"),
        (["cbow", "--lr", "nan"], "--lr must be a positive number"),
        (["bilstm", "--weights", str(EXAMPLES_DIR / "cbow_small.json")], "'model' is \"cbow\", but the command is"),
        (["cbow", "--weights", str(EXAMPLES_DIR / "slides_lstm.json")], "weights file of `lstmtext explain lstm|rnn`"),
        (["cbow", "--weights", "missing.json"], "cannot read the file"),
    ],
)
def test_errors_are_one_line(args, message):
    result = _invoke(*args)
    assert isinstance(result.exception, ConfigError), result.output
    assert message in str(result.exception) and "\n" not in str(result.exception)


def test_bad_weights_file_exits_with_one_line(tmp_path, monkeypatch, capsys):
    doc = thesis_examples.bilstm_document()
    doc["backward"]["U_i"] = [[0.3, 0.1]]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    monkeypatch.setattr("sys.argv", ["lstmtext", "explain", "bilstm", "--weights", str(path)])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "backward.U_i has shape (1, 2), expected (1, 1) = (H, H)" in err


def test_help_and_docs_show_the_thesis_commands():
    result = runner.invoke(app, ["explain", "--help"], env={"COLUMNS": "240"})
    assert result.exit_code == 0
    for text in ("--weights bilstm_small", "--weights cbow_small", "explain onehot"):
        assert text in result.output, text
    docs = (ROOT / "docs" / "explain.md").read_text()
    for line in ("lstmtext explain bilstm", "lstmtext explain cbow", "lstmtext explain onehot"):
        assert line in docs, line
    # The output pasted into the docs is what the commands print now.
    bilstm_tail = _ok("bilstm").strip().splitlines()[-1]
    cbow_tail = _ok("cbow").strip().splitlines()[-1]
    assert bilstm_tail in docs and cbow_tail in docs
