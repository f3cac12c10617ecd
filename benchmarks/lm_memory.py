"""Peak memory of language-model pretraining against the corpus size: is it flat when streaming?

Writes the bundled airline training tweets COPIES times over into one text file per size (one text a line),
then runs ``lstmtext pretrain`` on each in a separate process (one epoch, a small model: E = H = 32, so the
model's own memory is small and what grows is the run's) and prints each child's peak resident set (from
``os.wait4``), its tokens/s and its seconds. Flat means the peak does not grow with the copies.

    .venv/bin/python benchmarks/lm_memory.py [--copies 1,8,32] [--work /tmp/lstmtext-lm-mem]
        [--env MALLOC_ARENA_MAX=1 ...]   # environment for the children, to compare allocator settings

Memory is not time: the figures hold on a busy machine (the seconds do not).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SMALL = ["model.embedding_dim=32", "model.hidden_size=32", "lm.epochs=1", "lm.sampled=256"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", default="1,8,32")
    parser.add_argument("--work", type=Path, default=Path("/tmp/lstmtext-lm-mem"))
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    from lstmtext.data import load_bundled_airline

    texts = [" ".join(t.split()) for t in load_bundled_airline().splits["train"].texts]
    args.work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **dict(kv.split("=", 1) for kv in args.env)}
    print(f"children's extra environment: {' '.join(args.env) or '(none)'}")
    print("| copies | texts | training tokens | peak resident set (MiB) | tokens/s | seconds |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for copies in (int(c) for c in args.copies.split(",")):
        path = args.work / f"tweets_x{copies}.txt"
        if not path.exists():
            path.write_text("\n".join(texts * copies) + "\n", encoding="utf-8")
        out = args.work / f"lm_x{copies}"
        cmd = [sys.executable, "-m", "lstmtext", "pretrain", str(path), "--out", str(out), "--overwrite", "--quiet",
               *[a for s in SMALL for a in ("--set", s)]]
        start = time.perf_counter()
        child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        if status != 0:
            raise SystemExit(f"{' '.join(cmd)} failed with status {status}")
        meta = json.loads((out / "lm.json").read_text())
        corpus = meta["corpus"]["train"]
        rate = meta["history"][-1]["tokens_per_second"]
        print(f"| {copies} | {corpus['texts']:,} | {corpus['tokens']:,} | {usage.ru_maxrss / 1024:,.0f} | {rate:,.0f} | "
              f"{seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
