"""What the linear n-gram bag (`model.ngram_bag`) costs: training and inference tokens/s with and without it.

Same process, same synthetic batches: review-like lengths (log-normal, median about 60 tokens, capped at
256, as NTC-SCV after segmentation), a 20,000-word vocabulary, 2 classes, the `cnn-bag-long` preset's
sizes. Each model trains the same batches (forward, backward, Adam step) and then predicts them under
``torch.no_grad()``. Throughput counts real tokens.

    .venv/bin/python benchmarks/ngram_bag_cost.py [--model cnn] [--batches 60] [--threads 2] [--repeats 3]

The last lines are ``train_ratio_vs_no_bag: X`` and ``infer_ratio_vs_no_bag: Y`` (above 1: the bag is slower).
"""

from __future__ import annotations

import argparse
import time

# isort: off

import lstmtext  # noqa: E402,F401  (first: its OpenMP and oneDNN defaults are read when torch loads)

# isort: on

import numpy as np  # noqa: E402
import torch  # noqa: E402
from machine import machine_line  # noqa: E402  (benchmarks/machine.py)

from lstmtext.config import build_config  # noqa: E402
from lstmtext.encoding.batching import collate  # noqa: E402
from lstmtext.models import build_model  # noqa: E402


def _batches(n: int, batch_size: int, vocab: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(60), 0.7, size=n * batch_size).astype(int), 1, 256)
    seqs = [rng.integers(2, vocab, size=int(k)).tolist() for k in lengths]
    order = np.argsort(lengths)  # length buckets, as the trainer makes them
    return [collate(seqs, order[i : i + batch_size], np.zeros(len(seqs), dtype=np.int64))
            for i in range(0, len(seqs), batch_size)]


def _measure(bag: int, model_name: str, batches: list, vocab: int) -> tuple[float, float]:
    preset = "cnn-bag-long" if model_name == "cnn" else f"{model_name}-long"
    cfg = build_config(preset, overrides=[f"model.ngram_bag={bag}"]).model
    torch.manual_seed(0)
    model = build_model(cfg, vocab, 2)
    groups = model.param_groups(1e-3) if hasattr(model, "param_groups") else model.parameters()
    opt = torch.optim.Adam(groups, lr=1e-3)
    tokens = sum(int(b.lengths.sum()) for b in batches)
    model.train()
    start = time.perf_counter()
    for b in batches:
        loss = torch.nn.functional.cross_entropy(model(b.ids, b.lengths), torch.randint(0, 2, (len(b.lengths),)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    train = tokens / (time.perf_counter() - start)
    model.eval()
    start = time.perf_counter()
    with torch.no_grad():
        for b in batches:
            model(b.ids, b.lengths)
    return train, tokens / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cnn", choices=["cnn", "bilstm"])
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(machine_line())
    vocab = 20000
    batches = _batches(args.batches, args.batch_size, vocab)
    _measure(0, args.model, batches[:5], vocab)  # warm-up
    runs: dict[int, list[tuple[float, float]]] = {0: [], 2: []}
    for _ in range(args.repeats):  # alternated, so drifting load hits both alike; the best of each is kept
        for bag in (0, 2):
            runs[bag].append(_measure(bag, args.model, batches, vocab))
    results = {bag: (max(r[0] for r in rs), max(r[1] for r in rs)) for bag, rs in runs.items()}
    for bag, (train, infer) in results.items():
        print(f"{args.model} ngram_bag={bag}: train {train:,.0f} tokens/s, inference {infer:,.0f} tokens/s "
              f"(best of {args.repeats})")
    print(f"train_ratio_vs_no_bag: {results[0][0] / results[2][0]:.3f}")
    print(f"infer_ratio_vs_no_bag: {results[0][1] / results[2][1]:.3f}")


if __name__ == "__main__":
    main()
