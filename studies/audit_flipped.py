"""How well `lstmtext audit` finds label errors: flip 5% of the airline training labels, audit, score the ranking.

The canonical split's training labels are flipped at random (seed 0) for 5% of the rows, each to one of the
other two classes; `audit` (5 folds over train + valid, the `default` preset, confident learning) ranks its
suspects, and with k = the number of flipped rows this prints precision@k (the share of the top k that were
flipped), recall of all suspects, and the same for the flipped rows that the audit could see. The test
split is never read.

The tweets carry their own label errors: each label has the annotators' agreement
(``airline_sentiment_confidence``), below 0.7 for about a quarter of the rows. The study also prints how many of
the top k rows that were not flipped are such disputed tweets, and precision@k counting them as errors too.

    .venv/bin/python studies/audit_flipped.py [--preset default] [--share 0.05] [--set model.ensemble=3]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from lstmtext.config import build_config
from lstmtext.data import load_bundled_airline
from lstmtext.data.bundled import bundled_airline_frame
from lstmtext.data.dataset import Split
from lstmtext.experiments.audit import audit, write_audit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--share", type=float, default=0.05)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/study-audit"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override, as lstmtext train --set takes it (e.g. model.ensemble=3)")
    args = parser.parse_args()

    data = load_bundled_airline()
    train = data.splits["train"]
    classes = sorted(set(train.labels))
    rng = np.random.default_rng(args.seed)
    flipped = set(rng.choice(len(train), size=int(round(args.share * len(train))), replace=False).tolist())
    labels = [rng.choice([c for c in classes if c != y]) if i in flipped else y for i, y in enumerate(train.labels)]
    rows = [f"train row {i}" for i in range(len(train))]
    valid = data.splits["valid"]
    noisy = replace(data, splits={"train": Split(train.texts, [str(y) for y in labels], rows),
                                  "valid": Split(valid.texts, valid.labels, [f"valid row {i}" for i in range(len(valid))]),
                                  "test": data.splits["test"]})
    config = build_config(args.preset, overrides=args.overrides)
    start = time.perf_counter()
    report = audit(config, noisy, args.folds, workers=os.cpu_count() or 1)
    wall = time.perf_counter() - start
    write_audit(report, args.out)
    np.save(args.out / "proba.npy", report["proba"])
    np.save(args.out / "targets.npy", report["targets"])
    np.save(args.out / "flipped.npy", np.array(sorted(flipped)))
    k = len(flipped)
    hit = [issue["where"].startswith("train row ") and int(issue["where"].split()[-1]) in flipped
           for issue in report["issues"]]
    top = hit[:k]
    frame = bundled_airline_frame()
    agreement = np.concatenate([frame.loc[frame["split"] == name, "airline_sentiment_confidence"].astype(float)
                                for name in ("train", "valid")])  # pooled order: train rows, then valid rows
    disputed = [bool(agreement[issue["row"]] < 0.7) for issue in report["issues"][:k]]
    unflipped = [d for h, d in zip(top, disputed) if not h]
    result = {"preset": args.preset, "overrides": args.overrides, "share": args.share, "flipped": k, "train_rows": len(train),
              "audited_rows": report["rows"], "suspects": len(report["issues"]),
              "precision_at_k": sum(top) / k, "hits_in_top_k": sum(top),
              "recall_all_suspects": sum(hit) / k,
              "precision_all_suspects": sum(hit) / max(1, len(hit)),
              "disputed_share_all_rows": round(float(np.mean(agreement < 0.7)), 4),
              "disputed_share_unflipped_top_k": round(sum(unflipped) / max(1, len(unflipped)), 4),
              "precision_at_k_counting_disputed": sum(h or d for h, d in zip(top, disputed)) / k,
              "wall_seconds": round(wall, 1)}
    (args.out / "study.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
