"""Training speed of the recurrent model-zoo presets, under three OpenMP thread settings, in one run.

Each preset (default: the recurrent zoo, ``bilstm lstm gru rnn bilstm_attn clstm``, and ``default``) trains for
``--epochs`` on the bundled airline train split (random embeddings, so the word2vec step is not timed) in a
child process per setting, since OpenMP reads its settings once, when torch loads:

* ``short spin``: lstmtext's default (``GOMP_SPINCOUNT=1000``: a thread that finishes a parallel op spins
  ~10 us for the next one, then sleeps), 2 threads;
* ``passive``: ``OMP_WAIT_POLICY=PASSIVE`` alone (the old default: threads sleep at once), 2 threads;
* ``one thread``: ``train.threads=1`` (no OpenMP hand-offs at all).

Throughput counts real (unpadded) training tokens per second of ``fit_model`` (which includes validating each
epoch). The baseline in the same run is fastText (``lstmtext.experiments.baselines.fasttext_supervised``, one
thread, 25 epochs) on the same cleaned texts, and the machine's oneDNN product rate is printed as its limit.

    .venv/bin/python benchmarks/zoo_speed.py [--presets bilstm,gru] [--epochs 1] [--busy]

``--busy`` runs a busy loop (``yes``) on one core beside every child, as another job on the machine would.
Timings need an otherwise quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

PRESETS = "bilstm,lstm,gru,rnn,bilstm_attn,clstm,default"
SETTINGS = {"short spin": ({}, 2), "passive": ({"OMP_WAIT_POLICY": "PASSIVE"}, 2), "one thread": ({}, 1)}


def child(presets: list[str], epochs: int, threads: int) -> None:
    """Train each preset once (after a small untimed warm-up) and print one JSON line per preset."""
    # isort: off
    import lstmtext  # noqa: F401  (first: its OpenMP defaults are read when torch loads)
    # isort: on
    import dataclasses

    import numpy as np

    from lstmtext.config import build_config
    from lstmtext.data.bundled import AIRLINE_COLUMNS
    from lstmtext.pipeline.prepare import load_data, prepare
    from lstmtext.pipeline.runner import fit_model

    for name in presets:
        cfg = build_config(name, overrides=[f"train.epochs={epochs}", f"train.threads={threads}",
                                            "model.embedding.kind=random", "train.seed=0"])
        cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update=AIRLINE_COLUMNS)}, deep=True)
        prepared = prepare(cfg, load_data(cfg))
        warm = cfg.model_copy(update={"train": cfg.train.model_copy(update={"epochs": 1})}, deep=True)
        fit_model(warm, dataclasses.replace(prepared, train=prepared.train.take(np.arange(512))), progress=False)
        _, result = fit_model(cfg, prepared, progress=False)
        ran = len(result.history)  # the epochs trained: early stopping (the zoo presets' patience) may end sooner
        print(json.dumps({"preset": name, "seconds": result.seconds, "precision": result.precision, "epochs": ran,
                          "tokens_per_second": prepared.train_tokens * ran / result.seconds}), flush=True)


def fasttext_rate() -> tuple[float, int]:
    """fastText's training tokens/s on the cleaned airline train split (its 25 epochs), and the token count."""
    # isort: off
    import lstmtext  # noqa: F401
    # isort: on
    from lstmtext.config import build_config
    from lstmtext.data import load_bundled_airline
    from lstmtext.experiments.baselines import FASTTEXT, fasttext_supervised
    from lstmtext.preprocess import build_pipeline

    train = load_bundled_airline().splits["train"]
    texts = build_pipeline(build_config("default")).clean_many(train.texts)  # en-tweet
    tokens = sum(len(t.split()) for t in texts)
    start = time.perf_counter()
    fasttext_supervised(texts, train.labels)
    return tokens * FASTTEXT["epoch"] / (time.perf_counter() - start), tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default=PRESETS, help=f"comma-separated (default {PRESETS})")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--settings", default=",".join(SETTINGS), help="which of: " + ", ".join(SETTINGS))
    parser.add_argument("--busy", action="store_true", help="keep one core busy (`yes`) beside each child")
    parser.add_argument("--child-threads", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    presets = args.presets.split(",")
    if args.child_threads:
        return child(presets, args.epochs, args.child_threads)
    from machine import machine_rate, rate_line  # benchmarks/machine.py (imports lstmtext, then torch)

    base = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    results: dict[str, dict[str, dict]] = {}
    load = [os.getloadavg()[0]]
    if unknown := [s for s in args.settings.split(",") if s not in SETTINGS]:
        raise SystemExit(f"--settings: unknown {', '.join(map(repr, unknown))}; choose from {', '.join(SETTINGS)}")
    for setting in args.settings.split(","):
        env, threads = SETTINGS[setting]
        busy = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) if args.busy else None
        try:
            child_run = subprocess.run([sys.executable, __file__, "--presets", args.presets, "--epochs",
                                        str(args.epochs), "--child-threads", str(threads)], env={**base, **env},
                                       capture_output=True, text=True)
            if child_run.returncode:  # its reason (an unknown preset, say) was captured: show it
                raise SystemExit(f"the {setting!r} child failed: {(child_run.stderr.strip().splitlines() or [''])[-1]}")
            out = child_run.stdout
        finally:
            if busy:
                busy.kill()
        rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        results[setting] = {r["preset"]: r for r in rows}
    busy = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) if args.busy else None
    try:  # under the same load as the presets
        ft_rate, ft_tokens = fasttext_rate()
    finally:
        if busy:
            busy.kill()
    load.append(os.getloadavg()[0])
    print(f"epochs {args.epochs}; busy core beside: {args.busy}; 1-min load average {load[0]:.1f} before, "
          f"{load[1]:.1f} after; machine product rate: {rate_line(machine_rate())}")
    print(f"baseline: fastText (1 thread, 25 epochs over {ft_tokens:,} tokens): {ft_rate:,.0f} tokens/s")
    settings = list(results)
    print(f"{'preset':12s} {'precision':9s} " + " ".join(f"{s + ' tok/s':>17s}" for s in settings)
          + (f"  {settings[0]} vs {settings[1]}" if len(settings) > 1 else ""))
    for name in presets:
        row = [results[s][name] for s in settings]
        line = f"{name:12s} {row[0]['precision']:9s} " + " ".join(f"{r['tokens_per_second']:17,.0f}" for r in row)
        if len(row) > 1:
            line += f"  {row[0]['tokens_per_second'] / row[1]['tokens_per_second']:.2f}x"
        print(line)


if __name__ == "__main__":
    main()
