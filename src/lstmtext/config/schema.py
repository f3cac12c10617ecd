"""The typed configuration tree (data, preprocess, vocab, model, train) and how it is loaded.

A config comes from a preset, an optional TOML file and ``--set key=value`` overrides, applied in that
order. Every section forbids unknown keys, so a misspelt key is an error that names the key, not a
silently ignored setting. The resolved config is saved with each model.
"""

from __future__ import annotations

import copy
import tomllib
import typing
from pathlib import Path, PurePath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lstmtext.config.files import is_saved_model_config, read_config_file
from lstmtext.config.messages import explain
from lstmtext.errors import ConfigError

#: The largest split seed: scikit-learn's seeds are 32-bit (a negative one failed deep inside a split). The
#: training seeds go to torch, which takes 64 bits (a model saved with one that large must still load); where one
#: reaches scikit-learn (cv's folds, the TF-IDF fits) it is taken modulo 2**32 (:func:`sklearn_seed`).
SEED_MAX = 2**32 - 1
TORCH_SEED_MAX = 2**64 - 1


def sklearn_seed(seed: int) -> int:
    """A training seed as scikit-learn takes it (32 bits): the seed itself below 2**32."""
    return seed % 2**32


def _numeric(annotation: Any) -> bool:
    """Whether a field takes a number and not a boolean (``int``, ``float``, or either or None)."""
    kinds = set(typing.get_args(annotation)) or {annotation}
    return bool(kinds & {int, float}) and bool not in kinds


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @model_validator(mode="before")
    @classmethod
    def _none_from_text(cls, data: Any) -> Any:
        """TOML has no null: the string ``"none"`` means None for keys that accept None."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for key, value in data.items():
            field = cls.model_fields.get(key)
            if field is not None and isinstance(value, str) and value.lower() == "none":
                if type(None) in typing.get_args(field.annotation):
                    out[key] = None
            if field is not None and isinstance(value, bool) and _numeric(field.annotation):
                raise ValueError(f"{key} must be a number, not {str(value).lower()} (pydantic would read true as 1)")
        return out


class DataConfig(_Section):
    """Where the texts and labels are, and how to split them."""

    text_col: str = Field("text", description="column holding the raw text")
    label_col: str = Field("label", description="column holding the class label")
    split_col: str | None = Field(None, description="column with train / valid / test per row; None: split here")
    drop_duplicates: bool = Field(
        False, description="drop repeated (text, label) rows before splitting (they are always reported)"
    )
    valid_size: float = Field(0.1, gt=0, lt=1, description="share of rows for the valid split when splitting here")
    test_size: float = Field(0.1, ge=0, lt=1, description="share of rows for the test split when splitting here")
    split_seed: int = Field(42, ge=0, le=SEED_MAX, description="seed of the stratified split")
    unlabelled: str | None = Field(
        None, description="a file of raw texts without labels (table or one text per line, streamed): they widen "
        "the vocabulary and train the word2vec vectors (docs/embeddings.md#unlabelled-text)")
    unlabelled_col: str | None = Field(None, description="the unlabelled file's text column; None: text_col")


class PreprocessConfig(_Section):
    """The cleaning chain: a preset name, optionally replaced step by step."""

    preset: str = Field("en-tweet", description="en-tweet, plain, none, id-news, id-review, id-aspect, vi-review")
    steps: list[str] | None = Field(None, description="explicit step names (then only these options apply, not the "
                                    "preset's); None: the preset's steps and options")
    options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-step options, e.g. lexicon paths"
    )
    keep_language: str | None = Field(
        None, description="drop rows detected (langid) as another language, e.g. 'vi'; None: keep all"
    )
    languages: list[str] = Field(
        default_factory=lambda: ["en", "id", "vi"], description="candidate languages for keep_language"
    )
    max_chars: int | None = Field(
        100_000, ge=1, description="characters of a text read before cleaning (the side vocab.truncating keeps); "
        "caps what one huge row can cost; none: no cap")


class VocabConfig(_Section):
    """Word index and sequence length."""

    num_words: int | None = Field(
        20000, ge=3, description="size of the index incl. <pad>=0 and <unk>=1; None: every word"
    )
    min_freq: int = Field(1, ge=1, description="words seen fewer times in training become <unk>")
    max_len: int | None = Field(
        None, ge=1, description="truncate longer texts; None: the longest training text, at most 2048 tokens")
    truncating: Literal["pre", "post"] = Field(
        "pre", description="cut long texts at the start (pre, as Keras) or the end"
    )
    padding: Literal["pre", "post"] = Field(
        "pre", description="side of padding in fixed-width exports (models never see padding)"
    )


class EmbeddingConfig(_Section):
    """Where the embedding table starts: random, a fixed one-hot identity, word2vec trained here, or a file."""

    kind: Literal["random", "onehot", "word2vec", "pretrained"] = Field(
        "random", description="random (trainable unless freeze), onehot (fixed identity), word2vec (gensim, on the training texts), pretrained (file)"
    )
    path: str | None = Field(None, description="pretrained vectors: word2vec text/binary, fastText .vec or GloVe .txt")
    freeze: bool = Field(False, description="keep the initial vectors fixed during training")
    algo: Literal["cbow", "skipgram"] = Field("cbow", description="word2vec algorithm")
    window: int = Field(5, ge=1, description="word2vec context window")
    min_count: int = Field(1, ge=1, description="word2vec: ignore rarer words")
    epochs: int = Field(10, ge=1, description="word2vec training epochs")


class ModelConfig(_Section):
    """The architecture (a registered name) and its sizes. PyTorch's names throughout."""

    name: str = Field("lstm", description="a registered architecture: see `lstmtext models`")
    embedding_dim: int = Field(128, ge=1, description="size of each word's vector")
    hidden_size: int = Field(128, ge=1, description="units of each recurrent layer (per direction); a TextCNN reads "
                             "model.options.num_filters instead")
    num_layers: int = Field(1, ge=1, description="stacked recurrent layers, each reading the one below")
    bidirectional: bool = Field(False, description="recurrent layers also read the text right to left")
    dropout: float = Field(0.0, ge=0, lt=1, description="between stacked recurrent layers")
    embed_dropout: float = Field(0.5, ge=0, lt=1, description="on embeddings, per element")
    rnn_input_dropout: float = Field(
        0.0, ge=0, lt=1, description="on the recurrent input, one mask per text (Keras' LSTM dropout)"
    )
    pooling: Literal["last", "mean", "max", "concat"] = Field(
        "last", description="how the sequence of states becomes one vector (concat: last, max and mean side by side, "
        "ULMFiT's concat pooling)"
    )
    init: Literal["keras", "torch"] = Field(
        "keras", description="keras: Glorot input, orthogonal recurrent, forget bias 1"
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="architecture-specific extras (see each model's doc)"
    )
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    ngram_bag: int = Field(
        0, ge=0, le=3, description="N > 0: add a linear bag of the text's word 1..N-grams to the logits (wide and deep)"
    )
    ngram_buckets: int = Field(2**18, ge=1024, description="hash rows for the bag's 2..N-grams")
    ngram_fit: Literal["joint", "after"] = Field(
        "joint", description="joint: the bag trains with the network; after: once the network is trained, the bag "
        "is fitted alone as TF-IDF + logistic regression (C chosen on valid) and added to the network's logits "
        "with a weight chosen on valid (late fusion)")
    ngram_dropout: float = Field(0.0, ge=0, lt=1, description="share of each text's n-grams dropped while training")
    ngram_lr: float = Field(10.0, gt=0, description="the bag's learning rate as a multiple of train.lr")
    ensemble: int = Field(
        1, ge=1, le=50, description="N > 1: train N copies (seeds seed..seed+N-1) and average their probabilities"
    )

    def ineffective(self) -> list[str]:
        """Settings given a value that cannot act with the others (a warning for train, an error for search)."""
        found = []
        if self.dropout and self.num_layers == 1:
            found.append(f"model.dropout={self.dropout} does nothing with model.num_layers=1: it drops between stacked "
                         "recurrent layers. Use model.rnn_input_dropout or model.embed_dropout, or model.num_layers=2")
        if self.ngram_fit == "after" and not self.ngram_bag:
            found.append('model.ngram_fit=after does nothing with model.ngram_bag=0: set model.ngram_bag=2 for a word '
                         "1-2-gram TF-IDF path")
        return found


