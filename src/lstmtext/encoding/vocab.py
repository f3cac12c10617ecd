"""Word index: the ``num_words`` most frequent training tokens, with ``<pad>`` = 0 and ``<unk>`` = 1."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1


def known_words(sequences: Iterable[Iterable[int]]) -> tuple[int, int]:
    """``(known, total)``: how many of the encoded texts' tokens are words of the vocabulary (not ``<unk>``)."""
    known = total = 0
    for ids in sequences:
        for t in ids:
            total += 1
            known += t > UNK_ID
    return known, total


def knows_a_word(ids: Iterable[int]) -> bool:
    """Whether an encoded text holds a word of the vocabulary (not empty, not only ``<unk>``)."""
    return any(t > UNK_ID for t in ids)


class Vocab:
    """Map tokens to ids and back.

    Words are ranked by training frequency, ties by first appearance (as Keras' ``Tokenizer``).

    Args:
        itos: Tokens by id; ids 0 and 1 must be ``<pad>`` and ``<unk>``.
        counts: Training counts of the kept tokens (for reports; optional).
    """

    def __init__(self, itos: Sequence[str], counts: dict[str, int] | None = None) -> None:
        if list(itos[:2]) != [PAD, UNK]:
            raise ValueError("a vocabulary starts with <pad>, <unk>")
        self.itos = list(itos)
        # a text's literal "<pad>" is an unknown word, never padding (id 0 is masked and its row frozen)
        self.stoi = {tok: i for i, tok in enumerate(self.itos) if i != PAD_ID}
        self.counts = dict(counts or {})

    @classmethod
    def build(
        cls, token_lists: Iterable[Sequence[str]], num_words: int | None = None, min_freq: int = 1
    ) -> Vocab:
        """Count tokens and keep the most frequent.

        Args:
            token_lists: Tokenised training texts.
            num_words: Total size including ``<pad>`` and ``<unk>``; None keeps every word.
            min_freq: Drop words seen fewer times.
        """
        counter: Counter[str] = Counter()
        for tokens in token_lists:
            counter.update(tokens)
        # Counter preserves first-insertion order, and sorted() is stable: ties keep first appearance.
        ranked = [w for w, c in sorted(counter.items(), key=lambda kv: -kv[1]) if c >= min_freq and w not in (PAD, UNK)]
        if num_words is not None:
            ranked = ranked[: max(0, num_words - 2)]
        return cls([PAD, UNK, *ranked], {w: counter[w] for w in ranked})

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Return the ids of ``tokens`` (unknown tokens become ``<unk>``)."""
        get = self.stoi.get
        return [get(t, UNK_ID) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Return the tokens of ``ids``, skipping padding."""
        return [self.itos[i] for i in ids if i != PAD_ID]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form."""
        return {"itos": self.itos, "counts": [self.counts.get(t, 0) for t in self.itos]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocab:
        """Rebuild from :meth:`to_dict` output."""
        itos = data["itos"]
        counts = dict(zip(itos, data.get("counts", [0] * len(itos))))
        return cls(itos, {t: c for t, c in counts.items() if t not in (PAD, UNK)})
