"""CLI command of aspect-based sentiment: ``absa-convert`` (long layout -> wide, to inspect or share).

Training, evaluation and prediction of aspect models use the ordinary ``train --task absa``,
``evaluate`` and ``predict`` commands (see docs/absa.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lstmtext.cli.app import TextCol, app, console


@app.command("absa-convert")
def absa_convert(
    data: Annotated[Path, typer.Argument(help="Long-layout file: one row per (text, aspect, polarity).")],
    out: Annotated[Path, typer.Argument(help="Wide CSV to write: the text column, then one column per aspect.")],
    text_col: TextCol = None,
    aspect_col: Annotated[str, typer.Option(help="Column naming the aspect.")] = "aspect",
    polarity_col: Annotated[str, typer.Option(help="Column with the aspect's label.")] = "polarity",
    aspects: Annotated[Optional[str], typer.Option(help="Aspects in column order, comma-separated.")] = None,
) -> None:
    """Convert a long aspect file to the wide layout, as training reads it (absent aspects: not mentioned)."""
    import pandas as pd

    from lstmtext.tasks.absa.data import read_aspect_table
    from lstmtext.utils.atomic import write_text
    from lstmtext.config import build_config

    absa = {"layout": "long", "aspect_col": aspect_col, "polarity_col": polarity_col}
    if aspects:
        absa["aspects"] = [a.strip() for a in aspects.split(",") if a.strip()]
    text = text_col or "text"
    cfg = build_config(None, extra={"task": "absa", "data": {"text_col": text}, "absa": absa})
    table = read_aspect_table(data, cfg)
    frame = pd.DataFrame(table.split.labels, columns=table.aspects)
    frame.insert(0, text, table.split.texts)
    write_text(out, frame.to_csv(index=False))
    console.print(f"wrote {out}: {len(frame)} texts x {len(table.aspects)} aspects; "
                  f"absent aspects got {table.not_mentioned!r}")
