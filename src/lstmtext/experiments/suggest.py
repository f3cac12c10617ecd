"""``lstmtext suggest``: which unlabelled texts to label next (active learning by uncertainty, with diversity).

Every text is scored by a saved model; its *uncertainty* is one minus the confidence of its least sure
decision (the top probability of a softmax group: the class, or an aspect's label; for a sigmoid label, how
far its probability is from the label's tuned threshold, see :func:`uncertainty`), on the calibrated
probabilities the model gives. The ``pool_factor * n`` most uncertain texts are kept while the file streams
past (memory does not grow with the file), texts that clean to the same tokens as one already kept are
dropped, and ``n`` are then picked greedily by maximal marginal relevance: ``(1 - diversity) * uncertainty - diversity * (highest cosine similarity, over word counts, to a
text already picked)``, so the batch does not spend the labeller's time on 200 near-copies of one
confusing tweet. ``strategy = "random"`` draws ``n`` texts uniformly instead (reservoir sampling), the
baseline any selection has to beat.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy import sparse

from lstmtext.encoding.vocab import knows_a_word
from lstmtext.errors import ConfigError
from lstmtext.models.heads import OutputLayout
from lstmtext.pipeline.seen import is_seen
from lstmtext.utils.atomic import write_text

Strategy = Literal["uncertainty", "random"]


def uncertainty(proba: np.ndarray, layout: OutputLayout, cuts: np.ndarray | None = None) -> np.ndarray:
    """``(n,)``: one minus the confidence of each text's least sure decision (multi-label: the mean over labels).

    A sigmoid label with a decision threshold ``t`` (``cuts``) is least sure at ``p = t`` and sure at 0 or 1:
    its confidence is ``0.5 + 0.5 (p - t) / (1 - t)`` above the threshold and ``0.5 + 0.5 (t - p) / t`` below
    (``max(p, 1 - p)`` when ``t = 0.5``). Over many labels the least sure one is nearly always close to its
    threshold, so the minimum tells texts apart hardly at all (HoASA as 20 labels: 148 texts within 0.49-0.50);
    the mean ranks a text by how many of its decisions are unsure.
    """
    if layout.activation == "sigmoid":
        t = np.full(proba.shape[1], 0.5) if cuts is None else np.clip(np.asarray(cuts, dtype=np.float64), 1e-6, 1 - 1e-6)
        above = 0.5 + 0.5 * (proba - t) / (1 - t)
        below = 0.5 + 0.5 * (t - proba) / t
        confidence = np.where(proba >= t, above, below).mean(axis=1)
    else:
        confidence = np.stack([proba[:, s].max(axis=1) for s in layout.slices()], axis=1).min(axis=1)
    return (1.0 - confidence).astype(np.float64)


def _bags(sequences: list[list[int]]) -> sparse.csr_matrix:
    """Rows of L2-normalised word counts (``<unk>`` and padding left out)."""
    rows, cols, vals = [], [], []
    for i, ids in enumerate(sequences):
        kept, counts = np.unique([t for t in ids if t > 1], return_counts=True)
        if len(kept):
            rows.extend([i] * len(kept))
            cols.extend(kept.tolist())
            vals.extend((counts / np.linalg.norm(counts)).tolist())
    width = max(cols, default=0) + 1
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(sequences), width))


def pick_diverse(scores: np.ndarray, sequences: list[list[int]], n: int, diversity: float) -> list[int]:
    """Indices of ``n`` items chosen greedily by maximal marginal relevance (see the module docstring)."""
    bags = _bags(sequences)
    closest = np.zeros(len(scores))
    open_ = np.ones(len(scores), dtype=bool)
    chosen: list[int] = []
    for _ in range(min(n, len(scores))):
        value = np.where(open_, (1 - diversity) * scores - diversity * closest, -np.inf)
        j = int(np.argmax(value))
        chosen.append(j)
        open_[j] = False
        closest = np.maximum(closest, (bags @ bags[j].T).toarray().ravel())
    return chosen


def suggest(predictor: Any, chunks: Iterable[tuple[list[str], list[str]]], n: int = 200, *,
            strategy: Strategy = "uncertainty", diversity: float = 0.3, pool_factor: int = 10,
            seed: int = 0, labelled: Iterable[str] = (), trained: np.ndarray | None = None) -> dict[str, Any]:
    """The ``n`` texts of ``chunks`` (``(where, texts)`` pairs, see :func:`lstmtext.data.texts.iter_texts`) whose
    labels would help ``predictor``'s model most, best first, each with its uncertainty and the model's guess.
    A text that cleans to the same tokens as one of ``labelled`` (texts already labelled: the model's training
    data, an earlier round's batch) is never suggested, nor one of the model's own training texts (``trained``: their
    fingerprints, :func:`lstmtext.pipeline.seen.read_seen` of its run folder): they are labelled already.

    Raises:
        ConfigError: For ``n < 1``, ``diversity`` outside [0, 1] or an unknown strategy.
    """
    if n < 1:
        raise ConfigError(f"--n must be at least 1; got {n}.")
    if not 0 <= diversity <= 1:
        raise ConfigError(f"--diversity must be in [0, 1] (0: most uncertain first, 1: most different first); got {diversity}.")
    if strategy not in ("uncertainty", "random"):
        raise ConfigError(f"--strategy must be 'uncertainty' or 'random'; got {strategy!r}.")
    keep = n * (pool_factor if strategy == "uncertainty" else 1)
    rng = np.random.default_rng(seed)
    pool: dict[str, dict[str, Any]] = {}  # cleaned text -> candidate: one per distinct text (ids would merge
    # texts whose different words are all unknown, and texts cut to the same last max_len words)
    seen = empty = duplicates = done = in_training = 0
    layout, cuts = predictor.task.layout, predictor.task.decision_cuts()
    known = {" ".join(t.split()) for t in predictor.encoder.pipeline.clean_many(list(labelled))} - {""}
    for where, texts in chunks:
        cleaned = predictor.encoder.pipeline.clean_many(texts)
        sequences = predictor.encoder.encode_cleaned(cleaned)
        useful = [i for i, ids in enumerate(sequences) if knows_a_word(ids)]
        empty += len(texts) - len(useful)
        proba = predictor.proba_from_ids([sequences[i] for i in useful])
        unsure = uncertainty(proba, layout, cuts)
        scores = unsure if strategy == "uncertainty" else rng.random(len(useful))
        was_trained = is_seen(cleaned, trained) if trained is not None else np.zeros(len(cleaned), dtype=bool)
        for k, i in enumerate(useful):
            seen += 1
            key = " ".join(cleaned[i].split())
            if key in known:
                done += 1
                continue
            if was_trained[i]:
                in_training += 1
                continue
            if key in pool:
                duplicates += 1
                continue
            pool[key] = {"where": where[i], "text": texts[i], "score": float(scores[k]), "proba": proba[k].copy(),
                         "ids": list(sequences[i]), "uncertainty": float(unsure[k])}
        if len(pool) > 2 * keep:  # keep the best `keep` (random: the `keep` smallest random keys)
            order = sorted(pool, key=lambda t: -pool[t]["score"])[:keep]
            pool = {t: pool[t] for t in order}
    candidates = sorted(pool.values(), key=lambda c: -c["score"])[:keep]
    if strategy == "uncertainty" and diversity > 0:
        picked = [candidates[j] for j in pick_diverse(np.array([c["score"] for c in candidates]),
                                                       [c["ids"] for c in candidates], n, diversity)]
    else:
        picked = candidates[:n]
    guesses = predictor.task.predictions(np.stack([c["proba"] for c in picked])) if picked else []
    rows = [{"rank": r + 1, "where": c["where"], "uncertainty": round(c["uncertainty"], 4),
             "model_guess": predictor.task.decision(g)[0], "text": c["text"]} for r, (c, g) in enumerate(zip(picked, guesses))]
    return {"strategy": strategy, "diversity": diversity, "texts_read": seen + empty, "skipped_empty": empty,
            "skipped_duplicates": duplicates, "skipped_labelled": done, "skipped_trained": in_training,
            "suggested": rows,
            "mean_uncertainty_suggested": float(np.mean([c["uncertainty"] for c in picked])) if picked else None}


def write_suggestions(report: dict[str, Any], out_dir: str | Path, text_col: str, label_columns: list[str],
                      placeholder: str = "") -> dict[str, Path]:
    """Write ``to_label.csv`` (the texts with label columns holding ``placeholder``, in the layout ``train`` reads,
    ready to fill in), ``suggest.csv`` (rank, row, uncertainty, the model's guess, text) and ``suggest.json``."""
    out = Path(out_dir)
    rows = report["suggested"]
    blank = io.StringIO()
    writer = csv.writer(blank)
    writer.writerow([text_col, *label_columns])
    writer.writerows([[r["text"], *[placeholder] * len(label_columns)] for r in rows])
    detail = io.StringIO()
    writer = csv.writer(detail)
    keys = ["rank", "where", "uncertainty", "model_guess", "text"]
    writer.writerow(keys)
    writer.writerows([[r[k] for k in keys] for r in rows])
    paths = {"to_label": out / "to_label.csv", "csv": out / "suggest.csv", "json": out / "suggest.json"}
    write_text(paths["to_label"], blank.getvalue())
    write_text(paths["csv"], detail.getvalue())
    write_text(paths["json"], json.dumps(report, indent=2, ensure_ascii=False))
    return paths
