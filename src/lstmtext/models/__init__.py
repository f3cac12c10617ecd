"""The architecture registry: a stable name -> a builder ``(ModelConfig, vocab_size, num_classes) -> nn.Module``.

Every model takes ``forward(ids (B, T) int64, lengths (B,) int64) -> logits (B, C)`` and must give the same
output for a text whatever else is in its batch (no compute on padding leaks into a prediction). A
registered name never changes behaviour: a changed architecture is registered under a new name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from torch import nn

from lstmtext.config import ModelConfig
from lstmtext.errors import ConfigError

Builder = Callable[..., nn.Module]
_MODELS: dict[str, Builder] = {}
_DOCS: dict[str, str] = {}
_MODULES = ("recurrent", "cnn", "clstm", "attention")


def register_model(name: str) -> Callable[[Builder], Builder]:
    """Register a model builder under ``name`` (decorator)."""

    def decorator(fn: Builder) -> Builder:
        if name in _MODELS:
            raise RuntimeError(f"model {name!r} is registered twice")
        _MODELS[name] = fn
        _DOCS[name] = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
        return fn

    return decorator


def _load_builtin() -> None:
    for module in _MODULES:
        try:
            importlib.import_module(f"lstmtext.models.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"lstmtext.models.{module}":
                raise


def available_models() -> dict[str, str]:
    """Return ``{name: one-line description}`` of every registered architecture."""
    _load_builtin()
    return {k: _DOCS[k] for k in sorted(_MODELS)}


def build_model(cfg: ModelConfig, vocab_size: int, num_classes: int | list[int], **kwargs) -> nn.Module:
    """Build the architecture ``cfg.name``.

    Args:
        cfg: The model section of the config.
        vocab_size: Rows of the embedding table.
        num_classes: Outputs of the classifier head (or a list of them for several heads).
        **kwargs: Passed to the builder (e.g. ``embedding_weights``); ``head_names`` names the heads and
            ``aspect_attention`` (units, or None) gives each head its own attention over time.

    Raises:
        ConfigError: If no architecture has that name.
    """
    _load_builtin()
    if cfg.name not in _MODELS:
        raise ConfigError(f"model.name: unknown architecture {cfg.name!r}. Available: {', '.join(sorted(_MODELS))}.")
    if cfg.ensemble > 1:  # a seed ensemble: members of the same architecture, probabilities averaged
        from lstmtext.training.members import EnsembleClassifier

        one = cfg.model_copy(update={"ensemble": 1})
        return EnsembleClassifier([build_model(one, vocab_size, num_classes, **kwargs) for _ in range(cfg.ensemble)])
    if isinstance(num_classes, (list, tuple)):  # several heads (aspects): the base's encoder, one head each
        from lstmtext.tasks.absa.model import MultiHeadClassifier

        head_names = kwargs.pop("head_names", None)
        attention_size = kwargs.pop("aspect_attention", None)
        base = _MODELS[cfg.name](cfg, vocab_size, num_classes[0], **kwargs)
        if attention_size is not None and not hasattr(base, "encode_with_states"):
            raise ConfigError(f"absa.head = \"attention\" needs a recurrent architecture (rnn, gru, lstm, bilstm, "
                              f"bilstm_attn); {cfg.name!r} has no per-token states. Use absa.head = \"shared\".")
        if cfg.ngram_bag:
            raise ConfigError("model.ngram_bag works with one label column; aspect models (--task absa) have "
                              "one head per aspect. Set model.ngram_bag = 0.")
        return MultiHeadClassifier(base, num_classes, head_names, init=cfg.init, attention_size=attention_size)
    model = _MODELS[cfg.name](cfg, vocab_size, num_classes, **kwargs)
    if cfg.ngram_bag:  # wide and deep: a linear bag of n-grams added to the logits
        from lstmtext.models.ngram_bag import NgramBagClassifier

        model = NgramBagClassifier(model, vocab_size, num_classes, n=cfg.ngram_bag, buckets=cfg.ngram_buckets,
                                   dropout=cfg.ngram_dropout, lr_scale=cfg.ngram_lr)
    return model
