"""Language models in a run: ``lstmtext pretrain`` (a file of raw texts -> an LM bundle), and a classifier that
starts from one (``train.pretrained``, or ``train.pretrain`` to pretrain inside the run first).

ULMFiT's three stages (Howard and Ruder 2018), on this project's pieces:

1. a language model on general or in-domain raw text (:func:`pretrain`, streamed through a token file);
2. the same model trained on for ``lm.finetune_epochs`` on the run's own training texts and unlabelled texts
   (with ``train.pretrained``), or trained on them from scratch for ``lm.epochs`` (``train.pretrain``);
3. the classifier: embedding and LSTM copied from the language model by name
   (:func:`start_from_lm`), then fine-tuned with the train section's ``layer_lr_decay``, ``unfreeze`` and
   ``schedule`` (:mod:`lstmtext.training.schedule`).

The vocabulary and cleaning of a pretrained model are the run's: a run that asks for another cleaning is
refused (one line), and the classifier's embedding and hidden sizes are taken from the model.
"""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from lstmtext.config import Config, LMConfig, ModelConfig
from lstmtext.data.io import file_identity
from lstmtext.encoding.corpus import UnlabelledCorpus
from lstmtext.encoding.token_stream import write_token_stream
from lstmtext.encoding.vocab import Vocab, known_words
from lstmtext.errors import BundleError, ConfigError, DataError
from lstmtext.models import reads_both_ways
from lstmtext.models.language_model import LanguageModel
from lstmtext.pipeline.checks import check_resume_or_overwrite
from lstmtext.pipeline.lm_resume import (
    check_finished_lm_stage,
    check_lm_stage,
    lm_stage_state,
    read_work_json,
    resumed_config,
)
from lstmtext.preprocess import Pipeline, build_pipeline
from lstmtext.preprocess.pipeline import RESOURCES_DIR
from lstmtext.preprocess.presets import resolved_preprocess
from lstmtext.training.checkpoint import has_checkpoint
from lstmtext.training.lm_bundle import LMBundle, is_lm_bundle, lm_folder, load_lm, read_lm_meta, save_lm
from lstmtext.training.pretrain import LMResult, fit_lm, perplexity_name
from lstmtext.training.threads import configure_threads, keeps_thread_count

log = logging.getLogger(__name__)


def uses_lm(config: Config) -> bool:
    """Whether the run's classifier starts from a language model."""
    return bool(config.train.pretrained or config.train.pretrain)


def new_lm(config: Config, vocab_size: int) -> LanguageModel:
    """A fresh language model with the model section's sizes, reading both ways where the classifier's recurrence
    does (``bilstm``, ``bilstm_attn``, ``lstm`` with ``bidirectional``), seeded by ``lm.seed``."""
    m, lm = config.model, config.lm
    torch.manual_seed(lm.seed)
    return LanguageModel(vocab_size, m.embedding_dim, m.hidden_size, reads_both_ways(m)).configure(lm)


def train_lm(model: LanguageModel, token_lists: Callable[[], Iterable[Sequence[str]]], vocab: Vocab, work: Path,
             cfg: LMConfig, epochs: int, resume: bool = False, progress: bool = True, precision: str = "auto",
             on_epoch_end: Callable[[dict], None] | None = None) -> tuple[dict, LMResult]:
    """Encode ``token_lists()`` into ``work/corpus`` and train ``model`` on it for ``epochs``.

    With ``resume``, token files that were completed are kept and training continues from the last epoch's
    checkpoint when there is one.
    """
    corpus = work / "corpus"
    if resume and (corpus / "meta.json").is_file():
        counts = read_work_json(corpus / "meta.json")  # a damaged one: one line, not a traceback
    else:
        counts = write_token_stream(token_lists(), vocab, corpus, cfg.valid_every)
    log.info("language-model corpus: %s", counts)
    resume = resume and has_checkpoint(work / "checkpoint")
    result = fit_lm(model, corpus, cfg, work / "checkpoint", resume, progress, epochs, on_epoch_end=on_epoch_end,
                    precision=precision)
    return counts, result


