"""Time one LSTM layer at the seed-001 model's shapes: nn.LSTM (padded / packed) against FusedLSTM.

Run from the repository root::

    .venv/bin/python benchmarks/lstm_kernel.py

Batches of 512 tweets (D=32, H=256) get their lengths from the airline tweets' word counts (mentions and
URLs left out, clipped to 1..38) (shipped with the package), else from a
similar synthetic distribution. Each repetition runs every variant once over the same few batches, in a
rotating order, so that noise from other processes on the machine hits all variants alike; the script
prints medians of wall time and, because the machine is shared, of process CPU time / threads too (a
lower bound on the wall time of a quiet machine) and the load average. Training time is forward +
backward of a loss on h_n, as in a classifier reading the last state (gradients for x and the weights,
as when an embedding feeds the LSTM); inference time is the forward under no_grad. Variant (e) is
FusedLSTM told not to build the padded per-token output, which such a classifier does not read; (f) is
(e) with ``precision = "bf16"`` (bfloat16 products in training; its inference row is float32, as (e)).
``--products`` also times the layer's single products at these shapes in float32 and bfloat16, and a big
square product as the machine's rate (GFLOP/s) in each.
"""

from __future__ import annotations

import os

# isort: off

import lstmtext  # noqa: E402,F401  (first: its OpenMP and oneDNN defaults are read when torch loads)

# isort: on

import argparse  # noqa: E402
import csv  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402
from machine import machine_line  # noqa: E402  (benchmarks/machine.py)
from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence  # noqa: E402

from lstmtext.models.fused_lstm import FusedLSTM  # noqa: E402

TWEETS = Path(__file__).resolve().parents[1] / "src" / "lstmtext" / "resources" / "data" / "airline-tweets" / "Tweets.csv"
MAX_LEN = 38


def tweet_lengths(gen: torch.Generator) -> tuple[torch.Tensor, str]:
    """Lengths to sample from: real word counts when the data set is present, else synthetic ones."""
    if TWEETS.exists():
        with TWEETS.open(encoding="utf-8", newline="") as fh:
            texts = [row["text"] for row in csv.DictReader(fh)]
        counts = [len([w for w in text.split() if not w.startswith(("@", "http"))]) for text in texts]
        return torch.tensor(counts).clamp(1, MAX_LEN), f"word counts of {TWEETS}"
    synthetic = (torch.randn(20000, generator=gen) * 6 + 15).round().clamp(1, MAX_LEN).long()
    return synthetic, "synthetic normal(15, 6) clipped to 1..38"


