"""The command line (``lstmtext``): :mod:`lstmtext.cli.app` registers the commands of the modules beside it."""

from lstmtext.cli.app import app, main

__all__ = ["app", "main"]
