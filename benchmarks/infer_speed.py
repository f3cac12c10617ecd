"""Inference speed of each engine on the airline tweets: batch texts/s, single-text latency, test accuracy.

Run from the repository root (the bundle from e.g. ``lstmtext train --preset default --out runs/demo``)::

    .venv/bin/python benchmarks/infer_speed.py runs/demo [--threads 2]

Engines: ``auto`` (what ``load_predictor(bundle)``, ``predict`` and ``serve`` pick by default), ``padded
loop`` (plain PyTorch: every batch padded to the encoder's max_len, in input order, torch's nn.LSTM run over the
padding as a Keras-style loop does; each direction ends on real tokens, so it answers as the model does), ``torch`` (the library's Predictor: batches sorted
by length, packed sequences), ``torch-bf16`` (the same, batches of one length each, LSTM layers in bfloat16 on
a CPU with bf16 instructions), ``onnx`` and ``onnx-int8`` (ONNX Runtime; the graphs are built in memory
from the bundle when it holds no exported file).

The baseline in the same run is fastText (``lstmtext.experiments.baselines.fasttext_supervised``: word
bigrams, dim 50, 25 epochs, one training thread; trained here on the bundled tweets' training split) behind
a regex cleaning (lower case, URLs and @mentions dropped, punctuation split off): its model-only and end-to-end texts/s, its single-text latency and
its test accuracy are printed in the same table, and each engine's end-to-end figure as a ratio of
fastText's (the goal of issue #17 is >= 1.0x for the default engine). The machine's measured fp32 and bf16
product rate is printed first.

Batch throughput is for the model on already encoded texts (all 14,485 bundled tweets), each engine run
``--repeats`` times in a rotating order so that load from other processes hits all alike; medians are
printed, with the model's texts per CPU-second of the process (all its threads; time spent waiting for a
core is not counted, so this figure says what the code costs even on a busy machine). Cleaning and
encoding are timed apart (median of ``--repeats``, each with a newly loaded encoder, so no word is in its
cache), and the end-to-end figure adds them. Latency is
one raw text per call (cleaning included), over ``--latency-n`` tweets. The load average is printed before
and after: figures taken on a busy machine are low.
"""

from __future__ import annotations

import os
import sys

# isort: off

import lstmtext  # noqa: E402,F401  (first: its OpenMP and oneDNN defaults are read when torch loads)

# isort: on

import argparse  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from machine import machine_rate, rate_line  # noqa: E402  (benchmarks/machine.py)
from torch import nn  # noqa: E402

from lstmtext.data import load_bundled_airline  # noqa: E402
from lstmtext.experiments.baselines import fasttext_supervised  # noqa: E402
from lstmtext.inference.engines import DEFAULT_BATCH_SIZE, load_predictor  # noqa: E402
from lstmtext.training.loop import predict_logits  # noqa: E402

Proba = Callable[[Sequence[Sequence[int]]], np.ndarray]


def padded_loop(predictor, batch_size: int) -> Proba:
    """The baseline: every batch padded to the encoder's max_len in input order (no sorting, no packing) and
    torch's ``nn.LSTM`` run over all of it, padding included; the reverse direction reads a back-to-front copy
    of each text, so both directions end on real tokens and the answers are the model's own (to rounding).
    One-layer recurrent models (the zoo's LSTM, GRU and RNN presets)."""
    model, encoder = predictor.model, predictor.encoder
    rnn = model.rnn
    if rnn.num_layers != 1 or not hasattr(model, "cell"):
        raise SystemExit("the padded loop takes a one-layer recurrent model; leave it out with --engines")
    layer_cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[model.cell]
    directions = []
    for sfx in ("", "_reverse")[: 2 if rnn.bidirectional else 1]:
        layer = layer_cls(rnn.input_size, rnn.hidden_size, batch_first=True, bias=rnn.bias).eval()
        layer.load_state_dict({name[:-len(sfx)] if sfx else name: p for name, p in rnn.state_dict().items()
                               if name.endswith("_l0" + sfx)})
        directions.append(layer)
    width = encoder.max_len

    def run(sequences):
        parts = []
        steps = torch.arange(width)
        with torch.no_grad():
            for start in range(0, len(sequences), batch_size):
                rows = [list(s)[-width:] if encoder.truncating == "pre" else list(s)[:width]
                        for s in sequences[start : start + batch_size]]
                ids = torch.zeros(len(rows), width, dtype=torch.int64)
                for i, r in enumerate(rows):
                    ids[i, : len(r)] = torch.tensor(r, dtype=torch.int64)
                lengths = torch.tensor([max(1, len(r)) for r in rows])
                mask = steps < lengths.unsqueeze(1)  # (B, T)
                back = (lengths.unsqueeze(1) - 1 - steps).clamp(min=0)  # position read at step t, back to front
                states, finals = [], []
                for k, layer in enumerate(directions):
                    order = back if k else steps.expand_as(back)
                    out, _ = layer(model._embed(ids.gather(1, order) * mask))  # (B, T, H): every step computed
                    finals.append(out[torch.arange(len(rows)), lengths - 1])
                    # back in text order (a reverse state at step t belongs to position length - 1 - t)
                    states.append(out.gather(1, order.unsqueeze(-1).expand_as(out)) if k else out)
                padded = torch.cat(states, 2) * mask.unsqueeze(-1)
                logits = model.fc(model._pool(padded, torch.stack(finals), mask, lengths))
                parts.append(torch.softmax(logits, dim=1))
        return torch.cat(parts).numpy()

    return run