class TrainConfig(_Section):
    """Optimisation, early stopping and reproducibility."""

    epochs: int = Field(10, ge=1, description="passes over the training split (fewer where early stopping ends it)")
    batch_size: int = Field(64, ge=1, description="texts per training step")
    lr: float = Field(1e-3, gt=0, description="Adam's learning rate")
    weight_decay: float = Field(0.0, ge=0, description="L2 penalty through Adam's weight_decay")
    clip_grad_norm: float | None = Field(5.0, gt=0, description="None: no clipping")
    patience: int | None = Field(
        None, ge=1, description="epochs without improvement before stopping; None: never stop early"
    )
    monitor: Literal["valid_loss", "valid_accuracy", "valid_macro_f1", "valid_micro_f1"] = Field(
        "valid_macro_f1", description="the valid score that picks the best epoch (micro-F1: multi-label only)")
    restore_best: bool = Field(True, description="end with the weights of the best epoch (by `monitor`)")
    class_weight: Literal["balanced"] | None = Field(None, description="weight the loss by inverse class frequency")
    oversample: Literal["random"] | None = Field(
        None, description="duplicate minority-class rows of the training split"
    )
    bucket: bool = Field(True, description="length-bucketed batches: similar lengths together, less padding")
    bucket_chunks: int = Field(8, ge=1, description="bucket: batches' worth of shuffled rows sorted by length together; "
                               "256: most batches hold one length, which an LSTM trains without padding (oneDNN's "
                               "fused kernel: LSTMs only, 1.4-1.7x faster; the default, lstm and bilstm_attn presets "
                               "use it)")
    self_training: float = Field(0.0, ge=0, le=1, description="share of each answer's unlabelled texts "
                                 "(--unlabelled) that a second model trains on, with the first one's answers as labels "
                                 "(the surest first; kept only if it scores at least as well on valid); 0: off")
    calibrate: bool = Field(True, description="fit temperature scaling on the valid split after training, so "
                            "probabilities mean what they say (argmax and ranking unchanged)")
    calibrate_min_texts: int = Field(100, ge=1, description="calibrate: valid texts needed to fit the temperatures; "
                                     "on fewer they would fit noise, and the model's own probabilities are kept")
    seed: int = Field(42, ge=0, le=TORCH_SEED_MAX, description="seed of the weights, dropout and batch order")
    init_from: str | None = Field(None, description="a saved model (bundle or training output folder) to continue "
                                  "from: same task and architecture, its cleaning and vocabulary (docs/active.md)")
    new_words: Literal["keep", "add"] = Field(
        "keep", description="init_from: keep: the saved vocabulary as it is (new words read as <unk>); add: append "
        "the new data's words (vocab.min_freq, up to vocab.num_words), their embeddings start fresh")
    new_classes: Literal["error", "add"] = Field(
        "error", description="init_from: error: refuse training labels the saved model lacks; add: new outputs for "
        "them after the old ones (old outputs keep their weights)")
    threads: int | None = Field(None, ge=1, description="torch threads; None: OMP_NUM_THREADS when set, else every core")
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="bf16: the LSTM layers' products in bfloat16 (float32 accumulation, weights and "
        "cells), on CPUs with bf16 instructions; auto: bf16 where that applies, else fp32 (docs/speed.md)")
    eval_batch_size: int = Field(1024, ge=1, description="texts per batch when scoring valid and test (fewer for "
                                 "long texts: at most 16,384 padded positions a batch)")
    pretrained: str | None = Field(None, description="a language model saved by `lstmtext pretrain`: the run takes its "
                                   "cleaning and vocabulary and starts the embedding and LSTM from it (docs/pretrain.md)")
    pretrain: bool = Field(False, description="without `pretrained`: first pretrain a language model (the `lm` section) "
                           "on the training texts and data.unlabelled, then start from it")
    layer_lr_decay: float = Field(1.0, ge=1, description="discriminative learning rates: the LSTM learns at lr / d, the "
                                  "embedding at lr / d^2 (ULMFiT: 2.6); 1: one rate for all")
    unfreeze: Literal["all", "gradual"] = Field(
        "all", description="gradual: epoch 1 trains the output layers only, epoch 2 adds the LSTM, epoch 3 on everything "
        "(ULMFiT's gradual unfreezing)")
    schedule: Literal["constant", "slanted"] = Field(
        "constant", description="learning rate over the run: constant, or slanted triangular (a linear rise over the "
        "first 10% of steps to lr, then a linear fall to lr / 32)")


