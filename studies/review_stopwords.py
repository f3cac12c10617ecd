"""id-review's keep list, measured: the stopwords that carry a review's polarity kept (REVIEW_KEEP) or removed.

Trains the `default` preset with the `id-review` cleaning (and `vocab.max_len=128`) on IndoNLU SmSA's own
train / valid / test files, once per seed with each keep list, and prints valid macro-F1 (what the choice was
made on) and the test split's accuracy and macro-F1, read once, with the means over the seeds.

    .venv/bin/python studies/review_stopwords.py --out runs/study-stopwords [--seeds 1,2,3,4,5]

SmSA is read from $LSTMTEXT_SHARED_DATA/indonlu-smsa (docs/data.md). Results on 2026-12-06 are in
docs/languages.md (cleaning choices measured on valid splits).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import ROOT, refuse_to_replace, smsa_csv  # studies/common.py

from lstmtext.config import build_config
from lstmtext.pipeline import run
from lstmtext.preprocess.indonesian import DEFAULT_KEEP, REVIEW_KEEP

LISTS = {"DEFAULT_KEEP (before)": DEFAULT_KEEP, "REVIEW_KEEP (id-review now)": REVIEW_KEEP}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "study-stopwords")
    parser.add_argument("--seeds", default="1,2,3,4,5", help="comma-separated train.seed values")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier study's results in OUT")
    args = parser.parse_args()
    refuse_to_replace(args.out / "review_stopwords.json", args.overwrite)
    data = smsa_csv(args.out)
    if data is None:  # nothing to measure: a failure, not a study that ran
        raise SystemExit("review_stopwords measures on IndoNLU SmSA: set LSTMTEXT_SHARED_DATA (docs/data.md)")
    seeds = [int(s) for s in args.seeds.split(",")]
    table = {}
    for name, keep in LISTS.items():
        rows = []
        for seed in seeds:
            config = build_config("default", overrides=[
                f"train.seed={seed}", 'data.split_col="split"', 'preprocess.preset="id-review"', "vocab.max_len=128",
                "preprocess.options.remove_stopwords_id.keep=" + json.dumps(list(keep))])
            metrics = run(config, data, None, progress=False).metrics
            rows.append({"seed": seed, "valid_macro_f1": metrics["valid"]["macro_f1"],
                         "test_accuracy": metrics["test"]["accuracy"], "test_macro_f1": metrics["test"]["macro_f1"]})
            print(name, json.dumps({k: round(v, 4) for k, v in rows[-1].items()}), flush=True)
        table[name] = rows
    (args.out / "review_stopwords.json").write_text(json.dumps(table, indent=1))
    print("| keep list | valid macro-F1 | test accuracy | test macro-F1 |\n| --- | ---: | ---: | ---: |")
    for name, rows in table.items():
        means = [sum(r[k] for r in rows) / len(rows) for k in ("valid_macro_f1", "test_accuracy", "test_macro_f1")]
        print(f"| {name} | " + " | ".join(f"{m:.4f}" for m in means) + " |")


if __name__ == "__main__":
    main()
