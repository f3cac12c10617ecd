"""An LSTM language model whose encoder is a classifier's encoder: the start of ``lstmtext pretrain``.

Embedding (E) -> FusedLSTM (H per direction; both directions when ``bidirectional``) -> a projection to E
-> a decoder tied to the embedding. The forward direction's state after token t predicts token t+1, the
reverse direction's state after reading back to token t predicts token t-1 (ELMo's two language models
over one embedding and one decoder). The embedding and the recurrent layer have the parameter names of
:class:`~lstmtext.models.recurrent.RecurrentClassifier` (``embedding.weight``, ``rnn.weight_ih_l0``, ...),
so a classifier starts from them by name.

Regularisation, after AWD-LSTM (Merity et al. 2017), as ULMFiT uses it:

* embedding dropout: whole word types dropped for a batch (``embed_dropout``);
* variational dropout: one mask per text on the LSTM's input (``input_dropout``) and output
  (``output_dropout``), the same at every step;
* weight drop: DropConnect on the recurrent matrices (``weight_drop``, see FusedLSTM);
* tied input and output embeddings (fewer parameters, and the decoder trains the embedding of every word
  that is predicted, not only of those read).

The softmax over a large vocabulary dominates a small LSTM's cost, so training uses a *sampled* softmax
(``sampled`` > 0, Jean et al. 2015): the true word against ``sampled`` negatives drawn once per batch from
a log-uniform (Zipf) distribution over the frequency-ranked vocabulary, each logit corrected by the log of
its expected count so the estimate targets the full softmax. Validation always uses the full softmax, so
the reported perplexity is exact.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lstmtext.config import LMConfig
from lstmtext.models.fused_lstm import FusedLSTM


class LanguageModel(nn.Module):
    """Next-word (and previous-word) prediction over packed texts.

    Args:
        vocab_size: Rows of the embedding (id 0 is padding and never predicted).
        embedding_dim: E.
        hidden_size: H, per direction.
        bidirectional: Train a reverse language model too (for a BiLSTM classifier).
        embed_dropout, input_dropout, output_dropout, weight_drop: See the module docstring (0: none; a run
            sets them from its ``lm`` section with :meth:`configure`).
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int, bidirectional: bool = True,
                 embed_dropout: float = 0.0, input_dropout: float = 0.0, output_dropout: float = 0.0,
                 weight_drop: float = 0.0) -> None:
        super().__init__()
        self.vocab_size, self.hidden_size = vocab_size, hidden_size
        self.directions = 2 if bidirectional else 1
        self.embed_dropout, self.input_dropout, self.output_dropout = embed_dropout, input_dropout, output_dropout
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.rnn = FusedLSTM(embedding_dim, hidden_size, bidirectional=bidirectional, weight_drop=weight_drop)
        self.proj = nn.ModuleList(nn.Linear(hidden_size, embedding_dim) for _ in range(self.directions))
        self.decoder_bias = nn.Parameter(torch.zeros(vocab_size))
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        with torch.no_grad():
            self.embedding.weight[0].zero_()

    def configure(self, cfg: LMConfig) -> LanguageModel:
        """Train with the regularisation of the ``lm`` section ``cfg`` (a loaded model takes the run's); returns self."""
        self.embed_dropout, self.input_dropout, self.output_dropout = cfg.embed_dropout, cfg.input_dropout, cfg.output_dropout
        self.rnn.weight_drop = cfg.weight_drop
        return self

    def _embed(self, ids: Tensor) -> Tensor:
        """Embedding with word-type dropout and a per-text input mask while training: ``(B, T, E)``."""
        weight = self.embedding.weight
        x = F.embedding(ids, weight, padding_idx=0)
        if not self.training:
            return x
        if self.embed_dropout:
            keep = torch.bernoulli(weight.new_full((weight.shape[0],), 1 - self.embed_dropout))
            x = x * (keep / (1 - self.embed_dropout))[ids].unsqueeze(-1)
        return _variational(x, self.input_dropout)

    def states(self, ids: Tensor, lengths: Tensor) -> list[tuple[Tensor, Tensor]]:
        """Per direction, ``(features (M, E), targets (M,))``: the projected states and the words they predict."""
        out, _ = self.rnn(self._embed(ids), lengths)  # (B, T, dirs * H)
        if self.training:
            out = _variational(out, self.output_dropout)
        hid, total = self.hidden_size, ids.shape[1]
        steps = torch.arange(total - 1, device=ids.device).unsqueeze(0)  # (1, T - 1)
        inside = steps < (lengths.to(ids.device) - 1).unsqueeze(1)  # (B, T - 1): pairs of real tokens
        pairs = [(out[:, :-1, :hid], ids[:, 1:])]  # forward: state at t predicts t + 1
        if self.directions == 2:
            pairs.append((out[:, 1:, hid:], ids[:, :-1]))  # reverse: state at t + 1 predicts t
        return [(proj(h[inside]), y[inside]) for proj, (h, y) in zip(self.proj, pairs)]

    def loss(self, ids: Tensor, lengths: Tensor, sampled: int = 0) -> Tensor:
        """Mean cross-entropy over every predicted word and direction (``sampled`` > 0: sampled softmax)."""
        losses = []
        negatives = _log_uniform(self.vocab_size, sampled, ids.device) if sampled else None
        for features, targets in self.states(ids, lengths):
            if negatives is None:
                logits = F.linear(features, self.embedding.weight, self.decoder_bias)
                losses.append(F.cross_entropy(logits, targets))
            else:
                losses.append(self._sampled_loss(features, targets, *negatives))
        return torch.stack(losses).mean()

    def _sampled_loss(self, features: Tensor, targets: Tensor, neg: Tensor, neg_log_q: Tensor) -> Tensor:
        # rows picked with embedding/index_select, not weight[idx]: the backward of advanced indexing adds the
        # gradients of repeated rows in a thread-dependent order on the CPU, so two runs differed (by ~1e-6)
        weight, bias = self.embedding.weight, self.decoder_bias
        true = (features * F.embedding(targets, weight)).sum(1) + bias.index_select(0, targets) \
            - _log_expected(targets, self.vocab_size, len(neg))
        other = F.linear(features, F.embedding(neg, weight), bias.index_select(0, neg) - neg_log_q)  # (M, S)
        other = other.masked_fill(targets.unsqueeze(1) == neg.unsqueeze(0), float("-inf"))  # accidental hits
        logits = torch.cat([true.unsqueeze(1), other], 1)
        return F.cross_entropy(logits, targets.new_zeros(len(targets)))

    @torch.no_grad()
    def nll(self, ids: Tensor, lengths: Tensor) -> tuple[list[float], int]:
        """Summed negative log-likelihood per direction (full softmax) and the number of predicted words."""
        sums, count = [], 0
        for features, targets in self.states(ids, lengths):
            logits = F.linear(features, self.embedding.weight, self.decoder_bias)
            sums.append(float(F.cross_entropy(logits, targets, reduction="sum")))
            count = len(targets)
        return sums, count

    def encoder_state(self) -> dict[str, Tensor]:
        """What a classifier starts from: ``embedding.*`` and ``rnn.*`` tensors."""
        return {k: v for k, v in self.state_dict().items() if k.startswith(("embedding.", "rnn."))}


