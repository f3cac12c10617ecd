"""Readable NumPy reference implementations of the Elman RNN and the LSTM, for teaching and for checking.

* :mod:`lstmtext.explain.reference.lstm` and :mod:`lstmtext.explain.reference.rnn`: forward pass, backpropagation through
  time and the SGD step, written after the source material's equations (docstrings show them); the
  mapping from ``torch.nn.LSTM`` / ``torch.nn.RNN`` weights.
* :mod:`lstmtext.explain.reference.examples`: the slides' and the lecture's worked examples, any small case, and
  a trained LSTM's gates and class probabilities token by token.
* :mod:`lstmtext.explain.reference.tables`: the step-by-step records as ``rich`` tables.
* :mod:`lstmtext.explain.reference.weights_io`: the JSON weights file of ``lstmtext explain --weights``.

Nothing here imports torch at import time.
"""

from lstmtext.explain.reference import lstm, rnn
from lstmtext.explain.reference.examples import (
    CaseRun,
    GatesRun,
    TokenTrace,
    run_case,
    run_gates_example,
    run_slides_example,
    trace_tokens,
)

__all__ = [
    "CaseRun", "GatesRun", "TokenTrace", "lstm", "rnn", "run_case", "run_gates_example", "run_slides_example",
    "trace_tokens",
]
