"""Commands about data and settings: ``preprocess``, ``init-config``, ``presets``, ``detect-lang`` and ``absa-convert``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from lstmtext.cli.common import NoHeader, OverwriteFileOpt, TextCol, console
from lstmtext.errors import ConfigError, LstmTextError


def preprocess(
    file: Annotated[Optional[Path], typer.Argument(help="Data file to preview (omit to use --text).")] = None,
    preset: Annotated[Optional[str], typer.Option(
        help="Cleaning preset: en-tweet (the default), id-review, id-aspect, id-news, vi-review, plain, none "
             "(`lstmtext presets` says what each is for).")] = None,
    steps: Annotated[Optional[str], typer.Option(help="Comma-separated step names instead of a preset's chain "
                                                      "(none of a preset's options apply then).")] = None,
    text: Annotated[Optional[str], typer.Option(help="Clean this one text, step by step.")] = None,
    text_col: TextCol = None,
    n: Annotated[int, typer.Option(min=1, help="Sample rows to show.")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the row sample.")] = 0,
    no_header: NoHeader = False,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="A step's option, as a run sets it: --set preprocess.options.STEP.KEY=VALUE (repeatable; preprocess.* keys only).")] = None,
) -> None:
    """Show what a cleaning chain does: before/after for sample rows, or every step for one --text.

    Example: lstmtext preprocess reviews.csv --text-col review --preset id-review, or lstmtext preprocess --text
    "gak enak, mahal bgt" --preset id-aspect to see each step
    """
    from rich.markup import escape

    from lstmtext.config import build_config, parse_override
    from lstmtext.data.texts import sample_texts
    from lstmtext.preprocess import available_steps, build_pipeline
    from lstmtext.preprocess.steps import CLAUSE_BREAK

    if file is not None and text is not None:  # the file was ignored without a word
        raise ConfigError("preprocess: give a FILE to preview or --text to trace step by step, not both.")
    if preset is not None and steps is not None:  # the preset was ignored without a word: --steps is the whole chain
        raise ConfigError(f"preprocess: --preset {preset} and --steps: the steps are the whole chain, and none of the "
                          "preset's options apply. Give one of them (`--preset NAME --text 'a text'` shows that preset's steps).")
    preset = preset or "en-tweet"
    chain = [step.strip() for step in steps.split(",") if step.strip()] if steps is not None else None
    if chain == []:  # --steps '' ran the preset's chain
        raise ConfigError("--steps: no step name given. Give comma-separated step names (lstmtext presets lists them), "
                          "or leave --steps out for the preset's chain.")
    given = {item: parse_override(item) for item in set_ or []}
    for item, (key, _) in given.items():
        if key[0] != "preprocess":
            raise ConfigError(f"--set {item}: preprocess shows the cleaning, so it takes preprocess.* keys only.")
    # the chain as a run builds it: the same options, the same checks (a misspelt step, an option of no step)
    pipeline = build_pipeline(build_config(None, extra={"preprocess": {"preset": preset, "steps": chain}},
                                           overrides=list(set_ or []), extra_source="--preset and --steps"))
    keys = [key for key, _ in given.values()]  # the title names the chain that runs
    preset = next((str(value) for key, value in reversed(given.values()) if key == ["preprocess", "preset"]), preset)
    name = f"steps {','.join(pipeline.steps)}" if steps or ["preprocess", "steps"] in keys else preset

    def shown(value: str, limit: int = 2000) -> str:  # as it is (no rich markup read from it), clause breaks shown
        cut = value if len(value) <= limit else f"{value[:limit]}… ({len(value):,} characters in all)"  # a 200 MB
        return escape(cut).replace(CLAUSE_BREAK, "‖")  # text printed a 22 MB table

    if text is not None:
        table = Table("step", "text after the step", title=escape(f"{name}: step by step"))
        table.add_row("(input)", shown(text))
        trace = pipeline.trace(text)
        for step, after in trace:
            table.add_row(step, shown(after))
        marks = any(CLAUSE_BREAK in after for _, after in trace)
    else:
        if file is None:
            raise ConfigError("preprocess: give a FILE to preview or --text 'a text' to trace step by step. Steps: "
                              + ", ".join(available_steps()) + ".")
        col, sample = sample_texts(file, text_col, n, seed, header=not no_header)
        table = Table("before", "after", title=escape(f"{file} [{col}] with {name}"), show_lines=True)
        cleaned = [pipeline(raw) for raw in sample]
        for raw, after in zip(sample, cleaned):
            table.add_row(shown(raw), shown(after))
        marks = any(CLAUSE_BREAK in after for after in cleaned)
    if marks:
        table.caption = ("‖ marks a clause break (punctuation_to_space with clause_ends): remove_single_chars and "
                         "join_negation never join words across it")
    console.print(table)


def init_config(
    path: Annotated[Path, typer.Argument(help="Where to write the TOML file; - writes it to standard output.")] = Path("lstmtext.toml"),
    preset: Annotated[str, typer.Option(help="Start from this preset (lstmtext presets lists them).")] = "default",
    force: Annotated[bool, typer.Option("--overwrite", "--force", help="Replace an existing file.")] = False,
) -> None:
    """Write a complete config file with every key and its meaning commented.

    Example: lstmtext init-config my.toml --preset bilstm, edit it, then lstmtext train data.csv --config my.toml
    """
    from lstmtext.config import build_config
    from lstmtext.config.toml import config_to_toml
    from lstmtext.utils.atomic import write_text
    from lstmtext.utils.outputs import check_out_file

    header = (f"lstmtext config (preset {preset!r}).\nUse it with: lstmtext train DATA --config "
              f"{'FILE' if str(path) == '-' else path}\n"
              '"none" stands for no value (TOML has none): split_col = "none" is no split column.')
    if str(path) == "-":  # it wrote a file named "-"
        sys.stdout.write(config_to_toml(build_config(preset), header=header))
        return
    check_out_file(path, force)  # a folder there, an existing file, a folder that cannot be written
    if path.suffix.lower() == ".json":  # --config reads a .json file as JSON: this TOML would not load
        raise LstmTextError(f"{path}: init-config writes TOML (with every key's meaning as a comment); name the file "
                            f"{path.with_suffix('.toml').name}.")
    write_text(path, config_to_toml(build_config(preset), header=header))
    console.print(f"wrote {path}")


def presets() -> None:
    """List tasks, model presets, cleaning presets, architectures and cleaning steps."""
    from lstmtext.config.presets import CLEANING_DESCRIPTIONS, PRESET_DESCRIPTIONS, available_presets
    from lstmtext.models import available_models
    from lstmtext.preprocess import PREPROCESS_PRESETS, available_steps
    from lstmtext.tasks import available_tasks

    console.print("[bold]tasks[/] (--task): " + "; ".join(f"{k}: {v}" for k, v in available_tasks().items()))
    table = Table("model preset (--preset)", "what it is")
    for name in available_presets():
        table.add_row(name, PRESET_DESCRIPTIONS[name])
    console.print(table)
    table = Table("cleaning preset (--preprocess NAME)", "for")
    for name in sorted(PREPROCESS_PRESETS):
        table.add_row(name, CLEANING_DESCRIPTIONS[name])
    console.print(table)
    table = Table("architecture", "what it is")
    for name, doc in available_models().items():
        table.add_row(name, doc)
    console.print(table)
    table = Table("cleaning step", "what it does")
    for name, doc in available_steps().items():
        table.add_row(name, doc)
    console.print(table)


def detect_lang(
    file: Annotated[Path, typer.Argument(help="Data file (CSV/TSV/JSONL/Parquet).")],
    text_col: TextCol = None,
    no_header: NoHeader = False,
    keep: Annotated[Optional[str], typer.Option(help="Language to keep, e.g. vi: show the rows that would be dropped.")] = None,
    languages: Annotated[str, typer.Option(help="Candidate languages, comma-separated; 'all' for every language langid knows.")] = "en,id,vi",
    examples: Annotated[int, typer.Option(min=0, help="Dropped rows to show.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Count rows per detected language (langid's bundled model, no download).

    Rows with fewer than 20 letters are kept unjudged; a row is dropped only when another language wins
    with probability >= 0.9. Vietnamese typed without its marks (quan nay ngon), which langid reads as
    English, is told by its syllables (8 words or more). Use the same language in training with --set
    preprocess.keep_language=vi.

    Example: lstmtext detect-lang reviews.csv --text-col review --keep vi
    """
    from itertools import tee

    from lstmtext.data.texts import iter_texts
    from lstmtext.preprocess.langid_step import language_summary
    from lstmtext.utils.progress import progress_bar

    langs = None if languages == "all" else [x.strip() for x in languages.split(",") if x.strip()]
    rows = ((ref, text) for where, texts in iter_texts(file, text_col, header=not no_header, header_flag="--no-header")
            for ref, text in zip(where, texts))  # read a chunk at a time: a file larger than memory is counted
    # rows judged so far and their rate, on a terminal (--languages all took 1.5 minutes on 14,640 tweets in silence)
    rows = iter(progress_bar(rows, None, "detect-lang", enabled=not as_json, unit=" rows"))
    for_texts, for_refs = tee(rows)
    summary = language_summary((text for _, text in for_texts), keep, langs, max_examples=examples,
                               where=(ref for ref, _ in for_refs))
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
            console.print(escape(f"  {row.where} [{row.language} {row.confidence:.2f}] {row.text[:120]}"))