def cpu_name() -> str:
    """The CPU's model name, for the record (Linux only)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            return next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--input-size", type=int, default=32)
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--batches", type=int, default=4, help="distinct batches per repetition")
    parser.add_argument("--reps", type=int, default=7, help="interleaved repetitions (medians reported)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bidirectional", action="store_true")
    parser.add_argument("--fused-only", action="store_true", help="only the FusedLSTM variants (d)-(f): quicker")
    parser.add_argument("--products", action="store_true", help="also time single products, fp32 vs bf16")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(machine_line())
    gen = torch.Generator().manual_seed(0)
    pool, source = tweet_lengths(gen)

    torch.manual_seed(0)
    ref = nn.LSTM(args.input_size, args.hidden_size, batch_first=True, bidirectional=args.bidirectional)
    fused = FusedLSTM(args.input_size, args.hidden_size, batch_first=True, bidirectional=args.bidirectional)
    fused.load_state_dict(ref.state_dict())
    fused_bf16 = FusedLSTM(args.input_size, args.hidden_size, batch_first=True, bidirectional=args.bidirectional)
    fused_bf16.load_state_dict(ref.state_dict())
    fused_bf16.precision = "bf16"
    batches = []
    for _ in range(args.batches):
        lengths = pool[torch.randint(len(pool), (args.batch_size,), generator=gen)]
        x = torch.randn(args.batch_size, MAX_LEN, args.input_size, generator=gen)
        batches.append((x, lengths))
    real_tokens = sum(int(lengths.sum()) for _, lengths in batches)

    def nn_padded(x, lengths, to_batch_max):
        # The plain loop: every row read to the same length, h_n taken at each row's last real token.
        t = int(lengths.max()) if to_batch_max else MAX_LEN
        out, _ = ref(x[:, :t])
        return out, out[torch.arange(len(lengths)), lengths - 1]

    def nn_packed(x, lengths):
        out, (h_n, _) = ref(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        return out.data, h_n

    variants = {
        "(a) nn.LSTM padded to batch max": lambda x, n: nn_padded(x, n, True),
        f"(b) nn.LSTM padded to {MAX_LEN}": lambda x, n: nn_padded(x, n, False),
        "(c) nn.LSTM packed": nn_packed,
        "(d) FusedLSTM": fused,
        "(e) FusedLSTM, need_output=False": lambda x, n: fused(x, n, need_output=False),
        "(f) (e) with precision bf16": lambda x, n: fused_bf16(x, n, need_output=False),
    }
    if args.fused_only:
        variants = {k: v for k, v in variants.items() if "Fused" in k or "bf16" in k}

    def run(fn, train: bool) -> tuple[float, float]:
        start, cpu_start = time.perf_counter(), time.process_time()
        for x, lengths in batches:
            if train:
                x = x.requires_grad_(True)
                _, h_n = fn(x, lengths)
                h_n.square().sum().backward()
                x.grad = None
            else:
                with torch.no_grad():
                    fn(x, lengths)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        return wall / len(batches), cpu / len(batches) / torch.get_num_threads()

    load_before = os.getloadavg()[0]
    times = {(name, train): [] for name in variants for train in (True, False)}
    for name, fn in variants.items():  # warm-up: allocator, MKL/oneDNN kernels
        run(fn, True)
        run(fn, False)
    names = list(variants)
    for rep in range(args.reps):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            for train in (True, False):
                times[name, train].append(run(variants[name], train))
    ref.zero_grad(set_to_none=True)
    fused.zero_grad(set_to_none=True)
    fused_bf16.zero_grad(set_to_none=True)

    print(f"{cpu_name()}; torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT')}; "
          f"1-min load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"batch {args.batch_size}, D {args.input_size}, H {args.hidden_size}, "
          f"{'bidirectional' if args.bidirectional else 'unidirectional'}; lengths from {source}")
    print(f"{args.batches} batches x {args.reps} interleaved reps; mean real tokens per batch "
          f"{real_tokens / args.batches:.0f} (mean length {real_tokens / args.batches / args.batch_size:.1f})")

    def medians(name: str, train: bool) -> tuple[float, float]:
        return tuple(statistics.median(sample[k] for sample in times[name, train]) for k in (0, 1))

    tokens = real_tokens / args.batches
    base = f"(b) nn.LSTM padded to {MAX_LEN}" if f"(b) nn.LSTM padded to {MAX_LEN}" in names else names[0]
    for train, label in ((True, "training: forward + backward"), (False, "inference: forward under no_grad")):
        base_wall, base_cpu = medians(base, train)
        vs = f"x vs {base[:3]}"
        print(f"\n{label} (medians; wall | CPU time / threads)")
        print(f"{'variant':34s} {'ms/batch':>9s} {'real tok/s':>11s} {vs:>9s} | "
              f"{'ms/batch':>9s} {'real tok/s':>11s} {vs:>9s}")
        for name in names:
            wall, cpu = medians(name, train)
            print(f"{name:34s} {wall * 1e3:9.1f} {tokens / wall:11.0f} {base_wall / wall:9.2f} | "
                  f"{cpu * 1e3:9.1f} {tokens / cpu:11.0f} {base_cpu / cpu:9.2f}")
    if args.products:
        product_table(args, tokens)


def product_table(args, tokens: float) -> None:
    """Median ms of each of FusedLSTM's products at these shapes, float32 against bfloat16 (+ conversions)."""
    from lstmtext.models.fused_lstm import _linear

    n, d, h = args.batch_size, args.input_size, args.hidden_size
    n_tok = int(tokens)
    g = torch.Generator().manual_seed(1)
    xh, w, b = torch.randn(n, d + h, generator=g), torch.randn(4 * h, d + h, generator=g), torch.randn(4 * h)
    dg, w_hh = torch.randn(n, 4 * h, generator=g), torch.randn(h, 4 * h, generator=g)
    d_all, xh_all = torch.randn(n_tok, 4 * h, generator=g), torch.randn(n_tok, d + h, generator=g)
    w_ih = torch.randn(d, 4 * h, generator=g)
    bf = torch.bfloat16
    xh_b, w_b, w_hh_b = xh.to(bf), w.to(bf), w_hh.to(bf)
    d_all_b, xh_all_b, w_ih_b = d_all.to(bf), xh_all.to(bf), w_ih.to(bf)
    d_t = torch.empty(4 * h, n_tok)
    size = 2048
    sq, sq_b = torch.randn(size, size, generator=g), torch.randn(size, size, generator=g).to(bf)
    rows = [  # (name, flops, fp32 call, bf16 call)
        ("forward step [x|h] W^T + sigmoid", 2 * n * (d + h) * 4 * h, lambda: _linear(xh, w, b, True),
         lambda: _linear(xh_b, w_b, b, True).float()),
        ("backward step dG W_hh (+ dG to bf16)", 2 * n * 4 * h * h, lambda: _linear(dg, w_hh),
         lambda: _linear(dg.to(bf), w_hh_b)),
        ("dX = dG W_ih, all tokens", 2 * n_tok * 4 * h * d, lambda: _linear(d_all, w_ih),
         lambda: _linear(d_all_b, w_ih_b).float()),
        ("dW = dG^T [X|H], all tokens (+ fp32 transpose)", 2 * n_tok * 4 * h * (d + h),
         lambda: _linear(d_t.copy_(d_all.t()), xh_all.t()), lambda: torch.mm(d_all_b.t(), xh_all_b).float()),
        (f"square {size} x {size} (machine rate)", 2 * size**3, lambda: _linear(sq, sq), lambda: _linear(sq_b, sq_b)),
    ]

    def timed(fn) -> float:
        fn()
        samples = []
        for _ in range(max(3, args.reps)):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    print(f"\nsingle products ({n} rows per step, {n_tok} tokens per batch; medians; bf16 includes its conversions)")
    print(f"{'product':48s} {'fp32 ms':>8s} {'bf16 ms':>8s} {'ratio':>6s} {'fp32 GFLOP/s':>13s} {'bf16 GFLOP/s':>13s}")
    for name, flops, f32, b16 in rows:
        t32, t16 = timed(f32), timed(b16)
        print(f"{name:48s} {t32 * 1e3:8.2f} {t16 * 1e3:8.2f} {t32 / t16:6.2f} {flops / t32 / 1e9:13.0f} "
              f"{flops / t16 / 1e9:13.0f}")


if __name__ == "__main__":
    main()