def _info(counts: dict, result: LMResult) -> dict:
    return {"corpus": counts, "history": result.history, "perplexity": result.best_perplexity,
            "seconds": result.seconds, "precision": result.precision}


#: Fewer training tokens than this and a language model learns next to nothing (the airline tweets hold ~190,000).
FEW_LM_TOKENS = 10_000

#: What a language model's folder holds (the bundle, and an interrupted pretraining's state and work files).
LM_FOLDER_NAMES = frozenset({"lm.json", "vocab.json", "model.safetensors", RESOURCES_DIR, "pretrain.json", "corpus",
                             "checkpoint"})


@keeps_thread_count
def pretrain(config: Config, texts: str | Path, out: str | Path, text_col: str | None = None, *, resume: bool = False,
             overwrite: bool = False, progress: bool = True, header: bool = True,
             on_epoch_end: Callable[[dict], None] | None = None, asked: Collection[str] = ()) -> LMBundle:
    """``lstmtext pretrain``: clean ``texts`` once (streamed), build the vocabulary, train, save to ``out``.

    While it trains, ``out`` holds the token files and a checkpoint after each epoch (``resume`` continues
    from them to the same weights); at the end it holds only the bundle. With ``overwrite``, a language model
    already in ``out`` is deleted only once the new texts are read and found usable. ``asked``: the config keys
    the command line set (a resume that changes one of them is refused). ``header``: whether a CSV/TSV file of
    ``texts`` has a header row (without one its columns are text, label, ...).

    Raises:
        BundleError: If ``out`` is a file, or exists (without ``overwrite`` or ``resume``), or ``resume`` finds
            nothing to resume or was started on other texts.
        DataError: For a missing file or column, or no usable text.
    """
    out = Path(out)
    state = out / "pretrain.json"
    check_resume_or_overwrite(resume, overwrite)
    configure_threads(config.train.threads)

    def read() -> UnlabelledCorpus:  # the run's cleaning (a resume's saved config), errors naming pretrain's options
        return UnlabelledCorpus(texts, text_col, build_pipeline(config), ("lstmtext pretrain TEXTS", "--text-col"),
                                header=header, header_flag="--no-header", progress=progress)

    if out.exists() and not out.is_dir():
        raise BundleError(f"--out {out} is a file; a language model is a folder. Choose a folder's name.")
    if resume:
        if not state.is_file() and is_lm_bundle(out):
            raise BundleError(f"{out} holds a finished language model: nothing to resume. Use it with `lstmtext train "
                              f"DATA --pretrained {out}`, or start again with --overwrite.")
        if not state.is_file():
            raise BundleError(f"{out}: nothing to resume (no pretraining was started there). Start without --resume.")
        saved = read_work_json(state)
        before, now = saved.get("texts_id"), file_identity(texts)
        if before is not None and before != now:  # pretrain.json files written before this check hold no id
            changed = " (changed since it started)" if before[0] == now[0] else f", not {texts}"
            raise BundleError(f"{out}: --resume continues the pretraining on {saved['texts']}{changed}. Resume with "
                              "the same unchanged TEXTS, or start again with --overwrite.")
        config = resumed_config(config, Config.model_validate(saved["config"]), state, asked)
        vocab = Vocab.from_dict(read_work_json(out / "vocab.json"))
    else:
        if out.exists() and any(out.iterdir()):
            ours = is_lm_bundle(out) or state.is_file()  # a language model, or an interrupted pretraining
            others = sorted(p.name for p in out.iterdir() if p.name not in LM_FOLDER_NAMES)
            if ours and overwrite and others:  # --overwrite deletes the folder: never what lstmtext pretrain did not write
                raise BundleError(f"{out} holds a language model and also {', '.join(others[:5])}"
                                  f"{' ...' if len(others) > 5 else ''}, which pretrain did not write: --overwrite would "
                                  "delete them. Move them away, or choose another --out.")
            if not overwrite or not ours:
                raise BundleError(f"{out} exists and is not empty" + (
                    ". Pass --overwrite to replace it, --resume to continue an interrupted pretraining, or choose "
                    "another --out." if ours else " and holds no language model: choose another --out (nothing in "
                    "it is deleted)."))
        corpus = read()
        if not corpus.usable:  # checked before anything in out is deleted or written
            raise DataError(f"{texts}: no text of two tokens or more is left after cleaning (left: "
                            f"{corpus.texts:,} text{'s' if corpus.texts != 1 else ''} of one token): a language model learns from the next word. Check the file, --text-col and "
                            "the cleaning (--preprocess).")
        log.info(corpus.describe())
        if corpus.texts > corpus.usable:  # left out without a word (74 of 3,000 SmSA reviews: 'indah', 'tidak_kesal')
            log.warning("%s: %s of %s texts hold one token after cleaning and are left out: a language model learns "
                        "each word from the ones before it.", texts, f"{corpus.texts - corpus.usable:,}",
                        f"{corpus.texts:,}")
        vocab = Vocab.build(corpus, config.vocab.num_words, config.vocab.min_freq)
        if out.exists():  # --overwrite of a language model (checked above): the new texts are read, so now
            shutil.rmtree(out)
        out.mkdir(parents=True, exist_ok=True)
        # pretrain.json first: it marks the folder as this command's, so that a kill before vocab.json is written
        # leaves one --overwrite replaces (the other order left one that --overwrite and --resume both refused)
        state.write_text(json.dumps({"config": config.model_dump(mode="json"), "texts": str(texts),
                                     "texts_id": file_identity(texts)}), encoding="utf-8")
        (out / "vocab.json").write_text(json.dumps(vocab.to_dict(), ensure_ascii=False), encoding="utf-8")

    def token_lists() -> Iterable[list[str]]:  # cleaned again only when a resume finds no complete token files
        return corpus if not resume else read()

    model = new_lm(config, len(vocab))
    counts, result = train_lm(model, token_lists, vocab, out, config.lm, config.lm.epochs, resume, progress,
                              config.train.precision, on_epoch_end)
    bundle = LMBundle(model, vocab, config.preprocess, config.lm, _info(counts, result))
    save_lm(bundle, out, overwrite=True)  # replaces the work folder in one rename
    return bundle


