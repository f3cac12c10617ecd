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
        # 256 batches' worth sorted by length together: most batches hold one length and the LSTM trains them
        # without padding (oneDNN's fused kernel). Airline tweets, seeds 0 and 1: 26,209 and 25,662 -> 42,573 and
        # 42,035 tokens/s, valid macro-F1 0.7429 and 0.7445 -> 0.7438 and 0.7423; IndoNLU SmSA 25,784 and 25,909
        # -> 38,141 and 36,895 tokens/s, 0.8401 and 0.8469 -> 0.8393 and 0.8408.
        "train": {"epochs": 12, "batch_size": 64, "lr": 2e-3, "patience": 3, "restore_best": True,
                  "bucket_chunks": 256},
    },
    # Aspect-based sentiment (docs/absa.md): the thesis's chain (id-review cleaning, word2vec CBOW trained on
    # the training texts, BiLSTM), one softmax head per aspect. Tuned on the IndoNLU CASA/HoASA valid files:
    # max pooling and keeping the stopwords (the list drops tapi, cuma, kecil, lama, masih, ..., which carry
    # an aspect's polarity) took HoASA's valid flat macro-F1 from 0.81 to 0.85 and left CASA's at 0.79.
    "absa": {
        "task": "absa",
        # each aspect attends over the BiLSTM states with its own query, next to the shared max-pooled
        # vector: valid flat macro-F1 (seeds 0-2) CASA 0.785 -> 0.802, HoASA 0.853 -> 0.888 (docs/absa.md)
        "absa": {"head": "attention", "attention_size": 64},
        "preprocess": {"preset": "id-aspect"},  # id-review keeping the stopwords; any other preset may replace it
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
            # five members averaged (seeds 42-46 for train.seed 42): in a trial with seeds 42, 0-3, CASA valid
            # went from 0.793 (the members' mean) to 0.816, for 5x the time; --set model.ensemble=1 trains one
            "ensemble": 5,
        },
        "train": {"epochs": 30, "batch_size": 32, "lr": 2e-3, "patience": 6, "restore_best": True},
    },
}


#: The preset a task starts from when none is named (``lstmtext train --task absa`` uses ``absa``).
TASK_PRESETS = {"absa": "absa", "multilabel": "multilabel"}


#: The preset a run started from a language model (``--pretrained LM``) takes when none is named, per task; a task
#: without one keeps its own preset (:data:`TASK_PRESETS`), whose model the language model's weights then start.
PRETRAINED_PRESETS = {"classify": "ulmfit"}


def task_preset(task: str | None, pretrained: bool = False) -> str:
    """The preset of ``task`` (``default`` for tasks without their own); with ``pretrained``, the one a run from a
    language model takes (:data:`PRETRAINED_PRESETS`)."""
    task = task or "classify"
    if pretrained and task in PRETRAINED_PRESETS:
        return PRETRAINED_PRESETS[task]
    return TASK_PRESETS.get(task, "default")


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


# The model zoo's presets, one per architecture, tuned on the valid splits of the airline tweets and the
# Indonesian news titles (docs/compare.md has the runs). What they share: skip-gram word2vec trained on the
# training texts as the starting embedding (tweets, seed 0: valid macro-F1 0.777 vs 0.752 with a random
# start), Adam at 1e-3 for up to 15 epochs with patience 3 (a judgement call: 2e-3 peaked by epoch 4 and
# scored higher or lower depending on the cleaning), max pooling over the recurrent states, and words seen
# at least twice (tweets: 0.767 vs 0.755 with every word; clean titles prefer every word: add
# --set vocab.min_freq=1 there).
def _zoo(model: dict[str, Any], train: dict[str, Any] | None = None) -> dict[str, Any]:
    base_model = {"embedding_dim": 128, "hidden_size": 128, "bidirectional": True, "pooling": "max",
                  "embed_dropout": 0.5, "rnn_input_dropout": 0.2, "init": "keras",
                  "embedding": {"kind": "word2vec", "algo": "skipgram", "window": 5, "min_count": 1, "epochs": 10}}
    base_train = {"epochs": 15, "batch_size": 64, "lr": 1e-3, "patience": 3, "restore_best": True}
    return {"vocab": {"num_words": 20000, "min_freq": 2}, "model": {**base_model, **model},
            "train": {**base_train, **(train or {})}}


