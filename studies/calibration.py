"""Calibration and "unsure" answers, measured on test splits (issue: predictions users can trust).

Trains the `default` preset (seed 42) on the bundled airline tweets (canonical split) and on IndoNLU SmSA
(its own train / valid / test files), with temperature scaling fitted on valid (the default), and prints
for each test split: expected calibration error (15 bins) before and after, and accuracy when answering
all, the 90% and the 80% most confident texts (each read off the test split's own confidences, no labels), and
what the cut chosen on valid's confidences for 90% answers on test (the share, and its accuracy): the figure a
``--min-confidence`` chosen on valid gets. Nothing here is tuned on test.

    .venv/bin/python studies/calibration.py --out runs/study-calibration [--reuse | --overwrite]

SmSA is read from $LSTMTEXT_SHARED_DATA/indonlu-smsa (docs/data.md), skipped when missing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from common import ROOT, smsa_csv  # studies/common.py

CLI = [sys.executable, "-m", "lstmtext"]


def train(name: str, args: list[str], out: Path, reuse: str | None) -> dict:
    """The run's metrics: trained now (``reuse`` "overwrite": replacing an earlier run in OUT), or read back from
    the earlier run of the same command (``reuse`` "reuse"); without either an earlier run stops the study."""
    run = out / name
    command = [*args, "--preset", "default", "--set", "train.seed=42"]
    stamp = run / "study_command.json"
    if (run / "metrics.json").exists() and reuse != "overwrite":
        if reuse != "reuse":
            raise SystemExit(f"{run}: holds an earlier run. Give --reuse to report it (same command only), "
                             "--overwrite to train it again, or another --out.")
        if not stamp.exists() or json.loads(stamp.read_text()) != command:
            raise SystemExit(f"{run}: was trained with another command than this study's; --overwrite trains it again.")
    else:
        subprocess.run([*CLI, "train", *command, "--out", str(run), "--overwrite", "--quiet"], check=True)
        stamp.write_text(json.dumps(command))
    return json.loads((run / "metrics.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "study-calibration")
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--reuse", dest="again", action="store_const", const="reuse",
                       help="report the runs an earlier study left in OUT instead of training them again")
    again.add_argument("--overwrite", dest="again", action="store_const", const="overwrite",
                       help="train again, replacing the runs an earlier study left in OUT")
    parsed = parser.parse_args()
    out = parsed.out
    out.mkdir(parents=True, exist_ok=True)
    runs = {"airline tweets": []}
    smsa = smsa_csv(out)
    if smsa is not None:
        runs["IndoNLU SmSA"] = [str(smsa), "--split-col", "split", "--set", 'preprocess.preset="id-review"',
                                "--set", "vocab.num_words=20000", "--set", "vocab.max_len=128"]
    rows = []
    for name, args in runs.items():
        m = train(name.split()[-1].lower(), args, out, parsed.again)
        cal = m["test"]["calibration"]
        table = cal["coverage_table"]
        at_valid = cal["at_chosen_cuts"]["90%"]  # the cut a user would deploy: chosen on valid's confidences
        rows.append((name, cal["decisions"], cal["ece_before"], cal["ece_after"], cal["temperatures"][0],
                     table["100%"]["accuracy"], table["90%"]["accuracy"], table["80%"]["accuracy"], at_valid))
    print("| test split | texts | ECE before | ECE after | temperature | accuracy, all | 90% most confident | 80% "
          "| at valid's 90% cut: answered, accuracy |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, n, before, after, t, a100, a90, a80, at in rows:
        print(f"| {name} | {n} | {before:.4f} | {after:.4f} | {t:.3f} | {a100:.4f} | {a90:.4f} (+{(a90 - a100) * 100:.1f}) "
              f"| {a80:.4f} (+{(a80 - a100) * 100:.1f}) | {at['coverage']:.1%}, {at['accuracy']:.4f} "
              f"(+{(at['accuracy'] - a100) * 100:.1f}) |")


if __name__ == "__main__":
    main()
