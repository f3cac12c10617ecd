"""Recurrent classifiers (Elman RNN, GRU, LSTM, BiLSTM) over packed sequences.

Embedding -> Dropout -> recurrent layers (packed: padding is never computed) -> pooling -> Linear.
``rnn_input_dropout`` draws one mask per text and feature, shared by all time steps, like Keras'
``LSTM(dropout=...)``; ``init="keras"`` reproduces Keras' initialisers (Glorot-uniform input weights,
orthogonal recurrent weights, forget-gate bias 1, embeddings uniform in +-0.05), which trained markedly
better than PyTorch's defaults on the airline tweets.

LSTMs, GRUs and Elman RNNs (any depth, either direction) run on :class:`~lstmtext.models.fused_lstm.FusedLSTM`,
:class:`~lstmtext.models.fused_gru.FusedGRU` and :class:`~lstmtext.models.fused_rnn.FusedRNN` (the same
parameters as torch's ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN``, so bundles load either way; ``model.options.impl = "native"`` selects torch's): on the 2-core machine packed ``nn.LSTM`` was
slower than padding, and the fused layers compute only real tokens.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lstmtext.config import ModelConfig
from lstmtext.errors import ConfigError
from lstmtext.models.deletions import deletion_states, supports_deletions
from lstmtext.models.dropout import Dropout
from lstmtext.models.fused_gru import FusedGRU
from lstmtext.models.fused_lstm import FusedLSTM
from lstmtext.models.fused_rnn import FusedRNN
from lstmtext.models.layers import Option, embedding_kwargs, keras_init_rnn, padding_mask, rate, read_options
from lstmtext.models.registry import register_model

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
_FUSED = {"lstm": FusedLSTM, "gru": FusedGRU, "rnn": FusedRNN}  # the same parameters, stepping through real tokens only


class RecurrentClassifier(nn.Module):
    """A text classifier over one recurrent encoder.

    Args:
        cfg: Sizes, dropouts, pooling and initialisation.
        vocab_size: Rows of the embedding table.
        num_classes: Number of output classes.
        cell: ``lstm``, ``gru`` or ``rnn`` (Elman).
        embedding_weights: Optional initial embedding matrix ``(vocab_size, embedding_dim)``.
        freeze_embedding: Keep the embedding fixed during training.
    """

    def __init__(
        self,
        cfg: ModelConfig,
        vocab_size: int,
        num_classes: int,
        cell: str = "lstm",
        embedding_weights: torch.Tensor | None = None,
        freeze_embedding: bool = False,
    ) -> None:
        super().__init__()
        self.cell = cell
        self.pooling = cfg.pooling
        self.num_directions = 2 if cfg.bidirectional else 1
        self.embedding = nn.Embedding(vocab_size, cfg.embedding_dim, padding_idx=0)
        self.embed_dropout = Dropout(cfg.embed_dropout)
        self.rnn_input_dropout = cfg.rnn_input_dropout
        kwargs = {"nonlinearity": cfg.options.get("nonlinearity", "tanh")} if cell == "rnn" else {}
        impl = cfg.options.get("impl", "fused")
        if impl not in ("fused", "native"):
            raise ConfigError(f"model.options.impl must be 'fused' or 'native'. Got {impl!r} instead.")
        self.fused = cell in _FUSED and impl == "fused"
        if cell == "lstm" and self.fused:
            kwargs["weight_drop"] = float(cfg.options.get("weight_drop", 0.0))
        self.rnn = (_FUSED[cell] if self.fused else _CELLS[cell])(
            cfg.embedding_dim,
            cfg.hidden_size,
            num_layers=cfg.num_layers,
            batch_first=True,
            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
            bidirectional=cfg.bidirectional,
            **kwargs,
        )
        pooled = cfg.hidden_size * self.num_directions * (3 if cfg.pooling == "concat" else 1)
        self.fc = nn.Linear(pooled, num_classes)
        if cfg.init == "keras":
            self._keras_init()
        if embedding_weights is not None:
            with torch.no_grad():
                self.embedding.weight.copy_(embedding_weights)
        self.embedding.weight.requires_grad_(not freeze_embedding)

    def _keras_init(self) -> None:
        nn.init.uniform_(self.embedding.weight, -0.05, 0.05)
        keras_init_rnn(self.rnn, self.cell)
        nn.init.xavier_uniform_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def sequence_states(
        self, x: torch.Tensor, lengths: torch.Tensor, need_output: bool = True
    ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """Run the recurrent layers on embedded ``x (B, T, E)`` over the real steps only.

        Returns:
            ``(states, h_n)``: states ``(B, T', dirs * H)`` with zeros on padding (None when not
            ``need_output``; ``T'`` may be shorter than ``T``) and final states ``(layers * dirs, B, H)``.
        """
        if self.fused:
            return self.rnn(x, lengths.cpu(), need_output=need_output)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, state = self.rnn(packed)
        h_n = state[0] if self.cell == "lstm" else state
        return (pad_packed_sequence(out, batch_first=True)[0] if need_output else None), h_n

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Embedding, embedding dropout and (training only) one input-dropout mask per text: ``(B, T, E)``."""
        x = self.embed_dropout(self.embedding(ids))  # (B, T, E)
        if self.training and self.rnn_input_dropout > 0:
            keep = 1.0 - self.rnn_input_dropout
            mask = torch.bernoulli(x.new_full((x.shape[0], 1, x.shape[2]), keep)) / keep  # (B, 1, E)
            x = x * mask
        return x

    def token_states(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the top layer's states ``(B, T', dirs * H)`` (zeros on padding) and the real-step mask ``(B, T')``."""
        padded, _ = self.sequence_states(self._embed(ids), lengths)
        return padded, padding_mask(lengths.to(padded.device), padded.shape[1])

    def encode_with_states(self, ids: torch.Tensor, lengths: torch.Tensor
                           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One pass giving what :meth:`encode` and :meth:`token_states` give: ``(features, states, mask)``."""
        padded, h_n = self.sequence_states(self._embed(ids), lengths)
        mask = padding_mask(lengths.to(padded.device), padded.shape[1])
        return self._pool(padded, h_n, mask, lengths), padded, mask

    def deletion_input(self, ids: torch.Tensor) -> tuple[nn.Module, torch.Tensor] | None:
        """The recurrent layer and the embedded text ``ids (T,)`` that :mod:`lstmtext.models.deletions` reads, or
        None (training mode, or a layer without that path)."""
        if self.training or not supports_deletions(self.rnn):
            return None
        return self.rnn, self._embed(ids.unsqueeze(0))[0]

    def deletion_encode(self, ids: torch.Tensor, found: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
        """What :meth:`encode_with_states` gives for the text ``ids (T,)`` (row 0) and each copy without token i
        (row i + 1; its states keep the text's positions, the mask is False at i), sharing every unchanged prefix
        (:mod:`lstmtext.models.deletions`; ``found``: its result for :meth:`deletion_input`, already computed).
        None when :meth:`deletion_input` is."""
        if found is None:
            pair = self.deletion_input(ids)
            found = None if pair is None else deletion_states(*pair)
            if found is None:
                return None
        states, h_n, mask = found
        # each deleted slot repeats a real state of its row: a max may read every position (no masked copy)
        return self._pool(states, h_n, mask, mask.sum(1), max_reads_all=True), states, mask

    def deletion_logits(self, ids: torch.Tensor, found: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
                        ) -> torch.Tensor | None:
        """Logits ``(T + 1, C)`` of the text ``ids (T,)`` and its T one-token deletions (see :meth:`deletion_encode`)."""
        encoded = self.deletion_encode(ids, found)
        return None if encoded is None else self.fc(encoded[0])

    def _pool(self, padded: torch.Tensor | None, h_n: torch.Tensor, mask: torch.Tensor | None,
              lengths: torch.Tensor, max_reads_all: bool = False) -> torch.Tensor:
        """The pooled features of ``self.pooling``; ``max_reads_all``: the max may read masked positions too (they
        repeat real states), which spares a masked copy of the states."""
        last = torch.cat(list(h_n[-self.num_directions :]), dim=1)  # (B, dirs * H)
        if self.pooling == "last":
            return last
        parts = []
        if self.pooling in ("max", "concat"):
            parts.append(padded.amax(1) if max_reads_all else
                         padded.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1))
        if self.pooling in ("mean", "concat"):
            parts.append((padded * mask.unsqueeze(-1)).sum(1) / lengths.to(padded.dtype).to(padded.device).unsqueeze(1))
        return parts[0] if len(parts) == 1 else torch.cat([last, *parts], 1)  # concat: (B, 3 * dirs * H)

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Return one feature vector per text, ``(B, H * directions)``."""
        if self.pooling != "last":
            return self.encode_with_states(ids, lengths)[0]
        _, h_n = self.sequence_states(self._embed(ids), lengths, need_output=False)  # the states are not needed
        return self._pool(None, h_n, None, lengths)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Return logits ``(B, C)`` for post-padded ``ids (B, T)`` with true ``lengths (B,)``."""
        return self.fc(self.encode(ids, lengths))


def _impl(cell: str) -> Option:
    """The ``impl`` option of a cell: torch's layer or the fused one that computes real tokens only."""
    return Option("fused", f"fused ({_FUSED[cell].__name__}: no compute on padding) or native "
                           f"(nn.{_CELLS[cell].__name__})", lambda v: v in ("fused", "native"), "'fused' or 'native'")


LSTM_OPTIONS = {
    "impl": _impl("lstm"),
    "weight_drop": rate(0.0, "fused: DropConnect on the recurrent matrices while training (AWD-LSTM's weight drop)"),
}


@register_model("lstm")
def build_lstm(cfg: ModelConfig, vocab_size: int, num_classes: int, **kwargs) -> nn.Module:
    """LSTM (uni- or bidirectional, any depth) over packed sequences."""
    read_options("lstm", cfg, LSTM_OPTIONS)
    return RecurrentClassifier(cfg, vocab_size, num_classes, "lstm", **embedding_kwargs(kwargs))


@register_model("bilstm")
def build_bilstm(cfg: ModelConfig, vocab_size: int, num_classes: int, **kwargs) -> nn.Module:
    """Bidirectional LSTM: the ``lstm`` model with ``bidirectional`` forced on."""
    read_options("bilstm", cfg, LSTM_OPTIONS)
    return RecurrentClassifier(
        cfg.model_copy(update={"bidirectional": True}), vocab_size, num_classes, "lstm", **embedding_kwargs(kwargs)
    )


build_lstm.options = build_bilstm.options = LSTM_OPTIONS  # type: ignore[attr-defined]
build_bilstm.ignores = ("bidirectional",)  # type: ignore[attr-defined]
build_bilstm.forces = {"bidirectional": True}  # type: ignore[attr-defined]


GRU_OPTIONS = {"impl": _impl("gru")}
RNN_OPTIONS = {"impl": _impl("rnn"),
               "nonlinearity": Option("tanh", "tanh or relu", lambda v: v in ("tanh", "relu"), "'tanh' or 'relu'")}


def _check_known(cfg: ModelConfig, spec: dict[str, Option]) -> None:
    """Check the values of the options ``spec`` lists and leave other keys alone: gru and rnn took any options
    before they had these, so bundles saved then (e.g. a preset's ``weight_drop``) must still load."""
    for key, opt in spec.items():
        if key in cfg.options and not opt.check(cfg.options[key]):
            raise ConfigError(f"model.options.{key} must be {opt.expected}. Got {cfg.options[key]!r} instead.")


@register_model("gru")
def build_gru(cfg: ModelConfig, vocab_size: int, num_classes: int, **kwargs) -> nn.Module:
    """GRU (uni- or bidirectional, any depth) over packed sequences."""
    _check_known(cfg, GRU_OPTIONS)
    return RecurrentClassifier(cfg, vocab_size, num_classes, "gru", **embedding_kwargs(kwargs))


build_gru.options = GRU_OPTIONS  # type: ignore[attr-defined]


@register_model("rnn")
def build_rnn(cfg: ModelConfig, vocab_size: int, num_classes: int, **kwargs) -> nn.Module:
    """Elman RNN; ``model.options.nonlinearity`` is ``tanh`` (default) or ``relu``."""
    _check_known(cfg, RNN_OPTIONS)
    return RecurrentClassifier(cfg, vocab_size, num_classes, "rnn", **embedding_kwargs(kwargs))


build_rnn.options = RNN_OPTIONS  # type: ignore[attr-defined]
