"""Training speed of the seed001 model: lstmtext in fp32 and bf16 (length buckets + FusedLSTM) vs a plain padded loop.

All train the same model (Embedding(1024, 32) -> Dropout 0.5 -> LSTM 256 -> Linear 3, Keras init, Adam 1e-3,
batch 512) on the airline train split, in the same process and run: lstmtext with ``train.precision`` fp32,
then bf16 (on a CPU without bf16 instructions the second falls back to fp32, and says so), and the plain loop,
which pads every batch to max_len (pre-padding, as Keras) and reads the last position. Throughput counts real
(unpadded) tokens for all, so the ratios are speed-ups at the same work.

To show how close to the machine's limit this runs, the script also measures the machine's product rate
(GFLOP/s of one big square matrix product through oneDNN, fp32 and bf16) and prints each run's LSTM product
rate: the FLOPs of the LSTM's products (24 H (D + H) per token computed: forward, dh, dX, dW) per second of
the whole training time (which also holds the elementwise gate math, the embedding, Adam and validation).

    .venv/bin/python benchmarks/train_speed.py [--epochs 3] [--threads 2] [--no-padded] [--repeats 3]

The default of 3 epochs keeps it to a few minutes on 2 cores; the README's table used ``--epochs 10``. Every
side gets an untimed warm-up; with ``--repeats N`` each is trained N times, the order rotating between rounds
so that a change in the machine's load hits all alike, and the median time is printed (the metrics are the
same every time: a fixed seed). The last lines are ``ratio_vs_padded: X`` (fp32) and ``bf16_vs_fp32: Y``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time

# isort: off

import lstmtext  # noqa: E402,F401  (first: its OpenMP and oneDNN defaults are read when torch loads)

# isort: on

import numpy as np  # noqa: E402
import torch  # noqa: E402
from machine import machine_rate  # noqa: E402  (benchmarks/machine.py)
from torch import nn  # noqa: E402

from lstmtext.config import build_config  # noqa: E402
from lstmtext.data.bundled import AIRLINE_COLUMNS  # noqa: E402
from lstmtext.pipeline.prepare import load_data, prepare  # noqa: E402
from lstmtext.pipeline.runner import evaluate, fit_model  # noqa: E402
from lstmtext.tasks.metrics import classification_metrics  # noqa: E402
from lstmtext.training.precision import cpu_flags, cpu_has_bf16  # noqa: E402

D, H = 32, 256
FLOPS_PER_TOKEN = 24 * H * (D + H)  # forward 8H(D+H), dh 8H^2, dX 8HD, dW 8H(D+H)


class PaddedLSTM(nn.Module):
    """The seed001 model as a plain loop would write it: fixed-width pre-padded input, last time step."""

    def __init__(self, vocab: int, classes: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, D)
        self.drop = nn.Dropout(0.5)
        self.rnn = nn.LSTM(D, H, batch_first=True)
        self.fc = nn.Linear(H, classes)
        nn.init.uniform_(self.embedding.weight, -0.05, 0.05)
        nn.init.xavier_uniform_(self.rnn.weight_ih_l0)
        nn.init.orthogonal_(self.rnn.weight_hh_l0)
        nn.init.zeros_(self.rnn.bias_ih_l0)
        nn.init.zeros_(self.rnn.bias_hh_l0)
        self.rnn.bias_ih_l0.data[H : 2 * H] = 1.0
        nn.init.xavier_uniform_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.embedding(ids))  # (B, T, 32)
        keep = torch.bernoulli(x.new_full((x.shape[0], 1, D), 0.8)) / 0.8 if self.training else 1.0
        out, _ = self.rnn(x * keep)  # (B, T, 256)
        return self.fc(out[:, -1])


def padded_loop(prepared, epochs: int, seed: int) -> tuple[float, dict]:
    """Train the plain padded model; return (seconds, test metrics)."""
    encoder, labels = prepared.encoder, prepared.task.labels
    x = torch.from_numpy(encoder.pad(prepared.train.sequences))
    y = torch.from_numpy(prepared.train.targets).long()
    torch.manual_seed(seed)
    model = PaddedLSTM(len(encoder.vocab), len(labels))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        perm = torch.from_numpy(np.random.default_rng([seed, epoch]).permutation(len(y)))
        for i in range(0, len(y), 512):
            idx = perm[i : i + 512]
            loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - start
    model.eval()
    test = prepared.splits["test"]
    with torch.no_grad():
        pred = model(torch.from_numpy(encoder.pad(test.sequences))).argmax(1).numpy()
    return seconds, classification_metrics(test.targets, pred, labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-padded", action="store_true", help="skip the padded loop (the slowest part)")
    parser.add_argument("--repeats", type=int, default=1, help="train each side N times, rotating; print medians")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = build_config("seed001", overrides=[f"train.epochs={args.epochs}", f"train.threads={args.threads}",
                                             f"train.seed={args.seed}"])
    cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update=AIRLINE_COLUMNS)}, deep=True)
    prepared = prepare(cfg, load_data(cfg))
    real_tokens = prepared.train_tokens * args.epochs
    padded_tokens = len(prepared.train.sequences) * prepared.encoder.max_len * args.epochs
    load = [os.getloadavg()[0]]
    rates = machine_rate()
    # Untimed warm-up in both precisions (oneDNN's kernels for each shape, the allocator): without it the
    # first run measured up to 1.2x slower than the same run second.
    small = dataclasses.replace(prepared, train=prepared.train.take(np.arange(2048)))
    for precision in ("fp32", "bf16"):
        fit_model(cfg.model_copy(update={"train": cfg.train.model_copy(update={"precision": precision, "epochs": 1})},
                                 deep=True), small, progress=False)
    if not args.no_padded:
        padded_loop(small, 1, args.seed)

    def lstmtext_run(precision: str) -> tuple[str, float, dict]:
        run_cfg = cfg.model_copy(update={"train": cfg.train.model_copy(update={"precision": precision})}, deep=True)
        model, result = fit_model(run_cfg, prepared, progress=False)
        return f"lstmtext {result.precision}", result.seconds, evaluate(model, prepared)[0]["test"]

    sides = {"fp32": lambda: lstmtext_run("fp32"), "bf16": lambda: lstmtext_run("bf16")}
    if not args.no_padded:
        sides["padded"] = lambda: ("padded loop fp32", *padded_loop(prepared, args.epochs, args.seed))
    order, found = list(sides), {k: [] for k in sides}
    for r in range(args.repeats):
        for key in order[r % len(order):] + order[: r % len(order)]:
            found[key].append(sides[key]())
    seconds = {k: statistics.median(s for _, s, _ in runs) for k, runs in found.items()}
    rows = [(runs[-1][0], seconds[k], runs[-1][2], padded_tokens if k == "padded" else real_tokens)
            for k, runs in found.items()]  # rows: (name, median seconds, test metrics, tokens computed)
    if not args.no_padded:
        rows.insert(0, rows.pop())
        base_s = seconds["padded"]
    rates_after = machine_rate()
    load.append(os.getloadavg()[0])
    bf16 = [f for f in ("avx512_bf16", "amx_bf16") if f in cpu_flags()]
    print(f"threads {torch.get_num_threads()}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT')}, "
          f"torch {torch.__version__}, bf16 instructions: {', '.join(bf16) or 'none'} "
          f"(bf16 used: {cpu_has_bf16()}); 1-min load average {load[0]:.1f} before, {load[1]:.1f} after")
    print(f"epochs {args.epochs}, each side trained {args.repeats} time(s) (median shown), max_len {prepared.encoder.max_len}, real tokens/epoch "
          f"{real_tokens // args.epochs:,} (padded loop computes {padded_tokens // args.epochs:,})")
    print("machine product rate (2048^3 oneDNN product, best of 5, before | after the runs): "
          + ", ".join(f"{k} {rates[k]:.0f} | {rates_after[k]:.0f} GFLOP/s" for k in rates))
    for name, secs, m, computed in rows:
        print(f"{name:17s} {secs:7.1f} s  {secs / args.epochs:6.2f} s/epoch  {real_tokens / secs:9,.0f} real tokens/s  "
              f"LSTM products {computed * FLOPS_PER_TOKEN / secs / 1e9:5.1f} GFLOP/s  "
              f"test acc {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}")
    print("(lstmtext's time includes validation every epoch; the padded loop validates never)")
    if not args.no_padded:
        print(f"ratio_vs_padded: {base_s / seconds['fp32']:.2f}")
    print(f"bf16_vs_fp32: {seconds['fp32'] / seconds['bf16']:.2f}")

if __name__ == "__main__":
    main()
