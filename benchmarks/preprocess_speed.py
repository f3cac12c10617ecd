"""Cleaning speed of each language preset: step by step (the reference) next to the compiled chain, texts/s.

Run from the repository root::

    .venv/bin/python benchmarks/preprocess_speed.py [--limit 4000] [--repeats 3]

Data: en-tweet on the 14,640 bundled airline tweets (all of them unless ``--limit`` is given); the others
read from $LSTMTEXT_SHARED_DATA (default ../shared/data, laid out as docs/data.md says; skipped when
missing), 4000 texts each by default: id-review on the SmSA training texts, id-news on the detik news
titles, vi-review on the NTC-SCV reviews as shipped (already segmented, so pyvi is skipped) and with their
``_`` joins undone ("unsegmented").

Columns, all in one process except the last: ``step/s`` runs :meth:`Pipeline.step_by_step` on each text
(each step on the whole text in turn: the reference); ``cold/s`` is ``clean_many`` on a new pipeline, so
every word is new to its cache (the figure to quote); ``warm/s`` is the same pipeline again (its words
cached, as in a server); ``N jobs/s`` is ``clean_many(n_jobs=N)`` on a new pipeline. A preset whose chain
has no compiled form runs step by step in all of them. Each figure is the best of ``--repeats`` runs
(orders rotate, so load from other processes hits all alike); the stemming cache is emptied before each.
Lazy loads (pyvi's model, Sastrawi's dictionary, the emoji and contractions tables) happen first, on
another pipeline, and are reported apart ("load s"). Every run's output is compared with the reference;
a difference is printed. The id-news line also gives the hit ratio of the stemming cache in a step-by-step
run. The load average is printed before and after: figures on a busy machine are low.

``--adversarial N``: instead, each preset cleans texts built to make a regex
backtrack (runs of N spaces, dots, ``<`` and spaces, ...), each next to an ordinary text of the same length (the
baseline, in the same run): a ratio far above 1 at N = 32,000 says a pattern is quadratic in the run (three were,
taking 14-22 s for one such text, before 2026-12-07).
"""

from __future__ import annotations

import os

# isort: off

import lstmtext  # noqa: E402,F401  (first: its OpenMP and oneDNN defaults are read when torch loads)

# isort: on

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from importlib import resources  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402
from machine import machine_line  # noqa: E402  (benchmarks/machine.py)

from lstmtext.preprocess import (  # noqa: E402
    Pipeline,
    indonesian,  # noqa: E402
    preprocess_preset,
)

