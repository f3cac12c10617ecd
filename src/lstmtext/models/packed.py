"""What the recurrent layers that compute only on real tokens share: the packed layout, the batched product
and a base module with nn.LSTM's parameter names, checks, layer loop and padded output.

Rows are sorted by length, descending, so the rows still active at step t are a prefix of n_t rows (a
PackedSequence's batch_sizes). A reverse direction reads each text back to front, so it has the same n_t rows
at every step: the directions of a layer are stacked on a leading axis and stepped in one loop.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple

import torch
from torch import Tensor, nn

from lstmtext.models import onednn
from lstmtext.models.dropout import dropout
from lstmtext.models.onednn import linear

_BF16_INFERENCE: ContextVar[bool] = ContextVar("lstmtext_bf16_inference", default=False)


@contextmanager
def bf16_inference() -> Iterator[None]:
    """Inside the block (this thread or task), layers whose whole-sequence kernel is oneDNN's LSTM
    (``onednn_kernel``) read batches without padding in bfloat16 when not training: bfloat16 copies of the
    weights (made once, kept until a weight changes) and inputs, float32 accumulation and cell state inside
    oneDNN, outputs rounded to bfloat16 and returned as float32. Everything else stays float32."""
    token = _BF16_INFERENCE.set(True)
    try:
        yield
    finally:
        _BF16_INFERENCE.reset(token)


class Plan(NamedTuple):
    """Index bookkeeping shared by both directions of one forward call (all int64 on x's device)."""

    batch_sizes: list[int]  # n_t: rows active at step t (non-increasing)
    offsets: list[int]  # first packed row of step t
    pad_idx: Tensor  # (N,) flat index into (B*T) of each packed row, original row order
    rev_perm: Tensor  # (N,) packed row holding the same sequence's token len-1-t (an involution)
    last_idx: Tensor  # (B,) packed row of each sequence's last step, original row order


def make_plan(lengths: Tensor, total_len: int, device: torch.device) -> Plan:
    """Sort rows by length (descending) and build the packed layout's indices."""
    lengths = lengths.to("cpu", torch.int64)
    sorted_len, order = torch.sort(lengths, descending=True, stable=True)
    batch_sizes_t = (sorted_len.unsqueeze(0) > torch.arange(int(sorted_len[0])).unsqueeze(1)).sum(1)  # (T_max,)
    offsets_t = torch.cumsum(batch_sizes_t, 0) - batch_sizes_t  # (T_max,)
    # nonzero() walks the (step, sorted row) grid row-major: exactly the packed order.
    t_idx, j_idx = (torch.arange(len(lengths)).unsqueeze(0) < batch_sizes_t.unsqueeze(1)).nonzero().unbind(1)
    pad_idx = order[j_idx] * total_len + t_idx
    rev_perm = offsets_t[sorted_len[j_idx] - 1 - t_idx] + j_idx
    inv_order = torch.empty_like(order)
    inv_order[order] = torch.arange(len(order))
    last_idx = (offsets_t[sorted_len - 1] + torch.arange(len(order)))[inv_order]
    return Plan(
        batch_sizes_t.tolist(), offsets_t.tolist(), pad_idx.to(device), rev_perm.to(device), last_idx.to(device)
    )


def prev_rows(plan: Plan) -> Tensor:
    """For every packed row after the first step, the packed row of the same text one step earlier."""
    rows = [torch.arange(plan.offsets[t - 1], plan.offsets[t - 1] + n) for t, n in enumerate(plan.batch_sizes) if t]
    return torch.cat(rows) if rows else torch.zeros(0, dtype=torch.int64)


def bmm(x: Tensor, w_t: Tensor, bias: Tensor | None = None) -> Tensor:
    """Every direction's product at once: (nd, n, K) @ (nd, K, M) (+ (nd, M)) -> (nd, n, M).

    bfloat16 ``x`` with a float32 ``bias`` gives float32 (the product in bfloat16, the bias added in float32).
    Two directions' step products in one call measured faster than two oneDNN calls (64 rows, H 128:
    ~220 against ~300 us fp32, ~145 against ~280 bf16) and let every elementwise pass cover both directions.
    """
    if bias is None:
        return torch.bmm(x, w_t)
    if bias.dtype == x.dtype:
        return torch.baddbmm(bias.unsqueeze(1), x, w_t)
    return torch.add(bias.unsqueeze(1), torch.bmm(x, w_t))


def step_weight(w: Tensor) -> Tensor:
    """Every direction's weight ``w (nd, M, K)`` in the layout :func:`step_product` reads, contiguous: as it is for
    one direction (oneDNN's linear takes (M, K)), transposed for more (torch.bmm takes (K, M))."""
    return w.contiguous() if w.shape[0] == 1 else w.transpose(1, 2).contiguous()


def step_rows(n: int) -> int:
    """The rows a step's product computes for ``n`` active ones: ``n`` rounded up to a multiple of 16, or of a
    quarter of the power of two below it when that is larger (at most 25% more rows, about 10% on tweets).

    oneDNN builds a product for every shape it meets (JIT-compiled: ~3 ms for an AMX bfloat16 one, ~0.8 ms in
    float32), and keeps ``ONEDNN_PRIMITIVE_CACHE_CAPACITY`` of them. Packed steps shrink row by row, so a batch
    met dozens of new shapes and an epoch cycled through hundreds: every call rebuilt its product (seed-001 shapes,
    bfloat16: 4.1 ms a step, 0.45 once built). Rounded, a layer meets at most 4 shapes an octave, which stay built:
    ``benchmarks/train_speed.py --epochs 10`` on a 2-core Xeon with AMX, seed001 in bfloat16 29.5 -> 25.4 s.
    """
    return _rounded(n, parts=4)


def batch_rows(n: int) -> int:
    """The rows of the backward's products over a whole batch (dX, dW) for ``n`` tokens: ``n`` rounded up to an
    eighth of the power of two below it (at most 12.5% more rows, zero ones), so that their shapes repeat.

    A batch's token count is new almost every batch, and oneDNN builds a product for every shape it meets (see
    :func:`step_rows`). Measured on a 2-core Xeon with AMX, 40 token counts: seed-001 shapes in bfloat16 (about
    9,000 tokens, 4H 1,024), dW 8.4 ms a product at the exact count, 5.4 ms rounded; 1,000 tokens, 4H 512, float32:
    dW 4.4 and 3.5 ms, dX 2.8 and 2.1 ms. Whole trainings, old and new code alternately: seed001 in bfloat16,
    10 epochs, 28.1 / 28.4 -> 27.4 / 27.6 s; the bilstm preset, 3 epochs, 27.8 -> 26.5 s (mean of 4 each).
    """
    return _rounded(n, parts=8)


def _rounded(n: int, parts: int) -> int:
    """``n`` rounded up to a multiple of 16, or of 1/``parts`` of the power of two below it when that is larger
    (``parts`` a power of two)."""
    block = max(16, (1 << max(0, n.bit_length() - 1)) // parts)
    return -(-n // block) * block


def step_product(x: Tensor, w: Tensor, bias: Tensor | None = None, sigmoid: bool = False) -> Tensor:
    """One step's product for every direction: x (nd, n, K) @ W^T (+ bias (nd, M)), optionally followed by a
    sigmoid -> (nd, n, M); ``w`` from :func:`step_weight`. One direction: oneDNN's linear, the sigmoid fused in;
    more: one :func:`bmm`. In bfloat16 the product runs on :func:`step_rows` rows (the extra ones zero, their outputs
    dropped), so that the shapes repeat; each row's result does not depend on the others. (float32: the exact rows;
    rounding them up made the fp32 zoo presets 7-13% slower, one epoch of the airline tweets.)"""
    n = x.shape[1]
    rows = step_rows(n) if x.dtype == torch.bfloat16 else n  # float32 products build fast: the rows cost more
    if rows != n:
        padded = x.new_empty(x.shape[0], rows, x.shape[2])
        padded[:, :n].copy_(x)
        padded[:, n:].zero_()
        x = padded
    if x.shape[0] == 1:
        return linear(x[0], w[0], None if bias is None else bias[0], sigmoid=sigmoid)[:n].unsqueeze(0)
    y = bmm(x, w, bias)[:, :n]
    return y.sigmoid_() if sigmoid else y


class PackedRNN(nn.Module):
    """Base of the recurrent layers that step through packed rows: nn.RNN-style parameters for ``gates`` gate
    blocks per layer and direction, the checks, the layer loop and the padded output. A subclass gives
    ``_layer`` (one layer, every direction: packed inputs (nd, N, D_k), the reverse direction's rows read back
    to front -> packed states (nd, N, H)) and ``_whole_sequence`` (torch's whole-sequence kernel, for inference
    on rows without padding).

    Args:
        input_size: Features per token (D).
        hidden_size: Hidden units per direction (H).
        bias: Whether to have ``bias_ih_l0`` and ``bias_hh_l0``.
        batch_first: Whether ``x`` and the output are (B, T, ...) rather than (T, B, ...).
        bidirectional: Whether to add a reverse direction (``*_reverse`` parameters).
        num_layers: Stacked layers; layer k > 0 reads layer k - 1's outputs (H * directions features).
        dropout: While training, dropout on the outputs of every layer but the last (nn.LSTM's ``dropout``).
    """

    gates = 1
    #: Whether torch's whole-sequence kernel is oneDNN's fused one (FusedLSTM): then it also trains rows without
    #: padding, and reads them in bfloat16 inside bf16_inference().
    onednn_kernel = False

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        bias: bool = True,
        batch_first: bool = True,
        bidirectional: bool = False,
        num_layers: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1); got {dropout}")
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1; got {num_layers}")
        self.dropout = dropout
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, bidirectional
        # Each layer's parameter suffixes, one per direction.
        self._layers = [[f"_l{k}", f"_l{k}_reverse"][: 2 if bidirectional else 1] for k in range(num_layers)]
        rows = self.gates * hidden_size
        for k, suffixes in enumerate(self._layers):  # nn.LSTM's registration order: state_dict keys come out alike
            width = input_size if k == 0 else hidden_size * len(suffixes)
            shapes = {"weight_ih": (rows, width), "weight_hh": (rows, hidden_size)}
            if bias:
                shapes.update(bias_ih=(rows,), bias_hh=(rows,))
            for sfx in suffixes:
                for name, shape in shapes.items():
                    self.register_parameter(name + sfx, nn.Parameter(torch.empty(shape)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """nn.LSTM's and nn.GRU's default: every parameter uniform in +-1/sqrt(hidden_size)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:  # noqa: D102
        return (
            f"{self.input_size}, {self.hidden_size}, bias={self.bias}, batch_first={self.batch_first}, "
            f"bidirectional={self.bidirectional}" + (f", num_layers={self.num_layers}" if self.num_layers > 1 else "")
            + (f", dropout={self.dropout}" if self.dropout else "")
        )

    def _layer(self, xd: Tensor, suffixes: list[str], plan: Plan, tracked: bool, bf16: bool) -> Tensor:
        raise NotImplementedError

    def _whole_sequence(self, x: Tensor, h0: Tensor, args: tuple) -> tuple[Tensor, Tensor]:
        """torch's kernel (``torch.lstm``, ``torch.gru``, ...) on ``x`` from ``h0``: ``(output, h_n)``."""
        raise NotImplementedError

    def _training_weights(self) -> list[Tensor]:
        """The flat weights, in registration order, that :meth:`_unpadded` hands torch's kernel while training."""
        return list(self.parameters())

    def _stacked(self, name: str, suffixes: list[str]) -> Tensor:
        """Parameter ``name`` of every direction in ``suffixes``, stacked: (nd, ...)."""
        return torch.stack([getattr(self, name + sfx) for sfx in suffixes])

    def _bf16_weights(self) -> list[Tensor]:
        """bfloat16 copies of the parameters, made again when one has changed: an in-place write (an optimizer step,
        ``load_state_dict``) bumps its version, a new tensor has new storage. The cache holds detached views of the
        float32 parameters (same version counter, storage kept alive, so an address cannot come back for another
        tensor). Writes through ``.data`` bypass the version counter and are not seen."""
        params = list(self.parameters())
        cached = self.__dict__.get("_bf16_cache")  # (float32 views, their versions then, bfloat16 copies)
        try:
            if cached is not None and len(cached[0]) == len(params) and all(
                    src.data_ptr() == p.data_ptr() and version == p._version
                    for src, version, p in zip(cached[0], cached[1], params)):
                return cached[2]
            sources = [p.detach() for p in params]
            versions = [p._version for p in params]  # tensors made under torch.inference_mode() have none
        except RuntimeError:
            return [p.detach().to(torch.bfloat16) for p in params]  # then no cache: copied every call
        self.__dict__["_bf16_cache"] = (sources, versions, [src.to(torch.bfloat16) for src in sources])
        return self.__dict__["_bf16_cache"][2]

    def __getstate__(self) -> dict:
        """Pickled and deep-copied without the bfloat16 copies (made again on first use)."""
        state = self.__dict__.copy()
        state.pop("_bf16_cache", None)
        return state

    def _unpadded(self, x: Tensor, need_output: bool, train: bool = False, bf16: bool = False
                  ) -> tuple[Tensor | None, Tensor]:
        """(B, T, D) rows without padding through torch's whole-sequence kernel, one call instead of a loop over steps.

        Inference (e.g. one text; a 20-token BiLSTM 128: 0.37 against 8.2 ms, busy machine), same numbers. With
        ``train`` (float32 rows, gradients tracked): oneDNN's fused LSTM on the CPU, forward and backward, with
        :meth:`_training_weights` and nn.LSTM's dropout between layers; with ``bf16`` under autocast (bfloat16
        products, float32 master weights and gradients). Faster than stepping through packed rows at every shape
        measured (module docstring of :mod:`lstmtext.models.fused_lstm`)."""
        zeros = x.new_zeros(self.num_layers * len(self._layers[0]), x.shape[0], self.hidden_size)
        if not train and bf16:  # inference in bf16_inference(): bfloat16 weights kept, no autocast per call
            args = (self._bf16_weights(), self.bias, self.num_layers, 0.0, False, self.bidirectional, True)
            out, h_n = self._whole_sequence(x.to(torch.bfloat16), zeros.to(torch.bfloat16), args)
            out, h_n = out.float(), h_n.float()
            return (None if not need_output else out if self.batch_first else out.transpose(0, 1)), h_n
        weights = self._training_weights() if train else list(self.parameters())
        args = (weights, self.bias, self.num_layers, self.dropout if train else 0.0, train, self.bidirectional, True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out, h_n = self._whole_sequence(x, zeros, args)
        if bf16:
            out, h_n = out.float(), h_n.float()
        return (None if not need_output else out if self.batch_first else out.transpose(0, 1)), h_n

    def forward(self, x: Tensor, lengths: Tensor | None = None, *, need_output: bool = True
                ) -> tuple[Tensor | None, Tensor]:
        """Run the layers over the first ``lengths[b]`` tokens of each row, from a zero state.

        Args:
            x: Padded inputs, (B, T, D) (or (T, B, D) when not ``batch_first``); rows in any order.
            lengths: (B,) real lengths, each in [1, T]; any integer dtype, best on the CPU. None: all T.
            need_output: Build the padded per-token output; a classifier that reads only ``h_n`` can
                pass False to skip that scatter (and its backward).

        Returns:
            ``(output, h_n)``: output (B, T, H * dirs), zero at padded positions (the reverse half at
            position t is the state after reading tokens len-1 down to t), or None when not
            ``need_output``; h_n (layers * dirs, B, H), nn.LSTM's order: per layer the forward state after
            each row's last real token and the reverse state after its first.

        Raises:
            ValueError: On a bad shape or a length outside [1, T].
        """
        if not self.batch_first:
            x = x.transpose(0, 1)
        if x.dim() != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"x must be (B, T, {self.input_size}); got {tuple(x.shape)}")
        batch, total_len, _ = x.shape
        lengths = torch.full((batch,), total_len) if lengths is None else torch.as_tensor(lengths).to("cpu", torch.int64)
        if lengths.shape != (batch,):
            raise ValueError(f"lengths must be ({batch},); got {tuple(lengths.shape)}")
        if batch == 0 or int(lengths.min()) < 1 or int(lengths.max()) > total_len:
            raise ValueError(f"lengths must lie in [1, {total_len}] and the batch must not be empty")
        tracked = torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in self.parameters()))
        dense = bool((lengths == total_len).all())
        if not tracked and not self.training and dense:
            return self._unpadded(x, need_output, bf16=self.onednn_kernel and _BF16_INFERENCE.get()
                                  and x.dtype == torch.float32 and x.is_cpu and onednn.rnn_available())
        bf16 = tracked and self.training and getattr(self, "precision", "fp32") == "bf16" and x.dtype == torch.float32 \
            and x.is_cpu
        if dense and tracked and self.training and self.onednn_kernel and x.dtype == torch.float32 and x.is_cpu \
                and onednn.rnn_available():
            return self._unpadded(x, need_output, train=True, bf16=bf16)
        plan = make_plan(lengths, total_len, x.device)
        xp = x.reshape(batch * total_len, self.input_size).index_select(0, plan.pad_idx)  # (N, D)
        # The autograd Function saves what backward needs; skip it when no gradient can flow.
        finals = []
        for k, suffixes in enumerate(self._layers):
            if k and self.dropout and self.training:  # nn.LSTM's dropout between layers
                xp = dropout(xp, self.dropout)
            xd = torch.stack([xp, xp.index_select(0, plan.rev_perm)]) if len(suffixes) > 1 else xp.unsqueeze(0)
            hp = self._layer(xd, suffixes, plan, tracked, bf16)  # (nd, N, H)
            finals.append(hp.index_select(1, plan.last_idx))  # (nd, B, H)
            if not need_output and k + 1 == self.num_layers:
                return None, torch.cat(finals)  # (layers * dirs, B, H)
            # (N, H * dirs): the next layer's input, the reverse direction's rows back at their tokens
            xp = hp[0] if len(hp) == 1 else torch.cat([hp[0], hp[1].index_select(0, plan.rev_perm)], 1)
        out = xp.new_zeros(batch * total_len, xp.shape[1]).index_copy_(0, plan.pad_idx, xp)
        out = out.view(batch, total_len, -1)  # (B, T, H * dirs)
        if not self.batch_first:
            out = out.transpose(0, 1)
        return out, torch.cat(finals)
