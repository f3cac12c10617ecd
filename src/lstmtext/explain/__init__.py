"""lstmtext.explain."""
