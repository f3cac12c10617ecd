"""Continuing a saved model on new labelled data (``train --init-from BUNDLE``).

The run keeps the saved model's task, architecture, cleaning and vocabulary, and starts from its weights;
what the new data brings is handled by two explicit policies (``train.new_words``, ``train.new_classes``):

* new words: ``keep`` reads them as ``<unk>`` (the saved vocabulary as it is); ``add`` appends the new
  training texts' words (at least ``vocab.min_freq`` times, most frequent first, until ``vocab.num_words``)
  after the old ones, whose ids do not change; their embedding rows start as a fresh model's would.
* new classes (labels): ``error`` refuses training labels the saved model lacks, naming them; ``add`` gives
  them outputs after the old ones (old outputs keep their weights, new ones start fresh). Aspect models
  cannot grow. Old classes missing from the new data stay in the label space.

Weights are copied tensor by tensor: a tensor of the same shape is copied whole; one that grew (the
embedding's rows, the output layer's rows, a one-hot model's input columns) gets the old block copied into
its leading corner. Temperatures and thresholds are fitted again on the new valid split.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from lstmtext.config import Config
from lstmtext.data.dataset import warn
from lstmtext.encoding.embeddings import frozen as frozen_embedding
from lstmtext.encoding.embeddings import initial_embedding
from lstmtext.encoding.encoder import TextEncoder
from lstmtext.encoding.vocab import Vocab, known_words
from lstmtext.errors import ConfigError, DataError, LstmTextError
from lstmtext.inference.bundle import Bundle, load_bundle
from lstmtext.models import ignored_settings
from lstmtext.tasks import Task, get_task

log = logging.getLogger(__name__)

# model keys that only say how word2vec vectors were trained or where vectors were read: no effect on weights
_IGNORED = {"embedding.path", "embedding.algo", "embedding.window", "embedding.min_count", "embedding.epochs"}


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _first_difference(ours: dict[str, Any], saved: dict[str, Any], ignore: set[str]) -> tuple[str, Any, Any] | None:
    a, b = _flat(ours), _flat(saved)
    for key in sorted(set(a) | set(b)):
        if key not in ignore and a.get(key) != b.get(key):
            return key, a.get(key), b.get(key)
    return None


def other_task(path: Any, saved: str, task: str) -> ConfigError:
    """The refusal of a warm start from a model of another task."""
    return ConfigError(f"--init-from {path}: a {saved!r} model, but this run is --task {task}. Pass --task {saved}, "
                       "or train a new model without --init-from.")


def load_init(config: Config) -> Bundle:
    """The saved model ``train.init_from`` names, after checking that this run can continue it.

    Raises:
        BundleError: If it cannot be loaded. ConfigError: For another task, architecture or cleaning.
    """
    path = config.train.init_from
    bundle = load_bundle(path)
    saved = bundle.config
    if type(bundle.task) is not get_task(config.task):
        raise other_task(path, saved.task, config.task)
    if saved.model.name != config.model.name:
        raise ConfigError(f"--init-from {path}: a {saved.model.name!r} model, but this run asks for model.name "
                          f"{config.model.name!r}. Drop --preset or model.name (the saved model's config is used), or train a new "
                          "model without --init-from.")
    ignore = set(_IGNORED)
    if saved.model.embedding.kind == "onehot":
        ignore.add("embedding_dim")  # the vocabulary's size, which new_words=add may change
    sections = [("model", config.model.model_dump(mode="json"), saved.model.model_dump(mode="json")),
                ("preprocess", config.preprocess.model_dump(mode="json"), saved.preprocess.model_dump(mode="json")),
                ("vocab", {k: getattr(config.vocab, k) for k in ("truncating", "padding")},
                 {k: getattr(saved.vocab, k) for k in ("truncating", "padding")})]  # vocab.max_len may change
    task = get_task(config.task)  # the task's own settings that shape the network (an aspect head's kind)
    sections += [(name, ours, task.network_settings(saved)[name]) for name, ours in task.network_settings(config).items()]
    if config.train.new_words == "add" and config.model.embedding.freeze and config.model.embedding.kind != "random":
        raise ConfigError(f"--init-from {path}: --new-words add with a frozen embedding (model.embedding.freeze) would "
                          "leave the new words' vectors random for good. Keep the vocabulary (--new-words keep) or "
                          "unfreeze the embedding.")
    # settings the architecture does not read (a CNN's bidirectional): a loaded estimator's refit leaves them at
    # their defaults, and they change nothing in the network
    unread = set(ignored_settings(saved.model.name))
    for name, ours, theirs in sections:
        skip = ignore | {k for k in _flat({**ours, **theirs}) if k.split(".")[0] in unread} if name == "model" else ignore
        diff = _first_difference(ours, theirs, skip)
        if diff is not None:
            key, mine, old = diff
            raise ConfigError(f"--init-from {path}: {name}.{key} is {old!r} in the saved model but {mine!r} in this run; "
                              "a warm start continues the same model and cleaning. Drop the option that changes it "
                              "(--preset, --preprocess, --set, --config), or train a new model without --init-from.")
    return bundle


def check_reader_info(bundle: Bundle, data: Any) -> None:
    """Refuse new data whose layout (e.g. its aspects, in order) is not the saved model's.

    Raises:
        DataError: Naming what differs and the flag that fixes it.
    """
    for key, saved in bundle.task.reader_info().items():
        found = data.info.get(key)
        missing = [str(x) for x in saved if x not in list(found or [])]
        if found is not None and missing:  # --aspects naming them would fail on the missing column
            raise DataError(f"{data.source}: it has no {', '.join(missing)} of the saved model's {key} "
                            f"({', '.join(map(str, saved))}); a warm start trains every one of them. Add the "
                            f"missing column{'s' if len(missing) > 1 else ''}, or train a new model without --init-from.")
        if found is not None and list(found) != list(saved):
            raise DataError(f"{data.source}: its {key} ({', '.join(map(str, found))}) differ from the saved model's "
                            f"({', '.join(map(str, saved))}); a warm start needs the same, in the same order. Give them so "
                            f"(for aspects: --aspects {','.join(map(str, saved))}) or fix the file.")


def warm_task(bundle: Bundle, train_labels: Sequence[Any], config: Config, source: str) -> Task:
    """The saved label space, with the training split's new labels appended when ``train.new_classes = add``.

    Raises:
        DataError: For new labels under ``new_classes = error``, or a task that cannot grow.
    """
    saved = bundle.task
    new = saved.new_label_names(train_labels)
    shown = ", ".join(map(repr, new[:5])) + (f" and {len(new) - 5} more" if len(new) > 5 else "")
    if new and not saved.can_grow:  # its outputs cannot grow: say which labels it has
        known = ", ".join(map(repr, dict.fromkeys(map(str, saved.output_names()))))
        raise DataError(f"{source}: the training split has labels the model from --init-from does not know ({shown}), "
                        f"and a {saved.name!r} model cannot get new outputs. Use its labels ({known}), or train a new "
                        "model without --init-from.")
    if new and config.train.new_classes == "error":
        raise DataError(f"{source}: the training split has labels the model from --init-from (a {saved.name!r} model) "
                        f"does not know ({shown}). Pass --new-classes add to give them new outputs, or drop those rows; "
                        f"if this is not {saved.name} data, train a new model without --init-from.")
    task = saved.add_labels(new, config) if new else type(saved)(saved.labels, config)
    if new:
        log.info("warm start: %d new label(s) get new outputs: %s", len(new), ", ".join(new))
    missing = sorted(set(map(str, task.output_names())) - set(_seen_outputs(task, train_labels)))
    if missing and len(task.layout.sizes) == 1:
        log.warning("warm start: %d class(es) of the saved model have no training rows here (%s); the model "
                    "keeps them but may unlearn them", len(missing), ", ".join(missing[:5]))
    return task


def _seen_outputs(task: Task, labels: Sequence[Any]) -> set[str]:
    names = task.output_names()
    targets = task.targets(list(labels))
    if targets.ndim == 1:
        return {str(names[i]) for i in set(targets.tolist())}
    if task.layout.activation == "sigmoid":  # (N, K) 0/1: a label is seen when some text has it
        return {str(names[j]) for j in np.flatnonzero(targets.any(0))}
    return set(map(str, names))  # several softmax groups (aspects): every label is reported by its group


def warm_encoder(bundle: Bundle, train_texts: Sequence[str], config: Config) -> TextEncoder:
    """The saved encoder, with the new training texts' words appended when ``train.new_words = add``, and the
    run's ``vocab.max_len`` where it sets one other than the saved model's."""
    saved = bundle.encoder
    asked = config.vocab.max_len
    max_len = asked if asked is not None and asked != bundle.config.vocab.max_len else saved.max_len
    words = config.vocab.num_words
    if words != bundle.config.vocab.num_words:  # the run sets its own: said where it changes nothing (it was silent)
        if config.train.new_words == "keep":
            log.warning("vocab.num_words = %s has no effect with train.new_words = keep: the saved vocabulary of %d "
                        "words is read as it is (--new-words add appends new words up to vocab.num_words)", words,
                        len(saved.vocab))
        elif words is not None and words <= len(saved.vocab):
            log.warning("vocab.num_words = %s is at or below the saved vocabulary's %d words: no word is added and "
                        "none removed (it caps the whole vocabulary, old words included)", words, len(saved.vocab))
    if config.train.new_words == "keep":
        return saved if max_len == saved.max_len else \
            TextEncoder(saved.pipeline, saved.vocab, max_len, saved.truncating, saved.padding)
    old = saved.vocab
    cap = max(config.vocab.num_words or 0, len(old)) if config.vocab.num_words else None
    found = Vocab.build((text.split() for text in saved.pipeline.clean_many(list(train_texts))), None,
                        config.vocab.min_freq)  # ranked as any vocabulary is
    ranked = [w for w in found.itos[2:] if w not in old]
    if cap is not None:
        ranked = ranked[: max(0, cap - len(old))]
    log.info("warm start: %d new word(s) added to the vocabulary of %d", len(ranked), len(old))
    vocab = Vocab([*old.itos, *ranked], {**old.counts, **{w: found.counts[w] for w in ranked}})
    return TextEncoder(saved.pipeline, vocab, max_len, saved.truncating, saved.padding)


def copy_weights(model: nn.Module, saved: nn.Module, member: int = 0) -> int:
    """Copy the saved model's weights into ``model`` (member ``member`` of a saved seed ensemble); returns how many
    tensors grew. Same names and ranks are required: the architecture is the same, only sizes may grow.
    """
    source = saved.members[member] if hasattr(saved, "members") else saved
    old = source.state_dict()
    grown = 0
    bags = _bag_tables(model, old)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name in bags and old[name].shape != tensor.shape:
                _copy_bag(tensor, old[name], *bags[name])
                grown += 1
                continue
            if name not in old or old[name].dim() != tensor.dim():
                raise ConfigError(f"--init-from: the saved model has no weight {name!r} of this shape; it is not the "
                                  "same architecture. Train a new model without --init-from.")
            src = old[name]
            if src.shape == tensor.shape:
                tensor.copy_(src)
                continue
            if any(a < b for a, b in zip(tensor.shape, src.shape)):
                raise ConfigError(f"--init-from: weight {name!r} is {tuple(src.shape)} in the saved model but "
                                  f"{tuple(tensor.shape)} here, smaller. Train a new model without --init-from.")
            tensor[tuple(slice(0, n) for n in src.shape)] = src
            grown += 1
    return grown


def _bag_tables(model: nn.Module, old: dict[str, torch.Tensor]) -> dict[str, tuple[int, int]]:
    """``{state name: (old vocab rows, new vocab rows)}`` of the n-gram bags in ``model``: their tables hold
    the unigram rows (one per word) and then the hashed n-gram buckets, so a grown vocabulary moves the buckets."""
    from lstmtext.models.ngram_bag import NgramBagClassifier

    out = {}
    for prefix, module in model.named_modules():
        if isinstance(module, NgramBagClassifier):
            name = f"{prefix}.bag.weight" if prefix else "bag.weight"
            if name in old:
                buckets = module.bag.weight.shape[0] - module.vocab_size
                out[name] = (old[name].shape[0] - buckets, module.vocab_size)
    return out


def _copy_bag(tensor: torch.Tensor, src: torch.Tensor, old_vocab: int, new_vocab: int) -> None:
    """Old word rows to the same rows, old bucket rows after the new vocabulary; classes copied in order."""
    classes = src.shape[1]
    tensor[:old_vocab, :classes] = src[:old_vocab]
    tensor[new_vocab:, :classes] = src[old_vocab:]


def saved_vocabulary_coverage(config: Config, sequences: Sequence[Sequence[int]]) -> str | None:
    """A warm start's warning when the vocabulary it reads the new texts with knows under half of their words (a
    model of another language continued: 88.7% of an English file's tokens were unknown to an Indonesian model,
    silently), else None."""
    known, total = known_words(sequences)
    if not total or known >= total / 2:
        return None
    fix = "pass --new-words add to learn the new words" if config.train.new_words == "keep" else \
        "is it the data of the model's language and kind?"
    return (f"--init-from {config.train.init_from}: only {known / total:.1%} of the training texts' words ({known:,} "
            f"of {total:,}) are in the vocabulary; the rest are read as one unknown word: {fix}.")


def grown_embedding(cfg: Config, encoder: Any, init: Bundle, train_texts: Sequence[str], notes: list[str]
                    ) -> dict[str, Any]:
    """A warm start's embedding arguments. Words added to the vocabulary (``--new-words add``) start as a fresh
    model's would, from the vectors file (``model.embedding.path``, this run's) or from word2vec on the training
    texts (they stayed random before, their vectors in the file unread); the saved rows are copied over the old
    words afterwards. The saved model's vectors file, gone since, leaves the new rows random, with a note; a path
    this run sets that cannot be read stops it, as it would a fresh run."""
    emb = cfg.model.embedding
    frozen = {"freeze_embedding": frozen_embedding(emb)}
    if emb.kind not in ("pretrained", "word2vec") or len(encoder.vocab) <= len(init.encoder.vocab):
        return frozen
    try:
        return initial_embedding(cfg.model, encoder.vocab, train_texts, encoder.pipeline)
    except LstmTextError as exc:
        if emb.path != init.config.model.embedding.path:  # the user named it for this run: a typo is theirs to fix
            raise
        warn(notes, f"the {len(encoder.vocab) - len(init.encoder.vocab)} words added start random: their vectors "
                    f"could not be read ({exc})")
        return frozen
