"""Initial embedding tables: random (the model's own init), or built from word vectors (see EmbeddingConfig)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lstmtext.config import ModelConfig
from lstmtext.errors import ConfigError
from lstmtext.preprocess import Pipeline
from lstmtext.vocab import Vocab


def initial_embedding(cfg: ModelConfig, vocab: Vocab, train_texts: Sequence[str], pipeline: Pipeline) -> dict[str, Any]:
    """Return builder kwargs (``embedding_weights``, ``freeze_embedding``) for ``cfg.embedding``; {} for random."""
    kind = cfg.embedding.kind
    if kind == "random":
        return {}
    raise ConfigError(f"model.embedding.kind {kind!r} is not available in this version. Use 'random'.")
