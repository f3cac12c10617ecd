"""lstmtext.pipeline."""
