"""FusedGRU and FusedRNN must compute exactly what nn.GRU and nn.RNN compute on packed (unpadded) sequences."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from helpers import assert_matches_torch
from lstmtext.config import build_config
from lstmtext.models import build_model
from lstmtext.models.fused_gru import FusedGRU
from lstmtext.models.fused_rnn import FusedRNN

D, H = 5, 7
TOL = dict(rtol=1e-6, atol=1e-6)
LENGTHS = [3, 9, 1, 6, 9, 2, 4, 1, 7]


CELLS = {"gru": (nn.GRU, FusedGRU, {}), "rnn-tanh": (nn.RNN, FusedRNN, {"nonlinearity": "tanh"}),
         "rnn-relu": (nn.RNN, FusedRNN, {"nonlinearity": "relu"})}


def _pair(cell: str, bidirectional: bool, layers: int, bias: bool) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    torch_cls, fused_cls, kwargs = CELLS[cell]
    ref = torch_cls(D, H, num_layers=layers, batch_first=True, bidirectional=bidirectional, bias=bias, **kwargs)
    fused = fused_cls(D, H, batch_first=True, bidirectional=bidirectional, num_layers=layers, bias=bias, **kwargs)
    ref, fused = ref.double(), fused.double()
    fused.load_state_dict(ref.state_dict())  # the same keys and layout
    return ref, fused


def _reference(ref: nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    out, h_n = ref(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0], h_n


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", list(CELLS))
def test_forward_and_gradients_match_torch(cell: str, bidirectional: bool, layers: int, bias: bool) -> None:
    ref, fused = _pair(cell, bidirectional, layers, bias)
    gen = torch.Generator().manual_seed(1)
    lengths = torch.tensor(LENGTHS)
    x = torch.randn(len(LENGTHS), max(LENGTHS), D, generator=gen, dtype=torch.float64)
    out_r = assert_matches_torch(ref, fused, _reference, x, lengths, TOL)
    fused.eval()
    with torch.no_grad():  # no gradient: the untracked loop; rows without padding: torch's whole-sequence kernel
        torch.testing.assert_close(fused(x, lengths)[0], out_r, **TOL)
        full = torch.tensor([4, 4])
        for got, want in zip(fused(x[:2, :4], full), _reference(ref, x[:2, :4], full)):  # outputs and h_n
            torch.testing.assert_close(got, want, **TOL)


@pytest.mark.parametrize("name", ["gru", "rnn"])
def test_the_zoo_model_runs_on_the_fused_layer_unless_asked_for_torchs(name: str) -> None:
    torch_cls, fused_cls, _ = CELLS[name if name == "gru" else "rnn-tanh"]
    cfg = build_config(name, overrides=["model.embedding.kind=random"]).model
    assert isinstance(build_model(cfg, 50, 3).rnn, fused_cls)
    native = cfg.model_copy(update={"options": {"impl": "native"}})
    model = build_model(native, 50, 3)
    assert type(model.rnn) is torch_cls
    fused = build_model(cfg, 50, 3)
    fused.load_state_dict(model.state_dict())  # bundles saved either way load into the other
    ids, lengths = torch.randint(1, 50, (4, 6)), torch.tensor([6, 2, 4, 1])
    ids[torch.arange(6) >= lengths.unsqueeze(1)] = 0
    model.eval()
    fused.eval()
    with torch.no_grad():
        torch.testing.assert_close(fused(ids, lengths), model(ids, lengths), rtol=1e-5, atol=1e-5)


def test_old_options_still_load_and_bad_values_are_refused() -> None:
    """gru and rnn took any model.options before they had their own: bundles saved then must still build."""
    from lstmtext.errors import ConfigError

    cfg = build_config("gru", overrides=["model.embedding.kind=random"]).model
    assert isinstance(build_model(cfg.model_copy(update={"options": {"weight_drop": 0.2}}), 50, 3).rnn, FusedGRU)
    rnn = build_config("rnn", overrides=["model.embedding.kind=random"]).model
    with pytest.raises(ConfigError, match="model.options.nonlinearity must be 'tanh' or 'relu'"):
        build_model(rnn.model_copy(update={"options": {"nonlinearity": "sigmoid"}}), 50, 3)
    with pytest.raises(ConfigError, match="model.options.impl"):
        build_model(cfg.model_copy(update={"options": {"impl": "cuda"}}), 50, 3)
