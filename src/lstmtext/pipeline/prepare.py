"""Reading a run's data and preparing it for training: the labelled texts (in memory or streamed into shards),
the task's label space, the fitted encoder and the encoded splits.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lstmtext.config import Config
from lstmtext.data.bundled import load_bundled_airline
from lstmtext.data.dataset import LabelledData, Split, warn
from lstmtext.data.look_alikes import look_alike_notes
from lstmtext.encoding.batching import EncodedSplit
from lstmtext.encoding.corpus import UnlabelledCorpus
from lstmtext.encoding.encoder import TextEncoder
from lstmtext.errors import DataError
from lstmtext.inference.bundle import Bundle
from lstmtext.pipeline.language_model import load_pretrained, uses_lm, vocabulary_coverage
from lstmtext.pipeline.seen import count_seen, fingerprints, read_seen
from lstmtext.pipeline.warm_start import (
    check_reader_info,
    load_init,
    saved_vocabulary_coverage,
    warm_encoder,
    warm_task,
)
from lstmtext.preprocess import build_pipeline
from lstmtext.tasks import Task, get_task
from lstmtext.training.ddp import Shard
from lstmtext.training.lm_bundle import LMBundle
from lstmtext.training.loop import BatchSource
from lstmtext.training.shard_files import most_chunks
from lstmtext.training.shards import DEFAULT_CHUNK_SIZE, check_resumed_shards, open_shards, prepare_shards, shard_inputs

log = logging.getLogger(__name__)

FEW_TEXTS = 20  # a valid or test split smaller than this gets a warning: one text moves a score by 5 points or more
#: The share of a valid or test split's texts that are also training texts from which a run warns: a file given
#: twice, or overlapping exports. (Canonical splits share a few: 12 of the airline tweets' 1,448 valid texts.)
OVERLAP_WARN = 0.05


@dataclass
class Prepared:
    """What training reads: the task, the fitted encoder, the training batches and the encoded eval splits."""

    config: Config
    task: Task
    encoder: TextEncoder
    train: EncodedSplit | BatchSource
    splits: dict[str, EncodedSplit]
    source: str
    split_sizes: dict[str, int]
    train_tokens: int
    data: LabelledData | None = None  # raw texts and labels, when the data is in memory
    notes: list[str] = field(default_factory=list)
    label_counts: tuple[np.ndarray, np.ndarray] | None = None  # streamed: distinct training targets and their rows
    init: Bundle | None = None  # the saved model a warm start continues (train.init_from)
    unlabelled: UnlabelledCorpus | None = None  # data.unlabelled: more text for the vocabulary, word2vec or the LM
    lm: LMBundle | None = None  # train.pretrained: the language model the classifier starts from
    seen: np.ndarray | None = None  # in memory: fingerprints of the texts the model is trained on (seen.py)


def drop_other_languages(data: LabelledData, keep: str, languages: list[str]) -> None:
    """Remove rows of every split detected as a language other than ``keep``; counts go to the log and notes."""
    from lstmtext.preprocess.langid_step import filter_language

    for name, split in data.splits.items():
        kept, dropped = filter_language(split.texts, keep, languages)
        if dropped:
            data.splits[name] = split.take(kept)
            counts: dict[str, int] = {}
            for row in dropped:
                counts[row.language] = counts.get(row.language, 0) + 1
            msg = f"{name}: dropped {len(dropped)} of {len(split)} rows not in {keep!r} ({counts})"
            log.warning(msg)
            data.notes.append(msg)


def load_data(config: Config, data: str | Path | LabelledData | None = None, **kwargs: Any) -> LabelledData:
    """The run's labelled data: ``data`` as given, the file ``data`` read by the config's task (``fmt``,
    ``valid_path``, ``test_path``, ``header``, ``split_file``), or the bundled tweets when None; then rows of
    other languages dropped if ``preprocess.keep_language`` asks.
    """
    if isinstance(data, LabelledData):
        return data
    try:
        labelled = load_bundled_airline() if data is None else get_task(config.task).load(data, config, **kwargs)
    except DataError as exc:
        if not config.train.init_from:
            raise
        d = config.data  # a warm start reads the file as the saved model's data unless told otherwise: say so
        label_col = get_task(config.task).reads_label_col  # an aspect file's labels are its aspect columns
        read = f"text column {d.text_col!r}" + (f", label column {d.label_col!r}" if label_col else "")
        flags = "--task, --text-col or --label-col" if label_col else "--task or --text-col"
        raise DataError(f"{exc} (read as the --init-from model's data: task {config.task!r}, {read}; pass {flags} to "
                        "read it otherwise)") from None
    if config.preprocess.keep_language:
        drop_other_languages(labelled, config.preprocess.keep_language, config.preprocess.languages)
    return labelled


def masked_labels(source: Any, name: str, split: Split, shown: Any = repr) -> str | None:
    """The warning for a scored split whose every text has the same label (a file with masked labels), or None."""
    if len(split) < 2 or len({repr(label) for label in split.labels}) > 1:
        return None
    which = f"{name} " if name else ""
    return (f"{source}: every {which}text has the same label ({shown(split.labels[0])}): a file with masked labels (as "
            f"IndoNLU's test_preprocess_masked_label)? Its {which}scores say nothing")


def _file_of(split: Split, default: str) -> str:
    """The file ``split``'s rows come from (a --test file, say), from its first row's ``file:line``."""
    if not split.rows:
        return default
    ref = str(split.rows[0])
    return ref.split(" row ")[0] if " row " in ref else ref.rsplit(":", 1)[0]


def check_held_out(data: LabelledData, notes: list[str], cleaned: dict[str, list[str]] | None = None) -> None:
    """Warn (log and ``notes``) about a valid or test split whose scores would mean little: fewer than
    :data:`FEW_TEXTS` texts, one label on every text (a file with masked labels), or at least
    :data:`OVERLAP_WARN` of its texts also training texts (the training file given as --valid, say).

    ``cleaned`` holds each split's texts as the model reads them: the overlap is counted on those (texts that
    differ only in what the cleaning removes are the same text to the model; ``compare``, whose texts arrive
    cleaned, counted 53 where ``train`` counted 51 on the raw ones). None: the texts as they are.
    """
    texts = cleaned or {name: split.texts for name, split in data.splits.items()}
    seen = set(texts["train"]) - {""}  # texts that clean to nothing (a mention and a link) are no shared text
    folds = data.info.get("split_names", {})  # cross-validation's: its held-out fold is the run's test split
    several = len(set(data.splits["train"].labels)) > 1
    for name in ("valid", "test"):
        split = data.splits.get(name)
        n = len(split) if split is not None else 0
        if n < FEW_TEXTS:  # warned as too few, whatever else is true of them
            shared, masked = 0, None
        else:
            shared = sum(text in seen for text in texts[name])
            masked = masked_labels(_file_of(split, data.source), name, split) if several else None
        for note in held_out_notes(data.source, name, n, shared, masked, folds):
            warn(notes, note)


def held_out_notes(source: str, name: str, n: int, shared: int, masked: str | None,
                   folds: dict[str, str] | None = None) -> list[str]:
    """The warnings about the valid or test split ``name`` of ``n`` texts, ``shared`` of them also training texts,
    and ``masked`` (:func:`masked_labels`'s note, or None): see :func:`check_held_out`; a streamed run counts the
    same from its passes over the file."""
    out = []
    if n >= FEW_TEXTS and shared >= max(2, OVERLAP_WARN * n):
        shown = (folds or {}).get(name, name)
        fix = ("--set data.drop_duplicates=true drops repeated rows before the folds are made" if name in (folds or {})
               else f"Give a {name} split without them (a split lstmtext makes: --set data.drop_duplicates=true drops "
               "repeated rows before splitting)")
        out.append(f"{source}: {shared:,} of the {n:,} {shown} texts are also training texts (after cleaning), so the "
                   f"{shown} scores overstate how the model does on new texts. {fix}.")
    if 0 < n < FEW_TEXTS:
        out.append(f"{source}: the {name} split holds {n} text{'s' if n > 1 else ''}: its scores"
                   + (", and the epoch chosen on them," if name == "valid" else "") + " are mostly chance. Give "
                   f"it more rows: more data, a larger {name} file (--{name}), or a larger data.{name}_size where "
                   "lstmtext makes the split")
    elif n and masked:
        out.append(masked)
    return out


def _seen(cleaned_train: list[str], init: Bundle | None, earlier: np.ndarray | None) -> np.ndarray | None:
    """What the trained model will have seen: its training texts, and a warm start's those of the model it continues
    (None where that model's are not known: its texts could not be counted, so none are claimed)."""
    if init is not None and earlier is None:
        return None
    ours = fingerprints(cleaned_train)
    return ours if earlier is None else np.union1d(ours, earlier)


def check_earlier_training(init_from: str | Path, cleaned: dict[str, list[str]], source: str, notes: list[str]
                           ) -> np.ndarray | None:
    """Warn about valid or test texts the ``--init-from`` model was trained on (its run folder's fingerprints,
    :mod:`lstmtext.pipeline.seen`): a grown file split afresh puts some there, and their scores come out high.
    Returns those fingerprints (None where the run folder kept none)."""
    seen = read_seen(init_from)
    if seen is None:
        return None
    for name in ("valid", "test"):
        shared = count_seen(cleaned.get(name, ()), seen)
        if shared:
            n = len(cleaned[name])
            warn(notes, f"{source}: {shared:,} of the {n:,} {name} texts {'was a training text' if shared == 1 else 'were training texts'} of the --init-from model "
                        f"{init_from}, so the {name} scores overstate how the model does on new texts"
                        + (" (and the epoch and temperature are chosen on them)" if name == "valid" else "")
                        + ". Keep the earlier run's split: a split column (--split-col) that marks its valid and test "
                        "rows as they were and the new rows as you choose, or --valid/--test files. (With its split "
                        "kept, these are texts the file holds twice, after cleaning: once in training, once here.)")
    return seen


def check_cleaned(cleaned: list[str], split: Split, source: str, notes: list[str]) -> None:
    """Note the training texts that the cleaning leaves empty: the model learns nothing from them but their
    label's frequency, and a chain that empties many texts is usually the wrong one for the data."""
    empty = [i for i, text in enumerate(cleaned) if not text.strip()]
    if empty:
        where = split.rows[empty[0]] if split.rows else f"text {empty[0] + 1}"
        warn(notes, cleaned_empty_note(source, len(empty), len(cleaned), where, split.texts[empty[0]]))


def cleaned_empty_note(source: str, empty: int, total: int, where: str, text: str) -> str:
    """The warning of :func:`check_cleaned`: ``empty`` of ``total`` training texts clean to nothing, the first at
    ``where`` (``file:line``) reading ``text``."""
    share = empty / max(total, 1)
    hint = (" Is preprocess.preset right for this language? `lstmtext preprocess FILE` shows what it keeps."
            if share >= 0.05 else "")
    return (f"{source}: {empty:,} training text{'s' if empty > 1 else ''} ({share:.1%}) clean to nothing "
            f"(first: {where}: {text[:60]!r}); each is read as one unknown word.{hint}")


def prepare(config: Config, data: LabelledData) -> Prepared:
    """Fit the task's label space and the encoder on the training split; encode every split.

    A warm start (``train.init_from``) takes both from the saved model instead, grown as its policies say
    (:mod:`lstmtext.pipeline.warm_start`).
    """
    train_split = data.splits["train"]
    notes, init, unlabelled, lm, earlier = list(data.notes), None, None, None, None
    meant = [data.info["not_mentioned"]] if data.info.get("not_mentioned") else []  # an aspect's "NA" may mean it
    for msg in look_alike_notes(train_split.labels, train_split.rows, get_task(config.task).label_names(data.info),
                                data.source, meant):
        warn(notes, msg)
    for msg in config.model.ineffective():
        warn(notes, msg)
    if config.train.self_training and not config.data.unlabelled:
        warn(notes, "train.self_training learns from the model's answers on unlabelled texts and none were given, so "
                    "one model was trained: give them with --unlabelled FILE.")
    if config.train.init_from:
        init = load_init(config)
        check_reader_info(init, data)
        task = warm_task(init, train_split.labels, config, data.source)
        for name, split in data.splits.items():
            task.check(split, data.source, name)
        encoder = warm_encoder(init, train_split.texts, config)
        cleaned = {name: encoder.pipeline.clean_many(s.texts) for name, s in data.splits.items()}
        check_held_out(data, notes, cleaned)
        earlier = check_earlier_training(config.train.init_from, cleaned, data.source, notes)
        notes.append(f"continued from {config.train.init_from} (new words: {config.train.new_words}, "
                     f"{len(encoder.vocab) - len(init.encoder.vocab)} added; new classes: {config.train.new_classes}, "
                     f"{task.layout.total - init.task.layout.total} added)")
    else:
        task = get_task(config.task).from_data(data, config)
        pipeline = build_pipeline(config)
        cleaned = {name: pipeline.clean_many(s.texts) for name, s in data.splits.items()}  # once, for all below
        check_held_out(data, notes, cleaned)
        lm = load_pretrained(config, notes, data.cleaned) if config.train.pretrained else None
        unlabelled = unlabelled_corpus(config, pipeline, notes, [t for name, c in cleaned.items()
                                                                  if name != "train" for t in c])
        check_cleaned(cleaned["train"], train_split, data.source, notes)
        # a pretrained language model's vocabulary is taken as it is
        encoder = TextEncoder.fit(pipeline, train_split.texts, config.vocab, extra=None if lm else unlabelled,
                                  vocab=lm.vocab if lm else None, cleaned=cleaned["train"])
    enc = {name: EncodedSplit(encoder.encode_cleaned(cleaned[name]), task.targets(s.labels))
           for name, s in data.splits.items()}
    if lm is not None and (low := vocabulary_coverage(lm, enc["train"].sequences)):
        warn(notes, low)
    if init is not None and (low := saved_vocabulary_coverage(config, enc["train"].sequences)):
        warn(notes, low)
    return Prepared(config, task, encoder, enc["train"], {k: v for k, v in enc.items() if k != "train"}, data.source,
                    {k: len(v) for k, v in data.splits.items()}, int(enc["train"].lengths.sum()), data, notes,
                    init=init, unlabelled=unlabelled, lm=lm, seen=_seen(cleaned["train"], init, earlier))


def unlabelled_corpus(config: Config, pipeline: Any, notes: list[str], held_out: Sequence[str] = ()
                      ) -> UnlabelledCorpus | None:
    """The run's unlabelled text (``data.unlabelled``), cleaned by ``pipeline``; None without one. ``held_out``:
    the valid and test texts, already cleaned, that it is checked against.

    Its words join the vocabulary, and it trains the word vectors: a model whose embedding would start
    random (``model.embedding.kind = "random"``) gets word2vec instead, or the extra vocabulary rows
    would never learn anything (the change is logged and saved with the model's config). A run that
    starts from a language model (:mod:`lstmtext.pipeline.language_model`) trains that on it instead.
    """
    if not config.data.unlabelled:
        return None
    if config.train.pretrained and not config.lm.finetune_epochs and not config.train.self_training:
        warn(notes, f"{config.data.unlabelled}: not read: --pretrained with lm.finetune_epochs=0 starts the classifier "
                    "from the language model as it is (its vocabulary too), and train.self_training is 0, so nothing "
                    "would learn from the unlabelled texts (they had been cleaned and reported as used). Set "
                    "lm.finetune_epochs to fine-tune the language model on them, or leave --unlabelled out.")
        return None
    scored = frozenset(" ".join(t.split()) for t in held_out) - {""}
    corpus = UnlabelledCorpus(config.data.unlabelled, config.data.unlabelled_col, pipeline, held_out=scored,
                              default_col=config.data.text_col,  # no option reads it headerless: say what does
                              header_flag="a plain .txt file of one text a line (the text column alone, no header)")
    if corpus.overlap:
        warn(notes, f"{config.data.unlabelled}: {corpus.overlap:,} unlabelled text{'s are' if corpus.overlap > 1 else ' is'} "
                    "also in the valid or test split (after "
                    "cleaning): the word vectors or language model learn from texts the model is then scored on, so "
                    "those scores come out optimistic. Leave them out of the unlabelled file.")
    notes.append(corpus.describe())
    if uses_lm(config) and corpus.texts > corpus.usable:  # as pretrain says (it refuses a file of none)
        left = corpus.texts - corpus.usable
        warn(notes, f"{config.data.unlabelled}: {left:,} of its {corpus.texts:,} texts hold one token after cleaning, "
                    "and a language model learns each word from the ones before it, so they teach it nothing"
                    + (": none of them is of use. Give texts of several words." if not corpus.usable else "."))
    if config.model.embedding.kind == "random" and not uses_lm(config):
        config.model.embedding.kind = "word2vec"
        notes.append("model.embedding.kind set from random to word2vec: vectors learnt from the labelled and "
                     "unlabelled texts")
    log.info(notes[-1])
    return corpus


def prepare_stream(config: Config, data: str | Path, out: Path, *, resume: bool, shard: Shard | None,
                   chunk_size: int | None, fmt: str | None = None, valid_path: str | Path | None = None,
                   test_path: str | Path | None = None, header: bool = True) -> Prepared:
    """Read ``data`` in chunks into ``out/shards`` (rank 0 only; kept on ``resume``) and open them."""
    task_cls = get_task(config.task)
    folder = out / "shards"
    chunk_size = chunk_size or DEFAULT_CHUNK_SIZE
    if resume and (folder / "meta.json").is_file():
        check_resumed_shards(folder, json.loads((folder / "meta.json").read_text(encoding="utf-8")),
                             shard_inputs(data, valid_path, test_path), chunk_size, config)
    elif shard is None or shard.rank == 0:
        prepare_shards(config, task_cls, data, folder, chunk_size=chunk_size, fmt=fmt,
                       valid_path=valid_path, test_path=test_path, header=header)
    if shard is not None:
        shard.barrier()
    shards = open_shards(folder, config, task_cls)
    meta = shards.meta
    splits = {name: s for name in ("valid", "test") if (s := shards.split(name)) is not None}
    notes = [f"streamed in chunks of {meta['chunk_size']} rows: {len(meta['shards']['train'])} training shards"]
    for msg in _stream_notes(meta, config):
        warn(notes, msg)
    count, train, batch = len(meta["rows"]["train"]), sum(meta["rows"]["train"]), config.train.batch_size
    if batch < train < batch * count:  # a shard holds about a chunk's share of training rows; batches stay in one
        log.warning("the training shards hold %.0f rows on average, fewer than train.batch_size %d: every batch is "
                    "cut to its shard. Give a --chunk-size that cuts the file into at most %d chunks (for shards of "
                    "a batch at least): %d rows or more.", train / count, batch, most_chunks(train // batch),
                    -(-sum(map(sum, meta["rows"].values())) // most_chunks(train // batch)))  # the last chunk short too
    return Prepared(config, shards.task, shards.encoder, shards.train_source(config.train), splits,
                    f"{meta['source']} (streamed)", {k: sum(v) for k, v in meta["rows"].items() if v},
                    int(meta["train_tokens"]), None, notes, shards.label_counts())




def _stream_notes(meta: dict[str, Any], config: Config) -> list[str]:
    """What :func:`prepare` warns of, from what the streamed passes counted (``meta["checks"]``): look-alike
    labels, training texts that clean to nothing, and valid or test splits too small, sharing texts with training
    or holding one label (masked). Duplicate rows within training are not counted: that needs every text at once."""
    checks, source = meta.get("checks") or {}, meta["source"]
    out = [*checks.get("look_alikes", []), *config.model.ineffective()]  # in prepare()'s order
    several = len(meta.get("train_labels", [])) > 1
    for name in ("valid", "test"):
        n = sum(meta["rows"].get(name) or [])
        masked = None
        if several and name in checks.get("one_label", {}) and n >= 2:
            row, label = checks["one_label"][name]
            split = Split(["", ""], [label, label], [row, row])  # the note needs no more than its first row
            masked = masked_labels(_file_of(split, source), name, split, shown=str)
        out += held_out_notes(source, name, n, checks.get("shared", {}).get(name, 0), masked)
    empty, where, text = checks.get("cleaned_empty") or (0, "", "")
    if empty:
        out.append(cleaned_empty_note(source, empty, sum(meta["rows"]["train"]), where, text))
    return out