class LMConfig(_Section):
    """Language-model pretraining (`lstmtext pretrain`, train.pretrain): sizes come from the model section."""

    epochs: int = Field(16, ge=1, description="passes over the corpus")
    finetune_epochs: int = Field(2, ge=0, description="train.pretrained: epochs of the language model on the run's "
                                 "training and unlabelled texts before the classifier (0: none)")
    batch_tokens: int = Field(2048, ge=16, description="tokens per batch")
    bptt: int = Field(96, ge=2, description="longest piece of text one sequence holds; longer texts are cut")
    lr: float = Field(3e-3, gt=0, description="peak Adam learning rate (slanted triangular schedule)")
    sampled: int = Field(1024, ge=0, description="negatives of the sampled softmax; 0 or a vocabulary not larger "
                         "than twice this: the full softmax")
    embed_dropout: float = Field(0.05, ge=0, lt=1, description="share of word types dropped per batch")
    input_dropout: float = Field(0.1, ge=0, lt=1, description="variational dropout on the LSTM's input")
    output_dropout: float = Field(0.2, ge=0, lt=1, description="variational dropout on the LSTM's output")
    weight_drop: float = Field(0.2, ge=0, lt=1, description="DropConnect on the recurrent matrices")
    clip_grad_norm: float = Field(1.0, gt=0, description="the gradients' largest norm (rescaled above it)")
    valid_every: int = Field(20, ge=2, description="every n-th text is held out to measure perplexity")
    valid_tokens: int = Field(100_000, ge=1, description="held-out tokens scored per epoch (at most)")
    seed: int = Field(42, ge=0, le=TORCH_SEED_MAX, description="seed of the language model's weights and batch order")