def check_lm(config: Config, lm: LMBundle, cleaned: dict[str, Any] | None = None) -> None:
    """Refuse a run whose cleaning differs from the language model's (one line naming both and the fix).

    ``cleaned``: the ``preprocess`` section the run's texts were already cleaned with (``compare`` cleans once for
    every model, whose own chain is then empty); None: the run cleans them with ``config.preprocess``.
    """
    # the chains written out: a preset name and the steps it stands for are the same cleaning
    ours = resolved_preprocess(cleaned if cleaned is not None else config.preprocess.model_dump(mode="json"))
    theirs = resolved_preprocess(lm.preprocess.model_dump(mode="json"))
    if {**ours, "preset": None} == {**theirs, "preset": None}:
        return
    key = next(k for k in ("steps", "options", *ours) if k != "preset" and ours.get(k) != theirs.get(k))
    if key == "steps":  # a preset's name, or the steps themselves when they are not one
        detail = f"the cleaning {cleaning_name(theirs)}, but this run's is {cleaning_name(ours)}"
    else:
        detail = f"preprocess.{key} = {theirs.get(key)!r}, but this run asks for {ours.get(key)!r}"
    fix = ("Leave the cleaning out (--preprocess, a config file's [preprocess] section; the model's is then used)"
           if cleaned is None else f"Give --preprocess {cleaning_name(theirs, flag=True)} (the model's cleaning)"
           if key == "steps" else "Clean with the model's own settings")
    raise ConfigError(f"--pretrained {lm.path}: the language model was trained with {detail}. {fix} or pretrain a "
                      "language model with this cleaning.")