def absa_convert(
    data: Annotated[Path, typer.Argument(help="Aspect file: long layout (one row per text, aspect, polarity), or wide with --layout wide.")],
    out: Annotated[Path, typer.Argument(help="File to write, .csv, .tsv or .jsonl: the text column, then one column per aspect (--to wide) or a labels column (--to multilabel).")],
    text_col: TextCol = None,
    split_col: Annotated[Optional[str], typer.Option(help="Column saying train / valid / test for each row: written to the output (one value per text), so training on it with --split-col keeps the split.")] = None,
    layout: Annotated[Optional[str], typer.Option(help="The input's layout: long (one row per text, aspect, polarity) or wide (a column per aspect); default: long when the file has the --aspect-col and --polarity-col columns, else wide.")] = None,
    to: Annotated[str, typer.Option(help="wide: one column per aspect; multilabel: one label per mentioned aspect and polarity (e.g. kebersihan_neg|ac_pos).")] = "wide",
    aspect_col: Annotated[str, typer.Option(help="Long layout: column naming the aspect.")] = "aspect",
    polarity_col: Annotated[str, typer.Option(help="Long layout: column with the aspect's label.")] = "polarity",
    aspects: Annotated[Optional[str], typer.Option(help="Aspects in column order, comma-separated.")] = None,
    label_sep: Annotated[str, typer.Option(help="--to multilabel: what separates the labels.")] = "|",
    not_mentioned: Annotated[Optional[str], typer.Option(
        help="Long layout: the label of an aspect a text has no row for (default: the first of neutral, neut, none "
             "among the file's polarities, else neutral). Name the one your other files use (IndoNLU HoASA: neut); "
             "where neutral is a real polarity, pick another (none), or the two are merged.")] = None,
    overwrite: OverwriteFileOpt = False,
) -> None:
    """Rewrite an aspect file: the long layout as the wide one training reads, or any aspect file as multi-label data."""
    from lstmtext.config import build_config
    from lstmtext.data.io import table_columns
    from lstmtext.tasks.absa.convert import check_output_name, convert_aspect_file
    from lstmtext.utils.outputs import check_out_file

    check_out_file(out, overwrite, [data])
    check_output_name(out)
    if layout is None:  # IndoNLU's files are wide: the long default refused them for want of an 'aspect' column
        layout = "long" if {aspect_col, polarity_col} <= set(table_columns(data)) else "wide"
    if layout not in ("long", "wide") or to not in ("wide", "multilabel"):
        raise ConfigError(f"--layout must be long or wide and --to wide or multilabel. Got {layout!r}, {to!r} instead.")
    absa = {"layout": layout, "aspect_col": aspect_col, "polarity_col": polarity_col}
    if aspects:
        absa["aspects"] = [a.strip() for a in aspects.split(",") if a.strip()]
    if not_mentioned is not None:
        if not not_mentioned.strip():
            raise ConfigError("--not-mentioned must not be empty: give the label of an aspect a text does not mention.")
        absa["not_mentioned"] = [not_mentioned.strip()]
    cfg = build_config(None, extra={"task": "absa", "data": {"text_col": text_col or "text", "split_col": split_col},
                                    "absa": absa})
    n, names, nm = convert_aspect_file(data, out, cfg, to, label_sep)  # type: ignore[arg-type]
    what = f"{len(names)} aspects; absent aspects got {nm!r}" if to == "wide" else \
        f"labels <aspect>_<polarity> for the aspects not {nm!r}"
    console.print(f"wrote {out}: {n} texts, {what}" + (f"; split column {split_col!r} kept" if split_col else ""))
    if not split_col and "split" in table_columns(data):
        console.print("the input's column 'split' was not written: pass --split-col split to keep it")
    if to == "wide" and not_mentioned is not None:  # training reads the first default candidate in the file
        console.print(f"train on it with --set 'absa.not_mentioned=[\"{nm}\"]', so that {nm!r} is read as not "
                      "mentioned whatever other labels the file holds", markup=False, highlight=False)
