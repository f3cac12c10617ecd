"""lstmtext.utils."""
