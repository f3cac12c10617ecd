"""The architecture registry: a stable name -> a builder ``(ModelConfig, vocab_size, num_outputs) -> nn.Module``.

Every model takes ``forward(ids (B, T) int64, lengths (B,) int64) -> logits (B, K)`` and must give the same
output for a text whatever else is in its batch (no compute on padding leaks into a prediction). A
registered name never changes behaviour: a changed architecture is registered under a new name.

:func:`build_model` reads the model's outputs from an :class:`~lstmtext.models.heads.OutputLayout`: one
group of K logits is one output layer; several groups (one per aspect) are one head per group over a
shared encoder. It also applies what wraps any architecture: a seed ensemble and an n-gram bag.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from lstmtext.config import ModelConfig
from lstmtext.errors import ConfigError
from lstmtext.models.heads import OutputLayout

Builder = Callable[..., nn.Module]
_MODELS: dict[str, Builder] = {}
_DOCS: dict[str, str] = {}


def register_model(name: str) -> Callable[[Builder], Builder]:
    """Register a model builder under ``name`` (decorator). A builder may carry ``options`` (its option specs)."""

    def decorator(fn: Builder) -> Builder:
        if name in _MODELS:
            raise RuntimeError(f"model {name!r} is registered twice")
        _MODELS[name] = fn
        _DOCS[name] = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
        return fn

    return decorator


def check_name(name: str) -> None:
    """Raise a ConfigError (one line, the names there are) unless an architecture is registered as ``name``."""
    if name not in _MODELS:
        raise ConfigError(f"model.name: unknown architecture {name!r}. Available: {', '.join(sorted(_MODELS))}.")


def check_model(cfg: ModelConfig) -> None:
    """Raise the one-line ConfigError that building ``cfg`` would: an unknown architecture, an option it does not
    have or a value of the wrong kind. A run checks this before it reads its data (a misspelt name was reported
    only after the whole file had been read and sharded)."""
    from lstmtext.models.layers import read_options

    check_name(cfg.name)
    read_options(cfg.name, cfg, model_options(cfg.name))


def available_models() -> dict[str, str]:
    """Return ``{name: one-line description}`` of every registered architecture."""
    return {k: _DOCS[k] for k in sorted(_MODELS)}


def ignored_settings(name: str) -> tuple[str, ...]:
    """The ``model.*`` settings architecture ``name`` does not read (a builder's ``ignores``): ``hidden_size`` for
    a TextCNN, ``bidirectional`` for the models that force it."""
    return tuple(getattr(_MODELS.get(name), "ignores", ()))


def reads_both_ways(cfg: ModelConfig) -> bool:
    """Whether ``cfg``'s recurrence reads the text both ways: always for the architectures that force it (a
    builder's ``forces``: ``bilstm``, ``bilstm_attn``), ``model.bidirectional`` for those that read it, never for
    the others."""
    forced = getattr(_MODELS.get(cfg.name), "forces", {})
    if "bidirectional" in forced:
        return bool(forced["bidirectional"])
    return cfg.bidirectional and "bidirectional" not in ignored_settings(cfg.name)


def describe_model(cfg: ModelConfig) -> str:
    """What ``cfg`` builds in a few words, for titles and tables: the architecture, ``bi`` where a recurrence reads
    both ways under a name without it, its width and depth, and what wraps it. The ``default`` preset (``lstm``
    with ``bidirectional`` on) is ``bilstm 128``; others read ``cnn``, ``lstm 256``, ``bilstm 256 + n-gram bag``,
    ``gru 128 x2 layers x 5 members``."""
    ignored = ignored_settings(cfg.name)
    name = cfg.name
    if reads_both_ways(cfg) and not name.startswith("bi"):
        name = "bi" + name
    if "hidden_size" not in ignored:
        name += f" {cfg.hidden_size}"
    if "num_layers" not in ignored and cfg.num_layers > 1:
        name += f" x{cfg.num_layers} layers"
    if cfg.ngram_bag:
        name += " + n-gram bag"
    return f"{name} x {cfg.ensemble} members" if cfg.ensemble > 1 else name


def model_options(name: str) -> dict[str, Any]:
    """Return the ``model.options`` specs (:class:`~lstmtext.models.layers.Option`) of architecture ``name``."""
    return dict(getattr(_MODELS[name], "options", {}))


def build_model(cfg: ModelConfig, vocab_size: int, outputs: OutputLayout | int, *,
                head_names: list[str] | None = None, head_attention: int | None = None, **kwargs: Any) -> nn.Module:
    """Build the architecture ``cfg.name`` with the outputs ``outputs`` describes.

    Args:
        cfg: The model section of the config.
        vocab_size: Rows of the embedding table.
        outputs: The output layout (an int ``K`` is one softmax group of ``K`` classes).
        head_names: Names of the groups when there are several (for reading and error messages).
        head_attention: Several groups: units of each group's own attention over the encoder's states
            (None: every head reads the shared pooled vector only).
        **kwargs: Passed to the builder (``embedding_weights``, ``freeze_embedding``).

    Raises:
        ConfigError: If no architecture has that name, or it cannot give per-head attention.
    """
    layout = outputs if isinstance(outputs, OutputLayout) else OutputLayout((int(outputs),))
    check_name(cfg.name)
    if cfg.ensemble > 1:  # a seed ensemble: members of the same architecture, probabilities averaged
        from lstmtext.models.ensemble import EnsembleClassifier

        one = cfg.model_copy(update={"ensemble": 1})
        return EnsembleClassifier([build_model(one, vocab_size, layout, head_names=head_names,
                                               head_attention=head_attention, **kwargs)
                                   for _ in range(cfg.ensemble)], layout)
    if len(layout.sizes) > 1:  # several groups: the base's encoder, one head each
        from lstmtext.models.heads import MultiHeadClassifier

        base = _MODELS[cfg.name](cfg, vocab_size, layout.sizes[0], **kwargs)
        if head_attention is not None and not hasattr(base, "encode_with_states"):
            raise ConfigError(f"absa.head = \"attention\" needs a recurrent architecture (rnn, gru, lstm, bilstm, "
                              f"bilstm_attn); {cfg.name!r} has no per-token states. Use absa.head = \"shared\".")
        model = MultiHeadClassifier(base, layout.sizes, head_names, init=cfg.init, attention_size=head_attention)
    else:
        model = _MODELS[cfg.name](cfg, vocab_size, layout.total, **kwargs)
    if cfg.ngram_bag:  # wide and deep: a linear bag of n-grams added to the logits
        from lstmtext.models.ngram_bag import NgramBagClassifier

        model = NgramBagClassifier(model, vocab_size, layout.total, n=cfg.ngram_bag, buckets=cfg.ngram_buckets,
                                   dropout=cfg.ngram_dropout, lr_scale=cfg.ngram_lr,
                                   weighting="tfidf" if cfg.ngram_fit == "after" else "mean")
    return model


def parameter_count(cfg: ModelConfig, vocab_size: int, outputs: OutputLayout | int, **kwargs: Any) -> int | None:
    """The numbers :func:`build_model` would hold (parameters and buffers), counted on PyTorch's ``meta`` device,
    where nothing is allocated; None where a builder cannot run there.

    Raises:
        ConfigError: What building ``cfg`` raises (an unknown name, a bad option).
    """
    import torch

    try:
        with torch.device("meta"):
            model = build_model(cfg, vocab_size, outputs, **kwargs)
    except ConfigError:
        raise
    except Exception:  # noqa: BLE001  (a builder that needs real tensors: the count is a courtesy check)
        return None
    return sum(t.numel() for t in (*model.parameters(), *model.buffers()))
