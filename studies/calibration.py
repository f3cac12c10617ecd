"""Calibration and "unsure" answers, measured on test splits (issue: predictions users can trust).

Trains the `default` preset (seed 42) on the bundled airline tweets (canonical split) and on IndoNLU SmSA
(its own train / valid / test files), with temperature scaling fitted on valid (the default), and prints
for each test split: expected calibration error (15 bins) before and after, and accuracy when answering
all, the 90% and the 80% most confident texts. Nothing here is tuned on test.

    .venv/bin/python studies/calibration.py --out runs/study-calibration

SmSA is read from $LSTMTEXT_SHARED_DATA/indonlu-smsa (docs/data.md), skipped when missing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LSTMTEXT_SHARED_DATA", ROOT.parent / "shared" / "data"))
CLI = [sys.executable, "-m", "lstmtext"]


def smsa_csv(out: Path) -> Path | None:
    folder = DATA / "indonlu-smsa"
    if not (folder / "test_preprocess.tsv").exists():
        print(f"SmSA skipped: {folder}/test_preprocess.tsv is missing")
        return None
    parts = []
    for split in ("train", "valid", "test"):
        frame = pd.read_csv(folder / f"{split}_preprocess.tsv", sep="\t", header=None, names=["text", "label"],
                            quoting=3)
        parts.append(frame.assign(split=split))
    path = out / "smsa.csv"
    pd.concat(parts).to_csv(path, index=False)
    return path


def train(name: str, args: list[str], out: Path) -> dict:
    run = out / name
    if not (run / "metrics.json").exists():
        subprocess.run([*CLI, "train", *args, "--preset", "default", "--set", "train.seed=42", "--out", str(run),
                        "--overwrite", "--quiet"], check=True)
    return json.loads((run / "metrics.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "study-calibration")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    runs = {"airline tweets": []}
    smsa = smsa_csv(out)
    if smsa is not None:
        runs["IndoNLU SmSA"] = [str(smsa), "--split-col", "split", "--set", 'preprocess.preset="id-review"',
                                "--set", "vocab.num_words=20000", "--set", "vocab.max_len=128"]
    rows = []
    for name, args in runs.items():
        m = train(name.split()[-1].lower(), args, out)
        cal = m["test"]["calibration"]
        table = cal["coverage_table"]
        rows.append((name, cal["decisions"], cal["ece_before"], cal["ece_after"], cal["temperatures"][0],
                     table["100%"]["accuracy"], table["90%"]["accuracy"], table["80%"]["accuracy"]))
    print("| test split | texts | ECE before | ECE after | temperature | accuracy, all | 90% most confident | 80% |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, n, before, after, t, a100, a90, a80 in rows:
        print(f"| {name} | {n} | {before:.4f} | {after:.4f} | {t:.3f} | {a100:.4f} | {a90:.4f} (+{(a90 - a100) * 100:.1f}) "
              f"| {a80:.4f} (+{(a80 - a100) * 100:.1f}) |")


if __name__ == "__main__":
    main()
