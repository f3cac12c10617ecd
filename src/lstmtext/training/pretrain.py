"""The language-model training loop: Adam on a slanted triangular schedule, valid perplexity every epoch,
a checkpoint after every epoch, and a resume that ends with the same weights as an uninterrupted run.

Batches come from a :class:`~lstmtext.encoding.token_stream.TokenStream` (memory-mapped), so the corpus is
never held in memory and peak memory stays flat in its size (the per-shape product caches that grew are
capped by ``import lstmtext``; docs/pretrain.md). The progress bar shows the loss, tokens/s and the epoch's ETA;
each epoch's line, the epochs left and about how long they take.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from lstmtext.config import LMConfig
from lstmtext.encoding.token_stream import TokenStream
from lstmtext.models.language_model import LanguageModel
from lstmtext.training.checkpoint import restore_checkpoint, save_checkpoint
from lstmtext.training.precision import apply_precision, set_precision
from lstmtext.training.schedule import adam, slanted_triangular
from lstmtext.utils.progress import epoch_line, progress_bar, time_left

log = logging.getLogger(__name__)


@dataclass
class LMResult:
    """Per-epoch history (train loss, valid perplexity per direction, tokens/s) and the best epoch."""

    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    best_perplexity: float = math.inf
    seconds: float = 0.0
    precision: str = "fp32"  # what training ran in


def perplexity(model: LanguageModel, stream: TokenStream, cfg: LMConfig, progress: bool = False) -> list[float]:
    """Full-softmax perplexity per direction on the first ``cfg.valid_tokens`` tokens of ``stream`` (``progress``: a
    bar of its tokens, on a terminal: 100,000 tokens took 20 s in silence after each epoch)."""
    model.eval()
    sums, count = [0.0] * model.directions, 0
    with progress_bar(None, min(cfg.valid_tokens, stream.tokens), "validation", progress, unit=" tokens",
                      unit_scale=True) as bar:
        for ids, lengths in stream.batches(cfg.batch_tokens, cfg.bptt, shuffle=False):
            part, n = model.nll(ids, lengths)
            sums, count = [a + b for a, b in zip(sums, part)], count + n
            bar.update(int(lengths.sum()))
            if count >= cfg.valid_tokens:
                break
    return [math.exp(s / max(count, 1)) for s in sums]


def perplexity_name(held_out: bool) -> str:
    """What a language model's perplexity was measured on, for the lines that print it: ``valid_perplexity`` is on
    the training texts when the corpus was too small to hold any out."""
    return "valid perplexity" if held_out else "perplexity on the training texts (none held out)"


def fit_lm(model: LanguageModel, corpus: Path, cfg: LMConfig, checkpoint_dir: Path | None = None,
           resume: bool = False, progress: bool = True, epochs: int | None = None,
           on_epoch_end: Callable[[dict[str, Any]], None] | None = None, precision: str = "auto") -> LMResult:
    """Train ``model`` on the token stream in ``corpus``; end with the weights of the best valid epoch.

    Args:
        model: The language model, updated in place.
        corpus: A folder written by :func:`~lstmtext.encoding.token_stream.write_token_stream`.
        cfg: The ``lm`` section.
        checkpoint_dir: Where to write a checkpoint after every epoch (None: none).
        resume: Continue from the checkpoint in ``checkpoint_dir``.
        progress: Show a progress bar per epoch.
        epochs: Passes over the corpus (default ``cfg.epochs``).
        on_epoch_end: Called with each epoch's record (raise to interrupt).
        precision: ``train.precision`` (:mod:`lstmtext.training.precision`): bf16 products in the LSTM where
            the CPU has them.
    """
    epochs = epochs or cfg.epochs
    train, valid = TokenStream(corpus, "train"), TokenStream(corpus, "valid")
    held_out = bool(len(valid))
    if not held_out:  # a corpus too small to hold texts out: score on the training texts, and say so
        log.warning("no held-out texts (every lm.valid_every-th text is held out: %d; give more texts or a smaller "
                    "lm.valid_every); perplexity is measured on training texts", cfg.valid_every)
        valid = train
    sampled = cfg.sampled if cfg.sampled and model.vocab_size > 2 * cfg.sampled else 0
    optimizer = adam(model.parameters(), lr=cfg.lr, betas=(0.8, 0.99))
    per_epoch = train.count_batches(cfg.batch_tokens, cfg.bptt)
    total_steps = per_epoch * epochs
    result, first, step, best = LMResult(), 1, 0, None
    start = time.perf_counter()
    result.precision = apply_precision(model, precision)
    if resume and checkpoint_dir is not None:
        st, best = restore_checkpoint(checkpoint_dir, model, optimizer)
        result.history, result.best_epoch, result.best_perplexity = st["history"], st["best_epoch"], st["best_score"]
        first, step = st["epoch"] + 1, st["step"]
        start -= st.get("seconds", 0.0)  # the interrupted run's time counts too
        log.info("resuming the language model after epoch %d of %d", st["epoch"], epochs)
    else:
        torch.manual_seed(cfg.seed)
    begun = time.perf_counter()  # this process's epochs, for the time left (``start`` counts an interrupted run's)
    for epoch in range(first, epochs + 1):
        model.train()
        t0, tokens, loss_sum, n_batches = time.perf_counter(), 0, 0.0, 0
        bar = progress_bar(train.batches(cfg.batch_tokens, cfg.bptt, cfg.seed, epoch), per_epoch,
                           f"LM epoch {epoch}/{epochs}", progress, unit="batch")
        for ids, lengths in bar:
            for group in optimizer.param_groups:
                group["lr"] = cfg.lr * slanted_triangular(min(step, total_steps - 1), total_steps)
            loss = model.loss(ids, lengths, sampled)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad_norm)
            optimizer.step()
            step += 1
            n_batches += 1
            loss_sum += loss.item()
            tokens += int(lengths.sum())
            if not bar.disable:
                bar.set_postfix(loss=f"{loss_sum / n_batches:.3f}", tok_s=f"{tokens / (time.perf_counter() - t0):,.0f}")
        seconds = time.perf_counter() - t0
        ppl = perplexity(model, valid, cfg, progress)
        record = {"epoch": epoch, "train_loss": loss_sum / max(n_batches, 1), "valid_perplexity": sum(ppl) / len(ppl),
                  **{f"valid_perplexity_{d}": p for d, p in zip(("forward", "backward"), ppl)},
                  "tokens_per_second": tokens / max(seconds, 1e-9), "seconds": seconds, "held_out": held_out}
        result.history.append(record)
        if record["valid_perplexity"] < result.best_perplexity:
            result.best_perplexity, result.best_epoch = record["valid_perplexity"], epoch
            best = {k: v.detach().clone() for k, v in model.state_dict().items()}
        epoch_line(f"LM epoch {epoch}/{epochs}: train loss {record['train_loss']:.4f}, {perplexity_name(held_out)} "
                   f"{record['valid_perplexity']:.2f}, {record['tokens_per_second']:,.0f} tokens/s"
                   + time_left(time.perf_counter() - begun, epoch - first + 1, epochs - first + 1), progress)
        if checkpoint_dir is not None:
            save_checkpoint(checkpoint_dir, model.state_dict(), best, optimizer,
                            {"epoch": epoch, "step": step, "history": result.history, "best_epoch": result.best_epoch,
                             "best_score": result.best_perplexity, "bad_epochs": 0,
                             "seconds": time.perf_counter() - start})
        if on_epoch_end is not None:
            on_epoch_end(record)
    set_precision(model, "fp32")
    if best is not None:
        model.load_state_dict(best)
    result.seconds = time.perf_counter() - start
    return result