DATA = Path(os.environ.get("LSTMTEXT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
TWEETS = Path(str(resources.files("lstmtext.resources").joinpath("data/airline-tweets/Tweets.csv")))
#: Lazy loads of every preset's resources, on a pipeline that is not timed.
WARM_UP = ["I'm &amp; gonna 😊 http://x.co :) heyyy?? Saya tidak suka makanan ini. Món ăn rất ngon"]


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


#: (preset, file, reader, default number of texts: 0 = all)
CASES: list[tuple[str, Path, Callable[[Path], list[str]], int]] = [
    ("en-tweet", TWEETS, _airline, 0),
    ("id-review", DATA / "indonlu-smsa" / "train_preprocess.tsv", _smsa, 4000),
    ("id-news", DATA / "indonesian-news-title" / "detik-news-title-balanced.csv", _news, 4000),
    ("vi-review", DATA / "ntc-scv" / "reviews.csv", _ntc, 4000),
    ("vi-review", DATA / "ntc-scv" / "reviews.csv", _ntc_unsegmented, 4000),
]


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}" if seconds > 0 else "inf"


def _runs(preset: str, texts: list[str], jobs: int) -> dict[str, Callable[[], list[str]]]:
    """The timed ways to clean ``texts``: each call starts from an empty stemming cache."""
    warm = Pipeline(**preprocess_preset(preset))
    warm.clean_many(texts[:200], n_jobs=1)

    def fresh() -> Pipeline:
        indonesian._stem_word.cache_clear()
        return Pipeline(**preprocess_preset(preset))

    def step() -> list[str]:
        pipeline = fresh()
        return [pipeline.step_by_step(t) for t in texts]

    def warm_run() -> list[str]:
        indonesian._stem_word.cache_clear()
        return warm.clean_many(texts, n_jobs=1)

    warm_run()  # fills the word cache of ``warm`` with every text's words
    return {"step": step, "cold": lambda: fresh().clean_many(texts, n_jobs=1), "warm": warm_run,
            "jobs": lambda: fresh().clean_many(texts, n_jobs=jobs)}


def _time(runs: dict[str, Callable[[], list[str]]], repeats: int) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Best seconds of each run over ``repeats`` rounds (rotating order), and each run's output."""
    names = list(runs)
    best = {n: float("inf") for n in names}
    outputs: dict[str, list[str]] = {}
    for rep in range(repeats):
        for name in names[rep % len(names):] + names[: rep % len(names)]:
            start = time.perf_counter()
            outputs[name] = runs[name]()
            best[name] = min(best[name], time.perf_counter() - start)
    return best, outputs


def _stem_note(preset: str, texts: list[str]) -> str:
    """How much of the stemming the per-word cache saved in one step-by-step run (hit ratio)."""
    indonesian._stem_word.cache_clear()
    pipeline = Pipeline(**preprocess_preset(preset))
    for text in texts:
        pipeline.step_by_step(text)
    info = indonesian.stem_cache_info()
    lookups = info.hits + info.misses
    ratio = info.hits / lookups if lookups else 0.0
    return f"stem cache hit ratio {ratio:.1%} ({info.hits:,} of {lookups:,} words, {info.misses:,} stemmed)"


#: Texts that made a pattern backtrack through a run of characters (name, the text for a run of n).
ADVERSARIAL: list[tuple[str, Callable[[int], str]]] = [
    ("spaces", lambda n: "a" + " " * n + "x"),
    ("dots", lambda n: "a" + "." * n + "x"),
    ("'<' spaces", lambda n: "<" + " " * n + "x"),
    ("'</' spaces", lambda n: "< /" + " " * n + "x"),
    ("marks", lambda n: "a" + "!?" * (n // 2) + "x"),
    ("tabs+newlines", lambda n: "a" + "\t\n" * (n // 2) + "x"),
    ("'w.'", lambda n: "w." * (n // 2)),
    ("'@'", lambda n: "@" * n + " x"),
    ("'http'", lambda n: "http" * (n // 4)),
    ("':'", lambda n: ":" * n + "x"),
]


def adversarial(n: int) -> None:
    """Seconds to clean each adversarial text of a run of ``n`` against an ordinary text as long (words of the
    airline tweets), per preset, one process, best of 2."""
    words = " ".join(_airline(TWEETS)).split()
    ordinary = " ".join(words)[:n]
    presets = sorted({preset for preset, *_ in CASES})
    for preset in presets:
        Pipeline(**preprocess_preset(preset))(WARM_UP[0])  # lazy loads
    print(f"run of {n:,} characters; seconds, best of 2 (ordinary text of the same length first)")
    print(f"{'text':<15} " + " ".join(f"{p:>10}" for p in presets))

    def best(clean: Callable[[str], str], text: str) -> float:
        times = []
        for _ in range(2):
            start = time.perf_counter()
            clean(text)
            times.append(time.perf_counter() - start)
        return min(times)

    base = {p: best(Pipeline(**preprocess_preset(p)), ordinary) for p in presets}
    print(f"{'ordinary':<15} " + " ".join(f"{base[p]:>10.3f}" for p in presets))
    for name, make in ADVERSARIAL:
        text = make(n)
        print(f"{name:<15} " + " ".join(f"{best(Pipeline(**preprocess_preset(p)), text):>10.3f}" for p in presets))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="texts per data set (0 = all; default: see above)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for the last column")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds; the best is printed")
    parser.add_argument("--adversarial", type=int, default=None, metavar="N",
                        help="time texts built to make a regex backtrack, with runs of N characters, instead")
    args = parser.parse_args()
    if args.adversarial:
        print(machine_line())
        adversarial(args.adversarial)
        return

    print(machine_line())
    print(f"load average before {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT')}; best of {args.repeats}")
    print(f"{'preset':<10} {'texts':>6} {'load s':>7} {'step/s':>9} {'cold/s':>9} {'warm/s':>9} "
          f"{f'{args.jobs} jobs/s':>9} {'cold/step':>9}  notes")
    for preset, path, read, default_limit in CASES:
        if not path.is_file():
            print(f"{preset:<10} skipped: {path} not found")
            continue
        texts = read(path)
        limit = default_limit if args.limit is None else args.limit
        if limit > 0:
            texts = texts[:limit]

        start = time.perf_counter()
        for text in WARM_UP + texts[:5]:
            Pipeline(**preprocess_preset(preset))(text)
        load = time.perf_counter() - start

        best, outputs = _time(_runs(preset, texts, args.jobs), args.repeats)
        reference = outputs["step"]
        notes = "".join(f"{name.upper()} OUTPUT DIFFERS; " for name in ("cold", "warm", "jobs")
                        if outputs[name] != reference)
        notes += "compiled; " if Pipeline(**preprocess_preset(preset))._compiled else "no compiled form; "
        if read is _ntc_unsegmented:
            notes += "unsegmented input (pyvi runs); "
        if "stem_id" in preprocess_preset(preset)["steps"]:
            notes += _stem_note(preset, texts)
        n = len(texts)
        name = f"{preset}*" if read is _ntc_unsegmented else preset  # two vi-review rows: * is pyvi's
        print(f"{name:<10} {n:>6} {load:>7.2f} {_rate(n, best['step']):>9} {_rate(n, best['cold']):>9} "
              f"{_rate(n, best['warm']):>9} {_rate(n, best['jobs']):>9} {best['step'] / best['cold']:>8.2f}x  {notes}")
    print("* the same reviews with their _ joins undone, so that pyvi segments them")
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
