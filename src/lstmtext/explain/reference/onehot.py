"""The thesis's vocabulary and one-hot encoding (section 2.4.1, figures 2.8 and 2.9), in plain NumPy.

Figure 2.8 turns the tokens of a sentence into a vocabulary, writing a repeated word once; figure 2.9 then
gives every token a one-hot vector of the vocabulary's length V: 1 at the word's index, 0 elsewhere.
Indices run from 0 to V-1 in order of first appearance ("one-hot encoding pilihan yang bagus" makes
"one-hot" index 0, one-hot (1 0 0 0 0)); the figure's vocabulary lists the words in that order too:
``bukalapak bagus barang sesuai pengiriman cepat tingkatkan admin biar semangat belanja hahaha``.

Figure 2.9 draws the vocabulary as rows and the sentence's tokens as columns; as extracted, its last two
rows are shifted (the "belanja" row has a 1 under the last token "hahaha" too, and the "hahaha" row is all
zeros). We assume a misprint: here every token's column has exactly one 1, in the row of its own word.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmtext.errors import ConfigError

THESIS_SENTENCE = "bukalapak bagus barang sesuai pengiriman cepat tingkatkan admin biar semangat belanja bukalapak hahaha"
"""The sentence of figures 2.8 and 2.9 (already cleaned: case folding and normalisation come before)."""


@dataclass
class OneHot:
    """A sentence's tokens, its vocabulary, and one one-hot row per token."""

    tokens: list[str]  # the sentence split on whitespace, T tokens
    vocabulary: list[str]  # V distinct words in order of first appearance (figure 2.8)
    index: dict[str, int]  # word -> 0 .. V-1
    rows: np.ndarray  # (T, V): rows[k] is the one-hot vector of tokens[k] (figure 2.9's column k)


def tokenize(text: str) -> list[str]:
    """Split on whitespace; no other cleaning (the thesis encodes tokens that preprocessing already cleaned)."""
    return text.split()


def build_vocabulary(tokens: list[str]) -> list[str]:
    """The distinct tokens in order of first appearance: a word that occurs twice is written once (figure 2.8)."""
    return list(dict.fromkeys(tokens))


def one_hot(index: int, size: int) -> np.ndarray:
    """The unit vector of length ``size`` with 1 at ``index`` (section 2.4.1)."""
    vector = np.zeros(size)
    vector[index] = 1.0
    return vector


def encode(text: str) -> OneHot:
    """Tokens, vocabulary and one-hot rows of ``text`` (figures 2.8 and 2.9).

    Raises:
        ConfigError: The text has no tokens.
    """
    if not isinstance(text, str) or not text.split():
        raise ConfigError(f"onehot: TEXT {text!r} has no tokens; expected a sentence of one or more words split by "
                          "spaces, e.g. \"bukalapak bagus barang sesuai\"")
    tokens = tokenize(text)
    vocabulary = build_vocabulary(tokens)
    index = {word: k for k, word in enumerate(vocabulary)}
    rows = np.stack([one_hot(index[token], len(vocabulary)) for token in tokens])  # (T, V)
    return OneHot(tokens=tokens, vocabulary=vocabulary, index=index, rows=rows)