def lm_cleaning_choice(path: str | Path) -> str:
    """The language model's cleaning as a ``--preprocess`` value: its preset's name, or its steps comma-separated.

    Raises:
        ConfigError: If the cleaning has step options that its preset does not give (a lexicon of one's own, a
            ``remove_digits.units``): ``--preprocess`` has no form for them.
    """
    from lstmtext.preprocess.presets import cleaning_choice
    from lstmtext.training.lm_bundle import read_lm_meta

    theirs = resolved_preprocess(read_lm_meta(path)["preprocess"])
    choice = cleaning_name(theirs, flag=True)
    if resolved_preprocess(cleaning_choice(choice))["options"] != theirs["options"]:
        raise ConfigError(f"--set train.pretrained={path}: the language model's cleaning sets step options "
                          f"({theirs['options']}) that compare's --preprocess cannot give. Train each model with "
                          "lstmtext train --pretrained (it takes the model's cleaning whole), or pretrain a language "
                          "model without step options.")
    return choice


def cleaning_name(spec: dict[str, Any], flag: bool = False) -> str:
    """A written-out cleaning in words: its preset's name when it is that preset's chain, else its steps."""
    if spec.get("steps") == resolved_preprocess({"preset": spec.get("preset") or "none"})["steps"]:
        return spec["preset"]
    steps = ",".join(spec.get("steps") or [])
    return steps if flag else f"steps {steps or '(none)'}"


def adopt_sizes(config: Config, lm: LMBundle, notes: list[str]) -> None:
    """Give the classifier the language model's embedding and hidden sizes (noted when they change)."""
    sizes = {k: v for k, v in lm.sizes.items() if k != "bidirectional"}
    changed = {k: v for k, v in sizes.items() if getattr(config.model, k) != v}
    for key, value in changed.items():
        setattr(config.model, key, value)
    if changed:
        notes.append("model sizes taken from the language model: " + ", ".join(f"{k} {v}" for k, v in changed.items()))


def model_as_trained(config: Config) -> ModelConfig:
    """``config.model`` with the sizes a run takes from the language model it starts from (``train.pretrained``, as
    :func:`adopt_sizes` gives them when it loads): what the run will build, for a report written before it runs."""
    if not config.train.pretrained:
        return config.model
    meta = read_lm_meta(config.train.pretrained)
    return config.model.model_copy(update={k: meta[k] for k in ("embedding_dim", "hidden_size") if k in meta})


def load_pretrained(config: Config, notes: list[str], cleaned: dict[str, Any] | None = None) -> LMBundle:
    """The language model ``train.pretrained`` names, checked against the run (``cleaned``: see :func:`check_lm`)
    and with its sizes adopted."""
    path = lm_folder(config.train.pretrained)
    lm = load_lm(path)
    check_lm(config, lm, cleaned)
    adopt_sizes(config, lm, notes)
    notes.append(f"started from the language model {path} ({len(lm.vocab):,} words, {perplexity_name(_held_out(lm))} "
                 f"{lm.info.get('perplexity', float('nan')):.1f})")
    return lm


def run_lm(config: Config, pipeline: Pipeline, vocab: Vocab, train_texts: Sequence[str],
           unlabelled: UnlabelledCorpus | None, start: LMBundle | None, out: Path | None, resume: bool,
           progress: bool) -> LMBundle:
    """Stage 2: the language model trained on the run's training texts and unlabelled texts, ready for the classifier.

    From ``start`` (``train.pretrained``) for ``lm.finetune_epochs`` (none: ``start`` as it is), else from scratch
    for ``lm.epochs``. With ``out`` the result is saved to ``out/lm`` (a run resumed later reads it back) and the
    work goes to ``out/lm_work``; else to a temporary folder.
    """
    saved = out / "lm" if out is not None else None
    stage = lm_stage_state(config, train_texts, start)
    if resume and saved is not None and is_lm_bundle(saved):
        done = load_lm(saved)
        check_finished_lm_stage(saved, done, stage)
        return done
    epochs = config.lm.finetune_epochs if start is not None else config.lm.epochs
    if start is not None and not epochs:
        return start
    def token_lists() -> Iterable[list[str]]:
        tokens = (t.split() for t in pipeline.clean_many(list(train_texts)))
        return itertools.chain(tokens, unlabelled if unlabelled is not None else [])

    if start is not None:
        model = start.model.configure(config.lm)
        torch.manual_seed(config.lm.seed)
    else:
        model = new_lm(config, len(vocab))
    with tempfile.TemporaryDirectory(prefix="lstmtext-lm-") as tmp:
        work = out / "lm_work" if out is not None else Path(tmp)
        if out is not None:
            check_lm_stage(work, config, train_texts, start, resume)
        counts, result = train_lm(model, token_lists, vocab, work, config.lm, epochs, resume, progress,
                                  config.train.precision)
        bundle = LMBundle(model, vocab, config.preprocess, config.lm, {**_info(counts, result), "stage": stage})
        if saved is not None:
            save_lm(bundle, saved, overwrite=True)
            shutil.rmtree(work, ignore_errors=True)
    return bundle


