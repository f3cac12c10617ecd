"""The states of a text and of its T one-token deletions, in one pass that shares every unchanged prefix.

Occlusion (``lstmtext.explain``) reads a text and the T copies with one token left out. Read as T + 1
separate texts, a BiLSTM does 2 T^2 steps and T^2 input projections. But deleting token i changes nothing the
forward direction read before i, nor anything the reverse direction read after it: copy i only needs new
forward states from i + 1 on, started from the text's own state after token i - 1, and new reverse states from
i - 1 down. Run in step with the text, every copy whose deleted token has passed reads the same token as the
text at each step, so a step is one batched product of the active rows' states and one shared input
projection. That is T^2 / 2 steps per direction and T input projections: on a 256-token text (D 100, H 128)
122-159 ms against 283 ms for torch's whole-sequence kernel on the 257 texts, with 3-4x fewer products.

Only single-layer LSTMs (``nn.LSTM`` or :class:`~lstmtext.models.fused_lstm.FusedLSTM`, one or two
directions) in eval mode: a second layer's input changes at every position of a deletion copy, so nothing is
shared there. :func:`deletion_states` returns None for anything else and the caller reads the copies as texts.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor, nn

from lstmtext.models.onednn import workspace

#: Most bytes the states of the text and its copies may take (every layer's steps plus one layer's assembled
#: states): a 256-token review through a 5-member BiLSTM ensemble (H 128) needs about 400 MB; a longer text or a
#: bigger model falls back to reading the copies as texts, whose batches hold a bounded number of tokens.
MAX_BYTES = 768 * 2**20


def supports_deletions(rnn: nn.Module) -> bool:
    """Whether :func:`deletion_states` can run ``rnn``: a one-layer LSTM with nn.LSTM's parameters, batch-first."""
    from lstmtext.models.fused_lstm import FusedLSTM

    return (isinstance(rnn, (nn.LSTM, FusedLSTM)) and rnn.num_layers == 1 and rnn.batch_first
            and getattr(rnn, "proj_size", 0) == 0)


def _direction_weights(rnn: nn.Module, sfx: str) -> tuple[Tensor, Tensor, Tensor]:
    """W_ih (4H, D), W_hh (4H, H), summed bias (4H,), the g rows doubled: one sigmoid then gives every gate
    (tanh(z) = 2 sigmoid(2 z) - 1)."""
    hid = rnn.hidden_size
    scale = torch.ones(4 * hid, dtype=rnn.weight_ih_l0.dtype)
    scale[2 * hid: 3 * hid] = 2.0  # nn.LSTM's gate blocks are (i, f, g, o)
    bias = (getattr(rnn, "bias_ih" + sfx) + getattr(rnn, "bias_hh" + sfx)) if rnn.bias else rnn.weight_ih_l0.new_zeros(4 * hid)
    return (getattr(rnn, "weight_ih" + sfx) * scale[:, None], getattr(rnn, "weight_hh" + sfx) * scale[:, None],
            bias * scale)


def deletion_states(rnn: nn.Module, x: Tensor) -> tuple[Tensor, Tensor, Tensor] | None:
    """Per-token states of the text ``x (T, D)`` (row 0) and of each copy without token i (row i + 1).

    Returns:
        ``(states, h_n, mask)``: states ``(T + 1, T, dirs * H)``, a per-thread scratch buffer that the next call
        overwrites (read it first), in the text's positions (row i + 1 holds a placeholder, a copy of a real
        state of that row, at the deleted position i), h_n ``(dirs, T + 1, H)`` (nn.LSTM's final states:
        forward after the last token read, reverse after the first), and mask ``(T + 1, T)``, False at each
        row's deleted position. None when ``rnn`` is not supported (:func:`supports_deletions`) or ``T < 2``.
    """
    found = deletion_states_many([(rnn, x)])
    return None if found is None else next(found)


def deletion_states_many(pairs: list[tuple[nn.Module, Tensor]]) -> Iterator[tuple[Tensor, Tensor, Tensor]] | None:
    """:func:`deletion_states` of several layers, each over its own embedding of the same text (a seed ensemble's
    members), in one loop: their directions are stacked, so each step is still one batched product and a few
    elementwise passes (the 5-member aspect ensemble on a 256-token review: 605 -> 522 ms, one loop per member
    against one for all).

    Returns:
        An iterator of each layer's ``(states, h_n, mask)``, in order: each ``states`` is the scratch buffer that
        the next one overwrites. None when a layer is not supported, the layers differ in size or directions,
        the text has fewer than 2 tokens, or its states would take more than :data:`MAX_BYTES`.
    """
    if not pairs or any(not supports_deletions(rnn) for rnn, _ in pairs):
        return None
    first = pairs[0][0]
    steps = pairs[0][1].shape[0]
    if steps < 2 or any((rnn.hidden_size, rnn.bidirectional, x.shape[0]) != (first.hidden_size, first.bidirectional, steps)
                        for rnn, x in pairs):
        return None
    hid, rows = first.hidden_size, steps + 1
    suffixes = ["_l0", "_l0_reverse"][: 2 if first.bidirectional else 1]
    per = len(suffixes)  # directions per layer
    if (len(pairs) + 1) * per * steps * rows * hid * pairs[0][1].element_size() > MAX_BYTES:
        return None  # the buffers grow with T^2: a long text is read as T + 1 texts, in batches of bounded size
    with torch.no_grad():  # inference only: no autograd graph (and the steps write into buffers in place)
        weights = [_direction_weights(rnn, sfx) for rnn, _ in pairs for sfx in suffixes]
        w_ih, w_hh, bias = (torch.stack(w) for w in zip(*weights))
        inputs = torch.stack([v for _, x in pairs for v in (x, x.flip(0))[:per]])  # reverse: back to front
        proj = torch.baddbmm(bias.unsqueeze(1), inputs, w_ih.transpose(1, 2))  # (nd, T, 4H): T projections each
        buf = _steps(proj, w_hh.transpose(1, 2).contiguous(), rows)
    return (_assemble(buf[k * per: (k + 1) * per], steps, hid, x) for k, (_, x) in enumerate(pairs))


