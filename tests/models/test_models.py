"""Common checks every registered architecture must pass (after spaCy's and scikit-learn's common tests):
overfit a tiny set, save and reload with identical predictions, batch equals one-by-one, any length works."""

import numpy as np
import pytest
import torch

from helpers import classify_objective, classify_task
from lstmtext.config import Config, ModelConfig
from lstmtext.encoding.batching import EncodedSplit, predict_logits
from lstmtext.encoding.encoder import TextEncoder
from lstmtext.encoding.vocab import Vocab
from lstmtext.inference.bundle import load_bundle, save_bundle
from lstmtext.models import available_models, build_model
from lstmtext.preprocess import Pipeline
from lstmtext.training.loop import fit

MODELS = sorted(available_models())
TEXTS = ["good great fine", "great good", "bad awful", "awful terrible bad", "ok meh", "meh so so"]
LABELS = np.array([0, 0, 1, 1, 2, 2])


def _cfg(name: str) -> ModelConfig:
    return ModelConfig(name=name, embedding_dim=12, hidden_size=12, embed_dropout=0.0)


def _encoder() -> TextEncoder:
    vocab = Vocab.build([t.split() for t in TEXTS])
    return TextEncoder(Pipeline(["lowercase", "normalize_whitespace"]), vocab, max_len=50)


@pytest.mark.parametrize("name", MODELS)
def test_overfit_save_reload_same_predictions(name, tmp_path):
    from lstmtext.config import build_config

    enc = _encoder()
    seqs = enc.encode(TEXTS)
    torch.manual_seed(0)
    config = build_config(None, overrides=[f"model.name=\"{name}\"", "model.embedding_dim=12", "model.hidden_size=12",
                                           "model.embed_dropout=0.0", "train.epochs=60", "train.batch_size=3",
                                           "train.lr=0.03", "train.monitor=\"valid_loss\""])
    model = build_model(config.model, len(enc.vocab), 3)
    split = EncodedSplit(seqs, LABELS)
    result = fit(model, split, split, config.train, classify_objective(3), progress=False)
    assert result.history[-1]["train_loss"] < 0.1
    logits = predict_logits(model, seqs)
    assert (logits.argmax(1).numpy() == LABELS).all()
    save_bundle(tmp_path / "b", config, enc, classify_task(["pos", "neg", "neu"], config), model)
    again = load_bundle(tmp_path / "b")
    assert torch.allclose(predict_logits(again.model, again.encoder.encode(TEXTS)), logits, atol=1e-6)


@pytest.mark.parametrize("name", MODELS)
def test_batch_equals_one_by_one_and_padding_never_leaks(name):
    torch.manual_seed(1)
    model = build_model(_cfg(name), 20, 3).eval()
    seqs = [[2, 3, 4], [5], [6, 7, 8, 9, 10, 11, 12], [3, 3]]
    together = predict_logits(model, seqs, batch_size=4)
    alone = torch.cat([predict_logits(model, [s], batch_size=1) for s in seqs])
    assert torch.allclose(together, alone, atol=1e-5)
    ids = torch.tensor([[2, 3, 4, 0, 0, 0, 0, 0]])
    padded_more = model(ids, torch.tensor([3]))
    assert torch.allclose(padded_more, alone[:1], atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("length", [1, 400])
def test_output_shape_for_short_and_long_inputs(name, length):
    model = build_model(_cfg(name), 20, 4).eval()
    with torch.no_grad():
        out = model(torch.randint(1, 20, (2, length)), torch.tensor([length, 1]))
    assert out.shape == (2, 4) and torch.isfinite(out).all()


def test_unknown_architecture_lists_available():
    from lstmtext.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown architecture 'transformer'. Available: .*lstm"):
        build_model(ModelConfig(name="transformer"), 10, 2)


def test_a_misspelt_architecture_or_option_stops_a_run_before_its_data_is_read(tmp_path):
    from lstmtext.config import build_config
    from lstmtext.config.presets import MODEL_PRESETS
    from lstmtext.errors import ConfigError
    from lstmtext.models import check_model
    from lstmtext.pipeline import run

    for preset in MODEL_PRESETS:  # what every preset sets passes
        check_model(build_config(preset).model)
    missing = tmp_path / "not-read-yet.csv"  # read, it would be "no such file"
    with pytest.raises(ConfigError, match=r"^model\.name: unknown architecture 'lsmt'\."):
        run(build_config(None, overrides=["model.name=lsmt"]), missing, tmp_path / "out", stream=True)
    with pytest.raises(ConfigError, match=r"^model\.options\.foo: not an option of architecture 'cnn'\."):
        run(build_config("cnn", overrides=["model.options.foo=1"]), missing, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_keras_init_sets_forget_bias_and_embedding_range():
    model = build_model(ModelConfig(hidden_size=8, init="keras"), 30, 2)
    assert torch.equal(model.rnn.bias_ih_l0[8:16], torch.ones(8))
    assert model.embedding.weight.abs().max() <= 0.05
    w = model.rnn.weight_hh_l0.detach()
    assert torch.allclose(w.T @ w, torch.eye(8), atol=1e-5)


def test_config_type_is_saved_with_bundle(tmp_path):
    enc = _encoder()
    model = build_model(_cfg("lstm"), len(enc.vocab), 2)
    save_bundle(tmp_path / "b", Config(model=_cfg("lstm")), enc, classify_task(["a", "b"]), model)
    assert load_bundle(tmp_path / "b").config.model.name == "lstm"


def test_tanh_is_torchs_with_and_without_autograd():
    from lstmtext.models.layers import tanh_

    x = torch.linspace(-30, 30, 2001, dtype=torch.float64)
    with torch.no_grad():
        temporary = x.clone()
        fast = tanh_(temporary)  # in place: 2 sigmoid(2 x) - 1
    assert fast.data_ptr() == temporary.data_ptr()
    torch.testing.assert_close(fast, torch.tanh(x), atol=1e-12, rtol=0)
    leaf = x.clone().requires_grad_()
    tanh_(leaf).sum().backward()  # with autograd: torch's own, so the gradient is tanh's
    torch.testing.assert_close(leaf.grad, 1 - torch.tanh(x) ** 2)