def start_from_lm(model: torch.nn.Module, lm: LMBundle) -> list[str]:
    """Copy the language model's embedding and LSTM into ``model`` wherever a tensor's name ends with theirs and
    the shapes agree (every ensemble member, aspect or n-gram-bag wrapper); return the names copied.

    Raises:
        ConfigError: If nothing could be copied (an architecture without a matching embedding).
    """
    source = lm.model.encoder_state()
    copied = []
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            key = next((k for k in source if name == k or name.endswith("." + k)), None)
            if key is not None and source[key].shape == tensor.shape:
                tensor.copy_(source[key])
                copied.append(name)
    if not any(n.endswith("embedding.weight") for n in copied):
        raise ConfigError(f"the language model {lm.path or ''} fits no embedding of this model (it has "
                          f"{len(lm.vocab):,} words x {lm.sizes['embedding_dim']}). Use an lstm or bilstm model with "
                          "its sizes, e.g. --preset ulmfit.")
    return copied


def lm_warnings(lm: LMBundle, pretrained: bool) -> list[str]:
    """What the run's notes should warn about the language model it trained (``pretrained``: from one given with
    --pretrained, which read its own texts)."""
    tokens = lm.info.get("corpus", {}).get("train", {}).get("tokens", 0)
    if pretrained or tokens >= FEW_LM_TOKENS:
        return []
    return [f"the language model read {tokens:,} training tokens (the training texts and any --unlabelled ones), too "
            "few to learn a language from (the bundled airline tweets hold about 190,000): give more unlabelled texts "
            "with --unlabelled FILE, or start from a language model pretrained on many (--pretrained LM)."]


def vocabulary_coverage(lm: LMBundle, sequences: Sequence[Sequence[int]]) -> str | None:
    """A warning when the language model's vocabulary holds under half of the training texts' words (``sequences``:
    them encoded with it), e.g. a model of another language or cleaning; else None."""
    known, total = known_words(sequences)
    if not total or known >= total / 2:
        return None
    return (f"--pretrained {lm.path}: only {known / total:.1%} of the training texts' words ({known:,} of {total:,}) "
            "are in the language model's vocabulary; the rest are read as one unknown word. Was it pretrained on texts "
            "of this language and kind? Pretrain one on texts like these (lstmtext pretrain).")


def lm_note(lm: LMBundle) -> str:
    """One line for the run's notes: what the language model read and how well it predicts held-out text."""
    history, corpus = lm.info.get("history") or [{}], lm.info.get("corpus", {}).get("train", {})
    speed = history[-1].get("tokens_per_second")
    return (f"language model: {corpus.get('tokens', 0):,} training tokens, {len(history)} epochs, "
            f"{perplexity_name(_held_out(lm))} {lm.info.get('perplexity', float('nan')):.1f}"
            + (f", {speed:,.0f} tokens/s" if speed else ""))


def _held_out(lm: LMBundle) -> bool:
    """Whether the language model's perplexity is on held-out texts (a corpus too small held none out)."""
    return lm.info.get("corpus", {}).get("valid", {}).get("tokens", 1) > 0
