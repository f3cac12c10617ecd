"""lstmtext.encoding."""
