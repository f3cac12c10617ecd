"""FusedLSTM with ``precision = "bf16"``: bfloat16 products in training only, close to float32 nn.LSTM."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lstmtext.models import fused_lstm, onednn, packed
from lstmtext.models.fused_lstm import FusedLSTM

D, H = 24, 48


def _pair(bidirectional: bool, dtype=torch.float32) -> tuple[nn.LSTM, FusedLSTM]:
    torch.manual_seed(0)
    ref = nn.LSTM(D, H, batch_first=True, bidirectional=bidirectional).to(dtype)
    fused = FusedLSTM(D, H, bidirectional=bidirectional).to(dtype)
    fused.load_state_dict(ref.state_dict())
    fused.precision = "bf16"
    return ref, fused


def _inputs(dtype=torch.float32, batch: int = 40, total_len: int = 16):
    gen = torch.Generator().manual_seed(1)
    lengths = torch.randint(1, total_len + 1, (batch,), generator=gen)
    return torch.randn(batch, total_len, D, generator=gen, dtype=dtype), lengths


def _run_both(ref, fused, x, lengths):
    """Forward and backward of one loss on both outputs; returns (fused, reference) outputs and gradients."""
    x_r, x_f = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_r, (h_r, _) = ref(pack_padded_sequence(x_r, lengths, batch_first=True, enforce_sorted=False))
    out_r, _ = pad_packed_sequence(out_r, batch_first=True, total_length=x.shape[1])
    out_f, h_f = fused(x_f, lengths)
    gen = torch.Generator().manual_seed(2)
    w_out, w_h = torch.randn(out_r.shape, generator=gen, dtype=x.dtype), torch.randn(h_r.shape, generator=gen, dtype=x.dtype)
    ((out_r * w_out).sum() + (h_r * w_h).sum()).backward()
    ((out_f * w_out).sum() + (h_f * w_h).sum()).backward()
    ref_grads = dict(ref.named_parameters())
    pairs = {"output": (out_f.detach(), out_r.detach()), "h_n": (h_f.detach(), h_r.detach()),
             "grad x": (x_f.grad, x_r.grad)}
    pairs.update({f"grad {n}": (p.grad, ref_grads[n].grad) for n, p in fused.named_parameters()})
    return pairs


def _spy(monkeypatch) -> list[torch.dtype]:
    """Record the dtype of every product FusedLSTM runs."""
    seen = []

    def spy(real):
        def product(x, *args, **kwargs):
            seen.append(x.dtype)
            return real(x, *args, **kwargs)
        return product

    # the steps' products (one direction: oneDNN's linear; both at once: bmm) and backward's big ones
    for module, name in ((packed, "linear"), (packed, "bmm"), (fused_lstm, "_linear")):
        monkeypatch.setattr(module, name, spy(getattr(module, name)))
    return seen


@pytest.mark.parametrize("bidirectional", [False, True])
def test_bf16_forward_and_gradients_close_to_float32_nn_lstm(bidirectional, monkeypatch):
    seen = _spy(monkeypatch)
    ref, fused = _pair(bidirectional)
    pairs = _run_both(ref, fused, *_inputs())
    assert set(seen) == {torch.bfloat16}  # every product, forward and backward
    for name, (got, want) in pairs.items():
        assert got.dtype == torch.float32, name
        rel = float((got - want).norm() / want.norm())
        assert rel < 2e-2, (name, rel)
        torch.testing.assert_close(got, want, rtol=0, atol=3e-2 * float(want.abs().max()), msg=name)
        assert rel > 0 or name.startswith("grad bias"), name  # it really ran in bfloat16 ...
    fused.precision = "fp32"  # ... and float32 is back to float32 rounding
    ref.zero_grad()
    fused.zero_grad()
    for name, (got, want) in _run_both(ref, fused, *_inputs()).items():
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5, msg=name)


def test_bf16_only_while_training_with_gradients(monkeypatch):
    seen = _spy(monkeypatch)
    _, fused = _pair(bidirectional=False)
    x, lengths = _inputs()
    fused.eval()  # inference (and explanations, which take gradients in eval mode) stays float32
    _, h_eval = fused(x.clone().requires_grad_(), lengths)
    with torch.no_grad():
        _, h_nograd = fused.train()(x, lengths)
    assert set(seen) == {torch.float32}
    fused.precision = "fp32"
    with torch.no_grad():
        _, h_fp32 = fused(x, lengths)
    assert torch.equal(h_eval, h_fp32) and torch.equal(h_nograd, h_fp32)


def test_float64_never_uses_bf16(monkeypatch):
    seen = _spy(monkeypatch)
    ref, fused = _pair(bidirectional=True, dtype=torch.float64)
    for name, (got, want) in _run_both(ref, fused, *_inputs(torch.float64)).items():
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6, msg=name)
    assert set(seen) == {torch.float64}


def test_bf16_workspace_reused_across_sizes():
    torch.manual_seed(0)
    ref, fused = _pair(bidirectional=False)
    for batch, total_len in [(30, 12), (5, 4), (50, 12)]:
        ref.zero_grad()
        fused.zero_grad()
        pairs = _run_both(ref, fused, *_inputs(batch=batch, total_len=total_len))
        for name, (got, want) in pairs.items():
            assert float((got - want).norm() / want.norm()) < 2e-2, (batch, name)


def test_bf16_is_deterministic():
    _, fused = _pair(bidirectional=True)
    x, lengths = _inputs()
    grads = []
    for _ in range(2):
        fused.zero_grad()
        _, h = fused(x, lengths)
        h.square().sum().backward()
        grads.append([p.grad.clone() for p in fused.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*grads))


@pytest.mark.skipif(not onednn.rnn_available(), reason="torch without oneDNN: no bfloat16 LSTM kernel")
@pytest.mark.parametrize("bidirectional", [False, True])
def test_bf16_inference_reads_rows_without_padding_in_bfloat16(bidirectional):
    _, fused = _pair(bidirectional)
    fused.precision = "fp32"
    fused.eval()
    x = _inputs(batch=12, total_len=9)[0]
    lengths = torch.full((12,), 9)
    with torch.no_grad():
        out_32, h_32 = fused(x, lengths)
        with packed.bf16_inference():
            out_16, h_16 = fused(x, lengths)
            mixed = fused(x, torch.tensor([9, 3, 5, 9, 1, 2, 8, 9, 4, 6, 7, 9]))[1]
        assert out_16.dtype == torch.float32 and out_16.shape == out_32.shape
        for got, want in ((out_16, out_32), (h_16, h_32)):
            rel = float((got - want).norm() / want.norm())
            assert 0 < rel < 1e-2, rel  # bfloat16 really ran, close to float32
            # bfloat16 outputs: every value one of bfloat16's
            assert torch.equal(got, got.bfloat16().float())
        assert not torch.equal(mixed, mixed.bfloat16().float())  # padded rows: the float32 step loop, as before
        # after the block: float32 again
        assert torch.equal(fused(x, lengths)[1], h_32)


def test_bf16_inference_weights_follow_a_changed_model():
    _, fused = _pair(bidirectional=True)
    fused.eval()
    x = _inputs(batch=6, total_len=5)[0]
    kept = fused._bf16_weights()
    assert fused._bf16_weights()[0] is kept[0]  # made once, kept while nothing changes
    with torch.no_grad(), packed.bf16_inference():
        before = fused(x)[1]
        fused.weight_hh_l0.mul_(0.5)  # an in-place change (an optimizer step)
        after = fused(x)[1]
    assert fused._bf16_weights()[0] is not kept[0]
    fused.precision = "fp32"
    with torch.no_grad():
        want = fused(x)[1]
    assert not after.equal(before)
    assert float((after - want).norm() / want.norm()) < 1e-2
    other = _pair(bidirectional=True)[0].state_dict()
    other = {k: v * 0.9 for k, v in other.items()}
    fused.load_state_dict(other)  # copies into the same tensors: their versions move
    torch.testing.assert_close(fused._bf16_weights()[2].float(), other["bias_ih_l0"], rtol=1e-2, atol=1e-3)
    assert "_bf16_cache" not in copy.deepcopy(fused).__dict__  # copies and pickles leave the cache behind
    assert "_bf16_cache" not in pickle.loads(pickle.dumps(fused)).__dict__
