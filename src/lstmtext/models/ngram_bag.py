"""A linear bag of n-grams added to any classifier's logits ("wide and deep"; Cheng et al., 2016).

``model.ngram_bag = N`` gives the network a second, linear path: each text's word 1..N-grams (unigrams by
vocabulary id, longer n-grams hashed into ``model.ngram_buckets`` rows) are looked up in a table with one
weight per class and averaged over the text, fastText-style without the hidden layer; the average is added to
the network's logits and both are trained together. The bag carries what TF-IDF + logistic regression
carries (exact phrases such as ``không tốt``), the network what a linear model cannot (order, context), which
helps where labelled texts are few. Padding never enters the average, so a text's output does not depend on
its batch, as the registry requires.

``weighting="tfidf"`` (``model.ngram_fit = "after"``) makes the path a TF-IDF + logistic regression model: each
n-gram counts with its inverse document frequency (the ``idf`` buffer; 0 for n-grams never seen in training),
the weighted sum is divided by the text's L2 norm, and a bias is added. Its weights are not trained with the
network but fitted afterwards (:mod:`lstmtext.training.ngram_fit`).
"""

from __future__ import annotations

import torch
from torch import nn

from lstmtext.models.layers import padding_mask

#: Most bytes the bags of a text's deletion copies may take in :meth:`NgramBagClassifier.deletion_logits` (their
#: (T + 1) T n n-gram rows, each a weight per output, looked up and weighted: a 2,048-token text's 1-2-grams with
#: 3 classes about 300 MB); a longer text, or one of more outputs (aspects), reads its copies as texts, in batches.
BAG_DELETION_BYTES = 384 * 2**20

# Multipliers of the n-gram hash (large odd numbers; each position gets its own); the ONNX export reads them too.
NGRAM_HASH = (1, 1_000_003, 998_244_353)


