"""Training speed of the seed001 model: lstmtext (length buckets + packed/fused LSTM) vs a plain padded loop.

Both train the same model (Embedding(1024, 32) -> Dropout 0.5 -> LSTM 256 -> Linear 3, Keras init,
Adam 1e-3, batch 512) on the airline train split, in the same process and run. The plain loop pads every
batch to max_len (pre-padding, as Keras) and reads the last position. Throughput counts real (unpadded)
tokens for both, so the ratio is the speed-up at the same work.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/train_speed.py [--epochs 10] [--threads 2]

The last line is ``ratio_vs_padded: X``.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from lstmtext.config import build_config  # noqa: E402
from lstmtext.data import load_bundled_airline  # noqa: E402
from lstmtext.pipeline.runner import evaluate_splits, train_model  # noqa: E402
from lstmtext.tasks.metrics import classification_metrics  # noqa: E402


class PaddedLSTM(nn.Module):
    """The seed001 model as a plain loop would write it: fixed-width pre-padded input, last time step."""

    def __init__(self, vocab: int, classes: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, 32)
        self.drop = nn.Dropout(0.5)
        self.rnn = nn.LSTM(32, 256, batch_first=True)
        self.fc = nn.Linear(256, classes)
        nn.init.uniform_(self.embedding.weight, -0.05, 0.05)
        nn.init.xavier_uniform_(self.rnn.weight_ih_l0)
        nn.init.orthogonal_(self.rnn.weight_hh_l0)
        nn.init.zeros_(self.rnn.bias_ih_l0)
        nn.init.zeros_(self.rnn.bias_hh_l0)
        self.rnn.bias_ih_l0.data[256:512] = 1.0
        nn.init.xavier_uniform_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.embedding(ids))  # (B, T, 32)
        keep = torch.bernoulli(x.new_full((x.shape[0], 1, 32), 0.8)) / 0.8 if self.training else 1.0
        out, _ = self.rnn(x * keep)  # (B, T, 256)
        return self.fc(out[:, -1])


def padded_loop(encoder, data, labels, epochs: int, seed: int) -> tuple[float, dict]:
    """Train the plain padded model; return (seconds, test metrics)."""
    label_id = {y: i for i, y in enumerate(labels)}
    x = torch.from_numpy(encoder.pad(encoder.encode(data.splits["train"].texts)))
    y = torch.tensor([label_id[v] for v in data.splits["train"].labels])
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
    xt = torch.from_numpy(encoder.pad(encoder.encode(data.splits["test"].texts)))
    with torch.no_grad():
        pred = model(xt).argmax(1).numpy()
    return seconds, classification_metrics([label_id[v] for v in data.splits["test"].labels], pred, labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_bundled_airline()
    cfg = build_config("seed001", overrides=[f"train.epochs={args.epochs}", f"train.threads={args.threads}",
                                             f"train.seed={args.seed}"])
    model, encoder, labels, result = train_model(cfg, data, progress=False)
    ours = evaluate_splits(model, encoder, labels, data)["test"]
    real_tokens = sum(len(s) for s in encoder.encode(data.splits["train"].texts)) * args.epochs
    padded_tokens = len(data.splits["train"]) * encoder.max_len * args.epochs
    base_s, base = padded_loop(encoder, data, labels, args.epochs, args.seed)
    print(f"threads {torch.get_num_threads()}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, "
          f"epochs {args.epochs}, max_len {encoder.max_len}, real tokens/epoch {real_tokens // args.epochs:,} "
          f"(padded loop computes {padded_tokens // args.epochs:,})")
    for name, secs, m in (("padded loop", base_s, base), ("lstmtext", result.seconds, ours)):
        print(f"{name:12s} {secs:7.1f} s  {secs / args.epochs:6.2f} s/epoch  {real_tokens / secs:9,.0f} real tokens/s  "
              f"test acc {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}")
    print("(lstmtext's time includes validation every epoch; the padded loop validates never)")
    print(f"ratio_vs_padded: {base_s / result.seconds:.2f}")


if __name__ == "__main__":
    main()
