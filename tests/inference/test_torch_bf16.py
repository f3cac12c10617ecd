"""``--engine torch-bf16``: the model's LSTM layers in bfloat16 on batches of one length; close to float32, and
float32 (with a warning) where it cannot apply."""

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from lstmtext.inference import engines
from lstmtext.inference.engines import load_predictor
from lstmtext.models.packed import _BF16_INFERENCE, PackedRNN
from lstmtext.server import create_app
from lstmtext.server.settings import ServeSettings
from lstmtext.training import precision

with warnings.catch_warnings():  # starlette warns that it prefers httpx2; the httpx client works the same here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TEXTS = ["@airline thanks my crew flight service the great your!", "@airline your awful service worst today.",
         "delayed again", "", "great flight great crew thanks", "@airline lost my bag and nobody calls back"]


@pytest.fixture
def bf16_cpu(monkeypatch):
    """A CPU that reports bfloat16 instructions (oneDNN runs bfloat16 on the CPUs these tests run on)."""
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(("avx512f", "amx_bf16")))


def test_torch_bf16_answers_close_to_float32_and_runs_bfloat16(trained_run, bf16_cpu, monkeypatch):
    bundle = trained_run[0] / "model"
    want = load_predictor(bundle, "torch").predict_proba(TEXTS * 10)  # 60 texts: the big-batch road too
    p = load_predictor(bundle, "torch-bf16")
    assert p.engine == "torch-bf16" and p.bf16
    inside = []
    real = type(p.model.rnn)._unpadded
    monkeypatch.setattr(type(p.model.rnn), "_unpadded",
                        lambda self, *a, **k: inside.append(k.get("bf16")) or real(self, *a, **k))
    for texts in (TEXTS * 10, TEXTS[:3]):  # a big request and a small one (one thread)
        inside.clear()
        got = p.predict_proba(texts)
        assert inside and all(inside)  # every batch through oneDNN's LSTM in bfloat16
        assert np.abs(got - want[: len(texts)]).max() < 5e-3
        assert (got.argmax(1) == want[: len(texts)].argmax(1)).all()
    assert not _BF16_INFERENCE.get()  # nothing left switched on for the float32 engines
    alone = np.concatenate([p.predict_proba([t]) for t in TEXTS])
    assert np.abs(alone - p.predict_proba(TEXTS)).max() < 5e-4  # batch-mates move answers only at bf16 rounding


def test_torch_bf16_falls_back_to_float32_with_a_warning(trained_run, monkeypatch, caplog):
    bundle = trained_run[0] / "model"
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(("avx512f",)))
    with caplog.at_level("WARNING", logger="lstmtext.inference.engines"):
        p = load_predictor(bundle, "torch-bf16")
    assert p.engine == "torch" and not p.bf16
    assert "engine torch-bf16: this CPU has no bf16 instructions (avx512_bf16 / amx_bf16)" in caplog.text
    np.testing.assert_array_equal(p.predict_proba(TEXTS), load_predictor(bundle, "torch").predict_proba(TEXTS))
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(("amx_bf16",)))
    caplog.clear()
    with caplog.at_level("WARNING", logger="lstmtext.inference.engines"):
        assert not engines._bf16_applies(SimpleNamespace(model=torch.nn.Conv1d(4, 4, 3)))  # e.g. the cnn preset
    assert "this model has no LSTM layer" in caplog.text


def test_the_server_runs_torch_bf16(trained_run, bf16_cpu, monkeypatch):
    bundle = trained_run[0] / "model"
    seen = []
    real = PackedRNN._unpadded
    monkeypatch.setattr(PackedRNN, "_unpadded", lambda self, *a, **k: seen.append(k.get("bf16")) or real(self, *a, **k))
    with TestClient(create_app(ServeSettings(bundle=bundle, engine="torch-bf16"))) as c:
        assert c.get("/info").json()["engine"] == "torch-bf16"
        got = c.post("/predict", json={"texts": TEXTS[:2]}).json()["predictions"]
    assert seen and all(seen)  # the server's inference thread ran the LSTM in bfloat16
    want = load_predictor(bundle, "torch").predict(TEXTS[:2])
    assert [g["label"] for g in got] == [w.label for w in want]