def ngram_ids(ids: torch.Tensor, lengths: torch.Tensor, n: int, vocab_size: int, buckets: int
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the rows ``(B, K)`` of every 1..n-gram of post-padded ``ids (B, T)`` and their mask ``(B, K)``.

    Unigrams use their vocabulary id; an n-gram of ``n >= 2`` words uses ``vocab_size + hash % buckets``.
    """
    steps = ids.shape[1]
    mask = padding_mask(lengths.to(ids.device), steps)
    rows, masks = [ids], [mask]
    for size in range(2, n + 1):
        if steps < size:
            break
        span = steps - size + 1
        code = torch.zeros_like(ids[:, :span])
        for k in range(size):
            code = code + ids[:, k : k + span] * NGRAM_HASH[k]
        rows.append(vocab_size + torch.remainder(code, buckets))
        masks.append(mask[:, size - 1 : size - 1 + span])  # real when its last word is real
    return torch.cat(rows, dim=1), torch.cat(masks, dim=1)


class NgramBagClassifier(nn.Module):
    """``base(ids, lengths) + mean over the text's n-grams of W[n-gram]``.

    Args:
        base: Any registered model (``forward(ids, lengths) -> (B, C)``).
        vocab_size: Rows for the unigrams (the vocabulary's ids).
        num_classes: Outputs, as the base's.
        n: Longest n-gram (1 to 3).
        buckets: Hash rows for the 2..n-grams.
        dropout: Share of n-grams dropped from each text's bag while training (the rest re-averaged).
        lr_scale: The bag's learning rate as a multiple of the base's (:meth:`param_groups`): each n-gram
            weight is updated only when its n-gram is in the batch, and an average of many small weights
            needs many steps at the network's rate.
    """

    def __init__(self, base: nn.Module, vocab_size: int, num_classes: int, n: int = 2, buckets: int = 2**18,
                 dropout: float = 0.0, lr_scale: float = 10.0, weighting: str = "mean") -> None:
        super().__init__()
        self.base, self.n, self.vocab_size, self.buckets, self.dropout = base, n, vocab_size, buckets, dropout
        self.lr_scale, self.weighting = lr_scale, weighting
        self.bag = nn.Embedding(vocab_size + (buckets if n > 1 else 0), num_classes)
        nn.init.zeros_(self.bag.weight)  # the bag starts silent: at step 0 the model is its base
        if weighting == "tfidf":  # fitted after the network, never by its optimizer
            self.register_buffer("idf", torch.zeros(self.bag.weight.shape[0]))
            self.register_buffer("base_scale", torch.ones(()))  # the network's share of the blend (blend())
            self.bias = nn.Parameter(torch.zeros(num_classes))
            self.bag.weight.requires_grad_(False)
            self.bias.requires_grad_(False)
        elif weighting != "mean":
            raise ValueError(f"weighting must be 'mean' or 'tfidf', not {weighting!r}")

    def bag_logits(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The linear path alone: ``(B, C)``."""
        rows, mask = ngram_ids(ids, lengths, self.n, self.vocab_size, self.buckets)
        if self.weighting == "tfidf":
            weight = self.idf[rows] * mask.to(self.idf.dtype)  # (B, K): idf of each real n-gram, 0 for padding
            total = (self.bag(rows) * weight.unsqueeze(-1)).sum(1)
            return total / weight.square().sum(1, keepdim=True).sqrt().clamp(min=1e-12) + self.bias
        keep = mask.to(self.bag.weight.dtype)
        if self.training and self.dropout > 0:
            keep = keep * torch.bernoulli(torch.full_like(keep, 1.0 - self.dropout))
        total = (self.bag(rows) * keep.unsqueeze(-1)).sum(1)
        return total / keep.sum(1, keepdim=True).clamp(min=1.0)

    def param_groups(self, lr: float) -> list[dict]:
        """Optimizer groups: the base's trainable parameters at ``lr``, the bag at ``lr * lr_scale`` (no group for
        a TF-IDF bag: it is fitted after training)."""
        base = [p for p in self.base.parameters() if p.requires_grad]
        if self.weighting == "tfidf":
            return [{"params": base, "lr": lr}]
        return [{"params": base, "lr": lr}, {"params": [self.bag.weight], "lr": lr * self.lr_scale}]

    @torch.no_grad()
    def blend(self, share: float) -> None:
        """Make this model's logits ``(1 - share) * base + share * bag`` (a TF-IDF bag fitted after the network):
        the bag is scaled in place and the base's share kept in ``base_scale``, so the saved model is the blend
        itself, which every engine reads. (Scaling the bag alone by ``share / (1 - share)`` gave the blend times
        ``1 / (1 - share)``: ten times the logits at 0.9, probabilities of 1.0 wherever no temperature was fitted
        after.) :meth:`silence` undoes it: a warm start continues the network as it trained."""
        if self.weighting != "tfidf":
            raise ValueError("blend() is for a TF-IDF bag fitted after the network (weighting='tfidf')")
        self.base_scale.fill_(1.0 - share)
        self.bag.weight.mul_(share)
        self.bias.mul_(share)

    @torch.no_grad()
    def silence(self) -> None:
        """The network alone: the bag zeroed and the base at its whole share (a TF-IDF bag before it is fitted)."""
        self.bag.weight.zero_()
        if self.weighting == "tfidf":
            self.bias.zero_()
            self.base_scale.fill_(1.0)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # noqa: ANN001, D105 - torch's hook
        if self.weighting == "tfidf":  # saved before base_scale existed: the network at its whole share
            state_dict.setdefault(prefix + "base_scale", torch.ones(()))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def apply_constraints(self) -> None:  # noqa: D102 - the base's (e.g. clstm's max-norm), if it has any
        if hasattr(self.base, "apply_constraints"):
            self.base.apply_constraints()

    def deletion_input(self, ids: torch.Tensor) -> tuple[nn.Module, torch.Tensor] | None:
        """The base's (:meth:`~lstmtext.models.recurrent.RecurrentClassifier.deletion_input`), if it has one."""
        shared = getattr(self.base, "deletion_input", None)
        return None if shared is None else shared(ids)

    def deletion_logits(self, ids: torch.Tensor, found: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
                        ) -> torch.Tensor | None:
        """Logits ``(T + 1, C)`` of the text ``ids (T,)`` (row 0) and of each copy without token i (row i + 1): the
        base's shared deletion pass plus the bag of each copy (cheap: (T + 1) T n-gram lookups). Without it the
        copies were read as T + 1 texts through the base (`ulmfit` on a 256-token review: 983 ms; a TextCNN with a
        bag 309 ms against 9 without). None where the base has no such pass, or the copies' bags would be large."""
        shared = getattr(self.base, "deletion_logits", None)
        steps = len(ids)
        outputs = self.bag.weight.shape[1]
        if shared is None or steps < 2 or (steps + 1) * steps * self.n * (2 * outputs + 3) * 4 > BAG_DELETION_BYTES:
            return None  # per n-gram: its row id (8 bytes), weight, and the looked-up and weighted outputs
        base = shared(ids) if found is None else shared(ids, found)
        if base is None:
            return None
        if self.weighting == "tfidf":
            base = base * self.base_scale
        copies = ids.unsqueeze(0).expand(steps, steps)[~torch.eye(steps, dtype=torch.bool, device=ids.device)]
        variants = ids.new_zeros(steps + 1, steps)  # post-padded: row 0 the text, row i + 1 without token i
        variants[0] = ids
        variants[1:, : steps - 1] = copies.view(steps, steps - 1)
        lengths = torch.full((steps + 1,), steps - 1, dtype=torch.int64)
        lengths[0] = steps
        return base + self.bag_logits(variants, lengths)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Return the base's logits (times its share of a blend) plus the bag's, ``(B, C)``."""
        base = self.base(ids, lengths)
        if self.weighting == "tfidf":
            base = base * self.base_scale
        return base + self.bag_logits(ids, lengths)
