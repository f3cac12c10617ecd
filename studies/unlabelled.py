"""Few labels plus unlabelled text: the airline tweets with 10% of the training labels.

For each seed, a stratified 10% of the canonical training split keeps its labels; the other 90% of the
training texts become the unlabelled file (`--unlabelled`). Canonical valid (early stopping, calibration)
and test (the figures, read once per run). Models: the `default` and `bilstm` presets without and with the
unlabelled text, and TF-IDF 1-2-grams + logistic regression with 10% and with 100% of the labels (the project's
baseline, ``lstmtext.experiments.baselines.tfidf_logreg``: C chosen on valid, as in every comparison).

    .venv/bin/python studies/unlabelled.py --out runs/study-unlabelled [--seeds 0,1,2] [--presets default,bilstm]

``--presets ""`` runs the TF-IDF rows alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from lstmtext.config import build_config
from lstmtext.data import LabelledData, load_bundled_airline
from lstmtext.experiments.baselines import tfidf_logreg
from lstmtext.pipeline import run
from lstmtext.preprocess import build_pipeline
from lstmtext.tasks import get_task


def tfidf(data: LabelledData, clean) -> float:
    """Test macro-F1 of TF-IDF + logistic regression on ``data``'s cleaned splits, C chosen on valid."""
    cleaned = replace(data, splits={k: replace(v, texts=clean(v.texts)) for k, v in data.splits.items()})
    return tfidf_logreg(cleaned, get_task("classify").from_data(cleaned, build_config(None)))["metrics"]["macro_f1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/study-unlabelled"))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--share", type=float, default=0.1)
    parser.add_argument("--presets", default="default,bilstm")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    data = load_bundled_airline()
    train = data.splits["train"]
    clean = build_pipeline(build_config("default")).clean_many
    results: dict[str, list[float]] = {}
    for seed in [int(s) for s in args.seeds.split(",")]:
        rows = np.arange(len(train))
        keep, rest = train_test_split(rows, train_size=args.share, stratify=train.labels, random_state=seed)
        raw = args.out / f"unlabelled_s{seed}.txt"
        raw.write_text("\n".join(" ".join(train.texts[i].split()) for i in rest) + "\n", encoding="utf-8")
        part = replace(data, splits={**data.splits, "train": train.take(sorted(keep.tolist()))})
        for preset in [p for p in args.presets.split(",") if p]:
            for with_unlabelled in (False, True):
                name = preset + (" + unlabelled" if with_unlabelled else "") + f", {args.share:.0%} labels"
                extra = {"train": {"seed": seed}}
                if with_unlabelled:
                    extra["data"] = {"unlabelled": str(raw)}
                result = run(build_config(preset, extra=extra), part, None, progress=False)
                results.setdefault(name, []).append(result.metrics["test"]["macro_f1"])
                print(json.dumps({"seed": seed, "model": name, "labels": len(keep),
                                  "test_macro_f1": result.metrics["test"]["macro_f1"],
                                  "valid_macro_f1": result.metrics["valid"]["macro_f1"]}), flush=True)
        results.setdefault(f"tfidf_logreg, {args.share:.0%} labels", []).append(tfidf(part, clean))
    results["tfidf_logreg, 100% labels"] = [tfidf(data, clean)]
    # the rows this call did not run stay (--presets "": the LSTM rows), when they are of the same seeds; each
    # row names its share of the labels
    kept = args.out / "results.json"
    earlier = json.loads(kept.read_text()) if kept.is_file() else {}
    if earlier.get("seeds") == args.seeds:
        results = {**earlier["rows"], **results}
    elif earlier:
        print(f"{kept}: its rows are of other seeds (or an older layout), so they are replaced")
    kept.write_text(json.dumps({"seeds": args.seeds, "rows": results}, indent=2))
    print("| model | test macro-F1 | seeds |")
    print("| --- | ---: | ---: |")
    for name, values in results.items():
        spread = f" ± {statistics.stdev(values):.4f}" if len(values) > 1 else ""
        print(f"| {name} | {statistics.mean(values):.4f}{spread} | {len(values)} |")


if __name__ == "__main__":
    main()
