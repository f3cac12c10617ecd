"""How long one explanation takes: occlusion of one tweet and of one 256-token review, per preset's model.

Occlusion reads the text and its T one-token-shorter copies in one batch (``lstmtext.explain.attributions``).
Goals (issue 16): one tweet in <= 50 ms, one 256-token review in <= 500 ms on 2 cores. Next to each figure, the
same model's plain prediction of the one text (the floor: one forward pass). Weights are untrained: the time
does not depend on them. Median over repeats, after a warm-up; threads as given (default: every core).

    python benchmarks/explain_speed.py [--presets default,absa] [--repeats 10] [--threads 2]    # default: every preset
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

# isort: off

import lstmtext  # noqa: E402,F401  (first: its OpenMP and oneDNN defaults are read when torch loads)

# isort: on

import torch  # noqa: E402
from machine import machine_line  # noqa: E402  (benchmarks/machine.py)

from lstmtext.config import build_config  # noqa: E402
from lstmtext.config.presets import available_presets  # noqa: E402
from lstmtext.data import load_bundled_airline  # noqa: E402
from lstmtext.encoding.encoder import TextEncoder  # noqa: E402
from lstmtext.errors import ConfigError  # noqa: E402
from lstmtext.explain.attributions import explain_texts  # noqa: E402
from lstmtext.explain.gates import check_explainable, explain_text  # noqa: E402
from lstmtext.inference.bundle import Bundle  # noqa: E402
from lstmtext.inference.predictor import Predictor  # noqa: E402
from lstmtext.models import build_model  # noqa: E402
from lstmtext.preprocess import build_pipeline  # noqa: E402
from lstmtext.tasks import get_task  # noqa: E402


def _bundle(preset: str, texts: list[str], labels: list[str]) -> Bundle:
    config = build_config(preset, overrides=['model.embedding.kind="random"', "vocab.max_len=256"])
    encoder = TextEncoder.fit(build_pipeline(config), texts, config.vocab)
    if config.task == "absa":  # the aspect preset: 6 aspects of 4 labels, as IndoNLU CASA
        task = get_task("absa")({f"aspect{j}": ["negative", "neutral", "positive", "x"] for j in range(6)}, config)
    else:
        task = get_task("classify")(sorted(set(labels)), config)
    torch.manual_seed(0)
    model = build_model(config.model, len(encoder.vocab), task.layout, **task.model_kwargs()).eval()
    return Bundle(config, encoder, task, model, {}, {})


def _review(bundle: Bundle, words: list[str], n_tokens: int) -> str:
    """The longest first words of ``words`` that the bundle's cleaning turns into at most ``n_tokens`` tokens, so
    that the model reads the whole text (256 raw words had left 157 tokens for `default`, 235 for `absa`)."""
    clean = bundle.encoder.pipeline
    low, high = 0, len(words)
    while low < high:  # tokens grow with the words
        mid = (low + high + 1) // 2
        if len(clean(" ".join(words[:mid])).split()) <= n_tokens:
            low = mid
        else:
            high = mid - 1
    if len(clean(" ".join(words[:low])).split()) < n_tokens - 2:
        raise SystemExit(f"the airline tweets' first {len(words):,} words clean to fewer than {n_tokens} tokens")
    return " ".join(words[:low])


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default=None, help="comma-separated presets (default: every preset)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    train = load_bundled_airline().splits["train"]
    tweet = "@united thanks for the quick rebooking, great crew! but my bag is still lost in denver"
    words = " ".join(train.texts[:300]).split()  # tweets read as one long text
    print(machine_line())
    print(f"torch threads {torch.get_num_threads()}; tweet {len(tweet.split())} words; review: the first words of "
          "the airline tweets that clean to 256 tokens for the preset (tokens the model reads are printed)")
    print(f"{'preset':14} {'tokens':>13} {'tweet explain ms':>17} {'tweet predict ms':>17} {'review explain ms':>18} "
          f"{'review predict ms':>18} {'review gate view ms':>20}  goals (tweet <= 50 ms, review <= 500 ms)")
    missed = []
    for preset in args.presets.split(",") if args.presets else available_presets():
        bundle = _bundle(preset, train.texts, train.labels)
        predictor = Predictor(bundle)
        review = _review(bundle, words, 256)
        tokens = [len(ids) for ids in bundle.encoder.encode([tweet, review])]
        cells = []
        for text, repeats in ((tweet, args.repeats), (review, max(5, args.repeats // 5))):
            cells.append(_median_ms(lambda t=text: explain_texts(bundle, [t]), repeats))
            cells.append(_median_ms(lambda t=text: predictor.predict([t]), repeats))
        met = cells[0] <= 50 and cells[2] <= 500
        missed += [] if met else [preset]
        try:  # `lstmtext explain` also prints the gate view of a one-layer LSTM read at its last token
            check_explainable(bundle)
            gates = f"{_median_ms(lambda: explain_text(bundle, review), max(3, args.repeats // 10)):20.1f}"
        except ConfigError:
            gates = f"{'-':>20}"
        print(f"{preset:14} {tokens[0]:>6} / {tokens[1]:>4} {cells[0]:17.1f} {cells[1]:17.1f} {cells[2]:18.1f} {cells[3]:18.1f} "
              f"{gates}  {'met' if met else 'MISSED'}", flush=True)
    print(f"goals: tweet <= 50 ms, 256-token review <= 500 ms; missed by: {', '.join(missed) or 'none'} "
          f"(load average now {os.getloadavg()[0]:.2f}: figures on a busy machine are high)")


if __name__ == "__main__":
    main()
