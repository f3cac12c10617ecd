"""An LSTM for CPU training that computes only on real (unpadded) tokens.

``FusedLSTM`` is a drop-in for ``torch.nn.LSTM`` fed with ``pack_padded_sequence``: the same sizes and options
(as keywords; ``batch_first`` defaults to True), parameter names and layout (``weight_ih_l0``, ..., gate order i, f, g, o),
so a state_dict saved from one loads into the other, and the same numbers to rounding (tested to 1e-6
in float64, forward and gradients).

Why it is faster: ``nn.LSTM`` on a PackedSequence runs torch's generic per-step CPU code, and padded
``nn.LSTM`` (oneDNN) computes every padding position. Here rows are sorted by length, descending, so the
rows still active at step t are a prefix of n_t rows (a PackedSequence's batch_sizes), and

* forward: each step is one product ``[x_t | h_{t-1}] @ [W_ih | W_hh]^T + b`` on its n_t rows (one direction:
  with the sigmoid fused in) (no (N, 4H) input-projection buffer, no separate add), then a few in-place
  elementwise passes; the gates' activations, the cells and tanh(cells) are kept for backward;
* backward: the loop over time only carries dh and dc (``dh_{t-1} += dG_t @ W_hh``); dW_ih, dW_hh, the
  bias gradient and dX are then a few big products over all steps at once;
* both directions run in one loop: the reverse direction reads each text back to front, so at every step
  both have the same n_t rows; their inputs, states and buffers carry a leading direction axis, each step's
  two products are one batched product (``torch.bmm``) and every elementwise pass covers both (zoo
  ``bilstm``/``default`` presets trained 1.2-1.4x faster than with a loop per direction);
* one direction's products go through oneDNN (:mod:`lstmtext.models.onednn`) when it is there, with the
  sigmoid fused in;
* a float32 training batch whose rows all have its length (no padding: the language model's batches mostly,
  the classifiers' often) skips all of this and runs torch's whole-sequence LSTM, oneDNN's fused kernel on the
  CPU (``bf16``: under autocast). Measured on a 2-core Xeon with AMX against the step loop on the same dense
  batches, forward and backward: 1.2-2.5x faster in float32, 1.6-5x in bf16 (1 x 512 units, 204 rows of 10
  tokens: 38,130 against 21,479 tokens/s in bf16; a BiLSTM 128, 64 rows of 20: 61,098 against 24,172 in
  float32), the same numbers to 2e-6 in float32.

bf16 (``precision = "bf16"``, set by :mod:`lstmtext.training.precision`; only while training with gradients,
in float32, on the CPU): products read bfloat16 copies of [x|h], the weights and (backward) each step's gate
gradients; oneDNN accumulates in float32 and rounds each step's output to bfloat16 once (the gates after the
fused sigmoid; with two directions the pre-activations); the elementwise math on them, cells, h and the master
weights stay float32 (dW is
one torch.mm reading dG transposed in place). Seed-001 shapes (512 rows, D 32, H 256, 2 threads, AVX512_BF16;
``benchmarks/lstm_kernel.py --products``), fp32 -> bf16: forward step 1.87 -> 1.12 ms, dh step 1.38 -> 0.87,
dX 4.93 -> 1.93, dW 41.1 -> 16.0; the layer's training step 150.6 -> 104.0 ms (1.45x). h and the gradients
stay within 2% (relative norm) of float32 (tests/models/test_fused_lstm_bf16.py). A batch without padding in bf16
runs oneDNN's fused LSTM under autocast instead: there the layer's outputs and h_n come out as bfloat16 values
(returned as float32), the weights' gradients still reach the float32 master weights; against float64 its output
was closer than the step loop's (relative error 0.0033 against 0.0053, a 1 x 512 layer, 64 rows of 40 tokens).

Gates are kept internally in the order (o, i, f, g) (so the gates multiplied by dc are one slice). The
caller applies dropout to ``x`` before calling. Recurrent regularisation is DropConnect on the recurrent
matrix (``weight_drop``, AWD-LSTM's weight drop): one mask on ``weight_hh`` per forward call while
training, so every step of every row sees the same dropped weights. With ``num_layers`` > 1 each layer reads
the one below in the packed layout (no padding in between), with ``dropout`` on its input as nn.LSTM does.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lstmtext.models.dropout import dropout
from lstmtext.models.onednn import linear as _linear
from lstmtext.models.onednn import workspace as _workspace
from lstmtext.models.packed import PackedRNN, Plan, batch_rows, step_product, step_weight

# nn.LSTM's gate blocks are (i, f, g, o); ours are (o, i, f, g).
_GATE_ORDER = (3, 0, 1, 2)


def _gate_scale(hid: int, values: tuple[float, float, float, float], like: Tensor) -> Tensor:
    """(4H, 1) per-row factors, one value per gate block (o, i, f, g)."""
    return torch.tensor(values, dtype=like.dtype, device=like.device).repeat_interleave(hid).unsqueeze(1)


# Forward: the g rows are doubled so that one fused sigmoid covers all four gates: with s = sigmoid(2z),
# tanh(z) = 2 s - 1. The cell is kept doubled, c2 = 2 c = f c2_prev + 4 i s - 2 i, so tanh(c) is
# 2 sigmoid(c2) - 1 (torch's CPU tanh measured ~8x slower than its sigmoid here).
# Backward: each step writes the gate gradients divided per gate by kappa, which saves elementwise passes
# (i: g = 2 s - 1 folded in with its sign flipped; f: c2_prev for c_prev; g: dtanh(z)/dz = 4 s (1 - s)).
# Gate gradients only ever meet the weights in products, so kappa goes onto the small weight matrices.
_FORWARD_SCALE = (1.0, 1.0, 1.0, 2.0)
_KAPPA = (1.0, -1.0, 0.5, 4.0)


def _recurrence(xp: Tensor, w_ih: Tensor, w_hh: Tensor, bias: Tensor, plan: Plan, keep: bool, bf16: bool = False):
    """Run nd directions over packed inputs xp (nd, N, D), all at once; weights (nd, 4H, D), (nd, 4H, H),
    (nd, 4H) in (o, i, f, g) order. Every direction has the same rows active at each step (the reverse one reads
    each text back to front), so one product and one set of elementwise passes serve all of them.

    With ``bf16`` the products read bfloat16 copies of [x_t | h_{t-1}] and of the weights, and their outputs are
    rounded to bfloat16 once; everything after them (gate and cell math, h, what is kept) is float32.

    Returns:
        (hp, saved): packed outputs (nd, N, H); with ``keep``, what backward needs: (xh, sigmoids, cells2,
        tanh_cells), i.e. [x_t | h_{t-1}] per row (nd, N, D + H) (bfloat16 with ``bf16``), each step's four
        gate sigmoids (nd, n_t, 4H), the doubled cells and tanh(cells), both (nd, N, H); else None.
    """
    nd, n_tok, dim = xp.shape
    hid = w_hh.shape[2]
    scale = _gate_scale(hid, _FORWARD_SCALE, w_ih)
    w_cat, b_fwd = torch.cat([w_ih, w_hh], 2) * scale, bias * scale.squeeze(1)  # (nd, 4H, D + H), (nd, 4H)
    w_cat = w_cat.to(torch.bfloat16) if bf16 else w_cat
    # The steps' weights, and the first step's x part alone (h_{-1} = 0: its product is skipped).
    w_step, w_x = step_weight(w_cat), step_weight(w_cat[:, :, :dim])
    # Each step's product reads [x_t | h_{t-1}] in one go; the h part is filled as the loop goes. Kept for backward,
    # whose products over the whole batch read it with zero rows after the N real ones (batch_rows).
    rows = batch_rows(n_tok) if keep else n_tok
    xh = xp.new_empty(nd, rows, dim + hid, dtype=w_cat.dtype)  # (nd, N', D + H)
    xh[:, :n_tok, :dim] = xp
    xh[:, n_tok:] = 0
    xh[:, : plan.batch_sizes[0], dim:] = 0  # h_{-1}
    hp = xp.new_empty(nd, n_tok, hid)  # (nd, N, H)
    if keep:
        cells2, tanh_cells, sigmoids = xp.new_empty(nd, n_tok, hid), xp.new_empty(nd, n_tok, hid), []
    else:
        c2_run, tc_run = xp.new_zeros(nd, plan.batch_sizes[0], hid), xp.new_empty(nd, plan.batch_sizes[0], hid)
    steps = list(zip(plan.batch_sizes, plan.offsets))
    for t, (n, off) in enumerate(steps):
        if t:
            sig = step_product(xh[:, off : off + n], w_step, b_fwd, sigmoid=True).to(xp.dtype)  # (nd, n, 4H)
        else:
            sig = step_product(xh[:, :n, :dim] if bf16 else xp[:, :n], w_x, b_fwd, sigmoid=True).to(xp.dtype)
        o, i, f, s = sig[..., :hid], sig[..., hid : 2 * hid], sig[..., 2 * hid : 3 * hid], sig[..., 3 * hid :]
        if keep:
            sigmoids.append(sig)
            c2, tc = cells2[:, off : off + n], tanh_cells[:, off : off + n]
            if t:
                prev = steps[t - 1][1]
                torch.mul(f, cells2[:, prev : prev + n], out=c2)
            else:
                c2.zero_()
        else:
            c2, tc = c2_run[:, :n], tc_run[:, :n]
            c2.mul_(f)
        c2.addcmul_(i, s, value=4).sub_(i, alpha=2)  # 2 i g, with g = 2 s - 1
        torch.sigmoid(c2, out=tc).mul_(2).sub_(1)  # tanh(c)
        h = hp[:, off : off + n]
        torch.mul(o, tc, out=h)
        if t + 1 < len(steps):
            n_next, off_next = steps[t + 1]
            xh[:, off_next : off_next + n_next, dim:] = h[:, :n_next]
    return hp, ((xh, sigmoids, cells2, tanh_cells) if keep else None)


class _FusedLSTMFunction(torch.autograd.Function):
    """All directions of the LSTM over packed rows: (xp (nd, N, D), w_ih, w_hh, bias) -> hp (nd, N, H)."""

    @staticmethod
    def forward(ctx, xp, w_ih, w_hh, bias, plan, bf16=False):  # noqa: D102
        hp, saved = _recurrence(xp, w_ih, w_hh, bias, plan, keep=True, bf16=bf16)
        ctx.save_for_backward(w_ih, w_hh, hp)
        # Internal buffers, not inputs or outputs: nothing else can modify them in place.
        ctx.buffers = saved
        ctx.plan = plan
        return hp

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_hp):  # noqa: D102
        w_ih, w_hh, hp = ctx.saved_tensors
        xh, sigmoids, cells2, tanh_cells = ctx.buffers
        plan, (nd, n_tok, hid), dim = ctx.plan, hp.shape, w_ih.shape[2]
        low = xh.dtype != grad_hp.dtype  # the forward ran its products in bfloat16: so do these
        kappa = _gate_scale(hid, _KAPPA, w_ih)  # true gate gradient = kappa * d_gates
        w_dh = step_weight((w_hh * kappa).transpose(1, 2).to(xh.dtype))  # dh_{t-1} = dG_t @ W_hh
        dhp = grad_hp.clone(memory_format=torch.contiguous_format)  # (nd, N, H): gets the recurrent dh added
        rows = xh.shape[1]  # the whole-batch products' rows: N, then zero rows (batch_rows)
        d_gates = _workspace("d_gates", nd * rows, 4 * hid, grad_hp).view(nd, rows, 4 * hid)  # scaled by 1/kappa
        # bfloat16: each step's gate gradients are copied for the products (the dh one needs them anyway)
        d_low = _workspace("d_gates", nd * rows, 4 * hid, xh).view(nd, rows, 4 * hid) if low else d_gates
        d_gates[:, n_tok:] = 0
        d_low[:, n_tok:] = 0
        dc_run = grad_hp.new_zeros(nd, plan.batch_sizes[0], hid)  # dL/dc of the rows still being read
        q_run = grad_hp.new_empty(nd, plan.batch_sizes[0], hid)
        steps = list(zip(plan.batch_sizes, plan.offsets))
        for t in range(len(steps) - 1, -1, -1):  # dh of step t is complete once step t + 1 is done
            n, off = steps[t]
            sig, dg = sigmoids[t], d_gates[:, off : off + n]  # (nd, n, 4H) each
            o, i, f, s = sig[..., :hid], sig[..., hid : 2 * hid], sig[..., 2 * hid : 3 * hid], sig[..., 3 * hid :]
            d_o, d_i, d_f, d_g = dg[..., :hid], dg[..., hid : 2 * hid], dg[..., 2 * hid : 3 * hid], dg[..., 3 * hid :]
            dh, h, tc = dhp[:, off : off + n], hp[:, off : off + n], tanh_cells[:, off : off + n]  # (nd, n, H)
            dc, q = dc_run[:, :n], q_run[:, :n]
            torch.addcmul(o, h, tc, value=-1, out=q)  # o (1 - tanh(c)^2), as h = o tanh(c)
            dc.addcmul_(dh, q)
            torch.addcmul(sig, sig, sig, value=-1, out=dg)  # s (1 - s), all four gates
            d_o.mul_(tc).mul_(dh)
            torch.addcmul(d_i, d_i, s, value=-2, out=d_i)  # i (1 - i) (1 - 2 s) = -i (1 - i) g
            if t:
                prev = steps[t - 1][1]
                d_f.mul_(cells2[:, prev : prev + n])
            else:
                d_f.zero_()  # c_{-1} = 0
            d_g.mul_(i)
            dg[..., hid:].view(nd, n, 3, hid).mul_(dc.unsqueeze(2))
            if low:
                dg = d_low[:, off : off + n].copy_(dg)
            if t:
                dc.mul_(f)
                target = dhp[:, prev : prev + n]
                target.add_(step_product(dg, w_dh))

        # Everything that is not recurrent: a few big products over all steps, one direction at a time.
        w_ih_k = (w_ih * kappa).transpose(1, 2).contiguous().to(xh.dtype)  # (nd, D, 4H)
        grad_x = torch.stack([_linear(d_low[k], w_ih_k[k])[:n_tok] for k in range(nd)]).to(grad_hp.dtype) \
            if ctx.needs_input_grad[0] else None
        grad_w_ih = grad_w_hh = grad_bias = None
        if any(ctx.needs_input_grad[1:4]):
            grad_w, grad_b = [], []
            for k in range(nd):
                if low:  # torch's bfloat16 mm (oneDNN) reads the transposed operand in place: no copy
                    grad_w.append(torch.mm(d_low[k].t(), xh[k]).to(grad_hp.dtype) * kappa)  # (4H, D + H)
                    grad_b.append(d_gates[k].sum(0))  # from the float32 gate gradients
                else:  # oneDNN wants the summed-over token axis contiguous: transpose once, reuse for the bias
                    d_grad_t = _workspace("d_gates_t", 4 * hid, rows, grad_hp).copy_(d_gates[k].t())  # (4H, N')
                    grad_w.append(_linear(d_grad_t, xh[k].t()) * kappa)  # (4H, D + H) = dG^T [X | H_prev]
                    grad_b.append(d_grad_t.sum(1))
            grad_w = torch.stack(grad_w)
            grad_w_ih, grad_w_hh = grad_w[..., :dim], grad_w[..., dim:]
            grad_bias = torch.stack(grad_b) * kappa.squeeze(1)
        return grad_x, grad_w_ih, grad_w_hh, grad_bias, None, None


class FusedLSTM(PackedRNN):
    """LSTM over padded batches with explicit lengths; no compute on padding.

    Parameters have nn.LSTM's names and layout (gate order i, f, g, o), so state_dicts are
    interchangeable with ``nn.LSTM(input_size, hidden_size, num_layers, ...)``.

    Args:
        weight_drop: While training, the share of ``weight_hh`` entries zeroed (DropConnect, the kept ones
            scaled by 1 / (1 - p)), one mask per forward call; 0 turns it off. Not saved in the state_dict.
        **kwargs: The sizes and options of :class:`~lstmtext.models.packed.PackedRNN` (``bias``, ``batch_first``,
            ``bidirectional``, ``num_layers``, ``dropout``).
    """

    gates = 4
    onednn_kernel = True

    def __init__(self, input_size: int, hidden_size: int, *, weight_drop: float = 0.0, **kwargs) -> None:
        if not 0.0 <= weight_drop < 1.0:
            raise ValueError(f"weight_drop must lie in [0, 1); got {weight_drop}")
        super().__init__(input_size, hidden_size, **kwargs)
        self.weight_drop = weight_drop
        self.precision = "fp32"  # "bf16": see the module docstring; lstmtext.training.precision sets it

    def extra_repr(self) -> str:  # noqa: D102
        return super().extra_repr() + (f", weight_drop={self.weight_drop}" if self.weight_drop else "")

    def _internal_weights(self, sfx: str) -> tuple[Tensor, Tensor, Tensor]:
        """This direction's weights with gates reordered to (o, i, f, g) and the biases summed."""
        hid = self.hidden_size
        rows = torch.cat([torch.arange(k * hid, (k + 1) * hid) for k in _GATE_ORDER])
        rows = rows.to(self.weight_ih_l0.device)
        w_ih = getattr(self, "weight_ih" + sfx).index_select(0, rows)  # (4H, D)
        w_hh = getattr(self, "weight_hh" + sfx).index_select(0, rows)  # (4H, H)
        if self.training and self.weight_drop:
            w_hh = dropout(w_hh, self.weight_drop)
        if self.bias:
            bias = (getattr(self, "bias_ih" + sfx) + getattr(self, "bias_hh" + sfx)).index_select(0, rows)
        else:
            bias = w_ih.new_zeros(4 * hid)
        return w_ih, w_hh, bias

    def _training_weights(self) -> list[Tensor]:
        """The parameters in nn.LSTM's order, ``weight_hh_*`` with the weight drop's one mask per call applied."""
        return [dropout(p, self.weight_drop) if self.weight_drop and name.startswith("weight_hh") else p
                for name, p in self.named_parameters()]

    def _whole_sequence(self, x: Tensor, h0: Tensor, args: tuple) -> tuple[Tensor, Tensor]:  # noqa: D102
        out, h_n, _ = torch.lstm(x, (h0, h0), *args)
        return out, h_n

    def _layer(self, xd: Tensor, suffixes: list[str], plan: Plan, tracked: bool, bf16: bool) -> Tensor:
        """One layer, all its directions in one loop: packed inputs (nd, N, D_k) -> packed states (nd, N, H)."""
        w_ih, w_hh, bias = (torch.stack(w) for w in zip(*map(self._internal_weights, suffixes)))
        if tracked:
            return _FusedLSTMFunction.apply(xd, w_ih, w_hh, bias, plan, bf16)
        return _recurrence(xd.detach(), w_ih.detach(), w_hh.detach(), bias.detach(), plan, keep=False)[0]