MODEL_PRESETS.update({
    "bilstm": _zoo({"name": "bilstm"}),
    # 256 batches' worth sorted by length together (most batches without padding, see "default"): airline valid
    # macro-F1 0.7622 -> 0.7631 (seed 0), 36,504 -> 62,849 tokens/s. bilstm_attn too, since stop 32 (3 seeds each,
    # mean valid macro-F1 with 8 -> 256): airline 0.7613 -> 0.7628, IndoNLU SmSA 0.8584 -> 0.8623, at 20,695-23,913
    # -> 30,391-39,657 tokens/s (an earlier version, seeds 0 and 1, had lost 0.010 and 0.006 on the airline tweets;
    # bilstm_attn-long keeps 8: NTC-SCV 0.882 -> 0.878). The others keep 8: bilstm, at stop 32, airline 0.7623 ->
    # 0.7608 and SmSA 0.8625 -> 0.8597 (24,334 -> 37,880 tokens/s; earlier 0.7635 -> 0.7583, seed 0), cnn 0.7504 ->
    # 0.7469; gru 0.7639 -> 0.7648 but only 1.05x faster (torch's GRU kernel is slower than FusedGRU's loop); clstm
    # (batch 16, its LSTM unpacked on rows of one length) 0.7588 -> 0.7502 at 6,496 -> 7,400 tokens/s.
    "lstm": _zoo({"name": "lstm", "bidirectional": False}, {"bucket_chunks": 256}),
    "gru": _zoo({"name": "gru"}),
    "rnn": _zoo({"name": "rnn"}),
    "bilstm_attn": _zoo({"name": "bilstm_attn", "options": {"attention_size": 64, "head_dropout": 0.3}},
                        {"bucket_chunks": 256}),
    # A lighter embedding dropout and 200 filters per width: valid macro-F1 0.760 vs 0.738 on the tweets.
    "cnn": _zoo({"name": "cnn", "embed_dropout": 0.25, "options": {"kernel_sizes": [3, 4, 5], "num_filters": 200}}),
    # The paper's Tabel I (300 filters, LSTM 128, dense 128, dropout 0.6, max-norm 1, L2 0.001 in the model's
    # defaults) and its batch size 16 (valid macro-F1 0.760 vs 0.754 with 64); the LSTM state is the last one.
    "clstm": _zoo({"name": "clstm", "bidirectional": False, "pooling": "last"}, {"batch_size": 16}),
})

# Long texts (reviews; NTC-SCV: median 60 tokens, 4,000 training reviews): cap at 256 tokens and allow more
# epochs with patience 4. On its valid split cnn went 0.880 -> 0.884 and bilstm_attn 0.858 -> 0.880 (it had
# stopped at epoch 8 with patience 3); bilstm stayed at 0.882 and clstm 0.882 with batch 16.
MODEL_PRESETS.update({
    f"{name}-long": {**MODEL_PRESETS[name], "vocab": {**MODEL_PRESETS[name]["vocab"], "max_len": 256},
                     "train": {**MODEL_PRESETS[name]["train"], "epochs": 30, "patience": 4, "bucket_chunks": 8}}
    for name in ("bilstm", "bilstm_attn", "cnn", "clstm")
})

# Reviews with few labels (NTC-SCV: 4,000): cnn-long plus a linear bag of word 1-2-grams added to its logits
# (model.ngram_bag, "wide and deep"). On NTC-SCV, 3 seeds: valid macro-F1 0.890 vs 0.883 for cnn-long and
# 0.890 for TF-IDF + logistic regression; also tried there, all lower on valid: bilstm-long with the bag
# (0.877), trigrams (0.883), n-gram dropout 0.5 (0.887) and the bag's learning rate at 30x (0.888).
MODEL_PRESETS["cnn-bag-long"] = {**MODEL_PRESETS["cnn-long"],
                                 "model": {**MODEL_PRESETS["cnn-long"]["model"], "ngram_bag": 2}}

# Multi-label (docs/multilabel.md): chosen on the valid file of IndoNLU HoASA read as 20 labels
# (<aspect>_<polarity>), 3 seeds each, valid micro-F1: cnn x 5 0.847, cnn 0.842, the absa preset's BiLSTM x 5
# 0.838, TF-IDF one-vs-rest 0.821; the zoo presets as they are (monitoring macro-F1 at 0.5, patience 3) stopped
# early at 0.757-0.793, so the epoch is picked by micro-F1 with patience 6.
MODEL_PRESETS["multilabel"] = {
    "task": "multilabel",
    **MODEL_PRESETS["cnn"],
    "model": {**MODEL_PRESETS["cnn"]["model"], "ensemble": 5},
    "train": {**MODEL_PRESETS["cnn"]["train"], "epochs": 30, "patience": 6, "monitor": "valid_micro_f1"},
}

