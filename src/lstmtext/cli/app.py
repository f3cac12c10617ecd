"""The ``lstmtext`` command line: thin Typer commands over the library, registered here one by one.

Every user error is an ``LstmTextError``, printed as one line with exit code 1 (``--verbose`` shows the
traceback); usage errors exit with 2.
"""

from __future__ import annotations

import errno
import logging
import sys
from typing import TYPE_CHECKING, Annotated

import typer
import typer.main
from rich.markup import escape

from lstmtext.cli import data, experiments, explain, serving, train, zoo
from lstmtext.cli.common import STATE, console, err_console, fit_console_width
from lstmtext.errors import LstmTextError
from lstmtext.utils.logs import log_to_stderr

if TYPE_CHECKING:  # typer 0.29 carries its own click: the package may be missing (an install without extras)
    import click

app = typer.Typer(
    name="lstmtext",
    help="Train, compare, explain and serve RNN/LSTM-family text classifiers on a CPU.\n\n"
    "Quick start: `lstmtext demo` trains on the bundled airline tweets; "
    "`lstmtext train my.csv --text-col review --label-col stars --out runs/mine` trains on your data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        import platform

        from lstmtext import __version__

        console.print(f"lstmtext {__version__} (Python {platform.python_version()})", highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details and show tracebacks (also accepted after the command).")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    STATE["verbose"] = verbose
    fit_console_width()
    log_to_stderr(logging.INFO if verbose else logging.WARNING)


for command in (train.train, train.pretrain, train.evaluate, train.predict, data.preprocess, data.init_config, data.presets,
                train.demo, zoo.models, zoo.compare, zoo.embed, experiments.search, experiments.learning_curve,
                experiments.cv, experiments.audit, experiments.suggest, serving.serve, serving.export, data.detect_lang, data.absa_convert):
    app.command()(command)  # the name is the function's, with dashes: init_config -> init-config
app.command(epilog=explain.EPILOG)(explain.explain)


def command() -> click.Command:
    """The click command of :data:`app`, as the script runs it: each flag without a type after it. Typer 0.29 writes
    ``<bool>`` after every flag (``--verbose <bool>``, ``--help <bool>``), as if it took a value, which it refuses."""
    def hide(cmd: click.Command) -> None:
        for param in cmd.params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        made = cmd.get_help_option

        def get_help_option(ctx: click.Context) -> click.Option | None:  # made per context, not in params
            option = made(ctx)
            if option is not None and option.metavar is None:
                option.metavar = ""
            return option

        cmd.get_help_option = get_help_option  # type: ignore[method-assign]
        for sub in getattr(cmd, "commands", {}).values():
            hide(sub)

    built = typer.main.get_command(app)
    hide(built)
    return built


def hoist_verbose(args: list[str]) -> list[str]:
    """Move ``-v``/``--verbose`` given after the command in front of it, where the app reads it."""
    if "--" in args:
        cut = args.index("--")
        head, tail = args[:cut], args[cut:]
    else:
        head, tail = args, []
    flags = [a for a in head if a in ("-v", "--verbose")]
    return flags + [a for a in head if a not in ("-v", "--verbose")] + tail


#: Errors of writing a user can fix, and how: shown in one line (``-v``: with the traceback).
WRITE_ERRORS = {errno.ENOSPC: "Free some space, or write to another disk.",
                errno.EDQUOT: "Free some space, or write to another disk.",
                errno.EROFS: "That file system is read-only: write somewhere else.",
                errno.EACCES: "Check that this user may read or write it, or use another path.",
                errno.EPERM: "Check that this user may read or write it, or use another path.",
                # a path through a file, or into a folder that holds no files (/proc): no check sees it coming
                errno.ENOTDIR: "A part of the path is a file, not a folder: use another path.",
                errno.ENOENT: "Check that the path's folders exist and can hold files, or use another path."}


def main() -> None:
    """Entry point of the ``lstmtext`` script."""
    from typer.exceptions import TyperException  # typer's own click: its usage errors derive from it

    args = hoist_verbose(sys.argv[1:])
    if not args:  # no command: the overview, as typer shows it
        command()(args=args, prog_name="lstmtext")
        return
    try:
        code = command()(args=args, prog_name="lstmtext", standalone_mode=False)
    except LstmTextError as exc:
        if STATE["verbose"]:
            raise
        err_console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)  # '[x]' in it is data
        sys.exit(1)
    except TyperException as exc:  # a bad option value, an unknown option or command: one line, not a framed panel
        if not hasattr(exc, "format_message"):
            raise
        ctx = getattr(exc, "ctx", None)
        said = exc.format_message().rstrip(".") + "."
        hint = f" See {ctx.command_path} --help." if ctx is not None else ""
        err_console.print(f"[red]error:[/] {escape(said + hint)}", highlight=False, soft_wrap=True)
        sys.exit(getattr(exc, "exit_code", 2))
    except OSError as exc:  # what no check can see coming: a full disk, a folder made read-only mid-run
        if STATE["verbose"] or exc.errno not in WRITE_ERRORS:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        err_console.print(f"[red]error:[/] {escape(where + (exc.strerror or str(exc)))}. {WRITE_ERRORS[exc.errno]}",
                          highlight=False, soft_wrap=True)
        sys.exit(1)
    except typer.Abort:
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
