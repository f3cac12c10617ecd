"""report.html: one self-contained page per run (written by every run), and its building blocks."""

import re

from lstmtext.reports.html import page, table


def test_every_run_writes_a_self_contained_report_html_beside_report_md(trained_run):
    out, _ = trained_run
    assert (out / "report.md").is_file()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    for heading in ("Metrics", "Training curves", "Data", "Most confident mistakes (test split)", "Config"):
        assert f"<h2>{heading}</h2>" in html
    # curves, the length histogram, a confusion matrix and a calibration figure per scored split, all inline
    assert html.count('src="data:image/png;base64,') == 6
    assert not re.search(r'(src|href)="(https?:|//|/)', html) and "<script" not in html and "<link" not in html
    assert "<th>class</th><th>train</th><th>valid</th><th>test</th>" in html  # class counts per split
    assert "[model]" in html and "hidden_size = 16" in html  # the config, as TOML
    # the title says what was trained, its width too (the default preset's bidirectional lstm is "bilstm 128")
    title = "lstmtext run: lstm 16 on "
    assert f"<title>{title}" in html and (out / "report.md").read_text().startswith(f"# {title}")


def test_confident_mistakes_are_wrong_and_sorted_by_confidence(trained_run, tiny_frame):
    from lstmtext.inference.predictor import Predictor
    from lstmtext.tasks.mistakes import confident_mistakes

    out, _ = trained_run
    predictor = Predictor.from_bundle(out)
    texts = tiny_frame["text"].tolist()
    gold = ["neutral" if y != "neutral" else "positive" for y in tiny_frame["label"]]  # mostly wrong on purpose
    found = confident_mistakes(predictor.task, texts, gold, predictor.predict_proba(texts), n=5)
    assert len(found) == 5 and all(m["predicted"] != m["true"] for m in found)
    probabilities = [m["probability"] for m in found]
    assert probabilities == sorted(probabilities, reverse=True) and all(0 < p <= 1 for p in probabilities)


def test_tables_escape_text_and_format_numbers():
    html = table(["text", "p", "n"], [["<b>bad</b> & co", 0.123456, 12345]])
    assert "&lt;b&gt;bad&lt;/b&gt; &amp; co" in html and ">0.1235<" in html and ">12,345<" in html
    assert "<title>a &lt;b&gt;</title>" in page("a <b>", [html])


def test_markdown_tables_become_html_tables():
    from lstmtext.reports.html import markdown_table

    md = "| fold | macro-F1 |\n|---:|---:|\n| 1 | 0.5000 |\n| **mean ± std** | **0.5 ± 0.1** |\n\nnote <b>\n"
    out = markdown_table(md)
    assert out.startswith("<table><thead><tr><th>fold</th><th>macro-F1</th></tr></thead>")
    assert '<td class="n">1</td><td class="n">0.5000</td>' in out and "<td><b>mean ± std</b></td>" in out
    assert '<td class="n"><b>0.5 ± 0.1</b></td>' in out and "---" not in out and "**" not in out
    assert out.endswith("<p>note &lt;b&gt;</p>")


def test_a_test_text_that_cleans_to_nothing_does_not_stop_the_report(tiny_frame, tmp_path):
    import pandas as pd

    from helpers import TINY_OVERRIDES
    from lstmtext.config import build_config
    from lstmtext.pipeline import run

    labels = sorted(tiny_frame["label"].unique())[:2]  # the same empty text under two labels: one is a mistake
    empty = pd.DataFrame({"text": ["@united http://t.co/abc"] * 2, "label": labels, "split": ["test"] * 2})
    path = tmp_path / "data.csv"
    pd.concat([tiny_frame, empty]).to_csv(path, index=False)
    run(build_config(None, overrides=[*TINY_OVERRIDES, "train.epochs=2"]), path, tmp_path / "out", progress=False)
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "(no word left after cleaning)" in html  # its row says why it has no words; the page is written


def test_a_missed_labels_pushes_keep_their_digits():
    from lstmtext.pipeline.outputs import pushed_by

    # a label at p 0.0012 that the model left out: its words pushed it down by thousandths (all "+0.00" before)
    assert pushed_by(["panas", "air", "kotor"], [-0.00081, 0.0002, -0.0031], sign=-1) == "kotor (+0.0031), panas (+0.00081)"
    assert pushed_by(["late", "again"], [0.4321, -0.1]) == "late (+0.43)"


def test_the_coverage_tables_cut_is_rounded_down_so_that_it_answers_what_it_promises():
    from lstmtext.reports.markdown import calibration_lines, p_cut

    assert (p_cut(0.49075), p_cut(0.5), p_cut(0.9999)) == ("0.490", "0.500", "0.999")
    table = {c: {"accuracy": 0.9, "min_confidence": 0.49075} for c in ("100%", "90%", "80%")}
    lines = calibration_lines({"valid": {"calibration": {"ece_before": 0.05, "ece_after": 0.02, "coverage_table": table}}})
    assert "0.9000 (0.490)" in lines[4] and "0.491" not in lines[4]


def test_the_curves_draw_every_score_the_history_holds():
    from lstmtext.reports.plots import curves_figure

    history = [{"epoch": e, "train_loss": 1.0 / e, "valid_loss": 1.2 / e, "train_accuracy": 0.5, "valid_accuracy": 0.4,
                "train_macro_f1": 0.3, "valid_macro_f1": 0.2, "valid_micro_f1": 0.6} for e in (1, 2)]
    fig = curves_figure(history)  # a multi-label run's: its epoch is picked by valid micro-F1, which was left out
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy", "macro-f1", "micro-f1"]
    assert [line.get_label() for line in fig.axes[3].get_lines()] == ["valid"]
    fig = curves_figure([{k: v for k, v in h.items() if "micro" not in k} for h in history])
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy", "macro-f1"]  # history.png had no macro-F1
