"""Peak memory and time of `lstmtext train` and `lstmtext predict` on a file with one 1 MB row, next to the same
file without it (the baseline, measured in the same run).

One row of 500,000 words once drove `lstmtext train` to 24 GB: a batch was padded to that row's full length.
Now a text is cut to `preprocess.max_chars` characters before cleaning and to `vocab.max_len` tokens (at most
2048 when unset) before batching, so peak memory follows `max_len` and the batch, not the longest raw row.
Goal: the long row costs at most 1.2x the baseline's peak memory.

Each command runs in its own process; its peak resident memory is the child's `ru_maxrss`.

    python benchmarks/long_row_memory.py [--rows 3000] [--mb 1.0]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

MEASURE = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)")


def peak(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd`` in a fresh process; return (peak resident MB of it, seconds)."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, check=True)
    kb, rc = out.stdout.split()[-2:]
    if rc != "0":
        raise SystemExit(f"{' '.join(cmd)} failed (exit {rc}):\n{out.stderr[-2000:]}")
    return int(kb) / 1024, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=3000, help="training tweets (from the bundled airline train split)")
    parser.add_argument("--mb", type=float, default=1.0, help="size of the long row in MB")
    args = parser.parse_args()
    from lstmtext.data import load_bundled_airline

    data = load_bundled_airline()
    rows = []
    for name, limit in (("train", args.rows), ("valid", 500), ("test", 500)):
        split = data.splits[name]
        rows += [(t, y, name) for t, y in list(zip(split.texts, split.labels))[:limit]]
    words = [w for t, _, _ in rows for w in t.split()]
    rng = random.Random(0)
    long_text = " ".join(rng.choice(words) for _ in range(int(args.mb * 1_000_000 / 6)))[: int(args.mb * 1_000_000)]
    lstmtext = [sys.executable, "-m", "lstmtext"]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, extra in (("baseline (no long row)", []), (f"one {args.mb:g} MB row", [(long_text, "negative", "train")])):
            path = Path(tmp) / f"{len(results)}.csv"
            pd.DataFrame(rows + extra, columns=["text", "label", "split"]).to_csv(path, index=False)
            out = Path(tmp) / f"run{len(results)}"
            train = peak([*lstmtext, "train", str(path), "--split-col", "split", "--out", str(out), "--quiet",
                          "--set", "train.epochs=1", "--set", 'model.embedding.kind="random"'])
            texts = Path(tmp) / "texts.txt"
            texts.write_text("\n".join([t for t, _, _ in rows[:200]] + [long_text]) + "\n", encoding="utf-8")
            predict = peak([*lstmtext, "predict", str(out), "--file", str(texts), "--format", "csv"])
            results[kind] = (train, predict)
    base_train, base_predict = results["baseline (no long row)"]
    print(f"training tweets: {args.rows:,}; 1 epoch of the default preset; long row {len(long_text):,} characters")
    print(f"{'':24} {'train peak MB':>14} {'train s':>8} {'predict peak MB':>16} {'predict s':>10}")
    for kind, ((tm, ts), (pm, ps)) in results.items():
        print(f"{kind:24} {tm:14,.0f} {ts:8.1f} {pm:16,.0f} {ps:10.1f}")
    (tm, _), (pm, _) = results[f"one {args.mb:g} MB row"]
    ratios = (tm / base_train[0], pm / base_predict[0])
    print(f"ratio_train_peak: {ratios[0]:.2f}  ratio_predict_peak: {ratios[1]:.2f}  (goal <= 1.2: "
          f"{'met' if max(ratios) <= 1.2 else 'MISSED'}; the long row's extra is about {tm - base_train[0]:,.0f} MB "
          "in training whatever its size past the token cap, so a smaller --rows baseline gives a higher ratio)")


if __name__ == "__main__":
    main()
