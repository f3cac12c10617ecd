"""lstmtext.inference."""
