"""A GRU for CPU training that computes only on real (unpadded) tokens: FusedLSTM's scheme for ``nn.GRU``.

``FusedGRU`` is a drop-in for ``torch.nn.GRU`` fed with ``pack_padded_sequence``: same parameter names and
layout (``weight_ih_l0``, ..., gate order r, z, n), so state_dicts load either way, and the same numbers to
rounding (tested in float64, forward and gradients, against ``nn.GRU``). PyTorch's GRU is

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) n + z h.

As r multiplies the recurrent part of n, the input and recurrent products cannot share one product per step as
in FusedLSTM: every token's input projection ``x W_ih^T + b_ih`` is one big product up front, and each step
multiplies only h_{t-1} by W_hh (both directions of a layer in one batched product, every elementwise pass
covering both). Backward carries only dh through time; dX, dW_ih, dW_hh and the biases' gradients are big
products over all steps after the loop.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lstmtext.models.packed import PackedRNN, Plan, prev_rows, step_product, step_weight


def _recurrence(gi: Tensor, w_hh: Tensor, b_hh: Tensor, plan: Plan, keep: bool):
    """Run nd directions over packed input projections gi (nd, N, 3H) (b_ih included); W_hh (nd, 3H, H).

    Returns:
        (hp, saved): packed states (nd, N, H); with ``keep``, what backward needs: each step's r and z
        (nd, n_t, 2H), and the candidates n and the recurrent parts W_hn h + b_hn, both (nd, N, H); else None.
    """
    nd, n_tok, hid = gi.shape[0], gi.shape[1], w_hh.shape[2]
    w_step = step_weight(w_hh)  # h (nd, n, H) @ W_hh^T
    hp = gi.new_empty(nd, n_tok, hid)
    if keep:
        gates_rz, cands, rec_n = [], gi.new_empty(nd, n_tok, hid), gi.new_empty(nd, n_tok, hid)
    steps = list(zip(plan.batch_sizes, plan.offsets))
    for t, (n, off) in enumerate(steps):
        g = gi[:, off : off + n]  # (nd, n, 3H)
        if t:
            h_prev = hp[:, steps[t - 1][1] : steps[t - 1][1] + n]
            gh = step_product(h_prev, w_step, b_hh)  # (nd, n, 3H)
        else:  # h_{-1} = 0
            gh = b_hh.unsqueeze(1).expand(nd, n, 3 * hid)
        rz = torch.add(g[..., : 2 * hid], gh[..., : 2 * hid]).sigmoid_()  # (nd, n, 2H)
        r, z = rz[..., :hid], rz[..., hid:]
        cand = torch.addcmul(g[..., 2 * hid :], r, gh[..., 2 * hid :]).tanh_()  # n
        h = hp[:, off : off + n]
        if t:  # h = n + z (h_prev - n)
            torch.sub(h_prev, cand, out=h)
            h.mul_(z).add_(cand)
        else:  # h = (1 - z) n
            torch.mul(z, cand, out=h)
            torch.sub(cand, h, out=h)
        if keep:
            gates_rz.append(rz)
            cands[:, off : off + n] = cand
            rec_n[:, off : off + n] = gh[..., 2 * hid :]
    return hp, ((gates_rz, cands, rec_n) if keep else None)


class _FusedGRUFunction(torch.autograd.Function):
    """All directions of a GRU layer over packed rows: (gi (nd, N, 3H), w_hh, b_hh) -> hp (nd, N, H)."""

    @staticmethod
    def forward(ctx, gi, w_hh, b_hh, plan):  # noqa: D102
        hp, saved = _recurrence(gi, w_hh, b_hh, plan, keep=True)
        ctx.save_for_backward(w_hh, hp)
        ctx.buffers, ctx.plan = saved, plan  # internal buffers: nothing else can modify them in place
        return hp

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_hp):  # noqa: D102
        w_hh, hp = ctx.saved_tensors
        gates_rz, cands, rec_n = ctx.buffers
        plan, (nd, n_tok, hid) = ctx.plan, hp.shape
        w_dh = step_weight(w_hh.transpose(1, 2))  # dh = dG @ W_hh
        dhp = grad_hp.clone(memory_format=torch.contiguous_format)  # (nd, N, H): gets the recurrent dh added
        d_gi = grad_hp.new_empty(nd, n_tok, 3 * hid)  # gradients of the input projections (r, z, n)
        d_gh = grad_hp.new_empty(nd, n_tok, 3 * hid)  # ... and of the recurrent ones (r, z the same)
        steps = list(zip(plan.batch_sizes, plan.offsets))
        for t in range(len(steps) - 1, -1, -1):  # dh of step t is complete once step t + 1 is done
            n, off = steps[t]
            rz, dh = gates_rz[t], dhp[:, off : off + n]
            r, z = rz[..., :hid], rz[..., hid:]
            cand, gh_n = cands[:, off : off + n], rec_n[:, off : off + n]
            dgi, dgh = d_gi[:, off : off + n], d_gh[:, off : off + n]
            d_r, d_z, d_n = dgi[..., :hid], dgi[..., hid : 2 * hid], dgi[..., 2 * hid :]
            # dL/d(pre-activation of n) = dh (1 - z) (1 - n^2)
            torch.addcmul(torch.ones_like(cand), cand, cand, value=-1, out=d_n)
            d_n.mul_(dh).mul_(1 - z)
            if t:  # dL/d(pre-activation of z) = dh (h_prev - n) z (1 - z)
                prev = steps[t - 1][1]
                torch.sub(hp[:, prev : prev + n], cand, out=d_z)
            else:
                torch.neg(cand, out=d_z)
            d_z.mul_(dh).mul_(z).mul_(1 - z)
            torch.mul(d_n, gh_n, out=d_r).mul_(r).mul_(1 - r)  # through n's r * (W_hn h + b_hn)
            dgh[..., : 2 * hid] = dgi[..., : 2 * hid]
            torch.mul(d_n, r, out=dgh[..., 2 * hid :])
            if t:
                target = dhp[:, prev : prev + n]
                target.addcmul_(dh, z)  # h' = ... + z h
                target.add_(step_product(dgh, w_dh))

        # The recurrent weights' gradient: dG_h^T [h_{t-1}] over all steps (step 0 reads h_{-1} = 0).
        n0, rows = plan.batch_sizes[0], prev_rows(plan).to(hp.device)  # (N - n0,)
        grad_w_hh = torch.stack([d_gh[k, n0:].t() @ hp[k].index_select(0, rows) for k in range(nd)])
        return d_gi, grad_w_hh, d_gh.sum(1), None


class FusedGRU(PackedRNN):
    """GRU over padded batches with explicit lengths; no compute on padding.

    Parameters have nn.GRU's names and layout (gate order r, z, n), so state_dicts are interchangeable with
    ``nn.GRU(input_size, hidden_size, num_layers=..., ...)``. Arguments as :class:`~lstmtext.models.packed.PackedRNN`
    (keywords after the sizes; ``batch_first`` defaults to True).
    """

    gates = 3

    def _layer(self, xd: Tensor, suffixes: list[str], plan: Plan, tracked: bool, bf16: bool) -> Tensor:
        """One layer, all its directions in one loop: packed inputs (nd, N, D_k) -> packed states (nd, N, H)."""
        w_ih, w_hh = self._stacked("weight_ih", suffixes), self._stacked("weight_hh", suffixes)
        if self.bias:
            b_ih, b_hh = self._stacked("bias_ih", suffixes), self._stacked("bias_hh", suffixes)
            gi = torch.baddbmm(b_ih.unsqueeze(1), xd, w_ih.transpose(1, 2))  # (nd, N, 3H): every token at once
        else:
            gi, b_hh = torch.bmm(xd, w_ih.transpose(1, 2)), w_hh.new_zeros(w_hh.shape[:2])
        if tracked:
            return _FusedGRUFunction.apply(gi, w_hh, b_hh, plan)
        return _recurrence(gi.detach(), w_hh.detach(), b_hh.detach(), plan, keep=False)[0]

    def _whole_sequence(self, x: Tensor, h0: Tensor, args: tuple) -> tuple[Tensor, Tensor]:  # noqa: D102
        return torch.gru(x, h0, *args)
