"""lstmtext.reports."""
