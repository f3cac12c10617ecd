"""Cleaning speed of each language preset: texts per second in one process and with ``clean_many(n_jobs=2)``.

Run from the repository root::

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/preprocess_speed.py [--limit 4000]

Data (read from $LSTMTEXT_SHARED_DATA, default ../shared/data, laid out as docs/data.md says; skipped when missing): en-tweet on the airline tweets, id-review on the
SmSA training texts, id-news on the detik news titles, vi-review on the NTC-SCV reviews as shipped
(already segmented, so pyvi is skipped) and with their ``_`` joins undone ("unsegmented"). Each preset is
built and run once on a few texts first, so loading pyvi's model or Sastrawi's dictionary is reported
apart ("load s"). Both timed runs start with an empty stemming cache (the pool's workers are forked from
this process, so they would otherwise inherit a warm one); the id-news line also prints the cache hit
ratio of the one-process run, i.e. how much of the stemming the per-word cache saved.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from lstmtext.preprocess import (  # noqa: E402
    Pipeline,
    indonesian,  # noqa: E402
    preprocess_preset,
)

DATA = Path(os.environ.get("LSTMTEXT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def _airline(path: Path) -> list[str]:
    return pd.read_csv(path)["text"].astype(str).tolist()


def _smsa(path: Path) -> list[str]:
    return pd.read_csv(path, sep="\t", header=None, names=["text", "label"])["text"].astype(str).tolist()


def _news(path: Path) -> list[str]:
    return pd.read_csv(path)["title"].astype(str).tolist()


def _ntc(path: Path) -> list[str]:
    return pd.read_csv(path)["text"].astype(str).tolist()


def _ntc_unsegmented(path: Path) -> list[str]:
    """NTC-SCV with its ``_`` joins undone, so that segment_vi runs pyvi on every review."""
    return [text.replace("_", " ") for text in _ntc(path)]


CASES: list[tuple[str, Path, Callable[[Path], list[str]]]] = [
    ("en-tweet", DATA / "airline-tweets" / "Tweets.csv", _airline),
    ("id-review", DATA / "indonlu-smsa" / "train_preprocess.tsv", _smsa),
    ("id-news", DATA / "indonesian-news-title" / "detik-news-title-balanced.csv", _news),
    ("vi-review", DATA / "ntc-scv" / "reviews.csv", _ntc),
    ("vi-review", DATA / "ntc-scv" / "reviews.csv", _ntc_unsegmented),
]


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}" if seconds > 0 else "inf"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=4000, help="texts per data set (0 = all)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for clean_many")
    args = parser.parse_args()

    print(f"{'preset':<10} {'texts':>6} {'load s':>7} {'1 proc/s':>9} {f'{args.jobs} jobs/s':>9} {'speedup':>7}  notes")
    for preset, path, read in CASES:
        if not path.is_file():
            print(f"{preset:<10} skipped: {path} not found")
            continue
        texts = read(path)
        if args.limit > 0:
            texts = texts[: args.limit]

        start = time.perf_counter()
        pipeline = Pipeline(**preprocess_preset(preset))
        for text in texts[:5]:
            pipeline(text)
        load = time.perf_counter() - start

        indonesian._stem_word.cache_clear()
        start = time.perf_counter()
        serial = [pipeline(t) for t in texts]
        one = time.perf_counter() - start
        info = indonesian.stem_cache_info()

        indonesian._stem_word.cache_clear()
        start = time.perf_counter()
        parallel = pipeline.clean_many(texts, n_jobs=args.jobs)
        many = time.perf_counter() - start

        notes = "" if parallel == serial else "PARALLEL OUTPUT DIFFERS; "
        if read is _ntc_unsegmented:
            notes += "unsegmented input (pyvi runs); "
        if "stem_id" in pipeline.steps:
            lookups = info.hits + info.misses
            ratio = info.hits / lookups if lookups else 0.0
            notes += f"stem cache hit ratio {ratio:.1%} ({info.hits:,} of {lookups:,} words, {info.misses:,} stemmed)"
        print(
            f"{preset:<10} {len(texts):>6} {load:>7.2f} {_rate(len(texts), one):>9} {_rate(len(texts), many):>9} "
            f"{one / many if many else 0:>6.2f}x  {notes}"
        )


if __name__ == "__main__":
    main()
