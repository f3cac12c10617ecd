"""lstmtext.training."""
