"""Initial embedding tables: random, a fixed one-hot identity, word2vec trained on the training texts, or a file.

:func:`initial_embedding` turns ``model.embedding`` into the builder kwargs ``embedding_weights`` and
``freeze_embedding`` (see docs/embeddings.md for when each kind helps):

- ``random``: the model's own initialisation, trainable (returns ``{}``) or frozen with ``freeze``.
- ``onehot``: row ``i`` is the unit vector ``e_i`` (``<pad>`` is all zeros), always frozen. The table is
  square, so ``model.embedding_dim`` is *set* to the vocabulary size (logged; the saved config records
  it). Vocabularies over :data:`ONEHOT_MAX_WORDS` are refused: lower ``vocab.num_words``.
- ``word2vec``: gensim CBOW or skip-gram on the cleaned training texts, ``vector_size =
  model.embedding_dim``, one worker and the run's seed (``train.seed``, which the runner has just given
  to ``torch.manual_seed``), so the vectors are the same on every run.
- ``pretrained``: vectors read from ``model.embedding.path`` (word2vec text or binary, fastText ``.vec``,
  GloVe ``.txt`` without a header line); fine-tuned unless ``model.embedding.freeze``.

Words without a vector keep a small random one (uniform in +-0.05) and ``<pad>`` is zeros. The share of
the vocabulary that got a vector is logged at INFO.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

from lstmtext.config import ModelConfig
from lstmtext.encoding.vector_files import read_vectors
from lstmtext.encoding.vocab import PAD_ID, Vocab
from lstmtext.errors import ConfigError
from lstmtext.preprocess import Pipeline

log = logging.getLogger(__name__)

ONEHOT_MAX_WORDS = 5000


def frozen(emb: Any) -> bool:
    """Whether the embedding table of ``model.embedding`` ``emb`` is kept fixed in training: a one-hot identity
    always, any other kind when ``freeze`` asks (a warm start asks this too: it had kept training frozen random
    vectors)."""
    return emb.kind == "onehot" or bool(emb.freeze)


def initial_embedding(cfg: ModelConfig, vocab: Vocab, train_texts: Sequence[str], pipeline: Pipeline,
                      extra: Iterable[list[str]] | None = None) -> dict[str, Any]:
    """Return builder kwargs (``embedding_weights``, ``freeze_embedding``) for ``cfg.embedding``; for random only
    ``freeze_embedding``, when ``freeze`` asks for it.

    Args:
        cfg: The model section; ``onehot`` sets ``cfg.embedding_dim`` to ``len(vocab)`` in place.
        vocab: The word index the model will read.
        train_texts: Raw training texts (word2vec learns from them after ``pipeline``).
        pipeline: The cleaning pipeline of the encoder.
        extra: More cleaned token lists for word2vec (unlabelled text; a restartable iterable, read once
            per word2vec pass).

    Raises:
        ConfigError: For a one-hot vocabulary that is too large, a missing or unreadable vectors file, or
            vectors whose dimension differs from ``model.embedding_dim``.
    """
    emb = cfg.embedding
    if emb.kind == "random":  # frozen on request: random features (freeze had been ignored here without a word)
        return {"freeze_embedding": True} if frozen(emb) else {}
    if emb.kind == "onehot":
        return {"embedding_weights": onehot_matrix(cfg, vocab), "freeze_embedding": frozen(emb)}
    if emb.kind == "word2vec":
        sentences = [s for s in (text.split() for text in pipeline.clean_many(train_texts)) if s]
        corpus = sentences if extra is None else _Chained(sentences, extra)
        vectors = train_word2vec(corpus, cfg.embedding_dim, emb.algo, emb.window, emb.min_count, emb.epochs,
                                 seed=torch.initial_seed() % (2**31))
        source = f"word2vec ({emb.algo}) on {len(sentences)} training texts" + (" and the unlabelled text" if extra else "")
    else:
        if not emb.path:
            raise ConfigError("model.embedding.path is not set; kind 'pretrained' needs a vectors file. "
                              "Set it, e.g. --set model.embedding.path=\"glove.6B.100d.txt\".")
        vectors, found_dim = read_vectors(emb.path, set(vocab.itos) | {w.lower() for w in vocab.itos})
        if found_dim != cfg.embedding_dim:
            raise ConfigError(f"model.embedding_dim is {cfg.embedding_dim} but {emb.path} has {found_dim}-dimensional "
                              f"vectors. Set --set model.embedding_dim={found_dim}.")
        source = f"pretrained vectors {emb.path}"
        check_coverage(emb.path, vocab, vectors)
    weights = embedding_matrix(vocab, vectors, cfg.embedding_dim, source, seed=torch.initial_seed())
    return {"embedding_weights": weights, "freeze_embedding": frozen(emb)}


def vector_of(vectors: dict[str, np.ndarray], word: str) -> np.ndarray | None:
    """A word's vector: exact, else lower-cased (a cased vocabulary over lower-case vectors), else None."""
    vec = vectors.get(word)
    return vectors.get(word.lower()) if vec is None else vec


#: A pretrained file that covers less of the vocabulary than this is warned about: it was likely made for another
#: language or cleaning (case, punctuation, stemming, word segmentation), and most words start random.
LOW_COVERAGE = 0.5


