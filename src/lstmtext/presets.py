"""Named model presets: partial config trees that ``build_config`` starts from.

``seed001`` is the source tutorial's exact model. ``default`` is the project's own tuned choice for short
texts (tuned on the airline valid split; see docs/tuning.md). Later presets add other architectures.
"""

from __future__ import annotations

import copy
from typing import Any

from lstmtext.errors import ConfigError

MODEL_PRESETS: dict[str, dict[str, Any]] = {
    # The Keras tutorial: Embedding(1024, 32) -> Dropout 0.5 -> LSTM 256 (dropout 0.2) -> softmax, Adam,
    # 10 epochs, batch 512, num_words 1024, pre-padding to the longest text.
    "seed001": {
        "preprocess": {"preset": "en-tweet"},
        "vocab": {"num_words": 1024, "max_len": None, "padding": "pre", "truncating": "pre"},
        "model": {
            "name": "lstm",
            "embedding_dim": 32,
            "hidden_size": 256,
            "embed_dropout": 0.5,
            "rnn_input_dropout": 0.2,
            "init": "keras",
        },
        "train": {
            "epochs": 10,
            "batch_size": 512,
            "lr": 1e-3,
            "clip_grad_norm": None,
            "patience": None,
            "restore_best": False,
        },
    },
    "default": {
        "preprocess": {"preset": "en-tweet"},
        "vocab": {"num_words": 8000, "min_freq": 2},
        "model": {
            "name": "lstm",
            "embedding_dim": 128,
            "hidden_size": 128,
            "bidirectional": True,
            "embed_dropout": 0.5,
            "rnn_input_dropout": 0.2,
            "init": "keras",
        },
        "train": {"epochs": 12, "batch_size": 64, "lr": 2e-3, "patience": 3, "restore_best": True},
    },
    # Aspect-based sentiment (docs/absa.md): the thesis's chain (id-review cleaning, word2vec CBOW trained on
    # the training texts, BiLSTM), one softmax head per aspect. Tuned on the IndoNLU CASA/HoASA valid files:
    # max pooling and keeping the stopwords (the list drops tapi, cuma, kecil, lama, masih, ..., which carry
    # an aspect's polarity) took HoASA's valid flat macro-F1 from 0.81 to 0.85 and left CASA's at 0.79.
    "absa": {
        "task": "absa",
        "preprocess": {
            "preset": "id-review",
            "steps": ["lowercase", "remove_urls", "remove_emoji", "punctuation_to_space", "remove_digits",
                      "remove_single_chars", "normalize_slang", "join_negation"],
        },
        "vocab": {"num_words": 20000, "min_freq": 1},
        "model": {
            "name": "bilstm",
            "embedding_dim": 100,
            "hidden_size": 128,
            "pooling": "max",
            "embed_dropout": 0.3,
            "rnn_input_dropout": 0.2,
            "init": "keras",
            "embedding": {"kind": "word2vec", "algo": "cbow", "window": 5, "min_count": 1, "epochs": 20},
        },
        "train": {"epochs": 30, "batch_size": 32, "lr": 2e-3, "patience": 6, "restore_best": True},
    },
}


def available_presets() -> list[str]:
    """Return the names of the model presets."""
    return sorted(MODEL_PRESETS)


def model_preset(name: str) -> dict[str, Any]:
    """Return a deep copy of the preset's partial config tree.

    Raises:
        ConfigError: If there is no preset of that name.
    """
    if name not in MODEL_PRESETS:
        raise ConfigError(f"--preset {name!r}: no such preset. Available: {', '.join(available_presets())}.")
    return copy.deepcopy(MODEL_PRESETS[name])
