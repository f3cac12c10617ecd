"""An Elman RNN for CPU training that computes only on real (unpadded) tokens: FusedLSTM's scheme for ``nn.RNN``.

``FusedRNN`` is a drop-in for ``torch.nn.RNN`` fed with ``pack_padded_sequence`` (same parameter names and
layout, ``tanh`` or ``relu``), tested against it in float64, forward and gradients. ``h' = act(W_ih x + b_ih +
W_hh h + b_hh)``: every token's input part (both biases included) is one big product up front; each step adds
h_{t-1} W_hh^T (both directions of a layer in one batched product) and applies the nonlinearity. Backward
carries dh through time; dX, dW_ih, dW_hh and the biases' gradients are big products after the loop.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lstmtext.models.packed import PackedRNN, Plan, prev_rows, step_product, step_weight


def _recurrence(gi: Tensor, w_hh: Tensor, plan: Plan, relu: bool) -> Tensor:
    """Run nd directions over packed pre-activations gi (nd, N, H) (input part and biases); W_hh (nd, H, H).
    Returns the packed states (nd, N, H)."""
    w_step = step_weight(w_hh)  # h (nd, n, H) @ W_hh^T
    act = (lambda z, out: torch.clamp(z, min=0, out=out)) if relu else torch.tanh  # torch.relu has no out=
    hp = torch.empty_like(gi)
    steps = list(zip(plan.batch_sizes, plan.offsets))
    for t, (n, off) in enumerate(steps):
        pre = gi[:, off : off + n]
        if t:
            h_prev = hp[:, steps[t - 1][1] : steps[t - 1][1] + n]
            pre = pre + step_product(h_prev, w_step)
        act(pre, out=hp[:, off : off + n])
    return hp


class _FusedRNNFunction(torch.autograd.Function):
    """All directions of an Elman layer over packed rows: (gi (nd, N, H), w_hh (nd, H, H)) -> hp (nd, N, H)."""

    @staticmethod
    def forward(ctx, gi, w_hh, plan, relu):  # noqa: D102
        hp = _recurrence(gi, w_hh, plan, relu)
        ctx.save_for_backward(w_hh, hp)
        ctx.plan, ctx.relu = plan, relu
        return hp

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_hp):  # noqa: D102
        w_hh, hp = ctx.saved_tensors
        plan, nd = ctx.plan, hp.shape[0]
        w_dh = step_weight(w_hh.transpose(1, 2))  # dh = dpre @ W_hh
        # The activation's derivative, read from its output: tanh 1 - h^2, relu [h > 0].
        deriv = (hp > 0).to(hp.dtype) if ctx.relu else torch.addcmul(torch.ones_like(hp), hp, hp, value=-1)
        d_pre = grad_hp.clone(memory_format=torch.contiguous_format)  # (nd, N, H): dh, then dL/d(pre-activation)
        steps = list(zip(plan.batch_sizes, plan.offsets))
        for t in range(len(steps) - 1, -1, -1):  # dh of step t is complete once step t + 1 is done
            n, off = steps[t]
            dp = d_pre[:, off : off + n].mul_(deriv[:, off : off + n])
            if t:
                prev = steps[t - 1][1]
                d_pre[:, prev : prev + n].add_(step_product(dp, w_dh))
        n0, rows = plan.batch_sizes[0], prev_rows(plan).to(hp.device)  # step 0 read h_{-1} = 0
        grad_w_hh = torch.stack([d_pre[k, n0:].t() @ hp[k].index_select(0, rows) for k in range(nd)])
        return d_pre, grad_w_hh, None, None


class FusedRNN(PackedRNN):
    """Elman RNN over padded batches with explicit lengths; no compute on padding.

    Parameters have nn.RNN's names and layout, so state_dicts are interchangeable with ``nn.RNN(input_size,
    hidden_size, num_layers, nonlinearity=..., ...)``. ``nonlinearity``: ``tanh`` or ``relu``; the other
    arguments as :class:`~lstmtext.models.packed.PackedRNN`.
    """

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, *, nonlinearity: str = "tanh", **kwargs) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu'; got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, **kwargs)

    def _layer(self, xd: Tensor, suffixes: list[str], plan: Plan, tracked: bool, bf16: bool) -> Tensor:
        """One layer, all its directions in one loop: packed inputs (nd, N, D_k) -> packed states (nd, N, H)."""
        w_ih, w_hh = self._stacked("weight_ih", suffixes), self._stacked("weight_hh", suffixes)
        gi = torch.bmm(xd, w_ih.transpose(1, 2))  # (nd, N, H): every token's input part at once
        if self.bias:
            gi = gi + (self._stacked("bias_ih", suffixes) + self._stacked("bias_hh", suffixes)).unsqueeze(1)
        relu = self.nonlinearity == "relu"
        if tracked:
            return _FusedRNNFunction.apply(gi, w_hh, plan, relu)
        return _recurrence(gi.detach(), w_hh.detach(), plan, relu)

    def _whole_sequence(self, x: Tensor, h0: Tensor, args: tuple) -> tuple[Tensor, Tensor]:  # noqa: D102
        return (torch.rnn_relu if self.nonlinearity == "relu" else torch.rnn_tanh)(x, h0, *args)