# ULMFiT (Howard and Ruder 2018) on this project's pieces (docs/pretrain.md): a BiLSTM whose embedding and LSTM
# start from a bidirectional language model trained on the training texts and --unlabelled ones (train.pretrain;
# `train --pretrained LM` starts from a saved one instead), with concat pooling. Tuned on the airline valid split
# with 10% of the labels (3 seeds, LM on the training texts): 0.697 against 0.665 for `default`; ULMFiT's own
# fine-tuning (learning rates / 2.6 per layer group, gradual unfreezing, slanted triangular) gave 0.689, a
# slanted schedule alone 0.695, so the plain one is kept: the switches stay (train.layer_lr_decay, unfreeze, schedule).
# A TF-IDF + logistic regression path is fitted after the network and blended on valid (model.ngram_fit "after",
# docs/pretrain.md): with every label, seed 0, valid macro-F1 rose on all four study data sets (tweets 0.760 ->
# 0.770, SmSA 0.862 -> 0.871, news titles 0.802 -> 0.836, NTC-SCV 0.872 -> 0.894).
MODEL_PRESETS["ulmfit"] = {
    "vocab": {"num_words": 30000, "min_freq": 2},
    "model": {"name": "bilstm", "embedding_dim": 256, "hidden_size": 256, "pooling": "concat", "embed_dropout": 0.5,
              "rnn_input_dropout": 0.3, "init": "keras", "options": {"weight_drop": 0.2},
              "ngram_bag": 2, "ngram_fit": "after"},
    "train": {"epochs": 12, "batch_size": 32, "lr": 1e-3, "pretrain": True, "patience": None, "restore_best": True},
}

# ulmfit for long texts, as the label-efficiency study ran it on NTC-SCV (docs/pretrain.md): texts cut at 256
# tokens. Valid macro-F1 there, 3 seeds: with 10% of the labels 0.847 (`default` 0.756, TF-IDF + LR
# 0.829); with every label 0.873 (TF-IDF + LR 0.890: with all 4,000 labels the linear model stays ahead).
MODEL_PRESETS["ulmfit-long"] = {**MODEL_PRESETS["ulmfit"], "vocab": {**MODEL_PRESETS["ulmfit"]["vocab"], "max_len": 256}}

#: One line per model preset for ``lstmtext presets`` (a test holds every preset to one).
PRESET_DESCRIPTIONS: dict[str, str] = {
    "default": "BiLSTM 128 over random embeddings, en-tweet cleaning: the tuned tweet model (docs/tuning.md)",
    "seed001": "the airline tutorial's model: LSTM 256 over the 1,024 most frequent words, batch 512, 10 epochs",
    "bilstm": "BiLSTM 128, max pooling, skip-gram vectors from the training texts (the zoo's shared settings)",
    "lstm": "one-directional LSTM 128, otherwise as bilstm",
    "gru": "BiGRU 128, otherwise as bilstm",
    "rnn": "bidirectional Elman RNN 128, otherwise as bilstm: the fastest recurrent preset",
    "bilstm_attn": "BiLSTM 128 with additive attention pooling",
    "cnn": "TextCNN, widths 3-5, 200 filters each, max over time",
    "clstm": "C-LSTM (Indonesian news paper): convolution, then an LSTM 128, batch 16",
    "bilstm-long": "bilstm for reviews: texts cut at 256 tokens, up to 30 epochs",
    "bilstm_attn-long": "bilstm_attn for reviews: texts cut at 256 tokens, up to 30 epochs",
    "cnn-long": "cnn for reviews: texts cut at 256 tokens, up to 30 epochs",
    "clstm-long": "clstm for reviews: texts cut at 256 tokens, up to 30 epochs",
    "cnn-bag-long": "cnn-long plus a linear bag of word 1-2-grams: reviews with a few thousand labels",
    "multilabel": "--task multilabel: 5 cnn members averaged, the epoch chosen by micro-F1",
    "absa": "--task absa: 5 BiLSTMs over CBOW vectors, a softmax and an attention per aspect, id-aspect cleaning",
    "ulmfit": "BiLSTM 256 started from a language model of the training (+ --unlabelled) texts, blended with "
              "TF-IDF + logistic regression on valid",
    "ulmfit-long": "ulmfit for reviews: texts cut at 256 tokens",
}

#: One line per cleaning preset (the steps are in lstmtext.preprocess.presets).
CLEANING_DESCRIPTIONS: dict[str, str] = {
    "en-tweet": "English tweets: URLs, emoji and emoticons to words, mentions, contractions, punctuation marks",
    "id-review": "Indonesian reviews (the aspect thesis): filtering, slang lexicon, negation joining, stopwords",
    "id-aspect": "id-review keeping the stopwords (they carry an aspect's polarity)",
    "id-news": "Indonesian news titles (the C-LSTM paper): stopwords and Sastrawi stemming",
    "vi-review": "Vietnamese reviews (NTC-SCV): diacritic repair, one tone-mark placement, emoji and emoticons to words, ko/k -> không, pyvi word segmentation",
    "plain": "Unicode clean-up, lower case and whitespace only",
    "none": "no cleaning: the text split on whitespace",
}