class AbsaConfig(_Section):
    """Aspect-based sentiment: which columns are aspects, and the data layout."""

    aspects: list[str] | None = Field(None, description="aspect columns (wide) or values (long); None: detect")
    layout: Literal["wide", "long"] = Field("wide", description="wide: one column per aspect; long: text, aspect, polarity rows")
    aspect_col: str = Field("aspect", description="long layout: column naming the aspect")
    polarity_col: str = Field("polarity", description="long layout: column with the aspect's label")
    not_mentioned: list[str] = Field(
        default_factory=lambda: ["neutral", "neut", "none"], description="labels meaning the aspect is not mentioned"
    )
    head: Literal["shared", "attention"] = Field(
        "shared", description="shared: every head reads one pooled vector; attention: each aspect also attends "
        "over the recurrent states with its own query (recurrent architectures)")
    attention_size: int = Field(64, ge=1, description="head = attention: units of the scoring layer")


class MultiLabelConfig(_Section):
    """Multi-label classification: where each text's labels are, and how they are decided."""

    layout: Literal["delimited", "columns"] = Field(
        "delimited", description="delimited: one label column holding label_sep-separated labels (or a JSON list); "
        "columns: one 0/1 column per label")
    label_sep: str = Field("|", min_length=1, description="delimited layout: what separates a text's labels")
    labels: list[str] | None = Field(None, description="columns layout: the label columns; None: every column but the "
                                     "text and split columns")
    threshold: float | None = Field(None, gt=0, lt=1, description="one decision threshold for every label; None: "
                                    "each label's own, tuned on the valid split (see tune)")
    tune: Literal["micro_f1", "label_f1"] = Field(
        "micro_f1", description="what the tuned thresholds maximise on the valid split: micro_f1 (every text-label "
        "decision pooled: the headline) or label_f1 (each label its own F1: higher macro-F1, but a rare label is "
        "then predicted for many texts that lack it)")


class Config(_Section):
    """The whole configuration of one training run."""

    task: Literal["classify", "absa", "multilabel"] = Field(
        "classify", description="classify: one label per text; multilabel: any number; absa: one label per aspect")
    data: DataConfig = Field(default_factory=DataConfig)
    preprocess: PreprocessConfig = Field(default_factory=PreprocessConfig)
    vocab: VocabConfig = Field(default_factory=VocabConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    lm: LMConfig = Field(default_factory=LMConfig)
    absa: AbsaConfig = Field(default_factory=AbsaConfig)
    multilabel: MultiLabelConfig = Field(default_factory=MultiLabelConfig)

    @model_validator(mode="after")
    def _check_sizes(self) -> Config:
        if self.data.valid_size + self.data.test_size >= 1:
            raise ValueError("data.valid_size + data.test_size must be < 1")
        return self


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``update``'s keys over it, section by section (a step's ``options`` are replaced whole)."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "options":
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _merge_model_options(merged: dict[str, Any], before: dict[str, Any], layer: dict[str, Any]) -> None:
    """A config file's ``[model.options]`` joins the preset's options when the file keeps the preset's
    architecture, as ``--set model.options.x=...`` does (the preset's ``num_filters = 200`` had fallen back to 100
    beside a file's ``head_dropout``); a file that names another architecture replaces them whole."""
    model = layer.get("model")
    options = model.get("options") if isinstance(model, dict) else None
    old = before.get("model", {}) if isinstance(before.get("model"), dict) else {}
    if isinstance(options, dict) and model.get("name", old.get("name")) == old.get("name"):
        merged["model"]["options"] = {**(old.get("options") or {}), **options}


