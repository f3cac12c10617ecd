"""ONNX export of every model kind against PyTorch: cnn, clstm, bilstm_attn, the n-gram bag, seed ensembles,
aspect heads (shared and per-aspect attention), multi-label outputs, and the model of every preset.

Each model is exported from random weights (the n-gram bag's made non-zero) and run on one post-padded batch
mixing lengths 1..T, with texts of 1-3 tokens, shorter than the CNN's widest window (5); PyTorch runs the same
texts in its own length-sorted batches. The probabilities must agree within 1e-4 and the task's decisions
exactly; the int8 file's decisions must mostly agree (the figures are in docs/serving.md).
"""

import json
import re

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from helpers import classify_task
from lstmtext.cli import app
from lstmtext.config import ModelConfig, build_config
from lstmtext.config.presets import MODEL_PRESETS
from lstmtext.encoding.batching import collate, predict_logits
from lstmtext.encoding.encoder import TextEncoder
from lstmtext.inference.bundle import save_bundle
from lstmtext.inference.engines import load_predictor
from lstmtext.inference.onnx import build_onnx, decision_agreement, parity_sequences, quantize_onnx
from lstmtext.inference.predictor import Predictor
from lstmtext.models import build_model
from lstmtext.models.ngram_bag import NgramBagClassifier
from lstmtext.preprocess.presets import build_pipeline
from lstmtext.tasks.absa.task import AspectSentiment
from lstmtext.tasks.multilabel.task import MultiLabel

VOCAB, MAX_LEN = 60, 14
CNN = {"name": "cnn", "options": {"kernel_sizes": [3, 4, 5], "num_filters": 6}}
CLSTM = {"name": "clstm", "options": {"num_filters": 6, "kernel_size": 3, "dense_size": 5}}
ATTN = {"name": "bilstm_attn", "options": {"attention_size": 5}}


def _absa_task(head="shared"):
    config = build_config(None, extra={"task": "absa", "absa": {"head": head, "attention_size": 4}})
    return AspectSentiment({"food": ["negative", "neutral", "positive"], "price": ["cheap", "fair", "dear", "none"]},
                           config)


def _task(kind):
    if kind == "multilabel":
        return MultiLabel(["late", "staff", "bag", "food"], build_config(None, extra={"task": "multilabel"}))
    if kind.startswith("absa"):
        return _absa_task("attention" if kind == "absa-attention" else "shared")
    return classify_task(["negative", "neutral", "positive"])


def _session(proto_or_path):
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    source = proto_or_path.SerializeToString() if hasattr(proto_or_path, "SerializeToString") else str(proto_or_path)
    return ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])


def _model(cfg, task, seed=0, vocab=VOCAB):
    torch.manual_seed(seed)
    model = build_model(cfg, vocab, task.layout, **task.model_kwargs()).eval()
    for module in model.modules():
        if isinstance(module, NgramBagClassifier):  # the bag starts at zero: give it weights that matter
            nn.init.normal_(module.bag.weight, std=0.5)
            if module.weighting == "tfidf":  # idf as a fitted bag has it: 0 for rows no training text had
                with torch.no_grad():
                    module.idf.uniform_(1.0, 4.0).mul_(torch.rand_like(module.idf) > 0.2)
                    module.base_scale.fill_(0.3)  # a blend's share of the network (the graph must read it)
                nn.init.normal_(module.bias)
    return model


def parity(model, task, tmp_path=None, n=48, max_len=MAX_LEN, seed=0, vocab=VOCAB):
    """``(max |Δp| float, decision agreement float, decision agreement int8 or None)`` on one mixed batch."""
    sequences = parity_sequences(vocab, max_len, n, seed)
    expected = task.probabilities(predict_logits(model, sequences, batch_size=16))
    batch = collate(sequences, np.arange(n))
    feeds = {"ids": batch.ids.numpy(), "lengths": batch.lengths.numpy()}
    proto = build_onnx(model, task)
    logits, proba = _session(proto).run(None, feeds)
    assert logits.shape == proba.shape == (n, task.layout.total)
    alone = collate(sequences[:1], np.arange(1))  # a one-token text without padding: the same output
    got_alone = _session(proto).run(["probabilities"], {"ids": alone.ids.numpy(), "lengths": alone.lengths.numpy()})[0]
    np.testing.assert_allclose(got_alone, proba[:1], atol=1e-5)
    int8 = None
    if tmp_path is not None:
        import onnx

        onnx.save(proto, str(tmp_path / "m.onnx"))
        quantized = quantize_onnx(tmp_path / "m.onnx", tmp_path / "m.int8.onnx")
        int8 = decision_agreement(task, expected, _session(quantized).run(["probabilities"], feeds)[0])
    return float(np.abs(proba - expected).max()), decision_agreement(task, expected, proba), int8


