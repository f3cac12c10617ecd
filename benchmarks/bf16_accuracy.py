"""Does bf16 training move accuracy? Test accuracy and macro-F1 of fp32 vs bf16 runs, mean over seeds.

Trains a preset (default ``seed001``) on the bundled airline tweets (canonical split) once per seed and
precision (``train.precision`` fp32, then bf16, same seed, same data order) and compares the test scores.
The acceptance bar of issue #17 is a mean difference within 0.005 for both accuracy and macro-F1 over 3
seeds at the preset's full epochs, on the airline tweets and on one Indonesian data set:

    .venv/bin/python benchmarks/bf16_accuracy.py [--preset seed001] [--seeds 3]
        [--epochs N] [--threads 2] [--out bf16_accuracy.json]

    # any labelled file with a split column, e.g. IndoNLU SmSA's three files as one CSV
    # (studies/calibration.py writes it as smsa.csv with columns text, label, split):
    .venv/bin/python benchmarks/bf16_accuracy.py --preset default \
        --data runs/study-calibration/smsa.csv --set data.split_col=split --set preprocess.preset=id-review \
        --set vocab.max_len=128

That is 6 full trainings (about 2 x 3 x 1 minute for seed001 on 2 cores); ``--seeds 1 --epochs 2`` checks
the script in well under a minute but says little about accuracy. The last line is ``verdict: ...``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time

# isort: off

import lstmtext  # noqa: E402,F401  (first: its OpenMP and oneDNN defaults are read when torch loads)

# isort: on

import numpy as np  # noqa: E402
import torch  # noqa: E402
from machine import machine_line  # noqa: E402  (benchmarks/machine.py)

from lstmtext.config import build_config  # noqa: E402
from lstmtext.data.bundled import AIRLINE_COLUMNS  # noqa: E402
from lstmtext.pipeline.prepare import load_data, prepare  # noqa: E402
from lstmtext.pipeline.runner import evaluate, fit_model  # noqa: E402
from lstmtext.training.precision import cpu_has_bf16  # noqa: E402

TOLERANCE = 0.005
SCORES = ("accuracy", "macro_f1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="seed001")
    parser.add_argument("--seeds", type=int, default=3, help="how many seeds: 42, 43, ... (a count, not a list)")
    parser.add_argument("--epochs", type=int, default=None, help="default: the preset's")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="also write every run's record to this JSON file")
    parser.add_argument("--data", default=None, help="a labelled file (default: the bundled airline tweets)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override, as lstmtext train's --set (repeatable)")
    args = parser.parse_args()
    if args.out and os.path.exists(args.out):  # minutes of runs would replace an earlier study's records
        raise SystemExit(f"--out {args.out}: the file exists. Give another name, or remove it first.")
    torch.set_num_threads(args.threads)
    print(machine_line())
    overrides = [f"train.threads={args.threads}", *args.set] + ([f"train.epochs={args.epochs}"] if args.epochs else [])
    cfg = build_config(args.preset, overrides=overrides)
    if args.data is None:
        cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update=AIRLINE_COLUMNS)}, deep=True)
    if not cpu_has_bf16():
        print("this CPU has no bf16 instructions (or torch no oneDNN op): the bf16 runs will train in fp32")
    prepared = prepare(cfg, load_data(cfg, args.data))
    # Untimed warm-up in both precisions (oneDNN's kernels, the allocator): without it the first run paid for them,
    # always fp32's (one seed, one epoch: fp32 15.1 s against bf16 6.5 s, then 7.6 against 7.7 run again).
    small = dataclasses.replace(prepared, train=prepared.train.take(np.arange(min(2048, len(prepared.train.sequences)))))
    for precision in ("fp32", "bf16"):
        warm = cfg.train.model_copy(update={"precision": precision, "epochs": 1})
        fit_model(cfg.model_copy(update={"train": warm}, deep=True), small, progress=False)
    records = []
    for i, seed in enumerate(range(42, 42 + args.seeds)):
        for precision in ("fp32", "bf16") if i % 2 == 0 else ("bf16", "fp32"):  # neither always runs first
            train = cfg.train.model_copy(update={"seed": seed, "precision": precision})
            start = time.perf_counter()
            model, result = fit_model(cfg.model_copy(update={"train": train}, deep=True), prepared, progress=False)
            test = evaluate(model, prepared, cfg.train.eval_batch_size)[0]["test"]
            records.append({"seed": seed, "asked": precision, "precision": result.precision,
                            "epochs": len(result.history), "train_seconds": round(result.seconds, 2),
                            "wall_seconds": round(time.perf_counter() - start, 2),
                            **{k: round(float(test[k]), 5) for k in SCORES}})
            r = records[-1]
            print(f"seed {seed} {r['precision']:4s}: {r['epochs']} epochs in {r['train_seconds']:6.1f} s, "
                  f"test accuracy {r['accuracy']:.4f}, macro-F1 {r['macro_f1']:.4f}", flush=True)

    def mean(precision: str, key: str) -> float:
        return statistics.fmean(r[key] for r in records if r["asked"] == precision)

    print(f"\nmeans over {args.seeds} seed(s), preset {args.preset}, data {args.data or 'airline tweets'}, test split ({prepared.split_sizes['test']} rows):")
    ok = True
    for key in (*SCORES, "train_seconds"):
        fp32, bf16 = mean("fp32", key), mean("bf16", key)
        line = f"  {key:13s} fp32 {fp32:9.4f}  bf16 {bf16:9.4f}  bf16 - fp32 {bf16 - fp32:+.4f}"
        if key in SCORES:
            ok &= abs(bf16 - fp32) <= TOLERANCE
        else:
            line += f"  (fp32 / bf16 time: {fp32 / bf16:.2f}x)"
        print(line)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump({"preset": args.preset, "data": args.data, "set": args.set, "seeds": args.seeds,
                       "records": records}, fh, indent=2)
    few = " (fewer than 3 seeds: not the issue's study)" if args.seeds < 3 else ""
    if all(r["precision"] == "fp32" for r in records):
        print("verdict: none: every run trained in fp32 (no bf16 on this CPU, or not for this preset's layers)")
    else:
        print(f"verdict: {'within' if ok else 'NOT within'} {TOLERANCE} of fp32 on accuracy and macro-F1{few}")


if __name__ == "__main__":
    main()
