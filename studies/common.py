"""What the studies share: where the data sets are, SmSA as one CSV, and not replacing an earlier study's results.

The data sets are read from the folder the environment variable ``LSTMTEXT_SHARED_DATA`` names, laid out as
docs/data.md says (``export LSTMTEXT_SHARED_DATA=$PWD/data``); without it, ``shared/data`` beside the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LSTMTEXT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def smsa_csv(out: Path) -> Path | None:
    """IndoNLU SmSA's three files as ``OUT/smsa.csv`` (columns text, label, split); None, said, when missing."""
    import pandas as pd

    folder = DATA / "indonlu-smsa"
    if not (folder / "test_preprocess.tsv").exists():
        print(f"SmSA skipped: {folder}/test_preprocess.tsv is missing (set LSTMTEXT_SHARED_DATA, docs/data.md)")
        return None
    parts = [pd.read_csv(folder / f"{split}_preprocess.tsv", sep="\t", header=None, names=["text", "label"],
                         quoting=3).assign(split=split) for split in ("train", "valid", "test")]
    out.mkdir(parents=True, exist_ok=True)
    path = out / "smsa.csv"
    pd.concat(parts).to_csv(path, index=False)
    return path


def refuse_to_replace(path: Path, overwrite: bool) -> None:
    """Stop before a study's minutes of runs would replace the results an earlier one left at ``path``."""
    if path.exists() and not overwrite:
        raise SystemExit(f"{path}: holds an earlier study's results. Give another --out, or --overwrite.")