def _variational(x: Tensor, p: float) -> Tensor:
    """Dropout with one mask per text and feature, the same at every step of ``x (B, T, F)``."""
    if not p:
        return x
    return x * (torch.bernoulli(x.new_full((x.shape[0], 1, x.shape[2]), 1 - p)) / (1 - p))


def _log_q(ids: Tensor, vocab_size: int) -> Tensor:
    """Log-probability of ``ids`` under the log-uniform distribution over ranks 1..V-1 (id 0 is padding)."""
    rank = ids.to(torch.float64)
    return (torch.log((rank + 1) / rank) / math.log(vocab_size)).log().to(torch.float32)


def _log_expected(ids: Tensor, vocab_size: int, draws: int) -> Tensor:
    """Log of the expected number of times each id is drawn in ``draws`` samples."""
    return _log_q(ids, vocab_size) + math.log(draws)


def _log_uniform(vocab_size: int, draws: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """``draws`` ids in 1..V-1 with P(k) = log((k + 1) / k) / log(V), and their log expected counts."""
    u = torch.rand(draws, dtype=torch.float64)
    ids = torch.exp(u * math.log(vocab_size)).floor().clamp_(1, vocab_size - 1).to(torch.int64)
    return ids.to(device), _log_expected(ids, vocab_size, draws).to(device)
