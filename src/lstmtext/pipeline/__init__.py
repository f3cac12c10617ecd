"""The pipeline: one :func:`run` for every task and batch source, evaluation of saved models, and the launcher."""

from lstmtext.pipeline.runner import RunResult, load_data, run

__all__ = ["RunResult", "load_data", "run"]
