"""report.md tables: a class, label or aspect name never breaks its row."""

from lstmtext.reports.markdown import md_cell, per_class_table


def test_a_name_with_a_pipe_or_line_break_stays_in_its_cell():
    assert md_cell("neu|tral\nx") == "neu\\|tral x"
    row = per_class_table({"neu|tral": {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 3}})[-1]
    assert row == "| neu\\|tral | 1.0000 | 0.5000 | 0.6667 | 3 |"
