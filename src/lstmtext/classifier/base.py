"""What the three scikit-learn estimators share: their hyperparameters, the config they resolve to, fit, predict,
save and load. Each estimator (``classify``, ``multilabel``, ``absa`` modules) says how it reads ``y`` and what
``predict`` and ``predict_proba`` return."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError as _SklearnNotFitted

from lstmtext.config import Config, build_config
from lstmtext.config.diff import config_overrides
from lstmtext.config.files import is_saved_model_config, read_config_file
from lstmtext.config.presets import task_preset
from lstmtext.config.schema import SEED_MAX
from lstmtext.data.arrays import texts_of
from lstmtext.data.dataset import LabelledData, Split, random_split
from lstmtext.errors import ConfigError, DataError, NotFittedError, python_terms
from lstmtext.inference.bundle import Bundle, load_bundle, read_card, save_bundle
from lstmtext.inference.label_values import ESTIMATOR_FILE, json_values, read_label_values
from lstmtext.inference.predictor import Predictor
from lstmtext.models import ignored_settings
from lstmtext.pipeline import run
from lstmtext.pipeline.language_model import uses_lm
from lstmtext.pipeline.outputs import card
from lstmtext.preprocess.presets import check_model_preset, cleaning_choice
from lstmtext.tasks import get_task
from lstmtext.training.lm_bundle import LM_OWNS, pretrained_settings


class EstimatorNotFitted(NotFittedError, _SklearnNotFitted):
    """Raised by an estimator used before ``fit`` (both lstmtext's and scikit-learn's NotFittedError)."""


# explicit hyperparameter -> config key
_KEYS = {"model": "model.name", "epochs": "train.epochs", "batch_size": "train.batch_size", "lr": "train.lr",
         "embedding_dim": "model.embedding_dim", "hidden_size": "model.hidden_size", "max_len": "vocab.max_len",
         "preprocess": "preprocess.preset", "class_weight": "train.class_weight", "valid_size": "data.valid_size"}


class TextEstimator(BaseEstimator):
    """What the three estimators share: the hyperparameters, the config they resolve to, fit and predict."""

    _task: ClassVar[str]

    def __init__(self, preset: str | None = task_preset("classify"), *, model: str | None = None, epochs: int | None = None,
                 batch_size: int | None = None, lr: float | None = None, embedding_dim: int | None = None,
                 hidden_size: int | None = None, max_len: int | None = None, preprocess: str | None = None,
                 class_weight: str | None = None, valid_size: float | None = None, random_state: int | None = None,
                 overrides: dict[str, Any] | None = None, config: str | Path | None = None,
                 progress: bool = False) -> None:
        self.preset = preset
        self.model = model
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.max_len = max_len
        self.preprocess = preprocess
        self.class_weight = class_weight
        self.valid_size = valid_size
        self.random_state = random_state
        self.overrides = overrides
        self.config = config
        self.progress = progress

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.non_deterministic = False  # None is the config's fixed seed, not a fresh one
        return tags

    def resolve_config(self, warn: bool = True) -> Config:
        """The config this estimator trains with: the preset, the config file, then the hyperparameters."""
        check_model_preset(self.preset)
        if self.overrides is not None and not isinstance(self.overrides, Mapping):
            raise ConfigError(f"overrides: a dict of config keys, e.g. {{'model.pooling': 'max'}}. Got "
                              f"{type(self.overrides).__name__} {self.overrides!r}.")
        task_key = next((k for k in self.overrides or {} if k == "task" or str(k).startswith("task.")), None)
        if task_key is not None:  # it changed the task under the estimator (labels read as another task's)
            raise ConfigError(f"overrides[{task_key!r}]: {type(self).__name__} trains the {self._task!r} task; for "
                              "another, use its estimator (TextClassifier, MultiLabelTextClassifier, AspectClassifier).")
        saved = self.config is not None and is_saved_model_config(Path(self.config))
        theirs = read_config_file(Path(self.config)).get("task") if saved else None  # a TOML file (init-config's says
        if theirs is not None and theirs != self._task:  # classify) takes the estimator's task, as train --task does
            raise ConfigError(f"config={str(self.config)!r} is a saved {theirs!r} model's config and "
                              f"{type(self).__name__} trains the {self._task!r} task. Use the {theirs!r} task's "
                              "estimator, or a config of this task.")
        tree: dict[str, Any] = {"task": self._task}
        given = {name: key for name, key in _KEYS.items() if getattr(self, name) is not None}
        if self.random_state is not None:
            given["random_state"] = ("train.seed", "data.split_seed", "lm.seed")
        for name, keys in given.items():  # one key set twice: which one wins would be a silent choice
            clash = next((k for k in ([keys] if isinstance(keys, str) else keys) if k in (self.overrides or {})), None)
            if clash:
                raise ConfigError(f"{type(self).__name__}: {name}={getattr(self, name)!r} and overrides[{clash!r}]="
                                  f"{self.overrides[clash]!r} both set {clash}. Give it once: as {name}, or in overrides.")
        settings = {key: getattr(self, name) for name, key in given.items() if name != "random_state"}
        if self.preprocess is not None:  # as --preprocess reads it: a cleaning preset, or steps ("lowercase")
            del settings["preprocess.preset"]
            settings.update({f"preprocess.{k}": v for k, v in cleaning_choice(self.preprocess).items()})
        if self.random_state is not None:
            seed = _seed(self.random_state)
            settings.update({"train.seed": seed, "data.split_seed": seed, "lm.seed": seed})
        settings.update(self.overrides or {})
        # a language model's cleaning, unless this estimator names one (then it must match)
        argument = {key: name for name, key in _KEYS.items() if isinstance(key, str)}  # "model.hidden_size" -> name
        given = {key: (value, f"overrides[{key!r}]" if key in (self.overrides or {}) else
                       f"{argument.get(key, key)}={value!r}") for key, value in settings.items()}
        tree.update(pretrained_settings(settings.get("train.pretrained"), self.config,
                                        cleaning_named=any(key.startswith("preprocess.") for key in settings),
                                        given=given)[1])
        for key, value in settings.items():  # "train.lr" -> tree["train"]["lr"]
            *parents, leaf = key.split(".")
            functools.reduce(lambda node, part: node.setdefault(part, {}), parents, tree)[leaf] = value
        cfg = build_config(self.preset, self.config, extra=tree,
                           extra_source=f"{type(self).__name__}(...) arguments (overrides and hyperparameters)")
        unread = ignored_settings(cfg.model.name) if warn else ()  # as `train --set` warns: a grid over them
        for key, (_, said) in given.items():  # trains one model many times
            if key.startswith("model.") and key.removeprefix("model.") in unread:
                warnings.warn(f"{type(self).__name__}: {said}: the {cfg.model.name!r} architecture does not read "
                              f"{key}, so it changes nothing.", UserWarning, stacklevel=_callers_level())
        return cfg

    # ---- what differs between the estimators ------------------------------------------------------------
    def _labels(self, y: Any, n: int) -> tuple[list[Any], dict[str, Any]]:
        """``y`` as the task's labels, and what the task reader would have learnt (``LabelledData.info``)."""
        raise NotImplementedError

    def _outputs(self, proba: np.ndarray) -> Any:
        """predict_proba's return value from the predictor's probabilities."""
        raise NotImplementedError

    def _aligned(self, y: Any, info: dict[str, Any]) -> Any:
        """Labels ``y`` put in the order of the training labels' columns ``info`` describes (aspects: by name)."""
        return y

    def _decide(self, proba: np.ndarray) -> Any:
        """predict's return value from the predictor's probabilities."""
        raise NotImplementedError

    # ---- fitting and predicting ----------------------------------------------------------------------------
    @python_terms
    def fit(self, X: Any, y: Any, *, valid_texts: Any = None, valid_labels: Any = None) -> TextEstimator:
        """Fit on ``X``/``y``; without a valid set, a ``valid_size`` share is held out for early stopping.

        Raises:
            DataError: If lengths differ, a text is empty or not a string, a label is missing, or X or y is a set.
            ConfigError: If a hyperparameter is not valid.
        """
        if (valid_texts is None) != (valid_labels is None):
            raise DataError("fit(): give valid_texts and valid_labels together (one label per valid text), or neither "
                            "to hold out a valid_size share of X.")
        config = self.resolve_config()
        for name, given in (("X", X), ("y", y), ("valid_texts", valid_texts), ("valid_labels", valid_labels)):
            if isinstance(given, (set, frozenset)):  # read in its own order: texts and labels would be mispaired
                raise DataError(f"fit(): {name} is a set, which has no order, so its items cannot be paired with the "
                                "other argument's. Give a list (or an array or Series).")
        texts = texts_of(X, "X")
        if not texts:
            raise DataError("fit(): X holds no texts. Give the texts to learn from, one label each in y.")
        fitted = {name: getattr(self, name) for name in _LABEL_STATE if hasattr(self, name)}
        try:
            return self._fit(config, texts, y, valid_texts, valid_labels)
        except BaseException:  # a fit that fails leaves a fitted model as it was: its label values too (save writes them)
            self._restore_label_state(fitted)
            raise

    def _restore_label_state(self, kept: dict[str, Any]) -> None:
        for name in _LABEL_STATE:
            if name in kept:
                setattr(self, name, kept[name])
            elif hasattr(self, name):
                delattr(self, name)

    def _fit(self, config: Config, texts: list[str], y: Any, valid_texts: Any, valid_labels: Any) -> TextEstimator:
        labels, info = self._labels(y, len(texts))
        if valid_texts is None:
            task_cls = get_task(config.task)
            splits = random_split(Split(texts, labels), config.data, task_cls.stratum(), test=False,
                                  source="fit() arguments", needs=task_cls.needs())
        else:
            valid = texts_of(valid_texts, "valid_texts")
            kept = {name: getattr(self, name) for name in _LABEL_STATE if hasattr(self, name)}  # y's, not valid's
            valid_y = self._aligned(valid_labels, info)
            splits = {"train": Split(texts, labels), "valid": Split(valid, self._labels(valid_y, len(valid))[0])}
            self._restore_label_state(kept)
        import torch

        with torch.random.fork_rng(devices=[]):  # training seeds torch from random_state: the caller's stream is left as it was
            result = run(config, LabelledData(splits, source="fit() arguments", info=info), progress=self.progress)
        self.config_, self.history_, self.summary_ = config, result.history, result.summary
        self.bundle_ = Bundle(config, result.encoder, result.task, result.model.eval(), result.metrics, {})
        self.predictor_ = Predictor(self.bundle_)
        self._fitted_from_labels()
        return self

    def _fitted_from_labels(self) -> None:
        """Set ``classes_`` (and the like) from the fitted task."""

    def _predictor(self) -> Predictor:
        if not hasattr(self, "predictor_"):
            raise EstimatorNotFitted(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' or "
                                     f"'{type(self).__name__}.load(path)' first.")
        return self.predictor_

    def predict_proba(self, X: Any) -> Any:
        """Probabilities of ``X``'s texts (see the class's doc for the shape)."""
        predictor = self._predictor()
        return self._outputs(predictor.predict_proba(texts_of(X, "X", blank=True)))

    def predict(self, X: Any) -> Any:
        """The decision for each text (see the class's doc)."""
        predictor = self._predictor()
        return self._decide(predictor.predict_proba(texts_of(X, "X", blank=True)))

    def records(self, X: Any, top_k: int | None = None, **options: Any) -> list[Any]:
        """One :class:`~lstmtext.tasks.base.Prediction` record per text: what the CLI and the server answer."""
        return self._predictor().predict(texts_of(X, "X", blank=True), top_k, **options)

    # ---- saving -----------------------------------------------------------------------------------------
    @python_terms
    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Save as a bundle folder (JSON + safetensors), atomically."""
        b = self._predictor().bundle
        text, license, source = (card(self.summary_, b.task, b.metrics), "other", "") if hasattr(self, "summary_") \
            else read_card(b)
        values = json_values(getattr(self, "_label_values", {}))
        # labels given as numbers (or booleans) come back as numbers after load; written with the model, atomically
        columns = {"columns": True} if getattr(self, "_columns", False) else {}  # a matrix's columns: their order
        extra = {ESTIMATOR_FILE: {"label_values": values, **columns}} if values else None
        return save_bundle(path, b.config, b.encoder, b.task, b.model, b.metrics, text, overwrite, source=source,
                           license=license, extra=extra)

    @python_terms
    def save_pretrained(self, path: str | Path, overwrite: bool = False, push_to_hub: bool = False,
                        repo_id: str | None = None) -> Path:
        """:meth:`save`, then with ``push_to_hub`` upload the folder to the Hub repo ``repo_id`` (``lstmtext[hub]``)."""
        saved = self.save(path, overwrite)
        if push_to_hub:
            from lstmtext.inference.hub import push_to_hub as push

            push(saved, repo_id or Path(path).name)
        return saved

    @classmethod
    @python_terms
    def load(cls, path: str | Path) -> TextEstimator:
        """Load a bundle folder saved by :meth:`save` or ``lstmtext train`` (never the network: a mistyped path is
        "no such folder"; :meth:`from_pretrained` also reads Hugging Face Hub repos)."""
        return cls._from_bundle(load_bundle(path), path)

    @classmethod
    @python_terms
    def from_pretrained(cls, name_or_path: str | Path, revision: str | None = None) -> TextEstimator:
        """:meth:`load` a local folder; a ``user/repo`` that is no folder here is downloaded from the Hugging Face Hub
        (only then; needs ``lstmtext[hub]``), at ``revision`` (a branch, tag or commit) if given."""
        from lstmtext.inference.hub import local_or_hub

        return cls._from_bundle(load_bundle(local_or_hub(name_or_path, revision)), name_or_path)

    @classmethod
    def _from_bundle(cls, bundle: Bundle, path: str | Path) -> TextEstimator:
        if bundle.task.name != cls._task:
            raise DataError(f"{path}: a model of the {bundle.task.name} task; load it with that task's estimator "
                            f"(this one is for the {cls._task} task).")
        est = cls(preset=None, **_arguments(bundle.config))  # so clone() and fit() train this model again
        est.config_, est.bundle_, est.predictor_ = bundle.config, bundle, Predictor(bundle)
        extra = bundle.path / ESTIMATOR_FILE if bundle.path is not None else None
        if extra is not None and extra.is_file():
            est._label_values, est._columns = read_label_values(extra)
        est._fitted_from_labels()
        return est


#: What an estimator learns of its labels beyond the task's names: their values (ints stay ints) and whether they
#: were a matrix's columns (multi-label: their order is the columns').
_LABEL_STATE = ("_label_values", "_columns")


def _arguments(config: Config) -> dict[str, Any]:
    """The estimator arguments that give ``config``: the keys with an argument of their own as that argument
    (so ``set_params(lr=...)`` on a loaded model changes what it trains), the rest in ``overrides``."""
    unread = ignored_settings(config.model.name)  # a preset's settings its architecture does not read: refit, a
    overrides = {k: v for k, v in config_overrides(config).items()  # loaded model warned of each, given by no one
                 if not (k.startswith("model.") and k.removeprefix("model.") in unread)}
    if config.train.pretrained:  # the language model's vocabulary and sizes come from it again, not as settings
        overrides = {k: v for k, v in overrides.items() if not k.startswith(LM_OWNS)}
    args = {name: overrides.pop(key) for name, key in _KEYS.items() if overrides.get(key) is not None}
    seed = config.train.seed
    # what random_state sets; lm.seed only matters to a model with a language model (one saved before random_state
    # set it keeps its seeds as overrides; without a language model, its lm.seed 42 is no reason to)
    if seed == config.data.split_seed and (config.lm.seed == seed or not uses_lm(config)):
        for key in ("train.seed", "data.split_seed", "lm.seed"):
            overrides.pop(key, None)
        args["random_state"] = seed
    return {**args, "overrides": overrides}


def _callers_level() -> int:
    """``warnings.warn``'s stacklevel, called from a function of this package, that names the user's line: the first
    frame outside lstmtext (through fit, its error wrapper and resolve_config)."""
    import sys

    package, frame, level = str(Path(__file__).parents[1]), sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def _seed(random_state: Any) -> int:
    """``random_state`` as the int seed of the config: an int, or one drawn from a numpy ``RandomState``."""
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if not 0 <= random_state <= SEED_MAX:  # -1 was reported as "too few rows for a stratified split"
            raise ConfigError(f"random_state: an int from 0 to 2**32 - 1, a numpy RandomState or None. Got {random_state}.")
        return int(random_state)
    raise ConfigError(f"random_state: an int, a numpy RandomState or None. Got {random_state!r}.")
