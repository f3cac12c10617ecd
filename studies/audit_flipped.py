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

Another labelled file instead of the bundled tweets (its own train and valid splits; the disputed-tweet figures
are then left out), e.g. IndoNLU SmSA:

    .venv/bin/python studies/audit_flipped.py --data train_preprocess.tsv --valid valid_preprocess.tsv \
        --no-header --set preprocess.preset=id-review --set vocab.max_len=128 --out runs/study-audit-smsa

The audit averages the preset's out-of-fold probabilities with TF-IDF + logistic regression's (``--no-tfidf``:
the preset alone); the study also prints the precision@k each of the two would give alone.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from common import refuse_to_replace  # studies/common.py

from lstmtext.config import build_config
from lstmtext.data import load_bundled_airline
from lstmtext.data.bundled import bundled_airline_frame
from lstmtext.data.dataset import Split
from lstmtext.experiments.audit import audit, write_audit
from lstmtext.models.heads import OutputLayout
from lstmtext.tasks import get_task
from lstmtext.tasks.quality import label_issues


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--share", type=float, default=0.05)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/study-audit"))
    parser.add_argument("--data", type=Path, help="a labelled file (default: the bundled airline tweets)")
    parser.add_argument("--valid", type=Path, help="its valid split, as lstmtext train --valid takes it")
    parser.add_argument("--no-header", action="store_true", help="the files have no header row")
    parser.add_argument("--no-tfidf", action="store_true", help="the preset alone, as lstmtext audit --no-tfidf")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override, as lstmtext train --set takes it (e.g. model.ensemble=3)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier study's results in OUT")
    args = parser.parse_args()
    refuse_to_replace(args.out / "study.json", args.overwrite)  # written only after minutes of folds
    if args.valid and not args.data:
        raise SystemExit("--valid: give --data too (the bundled tweets have their own valid split)")

    config = build_config(args.preset, overrides=args.overrides)
    data = load_bundled_airline() if args.data is None else \
        get_task(config.task).load(args.data, config, valid_path=args.valid, header=not args.no_header)
    train = data.splits["train"]
    classes = sorted(set(train.labels))
    rng = np.random.default_rng(args.seed)
    size = int(round(args.share * len(train)))
    if size < 1:
        raise SystemExit(f"--share {args.share} flips no row of {len(train):,}: give at least {1 / len(train):.2g}")
    flipped = set(rng.choice(len(train), size=size, replace=False).tolist())
    labels = [rng.choice([c for c in classes if c != y]) if i in flipped else y for i, y in enumerate(train.labels)]
    rows = [f"train row {i}" for i in range(len(train))]
    valid = data.splits["valid"]
    noisy = replace(data, splits={"train": Split(train.texts, [str(y) for y in labels], rows),
                                  "valid": Split(valid.texts, valid.labels, [f"valid row {i}" for i in range(len(valid))]),
                                  **({"test": data.splits["test"]} if "test" in data.splits else {})})
    start = time.perf_counter()
    report = audit(config, noisy, args.folds, workers=os.cpu_count() or 1, tfidf=not args.no_tfidf)
    wall = time.perf_counter() - start
    write_audit(report, args.out)
    np.save(args.out / "proba.npy", report["proba"])
    np.save(args.out / "targets.npy", report["targets"])
    np.save(args.out / "flipped.npy", np.array(sorted(flipped)))
    k = len(flipped)
    hit = [issue["where"].startswith("train row ") and int(issue["where"].split()[-1]) in flipped
           for issue in report["issues"]]
    top = hit[:k]
    result = {"preset": args.preset, "overrides": args.overrides, "data": data.source, "share": args.share,
              "flipped": k, "train_rows": len(train), "audited_rows": report["rows"], "suspects": len(report["issues"]),
              "precision_at_k": sum(top) / k, "hits_in_top_k": sum(top),
              "recall_all_suspects": sum(hit) / k,
              "precision_all_suspects": sum(hit) / max(1, len(hit))}
    if args.data is None:
        frame = bundled_airline_frame()
        agreement = np.concatenate([frame.loc[frame["split"] == name, "airline_sentiment_confidence"].astype(float)
                                    for name in ("train", "valid")])  # pooled order: train rows, then valid rows
        disputed = [bool(agreement[issue["row"]] < 0.7) for issue in report["issues"][:k]]
        unflipped = [d for h, d in zip(top, disputed) if not h]
        result.update(disputed_share_all_rows=round(float(np.mean(agreement < 0.7)), 4),
                      disputed_share_unflipped_top_k=round(sum(unflipped) / max(1, len(unflipped)), 4),
                      precision_at_k_counting_disputed=sum(h or d for h, d in zip(top, disputed)) / k)
    result.update(scored_by=report["scored_by"], precision_at_k_alone=_precision_alone(report, flipped, len(train)),
                  wall_seconds=round(wall, 1))
    (args.out / "study.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


def _precision_alone(report: dict, flipped: set[int], n_train: int) -> dict[str, float]:
    """precision@k of the list each member's out-of-fold probabilities alone would give (``audit --no-tfidf`` for
    the preset)."""
    k, width = len(flipped), report["proba"].shape[1]
    out = {}
    for name, proba in (report.get("proba_alone") or {}).items():
        issues = label_issues(proba, report["targets"], OutputLayout((width,)), [str(c) for c in range(width)], [""])
        out[name] = sum(i["row"] < n_train and i["row"] in flipped for i in issues[:k]) / k
    return out


if __name__ == "__main__":
    main()
