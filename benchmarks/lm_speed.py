"""Language-model pretraining throughput (real tokens/s), fp32 and bf16, next to the machine's limit.

Trains :class:`~lstmtext.models.language_model.LanguageModel` for a fixed number of batches on the airline
training tweets (bundled), in two shapes: the issue's 1-layer 512-unit forward model (E = 512) and the
``ulmfit`` preset's bidirectional 256-unit model (E = 256), each with a sampled softmax of 1024 negatives
(the classifiers' own figures are in ``train_speed.py``). Each row prints the LSTM's product rate (24 H (E + H)
FLOPs per token and direction: forward, dh, dX, dW) against the machine's measured fp32 and bf16 product rate, so
a reader sees how far from the limit it runs. The baseline, timed on the same batches in the same run: the
textbook PyTorch language model (``nn.Embedding``, ``nn.LSTM`` over the padded batch, the same sampled softmax
left out: a full softmax over the vocabulary, as tutorials write it), in fp32, forward model only.

    .venv/bin/python benchmarks/lm_speed.py [--batches 30] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

# isort: off

import lstmtext  # noqa: E402,F401  (first: its OpenMP and oneDNN defaults are read when torch loads)

# isort: on

import torch  # noqa: E402
from machine import machine_rate  # noqa: E402  (benchmarks/machine.py)

from lstmtext.config import LMConfig, build_config  # noqa: E402
from lstmtext.data import load_bundled_airline  # noqa: E402
from lstmtext.encoding.token_stream import TokenStream, write_token_stream  # noqa: E402
from lstmtext.encoding.vocab import Vocab  # noqa: E402
from lstmtext.models.language_model import LanguageModel  # noqa: E402
from lstmtext.preprocess import build_pipeline  # noqa: E402
from lstmtext.training.precision import apply_precision  # noqa: E402
from lstmtext.training.schedule import adam  # noqa: E402


def lm_rate(stream: TokenStream, vocab: int, emb: int, hid: int, bi: bool, precision: str, batches: int) -> dict:
    torch.manual_seed(0)
    model = LanguageModel(vocab, emb, hid, bidirectional=bi).configure(LMConfig())  # the lm section's dropouts
    used = apply_precision(model, precision)
    opt = adam(model.parameters(), lr=1e-3, betas=(0.8, 0.99))  # pretraining's own optimizer and clipping
    data = list(stream.batches(2048, 96, seed=0, epoch=1))
    data = (data * (1 + batches // max(1, len(data))))[: batches + 3]
    tokens, seconds = 0, 0.0
    for k, (ids, lengths) in enumerate(data):
        start = time.perf_counter()
        loss = model.loss(ids, lengths, 1024)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), LMConfig().clip_grad_norm)
        opt.step()
        if k >= 3:  # the first batches warm up oneDNN and the allocator
            seconds += time.perf_counter() - start
            tokens += int(lengths.sum())
    dirs = 2 if bi else 1
    return {"precision": used, "tokens_per_s": tokens / seconds,
            "lstm_gflops": 24 * hid * (emb + hid) * dirs * tokens / seconds / 1e9}


class PlainLM(torch.nn.Module):
    """The baseline: embedding, ``nn.LSTM`` over the padded batch (oneDNN's whole-sequence kernel), tied full
    softmax; the loss over the real next words only."""

    def __init__(self, vocab: int, emb: int, hid: int) -> None:
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab, emb, padding_idx=0)
        self.lstm = torch.nn.LSTM(emb, hid, batch_first=True)
        self.project = torch.nn.Linear(hid, emb)
        self.bias = torch.nn.Parameter(torch.zeros(vocab))

    def loss(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        states, _ = self.lstm(self.embedding(ids[:, :-1]))
        real = torch.arange(ids.shape[1] - 1).unsqueeze(0) < (lengths - 1).unsqueeze(1)  # next word is a real one
        logits = torch.nn.functional.linear(self.project(states[real]), self.embedding.weight, self.bias)
        return torch.nn.functional.cross_entropy(logits, ids[:, 1:][real])


def plain_rate(stream: TokenStream, vocab: int, emb: int, hid: int, batches: int) -> dict:
    torch.manual_seed(0)
    model = PlainLM(vocab, emb, hid)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = list(stream.batches(2048, 96, seed=0, epoch=1))
    data = (data * (1 + batches // max(1, len(data))))[: batches + 3]
    tokens, seconds = 0, 0.0
    for k, (ids, lengths) in enumerate(data):
        start = time.perf_counter()
        loss = model.loss(ids, lengths)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if k >= 3:
            seconds += time.perf_counter() - start
            tokens += int(lengths.sum())
    return {"precision": "fp32", "tokens_per_s": tokens / seconds,
            "lstm_gflops": 24 * hid * (emb + hid) * tokens / seconds / 1e9}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=30, help="timed batches of ~2,048 tokens per row")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    texts = load_bundled_airline().splits["train"].texts
    tokens = [t.split() for t in build_pipeline(build_config("ulmfit")).clean_many(texts)]
    vocab = Vocab.build(tokens, 30000, 2)
    rates = machine_rate()
    print(f"machine: {torch.get_num_threads()} threads; product rate fp32 {rates['fp32']:.0f} GFLOP/s, "
          f"bf16 {rates['bf16']:.0f} GFLOP/s")
    with tempfile.TemporaryDirectory() as tmp:
        counts = write_token_stream(tokens, vocab, Path(tmp))
        stream = TokenStream(Path(tmp))
        print(f"corpus: {counts['train']['tokens']:,} training tokens, vocabulary {len(vocab):,}")
        print("| model | precision | tokens/s | LSTM GFLOP/s |")
        print("| --- | --- | ---: | ---: |")
        r = plain_rate(stream, len(vocab), 512, 512, args.batches)
        print(f"| baseline: nn.LSTM 1 x 512 on padded batches, full softmax | fp32 | {r['tokens_per_s']:,.0f} | "
              f"{r['lstm_gflops']:.0f} |", flush=True)
        for name, emb, hid, bi in (("LM 1 x 512, forward", 512, 512, False), ("LM ulmfit, BiLSTM 256", 256, 256, True)):
            for precision in ("fp32", "bf16"):
                r = lm_rate(stream, len(vocab), emb, hid, bi, precision, args.batches)
                print(f"| {name} | {r['precision']} | {r['tokens_per_s']:,.0f} | {r['lstm_gflops']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
