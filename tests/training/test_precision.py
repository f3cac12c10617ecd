"""train.precision: validation, what ``auto`` resolves to (hardware detection monkeypatched), the summary."""

from __future__ import annotations

import json
import logging

import pytest
import torch

from helpers import TINY_OVERRIDES
from lstmtext.config import build_config
from lstmtext.errors import ConfigError
from lstmtext.models import build_model, fused_lstm, onednn
from lstmtext.models.fused_lstm import FusedLSTM
from lstmtext.training import precision


@pytest.fixture
def cpu(monkeypatch):
    """Pretend the CPU has the given flags (and torch's oneDNN op)."""
    def set_flags(*flags: str) -> None:
        monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(("avx512f", *flags)))
        monkeypatch.setattr(onednn, "ONEDNN", True)
    return set_flags


def _model(name: str = "lstm", **model):
    cfg = build_config(None, overrides=TINY_OVERRIDES + [f"model.name=\"{name}\""], extra={"model": model})
    return build_model(cfg.model, 50, 3)


def test_config_accepts_the_three_values_and_defaults_to_auto():
    assert build_config(None).train.precision == "auto"
    for value in ("auto", "fp32", "bf16"):
        assert build_config(None, overrides=[f"train.precision=\"{value}\""]).train.precision == value
    with pytest.raises(ConfigError, match="train.precision"):
        build_config(None, overrides=["train.precision=\"fp16\""])


@pytest.mark.parametrize("flag", ["avx512_bf16", "amx_bf16"])
def test_auto_is_bf16_for_a_fused_lstm_on_a_bf16_cpu(cpu, flag):
    cpu(flag)
    assert precision.cpu_has_bf16()
    assert precision.resolve_precision("auto", _model()) == "bf16"
    assert precision.resolve_precision("auto", _model(num_layers=2)) == "bf16"  # stacked FusedLSTM layers
    assert precision.resolve_precision("fp32", _model()) == "fp32"


def test_auto_keeps_bidirectional_lstms_in_fp32_but_bf16_can_be_asked_for(cpu):
    cpu("amx_bf16")
    for model in (_model("bilstm"), _model(bidirectional=True), _model("bilstm_attn")):  # default: lstm, both ways
        assert precision.resolve_precision("auto", model) == "fp32"
        assert precision.resolve_precision("bf16", model) == "bf16"
    from lstmtext.models.language_model import LanguageModel

    lm = LanguageModel(100, 16, 16, bidirectional=True)  # the ulmfit language model measured faster in bf16
    assert precision.resolve_precision("auto", lm) == "bf16"


def test_auto_is_fp32_without_bf16_instructions_or_without_a_fused_lstm(cpu):
    cpu()  # AVX-512 without bf16
    assert not precision.cpu_has_bf16()
    assert precision.resolve_precision("auto", _model()) == "fp32"
    cpu("avx512_bf16")
    for model in (_model("cnn"), _model("gru"), _model(options={"impl": "native"}),
                  _model().double()):
        assert precision.resolve_precision("auto", model) == "fp32"


def test_no_onednn_op_means_no_bf16(cpu, monkeypatch):
    cpu("amx_bf16")
    monkeypatch.setattr(onednn, "ONEDNN", False)
    assert precision.resolve_precision("auto", _model()) == "fp32"


def test_bf16_asked_where_it_cannot_apply_logs_and_trains_fp32(cpu, caplog):
    caplog.set_level(logging.WARNING, logger=precision.__name__)
    cpu()
    assert precision.resolve_precision("bf16", _model()) == "fp32"
    assert "no bf16 instructions" in caplog.text
    caplog.clear()
    cpu("avx512_bf16")
    assert precision.resolve_precision("bf16", _model("cnn")) == "fp32"
    assert "FusedLSTM" in caplog.text
    caplog.clear()
    assert precision.resolve_precision("bf16", _model()) == "bf16"
    assert caplog.text == ""
    with pytest.raises(ValueError, match="train.precision"):
        precision.resolve_precision("fp16", _model())


def test_apply_and_reset_set_every_fused_layer(cpu):
    cpu("avx512_bf16")
    model = _model("bilstm")
    assert precision.apply_precision(model, "bf16") == "bf16"
    layers = [m for m in model.modules() if isinstance(m, FusedLSTM)]
    assert layers and all(m.precision == "bf16" for m in layers)
    precision.set_precision(model, "fp32")
    assert all(m.precision == "fp32" for m in layers)


def test_cpu_flags_read_from_proc_cpuinfo():
    flags = precision.cpu_flags()
    assert isinstance(flags, frozenset)
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            assert ("avx512_bf16" in flags) == ("avx512_bf16" in fh.read().split())
    except OSError:
        assert flags == frozenset()


def _trained(tmp_path, tiny_path, cpu, monkeypatch, flags: tuple[str, ...], value: str):
    from lstmtext.pipeline import run

    cpu(*flags)
    seen = []
    real = fused_lstm._FusedLSTMFunction.apply
    monkeypatch.setattr(fused_lstm._FusedLSTMFunction, "apply", lambda *a: seen.append(a[-1]) or real(*a))
    config = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=2", f"train.precision=\"{value}\""])
    result = run(config, tiny_path, tmp_path / value, progress=False)
    return result, seen


def test_a_bf16_run_records_its_precision(tmp_path, tiny_path, cpu, monkeypatch):
    result, seen = _trained(tmp_path, tiny_path, cpu, monkeypatch, ("avx512_bf16",), "bf16")
    assert seen and all(seen)  # every training step's LSTM ran in bfloat16
    assert result.summary["precision"] == "bf16" == result.train.precision
    assert json.loads((tmp_path / "bf16" / "metrics.json").read_text())["summary"]["precision"] == "bf16"
    assert "bf16" in (tmp_path / "bf16" / "report.md").read_text()
    assert "bf16 precision" in (tmp_path / "bf16" / "model" / "README.md").read_text()  # the bundle's model card
    saved = json.loads((tmp_path / "bf16" / "model" / "config.json").read_text())
    assert "bf16" in json.dumps(saved)  # the requested precision travels with the bundle's config
    assert all(m.precision == "fp32" for m in result.model.modules() if isinstance(m, FusedLSTM))
    probs = result.probabilities["test"]
    assert torch.isfinite(torch.as_tensor(probs)).all()


def test_bf16_asked_on_a_cpu_without_it_records_fp32(tmp_path, tiny_path, cpu, monkeypatch):
    result, seen = _trained(tmp_path, tiny_path, cpu, monkeypatch, (), "bf16")
    assert seen and not any(seen)
    assert result.summary["precision"] == "fp32"
