"""``lstmtext detect-lang``: which languages a data file holds and which rows a language filter would drop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from lstmtext.cli.app import app, console


@app.command("detect-lang")
def detect_lang(
    file: Annotated[Path, typer.Argument(help="Data file (CSV/TSV/JSONL/Parquet).")],
    text_col: Annotated[Optional[str], typer.Option(help="Column with the text (default: 'text').")] = None,
    keep: Annotated[Optional[str], typer.Option(help="Language to keep, e.g. vi: show the rows that would be dropped.")] = None,
    languages: Annotated[str, typer.Option(help="Candidate languages, comma-separated; 'all' for every language langid knows.")] = "en,id,vi",
    examples: Annotated[int, typer.Option(help="Dropped rows to show.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Count rows per detected language (langid's bundled model, no download).

    Rows with fewer than 20 letters are kept unjudged; a row is dropped only when another language wins
    with probability >= 0.9. Use the same language in training with --set preprocess.keep_language=vi.
    """
    from lstmtext.data.io import read_table
    from lstmtext.errors import DataError
    from lstmtext.preprocess.langid_step import language_summary

    frame = read_table(file)
    col = text_col or "text"
    if col not in frame.columns:
        raise DataError(f"{file}: no column {col!r}. Columns: {', '.join(map(str, frame.columns))}. Use --text-col.")
    langs = None if languages == "all" else [x.strip() for x in languages.split(",") if x.strip()]
    summary = language_summary(frame[col].fillna("").astype(str).tolist(), keep, langs, max_examples=examples)
    if as_json:
        console.print_json(json.dumps(summary.to_dict(), ensure_ascii=False))
        return
    table = Table("language", "rows", title=f"{file}: {summary.total} rows")
    for lang, n in summary.counts.items():
        table.add_row(lang, str(n))
    table.add_row("(too short to judge)", str(summary.too_short))
    console.print(table)
    if keep:
        console.print(f"keeping {keep!r} would drop {summary.would_drop} rows ({summary.uncertain} more kept as unsure)")
        for row in summary.examples:
            console.print(escape(f"  row {row.index} [{row.language} {row.confidence:.2f}] {row.text[:120]}"))