_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_PUNCT = re.compile(r"([^\w\s'])")
_SPACE = re.compile(r"\s+")


def fasttext_clean(text: str) -> str:
    """The baseline's cleaning: one regex pass each for URLs, @mentions, punctuation and white space."""
    return _SPACE.sub(" ", _PUNCT.sub(r" \1 ", _MENTION.sub(" ", _URL.sub(" ", text.lower())))).strip()


def engines(bundle: str, batch_size: int, threads: int, names: list[str]) -> dict[str, tuple[Proba, Callable]]:
    """``{name: (probabilities of encoded texts, probabilities of raw texts)}`` for each engine."""
    out = {}
    torch_p = load_predictor(bundle, "torch", batch_size=batch_size, threads=threads)
    batch_size = torch_p.batch_size
    if "auto" in names:
        auto = load_predictor(bundle, batch_size=batch_size, threads=threads)
        out[f"auto ({auto.engine})"] = (auto.proba_from_ids, auto.predict_proba)
    if "padded" in names:
        loop = padded_loop(torch_p, batch_size)
        out["padded loop"] = (loop, lambda texts: loop(torch_p.encoder.encode(texts)))
    if "torch" in names:
        out["torch"] = (lambda seqs: torch.softmax(predict_logits(torch_p.model, seqs, batch_size), 1).numpy(),
                        torch_p.predict_proba)
    if "torch-bf16" in names:
        p = load_predictor(bundle, "torch-bf16", batch_size=batch_size, threads=threads)
        out[p.engine if p.engine == "torch-bf16" else "torch-bf16 (ran float32)"] = (p.proba_from_ids, p.predict_proba)
    for name in ("onnx", "onnx-int8"):
        if name in names:
            p = load_predictor(bundle, name, batch_size=batch_size, threads=threads)
            out[name] = (p.proba_from_ids, p.predict_proba)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bundle", help="bundle or training output folder")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--batch-size", type=int, default=None, help="texts per forward pass (default: the engines')")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--latency-n", type=int, default=300)
    parser.add_argument("--engines", default="auto,padded,torch,torch-bf16,onnx,onnx-int8")
    parser.add_argument("--no-fasttext", action="store_true", help="skip the fastText baseline")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_bundled_airline()
    texts = [t for split in data.splits.values() for t in split.texts]
    test = data.splits["test"]
    load_before = os.getloadavg()
    rates = machine_rate()
    runs = engines(args.bundle, args.batch_size, args.threads, args.engines.split(","))
    t_encodes = []
    for _ in range(args.repeats):  # median of repeats, as fastText's row; a new encoder each time (no word cached)
        encoder = load_predictor(args.bundle, "torch").encoder
        start = time.perf_counter()
        sequences = encoder.encode(texts, n_jobs=1)
        t_encodes.append(time.perf_counter() - start)
    t_encode = statistics.median(t_encodes)
    names = list(runs)
    times: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for name in names:  # warm-up: first calls allocate and pick kernels
        runs[name][0](sequences[:1024])
    for rep in range(args.repeats):
        for name in names[rep % len(names):] + names[: rep % len(names)]:
            start, start_cpu = time.perf_counter(), time.process_time()
            runs[name][0](sequences)
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    rng = np.random.default_rng(0)
    sample = [texts[i] for i in rng.choice(len(texts), size=args.latency_n, replace=False)]
    print(f"command: {' '.join(['python', 'benchmarks/infer_speed.py', *sys.argv[1:]])} (repeats {args.repeats}, "
          f"latency-n {args.latency_n}, engines {args.engines})")
    print(f"bundle {args.bundle}; {len(texts)} tweets; threads {args.threads}; batch {args.batch_size or DEFAULT_BATCH_SIZE}; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT')}; load average before {load_before[0]:.2f}")
    print(f"machine product rate (2048^3 oneDNN product, best of 5): {rate_line(rates)}")
    print(f"cleaning + encoding: {len(texts) / t_encode:,.0f} texts/s (one process, median of {args.repeats}, each a newly "
          f"loaded encoder; the first call {len(texts) / t_encodes[0]:,.0f}/s: the process's first full garbage collection "
          "falls in it)")
    rows = [] if args.no_fasttext else [fasttext_row(data, texts, test, sample, args.repeats)]
    for name in names:
        batch_s = statistics.median(times[name])
        latencies = []
        for text in sample:
            start = time.perf_counter()
            runs[name][1]([text])
            latencies.append(time.perf_counter() - start)
        acc = float(np.mean(np.array(encoder_labels(args.bundle))[runs[name][1](test.texts).argmax(1)] == np.array(test.labels)))
        p50, p99 = np.percentile(latencies, [50, 99]) * 1000
        rows.append((name, len(texts) / batch_s, len(texts) / statistics.median(cpu[name]),
                     len(texts) / (batch_s + t_encode), p50, p99, acc))
    base = rows[0][3] if not args.no_fasttext else None
    header = (f"{'engine':<20} {'model texts/s':>14} {'per CPU-s':>10} {'end-to-end texts/s':>19} "
              f"{'vs fastText':>11} {'p50 ms':>7} {'p99 ms':>7} {'test acc':>9}")
    print(header + "\n" + "-" * len(header))
    for name, model_rate, cpu_rate, e2e, p50, p99, acc in rows:
        ratio = f"{e2e / base:>10.2f}x" if base else f"{'-':>11}"
        print(f"{name:<20} {model_rate:>14,.0f} {cpu_rate:>10,.0f} {e2e:>19,.0f} {ratio} {p50:>7.3f} {p99:>7.3f} "
              f"{acc:>9.4f}")
    print(f"load average after {os.getloadavg()[0]:.2f}")
    if base and args.threads > 1:  # the ratio compares wall-clock rates, where fastText uses one core
        print(f"fastText predicts on one thread and the engines on {args.threads}: per CPU-second, the measure of "
              "what each costs, the ratios are lower (--threads 1 gives a like-for-like ratio)")