def check_coverage(path: str, vocab: Vocab, vectors: dict[str, np.ndarray]) -> None:
    """Refuse a vectors file with no vector for any vocabulary word, and warn about one that covers less than
    :data:`LOW_COVERAGE` of it: a file of another language, or garbage read as one-number vectors, trained with
    every word random and said so only at INFO (``-v``).

    Raises:
        ConfigError: When no vocabulary word has a vector.
    """
    words = vocab.itos[2:]  # <pad>, <unk> have none
    found = sum(1 for w in words if vector_of(vectors, w) is not None)
    if words and not found:
        raise ConfigError(f"{path}: none of the {len(words):,} vocabulary words (e.g. {', '.join(words[:3])}) has a "
                          "vector there. Use vectors of this language, made with the same cleaning (lstmtext embed "
                          "makes them from your texts), or drop model.embedding.kind=pretrained.")
    if words and found < LOW_COVERAGE * len(words):
        log.warning("%s has vectors for %d of the %d vocabulary words (%.0f%%); the others start random. Low coverage "
                    "usually means another cleaning than the vectors were made with (case, punctuation, stemming, "
                    "word segmentation) or another language.", path, found, len(words), 100 * found / len(words))


def onehot_matrix(cfg: ModelConfig, vocab: Vocab) -> torch.Tensor:
    """Return the ``(V, V)`` identity with a zero ``<pad>`` row, setting ``cfg.embedding_dim = V``.

    Raises:
        ConfigError: If the vocabulary has more than :data:`ONEHOT_MAX_WORDS` entries.
    """
    size = len(vocab)
    if size > ONEHOT_MAX_WORDS:
        raise ConfigError(
            f"model.embedding.kind 'onehot' needs a vocabulary of at most {ONEHOT_MAX_WORDS:,} words (one input "
            f"per word). Got {size:,} instead. Lower vocab.num_words, e.g. --set vocab.num_words=3000."
        )
    if cfg.embedding_dim != size:
        log.info("one-hot embedding: model.embedding_dim set from %d to the vocabulary size %d", cfg.embedding_dim, size)
        cfg.embedding_dim = size
    weights = torch.eye(size)
    weights[PAD_ID] = 0.0
    return weights


def train_word2vec(sentences: Iterable[list[str]], dim: int, algo: str = "cbow", window: int = 5,
                   min_count: int = 1, epochs: int = 10, seed: int = 42) -> dict[str, np.ndarray]:
    """Train word2vec (gensim, one worker, seeded) and return ``{word: vector}``.

    Args:
        sentences: Token lists.
        dim: Vector size.
        algo: ``cbow`` or ``skipgram``.
        window: Context window.
        min_count: Ignore words seen fewer times.
        epochs: Passes over the sentences.
        seed: Seed of the initial vectors and the sampling.

    Raises:
        ConfigError: If no word is frequent enough to get a vector.
    """
    from gensim.models import Word2Vec

    if isinstance(sentences, list):
        sentences = [s for s in sentences if s]
        if not sentences:  # every text cleaned to nothing: no count would help
            raise ConfigError("word2vec: no text is left after cleaning. Check the text column and the cleaning "
                              "(--preprocess / preprocess.preset).")
    try:
        model = Word2Vec(sentences=sentences, vector_size=dim, window=window, min_count=min_count,
                         sg=1 if algo == "skipgram" else 0, epochs=epochs, seed=seed, workers=1)
    except RuntimeError:  # gensim: "you must first build vocabulary before training the model"
        raise ConfigError(f"word2vec found no word seen >= {min_count} times in the texts. Lower the count (`lstmtext "
                          "embed --min-count`; in training, model.embedding.min_count) or give more texts.") from None
    return {word: model.wv[word] for word in model.wv.index_to_key}


class _Chained:
    """Two token-list iterables read one after the other, again on every pass (gensim reads its corpus
    once for the vocabulary and once per epoch)."""

    def __init__(self, first: Iterable[list[str]], second: Iterable[list[str]]) -> None:
        self.first, self.second = first, second

    def __iter__(self):
        yield from self.first
        yield from self.second


def embedding_matrix(vocab: Vocab, vectors: dict[str, np.ndarray], dim: int, source: str, seed: int = 0) -> torch.Tensor:
    """Return the ``(len(vocab), dim)`` table: a word's vector (exact, else lower-cased), else small random.

    Args:
        vocab: The word index; row ``i`` is for ``vocab.itos[i]``.
        vectors: ``{word: vector of size dim}``.
        dim: Vector size.
        source: Where the vectors came from (for the coverage log line).
        seed: Seed of the random rows of words without a vector.
    """
    rng = np.random.default_rng(seed)
    table = rng.uniform(-0.05, 0.05, size=(len(vocab), dim)).astype(np.float32)
    table[PAD_ID] = 0.0
    found = 0
    for i, word in enumerate(vocab.itos[2:], start=2):  # <pad>, <unk> have no pretrained vector
        vec = vector_of(vectors, word)
        if vec is not None:
            table[i] = vec
            found += 1
    words = max(len(vocab) - 2, 1)
    log.info("embedding coverage: %d of %d vocabulary words found in %s (%.1f%%)", found, len(vocab) - 2, source,
             100.0 * found / words)
    return torch.from_numpy(table)
