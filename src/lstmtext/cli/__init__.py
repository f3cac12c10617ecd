"""lstmtext.cli.app."""
