"""A simulated labelling loop on the airline tweets: which 500 texts to label next, `suggest` or chance?

Start with 500 labelled training tweets drawn at random; for 4 rounds, train a model on what is labelled,
let it choose 500 more from the rest of the canonical training split (whose labels play the annotator),
and label them. `suggest` picks by uncertainty with diversity (``lstmtext suggest``'s defaults); `random`
draws uniformly; `suggest+warm` picks like `suggest` but continues the previous round's model
(``--init-from``) instead of training from scratch. Every model uses the valid split for early stopping and
calibration; the test split's macro-F1 after each round is what the plot shows (nothing is chosen on it).

    .venv/bin/python studies/labelling_loop.py [--out runs/study-loop] [--preset default] [--seeds 0,1]
        [--strategies random,suggest,suggest+warm] [--overwrite]

It prints test macro-F1 per strategy and number of labels, mean +- sample std over the seeds (the table in
docs/active.md), and writes every round's record to OUT/loop.json and the plot to OUT/labelling_loop.png.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from common import refuse_to_replace  # studies/common.py

from lstmtext.config import build_config
from lstmtext.data import load_bundled_airline
from lstmtext.experiments.suggest import suggest
from lstmtext.inference.predictor import Predictor
from lstmtext.pipeline import run


def loop(strategy: str, seed: int, args: argparse.Namespace) -> list[dict]:
    data = load_bundled_airline()
    pool = data.splits["train"]
    rng = np.random.default_rng(seed)
    labelled = rng.choice(len(pool), size=args.start, replace=False).tolist()
    points, previous = [], None
    for rnd in range(args.rounds + 1):
        out = args.out / f"{strategy}-s{seed}" / f"round{rnd}"
        extra = {"train": {"seed": seed}}
        if strategy.endswith("+warm") and previous is not None:
            extra["train"].update(init_from=str(previous))
        config = build_config(args.preset, extra=extra)
        part = replace(data, splits={"train": pool.take(labelled), "valid": data.splits["valid"],
                                     "test": data.splits["test"]})
        result = run(config, part, out, overwrite=True, progress=False)
        test = result.metrics["test"]
        points.append({"strategy": strategy, "seed": seed, "round": rnd, "labels": len(labelled),
                       "test_macro_f1": test["macro_f1"], "test_accuracy": test["accuracy"],
                       "valid_macro_f1": result.metrics["valid"]["macro_f1"]})
        print(json.dumps(points[-1]), flush=True)
        previous = out
        if rnd == args.rounds:
            break
        rest = sorted(set(range(len(pool))) - set(labelled))
        if strategy == "random":
            new = rng.choice(rest, size=args.step, replace=False).tolist()
        else:
            predictor = Predictor.from_bundle(out)
            texts = [pool.texts[i] for i in rest]
            chunks = [([str(i) for i in rest], texts)]
            picked = suggest(predictor, chunks, args.step)["suggested"]
            new = [int(r["where"]) for r in picked]
            if len(new) < args.step:  # duplicates skipped: top up at random
                left = sorted(set(rest) - set(new))
                new += rng.choice(left, size=args.step - len(new), replace=False).tolist()
        labelled += new
    return points


def plot(points: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for strategy in dict.fromkeys(p["strategy"] for p in points):
        mine = [p for p in points if p["strategy"] == strategy]
        xs = sorted({p["labels"] for p in mine})
        ys = [np.mean([p["test_macro_f1"] for p in mine if p["labels"] == x]) for x in xs]
        lo = [np.min([p["test_macro_f1"] for p in mine if p["labels"] == x]) for x in xs]
        hi = [np.max([p["test_macro_f1"] for p in mine if p["labels"] == x]) for x in xs]
        ax.plot(xs, ys, marker="o", label=strategy)
        ax.fill_between(xs, lo, hi, alpha=0.15)
    ax.set_xlabel("labelled training tweets")
    ax.set_ylabel("test macro-F1")
    ax.set_title("Airline tweets: labels chosen by suggest vs at random")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/study-loop"))
    parser.add_argument("--preset", default="default")
    parser.add_argument("--seeds", default="0,1", help="comma-separated; each seed draws its own start set")
    parser.add_argument("--strategies", default="random,suggest,suggest+warm")
    parser.add_argument("--start", type=int, default=500)
    parser.add_argument("--step", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument("--overwrite", action="store_true", help="replace OUT's earlier study")
    args = parser.parse_args()
    refuse_to_replace(args.out / "loop.json", args.overwrite)  # its rounds' models would be replaced too
    if unknown := sorted(set(args.strategies.split(",")) - {"random", "suggest", "suggest+warm"}):
        raise SystemExit(f"--strategies: unknown {', '.join(unknown)}; choose from random, suggest, suggest+warm")
    points = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for strategy in args.strategies.split(","):
            points += loop(strategy, seed, args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "loop.json").write_text(json.dumps(points, indent=2))
    plot(points, args.plot or args.out / "labelling_loop.png")
    counts = sorted({p["labels"] for p in points})
    print(f"test macro-F1, mean +- sample std over seeds {args.seeds}:")
    print("| strategy | " + " | ".join(f"{x:,} labels" for x in counts) + " |")
    print("| --- |" + " ---: |" * len(counts))
    for strategy in dict.fromkeys(p["strategy"] for p in points):
        cells = []
        for x in counts:
            scores = [p["test_macro_f1"] for p in points if p["strategy"] == strategy and p["labels"] == x]
            cells.append(f"{np.mean(scores):.4f}" + (f" ± {np.std(scores, ddof=1):.4f}" if len(scores) > 1 else ""))
        print(f"| {strategy} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
