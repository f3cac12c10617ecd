"""FusedGRU must compute exactly what nn.GRU computes on packed (unpadded) sequences."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lstmtext.config import build_config
from lstmtext.models import build_model
from lstmtext.models.fused_gru import FusedGRU

D, H = 5, 7
TOL = dict(rtol=1e-6, atol=1e-6)
LENGTHS = [3, 9, 1, 6, 9, 2, 4, 1, 7]


def _pair(bidirectional: bool, layers: int, bias: bool) -> tuple[nn.GRU, FusedGRU]:
    torch.manual_seed(0)
    ref = nn.GRU(D, H, num_layers=layers, batch_first=True, bidirectional=bidirectional, bias=bias).double()
    fused = FusedGRU(D, H, batch_first=True, bidirectional=bidirectional, num_layers=layers, bias=bias).double()
    fused.load_state_dict(ref.state_dict())  # the same keys and layout
    return ref, fused


def _reference(ref: nn.GRU, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    out, h_n = ref(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0], h_n


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_forward_and_gradients_match_nn_gru(bidirectional: bool, layers: int, bias: bool) -> None:
    ref, fused = _pair(bidirectional, layers, bias)
    gen = torch.Generator().manual_seed(1)
    lengths = torch.tensor(LENGTHS)
    x = torch.randn(len(LENGTHS), max(LENGTHS), D, generator=gen, dtype=torch.float64)
    x_ref, x_fused = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_r, h_r = _reference(ref, x_ref, lengths)
    out_f, h_f = fused(x_fused, lengths)
    torch.testing.assert_close(out_f, out_r, **TOL)
    torch.testing.assert_close(h_f, h_r, **TOL)
    w_out = torch.randn(out_r.shape, generator=gen, dtype=x.dtype)  # every element's gradient differs
    w_h = torch.randn(h_r.shape, generator=gen, dtype=x.dtype)
    ((out_r * w_out).sum() + (h_r * w_h).sum()).backward()
    ((out_f * w_out).sum() + (h_f * w_h).sum()).backward()
    torch.testing.assert_close(x_fused.grad, x_ref.grad, **TOL)
    ref_params = dict(ref.named_parameters())
    for name, p in fused.named_parameters():
        torch.testing.assert_close(p.grad, ref_params[name].grad, **TOL, msg=name)
    fused.eval()
    with torch.no_grad():  # no gradient: the untracked loop; rows without padding: torch's whole-sequence kernel
        torch.testing.assert_close(fused(x, lengths)[0], out_r.detach(), **TOL)
        full = torch.tensor([4, 4])
        torch.testing.assert_close(fused(x[:2, :4], full)[1], _reference(ref, x[:2, :4], full)[1], **TOL)


def test_the_gru_model_runs_on_fused_gru_unless_asked_for_torchs() -> None:
    cfg = build_config("gru", overrides=["model.embedding.kind=random"]).model
    assert isinstance(build_model(cfg, 50, 3).rnn, FusedGRU)
    native = cfg.model_copy(update={"options": {"impl": "native"}})
    model = build_model(native, 50, 3)
    assert type(model.rnn) is nn.GRU
    fused = build_model(cfg, 50, 3)
    fused.load_state_dict(model.state_dict())  # bundles saved either way load into the other
    ids, lengths = torch.randint(1, 50, (4, 6)), torch.tensor([6, 2, 4, 1])
    ids[torch.arange(6) >= lengths.unsqueeze(1)] = 0
    model.eval()
    fused.eval()
    with torch.no_grad():
        torch.testing.assert_close(fused(ids, lengths), model(ids, lengths), rtol=1e-5, atol=1e-5)