def _steps(proj: Tensor, w_step: Tensor, rows: int) -> Tensor:
    """Run every direction (projections ``proj (nd, T, 4H)``, recurrent weights ``w_step (nd, H, 4H)``) over the
    text and its copies; see :func:`_assemble` for the layout of the result ``(nd, T, T + 1, H)``."""
    nd, steps, gates4 = proj.shape
    hid = gates4 // 4
    # Each direction in its own reading order: buf[d, t, r] is row r's state after step t, where row 0 is the
    # text and row r the copy without the r-th token read (r - 1 in reading order). Rows 0..t are active at step
    # t; row t + 1 (its token is the one read now) keeps the text's state from step t - 1 in the deleted slot,
    # and rows after it, whose deleted token is still ahead, are the text's state: left unwritten, read from row 0.
    buf = workspace("deletions", nd * steps * rows, hid, proj).view(nd, steps, rows, hid)
    cells = proj.new_zeros(nd, rows, hid)  # 2 c of every active row (see fused_lstm: tanh(c) = 2 sigmoid(2 c) - 1)
    squash = proj.new_empty(nd, rows, hid)
    for t in range(steps):
        n = t + 1
        cells[:, n] = cells[:, 0]  # the copy without token t starts from the text's cell before it
        if t:
            gates = torch.baddbmm(proj[:, t: t + 1], buf[:, t - 1, :n], w_step).sigmoid_()  # (nd, n, 4H)
        else:
            gates = proj[:, :1].sigmoid()
        i, f, s, o = (gates[..., k * hid: (k + 1) * hid] for k in range(4))
        c2 = cells[:, :n]
        c2.mul_(f).addcmul_(i, s, value=4).sub_(i, alpha=2)  # 2 c = f 2 c + 2 i g, with g = 2 s - 1
        tc = squash[:, :n]
        torch.sigmoid(c2, out=tc).mul_(2).sub_(1)  # tanh(c)
        torch.mul(o, tc, out=buf[:, t, :n])
        if n < rows:  # the deleted slot: the state it skips from (a duplicate, so a max over positions is unchanged)
            buf[:, t, n] = buf[:, t - 1, 0] if t else 0
    buf[:, 0, 1] = buf[:, 1, 1]  # the copy without the first token read has no earlier state: use its next one
    return buf


@torch.no_grad()
def _assemble(buf: Tensor, steps: int, hid: int, like: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """One layer's ``(states, h_n, mask)`` from its directions' ``buf (dirs, T, T + 1, H)`` (see :func:`_steps`)."""
    rows, nd = steps + 1, buf.shape[0]
    # Each (row, position, direction) of the states is one row of buf: the reverse direction's step t is position
    # T - 1 - t, and its row r > 0 is the copy without position T - r, i.e. our row T + 1 - r. A copy's state at a
    # step before its own row became active is the text's (row 0). One gather writes the states.
    ours, position = torch.arange(rows).unsqueeze(1), torch.arange(steps).unsqueeze(0)  # (T + 1, 1), (1, T)
    index = []
    for d in range(nd):
        own = ours if d == 0 else torch.where(ours > 0, rows - ours, 0)  # the direction's row
        step = position if d == 0 else steps - 1 - position  # the direction's step
        own = torch.where(step >= own - 1, own, 0)  # not yet active: the text's state
        index.append(d * steps * rows + step * rows + own)  # (T + 1, T)
    index = torch.stack(index, 2).flatten()  # (row, position, direction) order: the states' memory order
    states = workspace("deletion_states", rows * steps, nd * hid, like).view(rows, steps, nd * hid)
    # a fresh 57 MB tensor cost ~14 ms of page faults (a 256-token text): a scratch buffer, filled by one gather
    torch.index_select(buf.reshape(nd * steps * rows, hid), 0, index, out=states.view(rows * steps * nd, hid))
    h_n = [states[:, steps - 1, :hid]]  # forward: after the last position
    if nd == 2:
        h_n.append(states[:, 0, hid:])  # reverse: after reading the first position
    mask = torch.ones(rows, steps, dtype=torch.bool)
    mask[torch.arange(1, rows), torch.arange(steps)] = False
    return states, torch.stack(h_n), mask
