"""Peak memory of streamed training on a file 10x the bundled airline tweets vs in-memory training on the tweets.

Writes WORK/big.csv: COPIES copies of the bundled tweets (train/valid/test kept in a ``split`` column), every
copy after the first perturbed (words dropped and swapped, airline handles exchanged, flight numbers added).
Then trains one epoch of a small LSTM in separate subprocesses and reports the peak RSS of each (from
``os.wait4``, the child and the children it waited for):

- ``bundled``: in memory on the bundled tweets (``lstmtext train`` without DATA),
- ``stream``: streamed from WORK/big.csv (``--stream --chunk-size``),
- ``memory-big`` (with ``--with-in-memory``): in memory on WORK/big.csv, for contrast.

Usage: python benchmarks/stream_memory.py [--copies 10] [--chunk-size 10000] [--work /tmp/lstmtext-stream-bench]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SMALL_MODEL = ["model.embedding_dim=32", "model.hidden_size=32", "train.epochs=1", "train.threads=1"]
HANDLES = ["@united", "@USAirways", "@AmericanAir", "@SouthwestAir", "@JetBlue", "@VirginAmerica"]


def perturb(text: str, rng) -> str:
    """A plausible variant of a tweet: some words dropped or swapped, another airline, maybe a flight number."""
    words = text.split()
    words = [w for w in words if rng.random() > 0.1] or words[:1]
    if len(words) > 2:
        i = int(rng.integers(0, len(words) - 1))
        words[i], words[i + 1] = words[i + 1], words[i]
    words = [HANDLES[int(rng.integers(len(HANDLES)))] if w.startswith("@") and rng.random() < 0.5 else w for w in words]
    if rng.random() < 0.3:
        words.append(f"flight {int(rng.integers(100, 9999))}")
    return " ".join(words)


def generate(path: Path, copies: int, seed: int = 0) -> int:
    """Write ``copies`` copies of the bundled tweets to ``path``; return the number of rows."""
    import numpy as np

    from lstmtext.data import load_bundled_airline

    rng = np.random.default_rng(seed)
    splits = load_bundled_airline().splits
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label", "split"])
        for copy in range(copies):
            for name, split in splits.items():
                for text, label in zip(split.texts, split.labels):
                    writer.writerow([text if copy == 0 else perturb(text, rng), label, name])
                    rows += 1
    return rows


def child(kind: str, work: Path, chunk_size: int) -> None:
    """Train one epoch (in this process) as ``kind`` says."""
    from lstmtext.config import build_config
    from lstmtext.pipeline.runner import run

    if kind == "bundled":
        run(build_config(None, overrides=SMALL_MODEL), None, work / kind, overwrite=True, progress=False)
        return
    config = build_config(None, overrides=SMALL_MODEL + ['data.split_col="split"'])
    extra = {"stream": True, "chunk_size": chunk_size} if kind == "stream" else {}
    run(config, work / "big.csv", work / kind, overwrite=True, progress=False, **extra)


def measure(kind: str, work: Path, chunk_size: int) -> dict[str, float]:
    """Run ``child(kind)`` in a fresh interpreter; return its peak RSS (MiB) and wall time."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", kind, "--work", str(work),
                             "--chunk-size", str(chunk_size)], env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{kind}: the training subprocess failed with exit code {proc.returncode}")
    return {"peak_rss_mib": usage.ru_maxrss / 1024, "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--chunk-size", type=int, default=10_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/lstmtext-stream-bench"))
    parser.add_argument("--with-in-memory", action="store_true", help="also train in memory on big.csv")
    parser.add_argument("--child", choices=["bundled", "stream", "memory-big"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.work, args.chunk_size)
    args.work.mkdir(parents=True, exist_ok=True)
    big = args.work / "big.csv"
    rows = generate(big, args.copies)
    load_before = os.getloadavg()
    results = {"rows_big": rows, "mib_big": big.stat().st_size / 2**20, "chunk_size": args.chunk_size,
               "cpus": os.cpu_count(), "runs": {}}
    for kind in ["bundled", "stream"] + (["memory-big"] if args.with_in_memory else []):
        results["runs"][kind] = measure(kind, args.work, args.chunk_size)
        print(f"{kind:>10}: peak RSS {results['runs'][kind]['peak_rss_mib']:7.1f} MiB, "
              f"{results['runs'][kind]['seconds']:6.1f} s", flush=True)
    runs = results["runs"]
    results["ratio_stream_to_bundled"] = runs["stream"]["peak_rss_mib"] / runs["bundled"]["peak_rss_mib"]
    results["loadavg_1min_before_after"] = [load_before[0], os.getloadavg()[0]]
    print(f"big.csv: {rows} rows, {results['mib_big']:.1f} MiB ({args.copies}x the bundled tweets)")
    print(f"ratio stream / bundled peak RSS: {results['ratio_stream_to_bundled']:.2f} (target <= 1.5)")
    print(f"load average (1 min) before/after: {results['loadavg_1min_before_after']}, {os.cpu_count()} cores")
    (args.work / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
