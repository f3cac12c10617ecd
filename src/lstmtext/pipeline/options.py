"""The run's config from what a user gives on the command line: a preset, a TOML file, the data flags and
``--set`` overrides. This is the one place where a command-line flag becomes a config key (:data:`FLAG_KEYS`);
``train``, ``compare``, ``search``, ``cv``, ``audit`` and ``learning-curve`` call :func:`run_config`, and a
Python user who wants what a command would train calls it with the same arguments.

Heavy modules (torch, the tasks) are imported where they are needed: the command line imports this module only
when a command runs, and ``--help`` stays fast.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lstmtext.config import Config

log = logging.getLogger(__name__)


def run_config(preset: str | None = None, config: Path | None = None, set_: list[str] | None = None, *,
               task: str | None = None, text_col: str | None = None, label_col: str | None = None,
               split_col: str | None = None, aspects: str | None = None, label_sep: str | None = None,
               drop_duplicates: bool = False, oversample: str | None = None, class_weight: str | None = None,
               bundled: bool = False, init_from: Path | None = None, new_words: str | None = None,
               new_classes: str | None = None, unlabelled: Path | None = None,
               unlabelled_col: str | None = None, pretrained: Path | None = None, preprocess: str | None = None) -> Config:
    """The run's config from a preset, a TOML file, the data flags and ``--set`` overrides (in that order).

    With ``init_from`` and neither a preset nor a file, the saved model's config takes the preset's place
    (of its data section only the text and label column names; not its growth policies), so the warm start
    continues the same model, cleaning and training settings.
    With ``pretrained`` (a language model) the cleaning is the model's and the embedding starts from it; the
    preset defaults to ``ulmfit`` for single-label runs.
    This is the one place where a command-line flag becomes a config key.
    """
    from lstmtext.config import Config, build_config, deep_merge, parse_override
    from lstmtext.config.presets import task_preset
    from lstmtext.errors import ConfigError
    from lstmtext.preprocess.presets import check_model_preset
    from lstmtext.tasks import get_task

    check_model_preset(preset)
    given = {item: (".".join(path), value) for item in set_ or [] for path, value in [parse_override(item)]}
    init_set = next((value for key, value in given.values() if key == "train.init_from"), None)
    if init_set and str(init_set).lower() != "none":  # --set train.init_from=X is --init-from X
        if init_from is not None and Path(str(init_set)).resolve() != init_from.resolve():  # m1 and ./m1/: one
            raise ConfigError(f"--init-from {init_from} and --set train.init_from={init_set} name two models. Give one.")
        init_from = Path(str(init_set))
    base = None
    if init_from is not None and preset is None and config is None:
        from lstmtext.inference.bundle import load_bundle

        saved = load_bundle(init_from)
        base = saved.config.model_dump(mode="json")
        base = deep_merge(base, saved.task.warm_settings())  # e.g. an aspect model's own not-mentioned label
        if task and task != base["task"]:  # before its data is read as the saved model's task's
            from lstmtext.pipeline.warm_start import other_task

            raise other_task(init_from, base["task"], task)
        # the saved column names stay (suggest's to_label.csv uses them), not how that file was split or what
        # else was read; nor the growth policies of the run that made it: those are this run's flags
        base["data"] = {k: v for k, v in base["data"].items() if k in ("text_col", "label_col")}
        # a language model the saved one started from is in its weights already: continued, not pretrained again
        for key in ("init_from", "new_words", "new_classes", "pretrain", "pretrained"):
            base["train"].pop(key, None)
        if not task and base["task"] != Config.model_fields["task"].default:  # DATA is read as that task's file:
            # say so before it is
            log.warning("--init-from %s is a model of --task %s: DATA is read and trained as its task's file",
                        init_from, base["task"])
        task = task or base["task"]
    sections = get_task(task or "classify").sections
    for flag, value, section in (("--aspects", aspects, "absa"), ("--label-sep", label_sep, "multilabel")):
        if value and section not in sections:
            raise ConfigError(f"{flag} needs --task {section} (it sets the {section} section; --task is "
                              f"{task or 'classify'}).")
    extra: dict[str, Any] = {}
    if task:
        extra["task"] = task
    columns = {"text_col": text_col, "label_col": label_col, "split_col": split_col}
    extra["data"] = {k: v for k, v in columns.items() if v is not None}
    if bundled:  # the bundled tweets: record their real columns in the configs written
        from lstmtext.data.bundled import AIRLINE_COLUMNS

        extra["data"] = dict(AIRLINE_COLUMNS)
    if drop_duplicates:
        extra["data"]["drop_duplicates"] = True
    extra["data"].update(unlabelled_data(unlabelled, unlabelled_col))
    if preprocess:  # a cleaning preset, or comma-separated step names
        from lstmtext.preprocess.presets import cleaning_choice

        extra["preprocess"] = cleaning_choice(preprocess)
    if aspects:
        extra["absa"] = {"aspects": [a.strip() for a in aspects.split(",") if a.strip()]}
    if label_sep:
        extra.setdefault("multilabel", {})["label_sep"] = label_sep
    train = {"oversample": oversample, "class_weight": class_weight, "new_words": new_words, "new_classes": new_classes,
             "init_from": str(init_from) if init_from is not None else None}
    if init_from is None and (new_words or new_classes):
        raise ConfigError("--new-words and --new-classes say how --init-from grows a saved model; give --init-from too.")
    extra["train"] = {k: v for k, v in train.items() if v}
    lm_set = next((value for key, value in given.values() if key == "train.pretrained" and value), None)
    from lstmtext.training.lm_bundle import pretrained_settings

    # --set train.pretrained=LM is --pretrained LM, and so is a config file's train.pretrained
    lm, settings = pretrained_settings(pretrained or lm_set, config, cleaning_named=bool(preprocess),
                                       given={key: (value, f"--set {item}") for item, (key, value) in given.items()})
    if lm is not None:
        for item, (key, _) in given.items():  # the language model's cleaning: a --set would be dropped or contradict it
            if key.startswith("preprocess."):
                raise ConfigError(f"--set {item}: with --pretrained the cleaning is the language model's. Leave it "
                                  "out, or pretrain a language model with it (lstmtext pretrain ... --set " + key + "=...).")
        extra = deep_merge(extra, settings)
        if preset is None and config is None and base is None:
            preset = task_preset(task, pretrained=True)
        say_lm_cleaning(preset or task_preset(task), settings.get("preprocess"), lm, named=preset is not None or
                         config is None)
    if base is not None:
        built = build_config(None, None, list(set_ or []), extra=extra, base=base, extra_source=FLAG_KEYS)
    elif preset is None and config is not None:  # the task's preset under a file, not one the user named: a file
        # whose [model] differs (init-config's, edited) is what the user asked for, not a clash to warn about
        from lstmtext.config.presets import model_preset

        built = build_config(None, config, list(set_ or []), extra=extra, base=model_preset(task_preset(task)),
                             extra_source=FLAG_KEYS)
    else:
        built = build_config(preset or task_preset(task), config, list(set_ or []), extra=extra, extra_source=FLAG_KEYS)
    if label_col and not get_task(built.task).reads_label_col:  # it was ignored without a word
        fix = get_task(built.task).label_columns_advice(built, label_col)
        raise ConfigError(f"--label-col does not apply to --task {built.task}: {fix}, or leave --label-col out.")
    if label_col and "," in label_col:  # --label-col a,b,c: a task may read several label columns
        get_task(built.task).several_label_columns(built, [c.strip() for c in label_col.split(",") if c.strip()])
    return built


def say_lm_cleaning(preset: str, theirs: dict[str, Any] | None, lm: str, named: bool = True) -> None:
    """Say when the language model's cleaning replaces one the model preset chose (absa's id-aspect, which keeps the
    stopwords that carry an aspect's polarity): only the report's cleaning line showed it. ``named``: the preset is
    the run's own, not the base a config file is laid over."""
    from lstmtext.config.presets import model_preset
    from lstmtext.pipeline.language_model import cleaning_name
    from lstmtext.preprocess.presets import resolved_preprocess

    own = model_preset(preset).get("preprocess")
    if theirs is None or own is None or resolved_preprocess(own)["steps"] == resolved_preprocess(theirs)["steps"]:
        return
    cleaning = cleaning_name(resolved_preprocess(theirs))
    log.warning(
        "--pretrained %s: the run cleans as the language model was trained (%s), not as %s does (%s). Pretrain "
        "with --preprocess %s to keep the preset's cleaning.", lm, cleaning, f"preset {preset}" if named else
        f"the preset {preset} that the config file is laid over", own.get("preset"), own.get("preset"))


