"""vi-review's known limits, measured on NTC-SCV: text emoticons, the spellings of *không*, tone-mark placement.

Variants of the `vi-review` chain (each adds to the chain as it was):

* ``base``: the chain before this study (emoji and text emoticons deleted, the k of a price kept);
* ``units``: ``remove_digits`` with ``units`` (``50k`` removed whole, not left as ``k``);
* ``emo``: emoji and text emoticons as words (``emoji_to_words``, ``text_emoticons_to_words``: ``: )`` -> smiley);
* ``slang``: ``normalize_slang_vi`` (``ko``, ``k``, ``hok`` -> ``không``; ``đc`` -> ``được``), with ``units``;
* ``tone``: ``unify_vi_tone_marks`` (``hoà`` -> ``hòa``);
* ``all``: the four together.

Two measures, neither reading the test split for the choice: TF-IDF 1-2-grams + logistic regression (lstmtext's
baseline vectoriser, C = 10), 5-fold cross-validation repeated twice over NTC-SCV's train + valid rows (4,500
reviews of lstmtext's seeded 80/10/10 split); and the `default` preset (``vocab.max_len=256``) trained per seed,
scored on the valid split. The preset runs also score the test split (500 reviews), saved in
``OUT/vi_cleaning.json``; printed with ``--test``, once the choice is made.

    .venv/bin/python studies/vi_cleaning.py [--tfidf] [--variants base,all] [--seeds 1,2,3] [--test] [--out runs/study-vi-cleaning]

NTC-SCV is read from $LSTMTEXT_SHARED_DATA/ntc-scv (docs/data.md). Results on 2026-12-06 are in docs/languages.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np
from common import DATA as SHARED  # studies/common.py
from common import ROOT, refuse_to_replace

from lstmtext.config import build_config
from lstmtext.pipeline import run
from lstmtext.pipeline.prepare import load_data
from lstmtext.preprocess import Pipeline

DATA = SHARED / "ntc-scv" / "reviews.csv"
# The chain as it was before this study (the vi-review preset of 2026-12-06 morning).
BASE = ["fix_vi_diacritics_v2", "normalize_unicode", "remove_urls", "html_entities", "strip_html_tags",
        "strip_spaced_html_tags", "remove_emoji", "remove_text_emoticons", "punctuation_to_space", "remove_digits",
        "normalize_whitespace", "segment_vi", "lowercase"]
VARIANTS = ("base", "units", "emo", "slang", "tone", "all")


def chain(name: str) -> tuple[list[str], dict]:
    """The steps and options of variant ``name``."""
    steps, options = list(BASE), {}
    if name in ("emo", "all"):
        steps = [{"remove_emoji": "emoji_to_words", "remove_text_emoticons": "text_emoticons_to_words"}.get(s, s)
                 for s in steps]
    if name in ("slang", "all"):
        steps.insert(steps.index("remove_digits"), "normalize_slang_vi")
    if name in ("units", "slang", "all"):
        options["remove_digits"] = {"units": True}
    if name in ("tone", "all"):
        steps.insert(steps.index("normalize_unicode") + 1, "unify_vi_tone_marks")
    return steps, options


def tfidf_cv(names: list[str]) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    raw = load_data(build_config(None, extra={"data": {"text_col": "text", "label_col": "label"},
                                              "preprocess": {"preset": "none"}}), DATA)
    texts = [*raw.splits["train"].texts, *raw.splits["valid"].texts]
    labels = np.array([*raw.splits["train"].labels, *raw.splits["valid"].labels])
    for name in names:
        steps, options = chain(name)
        cleaned = Pipeline(steps, options).clean_many(texts)
        model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=None,
                                              tokenizer=str.split, lowercase=False),
                              LogisticRegression(C=10.0, max_iter=2000))
        folds = RepeatedStratifiedKFold(n_splits=5, n_repeats=2, random_state=0)
        scores = cross_val_score(model, cleaned, labels, cv=folds, scoring="f1_macro")
        print(f"TF-IDF + LR, {name}: CV macro-F1 {scores.mean():.4f} (folds' std {scores.std():.4f})", flush=True)


def preset_runs(names: list[str], seeds: list[int], show_test: bool, out: Path) -> None:
    rows: dict[str, list[dict]] = {name: [] for name in names}
    for seed in seeds:
        for name in names:
            steps, options = chain(name)
            overrides = [f"train.seed={seed}", 'data.text_col="text"', 'data.label_col="label"', "vocab.max_len=256",
                         "preprocess.steps=" + json.dumps(steps)]
            overrides += [f"preprocess.options.{step}.{key}={json.dumps(value)}"
                          for step, opts in options.items() for key, value in opts.items()]
            metrics = run(build_config("default", overrides=overrides), DATA, None, progress=False).metrics
            row = {"seed": seed, "valid_macro_f1": metrics["valid"]["macro_f1"],
                   "valid_accuracy": metrics["valid"]["accuracy"], "test_macro_f1": metrics["test"]["macro_f1"],
                   "test_accuracy": metrics["test"]["accuracy"]}
            rows[name].append(row)
            out.write_text(json.dumps(rows, indent=1))
            print(name, json.dumps({k: round(v, 4) for k, v in row.items() if show_test or "test" not in k}), flush=True)
    keys = [k for k in rows[names[0]][0] if k != "seed" and (show_test or "test" not in k)]
    print("| variant | " + " | ".join(keys) + " |\n| --- |" + " ---: |" * len(keys))
    for name, got in rows.items():
        print(f"| {name} | " + " | ".join(f"{statistics.mean(r[k] for r in got):.4f}" for k in keys) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tfidf", action="store_true", help="the TF-IDF cross-validation only")
    parser.add_argument("--variants", default="base,all", help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated train.seed values")
    parser.add_argument("--test", action="store_true", help="also print the test split's scores (always saved)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "study-vi-cleaning")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier study's results in OUT")
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"{DATA} is missing (set LSTMTEXT_SHARED_DATA, docs/data.md)")
    names = args.variants.split(",")
    if unknown := sorted(set(names) - set(VARIANTS)):
        raise SystemExit(f"--variants: unknown {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    if args.tfidf:
        tfidf_cv(names)
    else:
        refuse_to_replace(args.out / "vi_cleaning.json", args.overwrite)
        args.out.mkdir(parents=True, exist_ok=True)
        preset_runs(names, [int(s) for s in args.seeds.split(",")], args.test, args.out / "vi_cleaning.json")


if __name__ == "__main__":
    main()
