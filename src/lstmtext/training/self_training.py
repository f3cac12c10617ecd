"""Self-training (``train.self_training``): a second model learns from the first one's answers on unlabelled text.

With few labels and many unlabelled texts (``--unlabelled``), the trained model (the teacher) answers every
unlabelled text. Of each distinct answer (a class; a combination of aspect labels or of labels), the share
``train.self_training`` that the teacher is surest of joins the labelled training rows with that answer as its
label, and the same model is trained again from its start on both (the student). Picking within each answer
keeps the proportions of the teacher's answers: a confidence cut alone fills the set with the majority
class (on the airline tweets with 10% of the labels, the texts answered with at least 0.9 were 3,470 of 10,430,
and the student gained nothing on valid; the surest half of each answer gained 1.9 points of macro-F1). The
runner keeps the student only if its valid score is at least the teacher's.

The unlabelled texts are held as token ids: at most :data:`MAX_TEXTS` of them, a seeded uniform sample of a
larger file. Texts that are also in the valid or test split (after cleaning) are not answered: the student would
learn the teacher's answers on the texts that decide whether it is kept.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from lstmtext.encoding.batching import EncodedSplit, predict_logits
from lstmtext.encoding.corpus import UnlabelledCorpus
from lstmtext.encoding.encoder import TextEncoder
from lstmtext.tasks import Task

MAX_TEXTS = 200_000  # unlabelled texts answered by the teacher, at most
CHUNK = 4096  # texts encoded and answered at a time


def sample_rows(total: int, limit: int, seed: int) -> np.ndarray | None:
    """Sorted row numbers of a uniform sample of ``limit`` out of ``total`` rows; None when all are kept."""
    if total <= limit:
        return None
    return np.sort(np.random.default_rng(seed).choice(total, size=limit, replace=False))


def _lines(corpus: UnlabelledCorpus, rows: np.ndarray | None) -> Iterator[str]:
    """The corpus's cleaned texts, or only those at ``rows`` (sorted)."""
    lines = (" ".join(tokens) for tokens in corpus)
    if rows is None:
        yield from lines
        return
    wanted = iter(rows.tolist())
    target = next(wanted, None)
    for i, line in enumerate(lines):
        if i == target:
            yield line
            target = next(wanted, None)
            if target is None:
                return


def most_sure(answers: np.ndarray, sure: np.ndarray, share: float) -> np.ndarray:
    """Sorted rows: of each distinct answer, the ``share`` of its rows (rounded up) with the highest ``sure``."""
    _, group = np.unique(answers.reshape(len(answers), -1), axis=0, return_inverse=True)
    group = group.reshape(-1)
    order = np.lexsort((-sure, group))  # by answer, the surest first within each
    counts = np.bincount(group)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(order)) - starts[group[order]]  # place within its answer
    return np.sort(order[rank < np.ceil(share * counts[group[order]])])


def pseudo_labelled(model: torch.nn.Module, task: Task, encoder: TextEncoder, corpus: UnlabelledCorpus,
                    share: float, seed: int, batch_size: int = 1024) -> tuple[EncodedSplit, dict[str, Any]]:
    """The teacher's surest answers on the unlabelled texts, as training rows; and what was read and kept."""
    rows = sample_rows(corpus.texts, MAX_TEXTS, seed)
    sequences: list[np.ndarray] = []
    answers, sure = [], []
    lines = (line for line in _lines(corpus, rows) if line not in corpus.held_out)  # never a valid or test text
    while chunk := list(itertools.islice(lines, CHUNK)):
        ids = encoder.encode_cleaned(chunk)
        a, s = task.answers(task.probabilities(predict_logits(model, ids, batch_size)))
        answers.append(a)
        sure.append(s)
        sequences.extend(np.asarray(seq, dtype=np.int32) for seq in ids)
    if not sequences:  # every text read was a valid or test text
        return EncodedSplit([], np.zeros((0,), dtype=np.int64)), {"share": share, "answered": 0, "added": 0,
                                                                     "unlabelled_texts": corpus.texts, "added_tokens": 0}
    all_answers, all_sure = np.concatenate(answers), np.concatenate(sure)
    keep = most_sure(all_answers, all_sure, share)
    split = EncodedSplit([sequences[i].tolist() for i in keep], all_answers[keep])
    info = {"share": share, "answered": len(sequences), "unlabelled_texts": corpus.texts, "added": len(keep),
            "added_tokens": int(sum(len(sequences[i]) for i in keep)),
            "mean_confidence": round(float(all_sure[keep].mean()), 4) if len(keep) else None}
    return split, info


def joined(labelled: EncodedSplit, added: EncodedSplit) -> EncodedSplit:
    """The labelled training rows followed by the teacher-labelled ones."""
    return EncodedSplit(list(labelled.sequences) + list(added.sequences),
                        np.concatenate([labelled.targets, added.targets.astype(labelled.targets.dtype)]))
