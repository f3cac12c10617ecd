"""ONNX export of a bundle's classifier, and optional dynamic int8 quantisation of the result.

The graph is written from the bundle's weights (:mod:`.models`, from the pieces in :mod:`.layers` through the
small builder in :mod:`.graph`) for every built-in architecture (lstm, bilstm, gru, rnn at any depth and
direction with pooling last/mean/max; bilstm_attn; cnn; clstm) and every wrapper ``build_model`` puts
around them (several output groups, with or without per-group attention; the n-gram bag; seed ensembles):

* inputs ``ids`` int64 ``(batch, time)`` and ``lengths`` int64 ``(batch,)``; both axes are dynamic;
* outputs ``logits`` and ``probabilities`` float32 ``(batch, K)`` in the order of the task's outputs;
  probabilities are what ``task.probabilities`` gives (softmax per group, or sigmoid; an ensemble's are the
  mean of its members').

Padding side matters: ``ids`` must be **post-padded** (each text's ids first, then ``<pad>``). The recurrent
operators (ONNX's own ``LSTM``, ``GRU``, ``RNN``) get ``lengths`` as ``sequence_lens``: the first
``lengths[b]`` steps of row ``b`` are real, so the reverse direction starts at each text's last real token and
the final state is the one after it, as in the packed PyTorch model. Pooling, attention, convolutions and
the n-gram bag mask the same steps. Pre-padded ids would be read as if the padding were text.
"""

from lstmtext.inference.onnx.files import (
    INT8_NAME,
    ONNX_NAME,
    bundle_metadata,
    check_parity,
    decision_agreement,
    export_onnx,
    int8_path,
    parity_sequences,
    quantize_onnx,
)
from lstmtext.inference.onnx.graph import OPSET
from lstmtext.inference.onnx.models import build_onnx

__all__ = ["INT8_NAME", "ONNX_NAME", "OPSET", "build_onnx", "bundle_metadata", "check_parity", "decision_agreement",
           "export_onnx", "int8_path", "parity_sequences", "quantize_onnx"]