def fasttext_row(data, texts: list[str], test, sample: list[str], repeats: int) -> tuple:
    """fastText's row, timed as the engines are: model only on cleaned texts, end to end on raw ones."""
    train = data.splits["train"]
    predict = fasttext_supervised([fasttext_clean(t) for t in train.texts], train.labels)
    predict([fasttext_clean(t) for t in texts[:1024]])  # warm-up
    model_s, e2e_s, cpu_s = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        cleaned = [fasttext_clean(t) for t in texts]
        mid, mid_cpu = time.perf_counter(), time.process_time()
        predict(cleaned)
        model_s.append(time.perf_counter() - mid)
        cpu_s.append(time.process_time() - mid_cpu)
        e2e_s.append(time.perf_counter() - start)
    latencies = []
    for text in sample:
        start = time.perf_counter()
        predict([fasttext_clean(text)])
        latencies.append(time.perf_counter() - start)
    acc = float(np.mean(predict([fasttext_clean(t) for t in test.texts]) == np.array(test.labels, dtype=object)))
    p50, p99 = np.percentile(latencies, [50, 99]) * 1000
    n = len(texts)
    return ("fastText (baseline)", n / statistics.median(model_s), n / statistics.median(cpu_s),
            n / statistics.median(e2e_s), p50, p99, acc)


def encoder_labels(bundle: str) -> list[str]:
    """The bundle's class names, in output order."""
    return load_predictor(bundle, "torch").labels


if __name__ == "__main__":
    main()
