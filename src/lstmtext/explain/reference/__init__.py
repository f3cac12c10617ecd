"""Readable NumPy reference implementations of the Elman RNN and the LSTM, for teaching and for checking.

* :mod:`lstmtext.explain.reference.lstm` and :mod:`lstmtext.explain.reference.rnn`: forward pass, backpropagation through
  time and the SGD step, written after the source material's equations (docstrings show them); the
  mapping from ``torch.nn.LSTM`` / ``torch.nn.RNN`` weights.
* :mod:`lstmtext.explain.reference.examples`: the slides' and the lecture's worked examples, any small case, and
  a trained LSTM's gates and class probabilities token by token.
* :mod:`lstmtext.explain.reference.tables`: the step-by-step records as ``rich`` tables.
* :mod:`lstmtext.explain.reference.weights_io`: the JSON weights file of ``lstmtext explain --weights``.
* The aspect-sentiment thesis's chapter 2, in its notation and equation numbers:
  :mod:`lstmtext.explain.reference.bilstm` (BiLSTM with a softmax output per step: forward, BPTT, mini-batch
  SGD, 2.16-2.46), :mod:`lstmtext.explain.reference.cbow` (word2vec CBOW with one context word, 2.1-2.10),
  :mod:`lstmtext.explain.reference.onehot` (vocabulary and one-hot table, figures 2.8-2.9); their small cases
  (:mod:`~lstmtext.explain.reference.thesis_examples`), tables (:mod:`~lstmtext.explain.reference.thesis_tables`) and
  JSON files (:mod:`~lstmtext.explain.reference.thesis_io`).

Nothing here imports torch at import time.
"""

from lstmtext.explain.reference import bilstm, cbow, lstm, onehot, rnn
from lstmtext.explain.reference.examples import (
    CaseRun,
    GatesRun,
    TokenTrace,
    run_case,
    run_gates_example,
    run_slides_example,
    trace_tokens,
)
from lstmtext.explain.reference.thesis_examples import run_bilstm_example, run_cbow_example

__all__ = [
    "CaseRun", "GatesRun", "TokenTrace", "bilstm", "cbow", "lstm", "onehot", "rnn", "run_bilstm_example", "run_case",
    "run_cbow_example", "run_gates_example", "run_slides_example", "trace_tokens",
]
