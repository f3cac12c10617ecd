"""The ``lstmtext`` command line: thin Typer commands over the library, registered here one by one.

Every user error is an ``LstmTextError``, printed as one line with exit code 1 (``--verbose`` shows the
traceback); usage errors exit with 2.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from lstmtext.cli import data, experiments, explain, serving, train, zoo
from lstmtext.cli.common import STATE, err_console
from lstmtext.errors import LstmTextError

app = typer.Typer(
    name="lstmtext",
    help="Train, compare, explain and serve RNN/LSTM-family text classifiers on a CPU.\n\n"
    "Quick start: `lstmtext demo` trains on the bundled airline tweets; "
    "`lstmtext train my.csv --text-col review --label-col stars --out runs/mine` trains on your data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details and show tracebacks.")] = False) -> None:
    STATE["verbose"] = verbose
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


for command in (train.train, train.evaluate, train.predict, data.preprocess, data.init_config, data.presets,
                train.demo, zoo.models, zoo.compare, zoo.embed, experiments.search, experiments.learning_curve,
                experiments.cv, serving.serve, serving.export, data.detect_lang, data.absa_convert):
    app.command()(command)  # the name is the function's, with dashes: init_config -> init-config
app.command(epilog=explain.EPILOG)(explain.explain)


def main() -> None:
    """Entry point of the ``lstmtext`` script."""
    try:
        app()
    except LstmTextError as exc:
        if STATE["verbose"]:
            raise
        err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