def with_defaults(saved: dict[str, Any]) -> dict[str, Any]:
    """A saved run's settings (a model's ``config.json``, a checkpoint's) with every key added to lstmtext since at
    its built-in default, which is how that run trained (``train.bucket_chunks``: 8): so it reads neither as a
    change on ``--resume`` nor as a preset's value. Settings of no known task come back as they are."""
    try:
        defaults = Config(task=saved.get("task", "classify")).model_dump(mode="json")
    except ValidationError:  # the error that names it comes when the settings themselves are validated
        return saved
    return deep_merge(defaults, saved)


def parse_override(item: str) -> tuple[list[str], Any]:
    """Parse ``section.key=value``; the value is read as TOML (``1e-3``, ``true``, ``[3,4]``) or else as a string.

    Raises:
        ConfigError: If ``item`` has no ``=`` or no dotted key.
    """
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected key=value, e.g. --set train.lr=0.001.")
    key, raw = item.split("=", 1)
    path = key.strip().split(".")
    if len(path) < 2 or not all(path):
        task = " (the task is --task TASK)" if path == ["task"] else ""  # the one top-level key: a flag of its own
        raise ConfigError(f"--set {item!r}: the key must be dotted as section.key, e.g. model.hidden_size{task}.")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return path, value


def _set_path(tree: dict[str, Any], path: list[str], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {'.'.join(path)}: {part!r} is a value, not a section.")
    node[path[-1]] = value


def build_config(
    preset: str | None = None,
    config_file: str | Path | None = None,
    overrides: list[str] | dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    base: dict[str, Any] | None = None,
    extra_source: str | dict[str, str] | None = None,
) -> Config:
    """Resolve a config from a preset, a TOML file, a dict and ``--set`` overrides (later wins).

    Args:
        preset: A model preset name (see :mod:`lstmtext.config.presets`); None: the built-in defaults.
        config_file: A TOML file in the layout written by ``lstmtext init-config``, or a saved model's
            ``config.json`` (or its folder): train again with a model's whole config.
        overrides: ``section.key=value`` strings (``--set``'s), or a dict ``{"section.key": value}``.
        extra: A nested dict applied after the file and before the overrides.
        base: A config tree to start from instead of a preset (a saved model's, for a warm start).
        extra_source: What ``extra`` came from, for error messages (e.g. an estimator's arguments), or a map
            from its dotted keys to what set each (a command's flags).

    Raises:
        ConfigError: For unknown presets or keys, unreadable files and invalid values.
    """
    from lstmtext.config.presets import model_preset

    tree: dict[str, Any] = model_preset(preset) if preset else dict(base or {})
    layers: list[tuple[str | dict[str, str], dict[str, Any]]] = [(f"preset {preset!r}" if preset else "config", tree)]
    if config_file is not None:
        path = Path(config_file)
        file_tree = read_config_file(path)
        file_tree.pop("format_version", None)
        if is_saved_model_config(path):  # a key added since as that run had it: the built-in default, not the preset's
            file_tree = with_defaults(file_tree)
        named = file_tree.get("model", {}).get("name") if isinstance(file_tree.get("model"), dict) else None
        if preset and named is not None and named != tree.get("model", {}).get("name"):
            import logging

            logging.getLogger(__name__).warning(
                "%s sets model.name = %r, replacing %r of the preset %s: the file's settings win wherever both set "
                "one (a file from init-config or a saved model sets every key). Drop the preset, or the file's "
                "[model] section.", path, named, tree.get("model", {}).get("name"), preset)
        merged = deep_merge(tree, file_tree)
        if not is_saved_model_config(path):  # (a saved model's config is whole: its options are all of them)
            _merge_model_options(merged, tree, file_tree)
        tree = merged
        layers.append((str(path), file_tree))
    if extra:
        tree = deep_merge(tree, extra)
        layers.append((extra_source or "the command's options", extra))
    if isinstance(overrides, str):  # its characters would be read as overrides
        raise ConfigError(f"overrides: a list of 'section.key=value' strings or a dict, not the string {overrides!r}.")
    # a Path is written as its string (the config's paths are strings: overrides={"train.pretrained": Path(...)}
    # was refused, though config= takes a Path)
    items = [(f"overrides[{k!r}]", (str(k).split("."), str(v) if isinstance(v, PurePath) else v))
             for k, v in overrides.items()] if isinstance(overrides, dict) \
        else [(f"--set {item}", parse_override(item)) for item in overrides or []]
    for item, (path_parts, value) in items:
        _set_path(tree, path_parts, value)
        single: dict[str, Any] = {}
        _set_path(single, path_parts, value)
        layers.append((item, single))
    try:
        return Config.model_validate(tree)
    except ValidationError as exc:
        raise explain(exc, Config, layers) from None
