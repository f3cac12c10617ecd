"""lstmtext.tasks."""