#: The config key each flag of :func:`run_config` sets (what an error in that key names).
FLAG_KEYS = {"task": "--task", "data.text_col": "--text-col", "data.label_col": "--label-col",
             "data.split_col": "--split-col", "data.drop_duplicates": "--drop-duplicates",
             "data.unlabelled": "--unlabelled", "data.unlabelled_col": "--unlabelled-col", "absa.aspects": "--aspects",
             "multilabel.label_sep": "--label-sep", "multilabel.labels": "--label-col",
             "multilabel.layout": "--label-col", "train.oversample": "--oversample",
             "train.class_weight": "--class-weight", "train.new_words": "--new-words",
             "train.new_classes": "--new-classes", "train.init_from": "--init-from", "train.pretrained": "--pretrained",
             "preprocess": "--pretrained (the language model's cleaning)", "model.embedding": "--pretrained",
             "preprocess.preset": "--preprocess", "preprocess.steps": "--preprocess"}


def unlabelled_data(unlabelled: Path | None, unlabelled_col: str | None) -> dict[str, str]:
    """The ``data`` keys of ``--unlabelled`` and ``--unlabelled-col``."""
    if unlabelled_col and unlabelled is None:
        from lstmtext.errors import ConfigError

        raise ConfigError("--unlabelled-col names the text column of --unlabelled FILE; give --unlabelled too.")
    out = {"unlabelled": str(unlabelled)} if unlabelled is not None else {}
    if unlabelled_col:
        out["unlabelled_col"] = unlabelled_col
    return out


