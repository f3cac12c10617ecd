"""FusedLSTM must compute exactly what nn.LSTM computes on packed (unpadded) sequences."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from helpers import assert_matches_torch
from lstmtext.models.dropout import dropout
from lstmtext.models.fused_lstm import FusedLSTM

D, H = 5, 7
TOL = dict(rtol=1e-6, atol=1e-6)


def _pair(bidirectional: bool, bias: bool = True, seed: int = 0) -> tuple[nn.LSTM, FusedLSTM]:
    """A reference nn.LSTM and a FusedLSTM holding the same float64 weights (via the state_dict)."""
    torch.manual_seed(seed)
    ref = nn.LSTM(D, H, batch_first=True, bidirectional=bidirectional, bias=bias).double()
    fused = FusedLSTM(D, H, batch_first=True, bidirectional=bidirectional, bias=bias).double()
    fused.load_state_dict(ref.state_dict())
    return ref, fused


def _reference(ref: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, (h_n, _) = ref(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, h_n


def _inputs(lengths: list[int], total_len: int | None = None, seed: int = 1):
    gen = torch.Generator().manual_seed(seed)
    lengths_t = torch.tensor(lengths)
    total_len = total_len or max(lengths)
    x = torch.randn(len(lengths), total_len, D, generator=gen, dtype=torch.float64)
    x[torch.arange(total_len) >= lengths_t.unsqueeze(1)] = 0.0  # padding content must not matter anyway
    return x, lengths_t


LENGTH_CASES = {
    "random-unsorted": [3, 9, 1, 6, 9, 2, 4, 1, 7],
    "all-equal": [5, 5, 5, 5],
    "single-row": [6],
    "all-length-1": [1, 1, 1],
}


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("case", list(LENGTH_CASES))
def test_forward_and_gradients_match_nn_lstm(bidirectional: bool, case: str) -> None:
    ref, fused = _pair(bidirectional)
    x, lengths = _inputs(LENGTH_CASES[case])
    assert_matches_torch(ref, fused, _reference, x, lengths, TOL)


def test_h_n_only_loss_and_no_bias() -> None:
    ref, fused = _pair(bidirectional=False, bias=False)
    x, lengths = _inputs([4, 2, 6, 1, 6])
    _, h_r = _reference(ref, x, lengths)
    _, h_f = fused(x, lengths)
    h_r.square().sum().backward()
    h_f.square().sum().backward()
    ref_params = dict(ref.named_parameters())
    assert set(ref_params) == {n for n, _ in fused.named_parameters()}
    for name, p in fused.named_parameters():
        torch.testing.assert_close(p.grad, ref_params[name].grad, **TOL)


def test_state_dict_round_trip_both_ways() -> None:
    ref, fused = _pair(bidirectional=True)
    assert list(ref.state_dict()) == list(fused.state_dict())
    other = nn.LSTM(D, H, batch_first=True, bidirectional=True).double()
    other.load_state_dict(fused.state_dict())
    for (name, a), b in zip(other.state_dict().items(), fused.state_dict().values()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("bidirectional", [False, True])
def test_gradcheck(bidirectional: bool) -> None:
    torch.manual_seed(0)
    fused = FusedLSTM(2, 3, bidirectional=bidirectional).double()  # tiny: gradcheck perturbs every entry
    x = torch.randn(3, 4, 2, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([3, 1, 4])
    names = [n for n, _ in fused.named_parameters()]

    def fn(x_in: torch.Tensor, *ps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.func.functional_call(fused, dict(zip(names, ps)), (x_in, lengths))

    params = [p.detach().clone().requires_grad_() for p in fused.parameters()]
    assert torch.autograd.gradcheck(fn, (x, *params))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_invariance_and_inference_path(bidirectional: bool) -> None:
    _, fused = _pair(bidirectional)
    x, lengths = _inputs([2, 5, 3, 5, 1])
    out, h_n = fused(x, lengths)
    x_wide = torch.cat([x, torch.randn(x.shape[0], 4, D, dtype=x.dtype)], 1)  # padding holds noise
    out_wide, h_wide = fused(x_wide, lengths)
    torch.testing.assert_close(h_wide, h_n, **TOL)
    torch.testing.assert_close(out_wide[:, : x.shape[1]], out, **TOL)
    assert torch.all(out_wide[:, x.shape[1] :] == 0)
    fused.eval()
    with torch.no_grad():
        out_ng, h_ng = fused(x_wide, lengths)
    assert not h_ng.requires_grad
    torch.testing.assert_close(h_ng, h_n, **TOL)
    torch.testing.assert_close(out_ng, out_wide, **TOL)


def test_float32_and_time_major() -> None:
    torch.manual_seed(0)
    ref = nn.LSTM(D, H)
    fused = FusedLSTM(D, H, batch_first=False)
    fused.load_state_dict(ref.state_dict())
    lengths = torch.tensor([4, 2, 3])
    x = torch.randn(4, 3, D)  # (T, B, D)
    out_r, (h_r, _) = ref(pack_padded_sequence(x, lengths, enforce_sorted=False))
    out_r, _ = pad_packed_sequence(out_r, total_length=4)
    out_f, h_f = fused(x, lengths)
    torch.testing.assert_close(out_f, out_r, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(h_f, h_r, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("lengths", [[0, 2], [3, 5]])
def test_rejects_bad_lengths(lengths: list[int]) -> None:
    _, fused = _pair(bidirectional=False)
    with pytest.raises(ValueError):
        fused(torch.zeros(2, 4, D, dtype=torch.float64), torch.tensor(lengths))


def test_need_output_false_and_frozen_weights() -> None:
    ref, fused = _pair(bidirectional=True)
    for p in list(ref.parameters()) + list(fused.parameters()):
        p.requires_grad_(False)  # only the input's gradient: the weight-gradient products are skipped
    x, lengths = _inputs([5, 1, 3, 5, 2])
    x_ref, x_fused = x.clone().requires_grad_(), x.clone().requires_grad_()
    _, h_r = _reference(ref, x_ref, lengths)
    out, h_f = fused(x_fused, lengths, need_output=False)
    assert out is None
    torch.testing.assert_close(h_f, h_r, **TOL)
    h_r.square().sum().backward()
    h_f.square().sum().backward()
    torch.testing.assert_close(x_fused.grad, x_ref.grad, **TOL)


def test_float32_gradients_and_reused_workspace() -> None:
    """float32 takes the oneDNN path where torch has it; the backward scratch is reused across sizes."""
    torch.manual_seed(0)
    ref = nn.LSTM(8, 16, batch_first=True)
    fused = FusedLSTM(8, 16)
    fused.load_state_dict(ref.state_dict())
    for batch, total_len in [(40, 12), (7, 5), (60, 12)]:
        gen = torch.Generator().manual_seed(batch)
        lengths = torch.randint(1, total_len + 1, (batch,), generator=gen)
        x = torch.randn(batch, total_len, 8, generator=gen)
        x_ref, x_fused = x.clone().requires_grad_(), x.clone().requires_grad_()
        ref.zero_grad()
        fused.zero_grad()
        _, h_r = _reference(ref, x_ref, lengths)
        _, h_f = fused(x_fused, lengths)
        torch.testing.assert_close(h_f, h_r, rtol=1e-5, atol=1e-6)
        h_r.square().sum().backward()
        h_f.square().sum().backward()
        torch.testing.assert_close(x_fused.grad, x_ref.grad, rtol=1e-4, atol=1e-5)
        ref_params = dict(ref.named_parameters())
        for name, p in fused.named_parameters():
            torch.testing.assert_close(p.grad, ref_params[name].grad, rtol=1e-4, atol=1e-5, msg=name)


def _float32_matches_nn_lstm() -> None:
    for bidirectional in (False, True):  # one direction runs oneDNN's linear, two run batched products
        torch.manual_seed(0)
        ref = nn.LSTM(D, H, batch_first=True, bidirectional=bidirectional)
        fused = FusedLSTM(D, H, batch_first=True, bidirectional=bidirectional)
        fused.load_state_dict(ref.state_dict())
        x, lengths = _inputs([4, 2, 6])
        x = x.float()
        out_r, h_r = _reference(ref, x, lengths)
        out_f, h_f = fused(x, lengths)
        torch.testing.assert_close(out_f, out_r, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(h_f, h_r, rtol=1e-5, atol=1e-5)


def test_probe_reports_a_missing_onednn_op(monkeypatch: pytest.MonkeyPatch) -> None:
    """A torch without (or with a changed) private oneDNN op: the probe says no instead of raising."""
    from lstmtext.models import onednn

    class NoOps:
        def __getattr__(self, name):
            raise AttributeError(name)

    monkeypatch.setattr(onednn.torch.ops, "mkldnn", NoOps())
    assert onednn.onednn_linear_available() is False

    monkeypatch.setattr(onednn, "ONEDNN", False)
    _float32_matches_nn_lstm()


def test_a_failing_onednn_call_falls_back_for_good(monkeypatch: pytest.MonkeyPatch) -> None:
    """The op was there at start-up but a call fails (new signature): plain products take over, same result."""
    from lstmtext.models import onednn

    calls = []

    class ChangedOps:
        def _linear_pointwise(self, *args):
            calls.append(len(args))
            raise TypeError("_linear_pointwise() takes 5 positional arguments")

    monkeypatch.setattr(onednn.torch.ops, "mkldnn", ChangedOps())
    monkeypatch.setattr(onednn, "ONEDNN", True)
    _float32_matches_nn_lstm()
    assert calls == [6]  # tried once, then never again
    assert onednn.ONEDNN is False


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_unpadded_inference_uses_one_kernel_call_and_agrees_with_the_loop(bidirectional: bool, bias: bool,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    ref, fused = _pair(bidirectional, bias=bias)
    fused.eval()
    x, lengths = _inputs([6, 6, 6])  # no padding: one torch.lstm call, no step loop
    calls = []
    monkeypatch.setattr("lstmtext.models.packed.make_plan", lambda *a: calls.append(a))
    with torch.no_grad():
        out, h_n = fused(x, lengths)
        none, h_only = fused(x, lengths, need_output=False)
    assert calls == [] and none is None
    out_r, h_r = _reference(ref, x, lengths)
    torch.testing.assert_close(out, out_r, **TOL)
    torch.testing.assert_close(h_n, h_r, **TOL)
    torch.testing.assert_close(h_only, h_r, **TOL)
    monkeypatch.undo()
    # one text alone (the whole-sequence kernel) = the same text in a mixed batch (the packed loop)
    mixed, mixed_lengths = _inputs([6, 2, 4])
    mixed[0] = x[0]
    with torch.no_grad():
        out_mixed, h_mixed = fused(mixed, mixed_lengths)
        out_one, h_one = fused(x[:1], lengths[:1])
    torch.testing.assert_close(h_one[:, 0], h_mixed[:, 0], **TOL)
    torch.testing.assert_close(out_one[0], out_mixed[0], **TOL)
    # time-major layout comes back time-major
    tm = FusedLSTM(D, H, batch_first=False, bidirectional=bidirectional, bias=bias).double().eval()
    tm.load_state_dict(fused.state_dict())
    with torch.no_grad():
        out_tm, h_tm = tm(x.transpose(0, 1), lengths)
    torch.testing.assert_close(out_tm.transpose(0, 1), out_r, **TOL)
    torch.testing.assert_close(h_tm, h_r, **TOL)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_stacked_layers_match_nn_lstm_forward_gradients_and_unpadded(bidirectional: bool) -> None:
    """Three layers read each other in the packed layout: same outputs, h_n and gradients as nn.LSTM(num_layers=3)."""
    torch.manual_seed(0)
    ref = nn.LSTM(D, H, num_layers=3, batch_first=True, bidirectional=bidirectional).double()
    fused = FusedLSTM(D, H, batch_first=True, bidirectional=bidirectional, num_layers=3).double()
    fused.load_state_dict(ref.state_dict())  # same keys (weight_ih_l1 reads H * dirs features), same layout
    assert [n for n, _ in fused.named_parameters()] == [n for n, _ in ref.named_parameters()]
    x, lengths = _inputs(LENGTH_CASES["random-unsorted"])
    assert fused(x, lengths)[1].shape == (3 * (2 if bidirectional else 1), len(lengths), H)
    assert_matches_torch(ref, fused, _reference, x, lengths, TOL)
    fused.eval()
    with torch.no_grad():  # rows without padding: torch's whole-sequence kernel, all layers in one call
        x_full, full = _inputs([6, 6])
        for got, want in zip(fused(x_full, full), _reference(ref, x_full, full)):  # outputs and h_n
            torch.testing.assert_close(got, want, **TOL)


def test_dropout_between_layers_only_while_training() -> None:
    torch.manual_seed(0)
    fused = FusedLSTM(D, H, batch_first=True, num_layers=2, dropout=0.5).double()
    plain = FusedLSTM(D, H, batch_first=True, num_layers=2).double()
    plain.load_state_dict(fused.state_dict())
    x, lengths = _inputs([3, 5, 2])
    with torch.no_grad():
        assert not torch.equal(fused(x, lengths)[0], plain(x, lengths)[0])  # training: the layer-1 input is dropped
        fused.eval()
        plain.eval()
        torch.testing.assert_close(fused(x, lengths)[0], plain(x, lengths)[0], rtol=0, atol=0)
    with pytest.raises(ValueError, match="num_layers"):
        FusedLSTM(D, H, num_layers=0)


def _train_step(fused: FusedLSTM, x: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
    """One weighted loss on outputs and h_n, backward: [output, h_n, grad x, every parameter's grad]."""
    fused.zero_grad()
    x = x.clone().requires_grad_()
    out, h_n = fused(x, lengths)
    gen = torch.Generator().manual_seed(3)
    ((out * torch.randn(out.shape, generator=gen)).sum() + (h_n * torch.randn(h_n.shape, generator=gen)).sum()).backward()
    return [out.detach(), h_n.detach(), x.grad] + [p.grad.clone() for p in fused.parameters()]


@pytest.mark.parametrize(("bidirectional", "layers"), [(False, 1), (True, 1), (True, 2)])
def test_a_training_batch_without_padding_runs_torchs_kernel_with_the_same_numbers(
        bidirectional: bool, layers: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """float32 rows of one length train through torch's whole-sequence LSTM (oneDNN's fused kernel): the same
    outputs and gradients as stepping through packed rows; a batch with padding still steps."""
    torch.manual_seed(0)
    fused = FusedLSTM(D, H, bidirectional=bidirectional, num_layers=layers).train()
    calls = []
    real = FusedLSTM._whole_sequence
    monkeypatch.setattr(FusedLSTM, "_whole_sequence", lambda self, *a: calls.append(1) or real(self, *a))
    x = torch.randn(6, 8, D, generator=torch.Generator().manual_seed(1))
    dense = _train_step(fused, x, torch.full((6,), 8))
    assert calls == [1]
    fused.onednn_kernel = False  # the packed loop, on the same batch
    for got, want in zip(dense, _train_step(fused, x, torch.full((6,), 8))):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    fused.onednn_kernel = True
    _train_step(fused, x, torch.tensor([8, 8, 8, 8, 8, 7]))
    assert calls == [1]  # padding: packed rows


def test_weight_drop_applies_to_a_batch_without_padding_too() -> None:
    torch.manual_seed(0)
    fused = FusedLSTM(D, H, weight_drop=0.5).train()
    x, lengths = torch.randn(4, 6, D), torch.full((4,), 6)
    torch.manual_seed(5)
    out, _ = fused(x, lengths)
    torch.manual_seed(5)  # the same mask, drawn by hand: only weight_hh is dropped, once per call
    dropped = dropout(fused.weight_hh_l0, 0.5).detach()
    ref = nn.LSTM(D, H, batch_first=True)
    ref.load_state_dict(fused.state_dict())
    with torch.no_grad():
        ref.weight_hh_l0.copy_(dropped)
        torch.testing.assert_close(out.detach(), ref(x)[0], rtol=1e-5, atol=1e-6)
        assert not torch.allclose(out, fused.eval()(x, lengths)[0], atol=1e-3)  # it did drop something


def test_a_bf16_batch_without_padding_stays_close_to_float32_and_repeats() -> None:
    torch.manual_seed(0)
    fused = FusedLSTM(24, 48, bidirectional=True).train()
    x, lengths = torch.randn(16, 10, 24), torch.full((16,), 10)
    want = _train_step(fused, x, lengths)
    fused.precision = "bf16"
    got, again = _train_step(fused, x, lengths), _train_step(fused, x, lengths)
    for a, b, c in zip(got, want, again):
        assert a.dtype == torch.float32 and torch.equal(a, c)  # float32 out, the same on every run
        assert 0 < float((a - b).norm() / b.norm()) < 2e-2  # bfloat16 products, close to float32