@pytest.mark.parametrize(("extra", "kind"), [
    (CNN, "classify"),
    ({**CNN, "options": {"kernel_sizes": [2], "num_filters": 3}}, "classify"),
    (CLSTM, "classify"),
    ({**CLSTM, "num_layers": 2, "pooling": "max", "options": {**CLSTM["options"], "kernel_size": 4}}, "classify"),
    ({**CLSTM, "pooling": "mean"}, "classify"),
    (ATTN, "classify"),
    ({"name": "bilstm", "ngram_bag": 2, "ngram_buckets": 1024}, "classify"),
    ({**CNN, "ngram_bag": 3, "ngram_buckets": 1024}, "classify"),
    ({"name": "bilstm", "ngram_bag": 2, "ngram_buckets": 1024, "ngram_fit": "after"}, "classify"),
    ({**ATTN, "ngram_bag": 2, "ngram_buckets": 1024, "ngram_fit": "after"}, "absa-attention"),
    ({**CNN, "ngram_bag": 3, "ngram_buckets": 1024, "ngram_fit": "after"}, "multilabel"),
    ({"name": "gru", "ensemble": 3}, "classify"),
    ({**CNN, "ensemble": 2, "ngram_bag": 2, "ngram_buckets": 1024}, "classify"),
    ({**CNN}, "absa"),
    ({**CLSTM}, "absa"),
    ({"name": "bilstm", "pooling": "max"}, "absa-attention"),
    ({**ATTN, "ensemble": 2, "ngram_bag": 2, "ngram_buckets": 1024}, "absa-attention"),
    ({"name": "lstm", "num_layers": 2, "pooling": "last"}, "absa-attention"),
    ({"name": "gru", "bidirectional": True}, "multilabel"),
    ({**CLSTM, "ensemble": 2}, "multilabel"),
    ({**CNN, "ngram_bag": 2, "ngram_buckets": 1024}, "multilabel"),
], ids=lambda v: v if isinstance(v, str) else "-".join(f"{k}={v}" for k, v in v.items() if k != "options"))
def test_every_kind_matches_pytorch_and_survives_int8(extra, kind, tmp_path):
    task = _task(kind)
    model = _model(ModelConfig(**{"embedding_dim": 8, "hidden_size": 6, **extra}), task)
    diff, agree, int8 = parity(model, task, tmp_path)
    assert diff < 1e-4 and agree == 1.0
    assert int8 >= 0.9, f"int8 decisions agree on {int8:.0%} only"


def _preset_config(name):
    """The preset's config at tiny sizes (the architecture's own options shrunk, at most two members)."""
    preset = build_config(name)
    model = preset.model
    options = {"cnn": ["model.options.num_filters=4"],
               "clstm": ["model.options.num_filters=6", "model.options.dense_size=5"],
               "bilstm_attn": ["model.options.attention_size=5"]}.get(model.name, [])
    sizes = ["model.embedding_dim=8", "model.hidden_size=6", f"model.ensemble={min(model.ensemble, 2)}",
             "absa.attention_size=4"]
    if model.ngram_bag:
        sizes.append("model.ngram_buckets=1024")
    return build_config(name, overrides=sizes + options)


@pytest.mark.parametrize("name", sorted(MODEL_PRESETS))
def test_the_model_of_every_preset_exports(name, tiny_frame, tmp_path):
    """In memory on one mixed batch, then as a saved bundle through ``lstmtext export --quantize``."""
    config = _preset_config(name)
    task = _absa_task(config.absa.head) if config.task == "absa" else classify_task(["negative", "neutral", "positive"])
    encoder = TextEncoder.fit(build_pipeline(config), tiny_frame["text"].tolist(), config.vocab)
    model = _model(config.model, task, vocab=len(encoder.vocab))
    diff, agree, _ = parity(model, task, n=24, vocab=len(encoder.vocab))
    assert diff < 1e-4 and agree == 1.0
    bundle = save_bundle(tmp_path / name, config, encoder, task, model)
    result = CliRunner().invoke(app, ["export", str(bundle), "--format", "onnx", "--quantize"])
    assert result.exit_code == 0, result.output
    found = re.findall(r"max \|Δp\| (\S+), same label (\S+)%", result.output.replace("\n", " "))
    (float_diff, float_agree), (_, int8_agree) = found
    assert float(float_diff) < 1e-4 and float(float_agree) == 100.0 and float(int8_agree) >= 75.0
    texts = tiny_frame["text"].tolist()[:20] + ["", "x"]
    got = load_predictor(bundle, "onnx", batch_size=7).predict_proba(texts)
    assert np.abs(got - Predictor.from_bundle(bundle).predict_proba(texts)).max() < 1e-4


def test_probabilities_follow_the_layout():
    task = _absa_task("attention")
    model = _model(ModelConfig(name="bilstm", embedding_dim=8, hidden_size=6, ensemble=2), task)
    batch = collate(parity_sequences(VOCAB, 6, 5), np.arange(5))
    proto = build_onnx(model, task)
    _, proba = _session(proto).run(None, {"ids": batch.ids.numpy(), "lengths": batch.lengths.numpy()})
    np.testing.assert_allclose(proba[:, :3].sum(1), 1, atol=1e-6)  # one softmax per aspect
    np.testing.assert_allclose(proba[:, 3:].sum(1), 1, atol=1e-6)
    with torch.no_grad():  # an ensemble's probabilities are the mean of its members'
        members = np.mean([task.probabilities(m(batch.ids, batch.lengths)) for m in model.members], axis=0)
    np.testing.assert_allclose(proba, members, atol=1e-6)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["labels"])[:2] == ["food:negative", "food:neutral"] and meta["groups"] == "3,4"
    assert meta["activation"] == "softmax"


def test_a_subclass_of_a_known_model_is_refused():
    from lstmtext.errors import BundleError
    from lstmtext.models.cnn import TextCNN

    class Custom(TextCNN):
        def forward(self, ids, lengths):
            return -super().forward(ids, lengths)

    model = Custom(ModelConfig(name="cnn", embedding_dim=4, options={"num_filters": 2}), 10, 2).eval()
    with pytest.raises(BundleError, match="got Custom. Serve this model with --engine torch."):
        build_onnx(model, classify_task(["a", "b"]))
