"""FusedLSTM's elementwise cell passes: eager PyTorch against the same passes compiled by ``torch.compile``.

Not used by lstmtext: the passes alone run 2.6-3.4x faster compiled at 300-512 rows (slower at 37), but in whole
``seed001`` trainings a compiled forward cell saved nothing and a compiled backward cell cost time (docs/speed.md). The forward
pass is the cell update of :func:`lstmtext.models.fused_lstm._recurrence` (c2 = f c2' + 4 i s - 2 i, tanh(c) =
2 sigmoid(c2) - 1, h = o tanh(c)); the backward pass is its gate-gradient step. Eager runs the model's own in-place
sequence of passes; compiled runs one function per pass, with dynamic shapes (a step's row count changes as
packed texts end). Each line prints both times for one row count, measured in the same run; the first line says
what the compile cost.

    .venv/bin/python benchmarks/cell_compile.py [--hidden 256] [--rows 512,300,37] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

# isort: off

import lstmtext  # noqa: E402,F401  (first: its OpenMP and oneDNN defaults are read when torch loads)

# isort: on

import torch  # noqa: E402
from machine import machine_line  # noqa: E402  (benchmarks/machine.py)


def forward_eager(sig, c2prev, c2, tc, h, hid):
    """The forward cell as the model runs it: in place, into its buffers."""
    o, i, f, s = sig[..., :hid], sig[..., hid:2 * hid], sig[..., 2 * hid:3 * hid], sig[..., 3 * hid:]
    torch.mul(f, c2prev, out=c2)
    c2.addcmul_(i, s, value=4).sub_(i, alpha=2)
    torch.sigmoid(c2, out=tc).mul_(2).sub_(1)
    torch.mul(o, tc, out=h)


def forward_pure(sig, c2prev, hid: int):
    """The same cell as one function (what torch.compile fuses)."""
    o, i, f, s = sig[..., :hid], sig[..., hid:2 * hid], sig[..., 2 * hid:3 * hid], sig[..., 3 * hid:]
    c2 = f * c2prev + 4 * i * s - 2 * i
    tc = 2 * torch.sigmoid(c2) - 1
    return c2, tc, o * tc


def backward_eager(sig, dg, dh, h, tc, dc, q, c2prev, hid):
    """The backward gate-gradient step as the model runs it."""
    o, i, f, s = sig[..., :hid], sig[..., hid:2 * hid], sig[..., 2 * hid:3 * hid], sig[..., 3 * hid:]
    d_o, d_i, d_f, d_g = dg[..., :hid], dg[..., hid:2 * hid], dg[..., 2 * hid:3 * hid], dg[..., 3 * hid:]
    torch.addcmul(o, h, tc, value=-1, out=q)
    dc.addcmul_(dh, q)
    torch.addcmul(sig, sig, sig, value=-1, out=dg)
    d_o.mul_(tc).mul_(dh)
    torch.addcmul(d_i, d_i, s, value=-2, out=d_i)
    d_f.mul_(c2prev)
    d_g.mul_(i)
    dg[..., hid:].view(*dg.shape[:-1], 3, hid).mul_(dc.unsqueeze(-2))
    dc.mul_(f)


def backward_pure(sig, dh, h, tc, dc, c2prev, hid: int):
    """The same step as one function."""
    o, i, f, s = sig[..., :hid], sig[..., hid:2 * hid], sig[..., 2 * hid:3 * hid], sig[..., 3 * hid:]
    dc = dc + dh * (o - h * tc)
    ds = sig - sig * sig
    d_i = (ds[..., hid:2 * hid] - 2 * ds[..., hid:2 * hid] * s) * dc
    grads = torch.cat([ds[..., :hid] * tc * dh, d_i, ds[..., 2 * hid:3 * hid] * c2prev * dc, ds[..., 3 * hid:] * i * dc], -1)
    return grads, dc * f


def per_call_us(fn, *args, reps: int = 1000) -> float:
    for _ in range(20):
        fn(*args)
    start = time.perf_counter()
    for _ in range(reps):
        fn(*args)
    return (time.perf_counter() - start) / reps * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--rows", default="512,300,37", help="comma-separated row counts (a step's active texts)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(machine_line())
    hid = args.hidden
    fwd, bwd = torch.compile(forward_pure, dynamic=True), torch.compile(backward_pure, dynamic=True)
    start = time.perf_counter()
    sig, state = torch.rand(1, 8, 4 * hid), torch.randn(1, 8, hid)
    fwd(sig, state, hid)
    bwd(sig, state, state, state, state, state, hid)
    print(f"compile (or read from the cache): {time.perf_counter() - start:.1f} s; torch {torch.__version__}, "
          f"{args.threads} threads, hidden {hid}, fp32")
    for rows in (int(r) for r in args.rows.split(",")):
        sig, c2prev = torch.rand(1, rows, 4 * hid), torch.randn(1, rows, hid)
        buffers = [torch.empty(1, rows, hid) for _ in range(3)]
        dg, dh, h, tc, dc, q = torch.empty(1, rows, 4 * hid), *(torch.randn(1, rows, hid) for _ in range(5))
        f_eager = per_call_us(forward_eager, sig, c2prev, *buffers, hid)
        f_comp = per_call_us(fwd, sig, c2prev, hid)
        b_eager = per_call_us(backward_eager, sig, dg, dh, h, tc, dc.clone(), q, c2prev, hid)
        b_comp = per_call_us(bwd, sig, dh, h, tc, dc, c2prev, hid)
        print(f"{rows:>5} rows: forward eager {f_eager:7.0f} us, compiled {f_comp:7.0f} us ({f_eager / f_comp:.2f}x); "
              f"backward eager {b_eager:7.0f} us, compiled {b_comp:7.0f} us ({b_eager / b_comp:.2f}x)")


if __name__ == "__main__":
    main()
