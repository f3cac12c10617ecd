"""Training on data larger than memory: read a CSV/TSV/JSONL file in chunks into token shards on disk, train from them.

Two passes, each holding one chunk of rows: the first reads each chunk's labels through the task (the same
:meth:`~lstmtext.tasks.base.Task.parse` an in-memory run uses), cleans the texts, counts tokens and labels (so
the vocabulary and label space are the ones an in-memory run builds) and caches the cleaned texts; the second
encodes them into shards in ``OUT/shards/`` (``<split>-<n>``, the files :mod:`lstmtext.training.shard_files`
writes and reads). The training rows of
every chunk are dealt out at random through bucket files into the training shards (at least as many as there
were chunks), so each shard is a random sample of the whole file, whatever its order: a file sorted by label or
by date trains on mixed batches.
An epoch visits the training shards in an order drawn from ``(seed, epoch)`` and makes length-bucketed batches
within each shard, so peak memory follows the chunk size, not the file size (except while the shards are cut:
one bucket, a 64th of the training token ids as int32, is then in memory). Validation and test rows keep their
order and are read memory-mapped.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from lstmtext.config import Config, TrainConfig
from lstmtext.config.diff import flatten
from lstmtext.data.dataset import SPLITS, RowRefs, check_columns
from lstmtext.data.io import detect_format, file_identity, read_chunks
from lstmtext.data.look_alikes import counted_look_alike_notes
from lstmtext.encoding.batching import EncodedSplit
from lstmtext.encoding.encoder import TextEncoder, auto_max_len
from lstmtext.encoding.vocab import Vocab
from lstmtext.errors import DataError, OutputExistsError
from lstmtext.preprocess import build_pipeline
from lstmtext.tasks.base import Task
from lstmtext.training.shard_files import Dealer, ShardedBatches, load_split, save_shard
from lstmtext.utils.atomic import write_json
from lstmtext.utils.outputs import is_empty_dir

log = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 10_000


@dataclass
class Shards:
    """A folder of shards, read back: the encoder, the task, the training batches and the encoded eval splits."""

    folder: Path
    meta: dict[str, Any]
    encoder: TextEncoder
    task: Task

    def train_source(self, cfg: TrainConfig) -> ShardedBatches:
        """The training batches of an epoch, one shard at a time."""
        return ShardedBatches(self.folder, self.meta["shards"]["train"], self.meta["rows"]["train"], cfg)

    def split(self, name: str) -> EncodedSplit | None:
        """The encoded rows of a split (memory-mapped), or None when it has none."""
        names = self.meta["shards"][name]
        return load_split(self.folder, names) if names else None

    def label_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """The distinct training targets and how many rows carry each (for class weights)."""
        labels = [_label(x) for x in self.meta["train_labels"]]
        return self.task.targets(labels), np.asarray(self.meta["train_label_counts"], dtype=np.float64)


def _label(value: Any) -> Any:
    """A label read back from JSON (lists were tuples)."""
    return tuple(value) if isinstance(value, list) else value


def shard_inputs(data: str | Path, valid_path: str | Path | None, test_path: str | Path | None
                 ) -> dict[str, list[Any]]:
    """What the shards were built from: each file's path, size and modification time (a resume compares them)."""
    return {role: file_identity(path) for role, path in (("data", data), ("valid", valid_path), ("test", test_path))
            if path is not None}


def shard_settings(config: Config) -> dict[str, Any]:
    """The settings that decide what the shards hold (cleaning, vocabulary, columns and splits, labels), flattened."""
    dumped = config.model_dump(mode="json")
    return flatten({k: dumped[k] for k in ("task", "data", "preprocess", "vocab", "multilabel", "absa") if k in dumped})


def check_resumed_shards(folder: Path, meta: dict[str, Any], inputs: dict[str, list[Any]], chunk_size: int,
                         config: Config | None = None) -> None:
    """Refuse a ``--resume`` whose files, ``--chunk-size`` or cleaning, vocabulary and data settings are not those
    the saved shards were built from (interrupted before an epoch ended, a run has no checkpoint to compare with).

    Raises:
        DataError: Naming the first difference and the fix.
    """
    if config is not None and "settings" in meta:
        before, now = meta["settings"], shard_settings(config)
        changed = [k for k in now if now[k] != before.get(k, now[k])]
        if changed:
            key = changed[0]
            raise DataError(f"{folder}: --resume continues a run whose shards were made with {key} = {before[key]!r}, "
                            f"but this command sets {now[key]!r}. Resume with the same command and config, or start "
                            "again with --overwrite.")
    saved = meta.get("inputs")
    if saved is None:  # shards written before their inputs were recorded
        return
    for role in sorted(set(saved) | set(inputs)):
        before, now = saved.get(role), inputs.get(role)
        if before != now:
            what = ("DATA" if role == "data" else f"--{role}")
            said = "none" if before is None else before[0]
            raise DataError(f"{folder}: --resume continues a run whose shards were built from {what} {said}, but "
                            f"this command gives {'none' if now is None else now[0]}"
                            f"{' (changed since)' if before and now and before[0] == now[0] else ''}. Resume with the "
                            "same files, or start again with --overwrite.")
    if meta.get("chunk_size") != chunk_size:
        raise DataError(f"{folder}: --resume continues a run streamed in chunks of {meta.get('chunk_size')} rows, but "
                        f"this command asks for {chunk_size}. Resume with --chunk-size {meta.get('chunk_size')}, or "
                        "start again with --overwrite.")


def prepare_shards(config: Config, task_cls: type[Task], data: str | Path, folder: Path, *,
                   chunk_size: int = DEFAULT_CHUNK_SIZE, fmt: str | None = None, valid_path: str | Path | None = None,
                   test_path: str | Path | None = None, header: bool = True) -> dict[str, Any]:
    """Read the data in chunks and write the token shards and ``meta.json`` to ``folder``; return the meta.

    Raises:
        DataError: For unreadable files, bad cells or splits, and labels missing from training.
    """
    if folder.exists():  # an earlier run's shards (a cache of the data): made again; anything else is not ours to delete
        foreign = sorted(p.name for p in folder.iterdir() if not _written_here(p))
        if foreign:
            raise OutputExistsError(f"{folder} holds files lstmtext did not write ({', '.join(foreign[:3])}): --stream "
                                    "writes its token shards there and would delete them. Move them away, or choose "
                                    "another --out.")
        shutil.rmtree(folder)
    made = [p for p in (folder, *folder.parents) if not p.exists()]  # deepest first
    folder.mkdir(parents=True)
    try:
        return _prepare(config, task_cls, data, folder, chunk_size, fmt, valid_path, test_path, header)
    except BaseException:  # a half-written folder serves nothing, not even --resume: leave no shards behind,
        shutil.rmtree(folder, ignore_errors=True)  # nor the empty run folder made for them
        for parent in made[1:]:
            if is_empty_dir(parent):
                parent.rmdir()
        raise


#: The files :func:`prepare_shards` writes: the shards, the cleaned chunks between its passes, meta.json and the
#: temporary file it is written through.
WRITTEN_HERE = re.compile(r"(train|valid|test)-\d{5,}\.(tokens\.npy|offsets\.npy|targets\.npy|labels\.npy|clean\.json)|"
                          r"bucket-\d{3}\.(tokens|lengths|targets)\.part|"  # the training rows while they are dealt
                          r"meta\.json|\.meta\.json\..*\.tmp|\.DS_Store")  # (.labels.npy: earlier versions')


def _written_here(path: Path) -> bool:
    """Whether ``path`` in a shards folder is one :func:`prepare_shards` writes (:data:`WRITTEN_HERE`)."""
    return path.is_file() and WRITTEN_HERE.fullmatch(path.name) is not None


def _prepare(config: Config, task_cls: type[Task], data: str | Path, folder: Path, chunk_size: int, fmt: str | None,
             valid_path: str | Path | None, test_path: str | Path | None, header: bool) -> dict[str, Any]:
    """:func:`prepare_shards` into the empty ``folder``."""
    pipeline = build_pipeline(config)
    fixed = "train" if valid_path is not None or test_path is not None else None
    sources = [(Path(data), fixed), *((Path(p), s) for p, s in ((valid_path, "valid"), (test_path, "test")) if p)]
    tokens, labels, parts, max_len, info = _clean_pass(sources, config, task_cls, pipeline, folder, fmt, chunk_size,
                                                        header)
    first, empty, held = info.pop("first_rows"), info.pop("cleaned_empty"), info.pop("held")
    if not parts["train"] or not parts["valid"]:
        raise DataError(f"{data}: no {'training' if not parts['train'] else 'validation'} rows. Mark some rows train and "
                        f"some valid in column {config.data.split_col!r}, or give --valid FILE.")
    task = task_cls.fit(labels["train"], info, config, str(data))
    for name, counts in labels.items():
        for label in counts:
            problem = task.unknown(label, name)
            if problem:  # the row of the file that holds it (a --valid file's, not the training file's)
                raise DataError(f"{first[name].get(label, data)}: {problem}")
    vocab = Vocab.build([tokens], config.vocab.num_words, config.vocab.min_freq)  # a Counter adds its counts
    encoder = TextEncoder(pipeline, vocab, auto_max_len(config.vocab.max_len, max_len), config.vocab.truncating,
                          config.vocab.padding)
    rows, train_tokens, shared = _encode_pass(folder, parts, encoder, task, config.data.split_seed, held)
    meant = [info["not_mentioned"]] if info.get("not_mentioned") else []  # an aspect's "NA" may mean it
    # what an in-memory run warns of, from the counts of the two passes (pipeline.prepare.prepare_stream says it)
    one_label = {name: [first[name][label], repr(label)] for name, counts in labels.items()
                 if name != "train" and len(counts) == 1 for label in counts}
    checks = {"look_alikes": counted_look_alike_notes(labels["train"], first["train"], task_cls.label_names(info),
                                                      str(data), meant),
              "cleaned_empty": empty, "shared": shared, "one_label": one_label}
    distinct = list(labels["train"])
    meta = {"source": str(data), "chunk_size": chunk_size, "inputs": shard_inputs(data, valid_path, test_path),
            "settings": shard_settings(config),
            "task": task.name, "labels": task.labels, "info": info,
            "shards": parts, "rows": rows, "train_labels": distinct,
            "train_label_counts": [labels["train"][y] for y in distinct], "train_tokens": train_tokens,
            "encoder": encoder.to_dict(), "vocab": vocab.to_dict(), "checks": checks}
    write_json(folder / "meta.json", meta)  # written last: a folder with meta.json is complete
    return meta


def open_shards(folder: Path, config: Config, task_cls: type[Task]) -> Shards:
    """Read back what :func:`prepare_shards` wrote."""
    meta = json.loads((folder / "meta.json").read_text())
    encoder = TextEncoder.from_dict(meta["encoder"], Vocab.from_dict(meta["vocab"]))
    return Shards(folder, meta, encoder, task_cls(meta["labels"], config))


def _clean_pass(sources: list[tuple[Path, str | None]], config: Config, task_cls: type[Task], pipeline: Any,
                folder: Path, fmt: str | None, chunk_size: int, header: bool
                ) -> tuple[Counter[str], dict[str, Counter], dict[str, list[str]], int, dict[str, Any]]:
    """Pass 1: read and clean each chunk, count training tokens and every split's labels, cache the cleaned texts.
    The task's reader info comes back with ``first_rows`` (each split's labels' first ``file:line``),
    ``cleaned_empty`` (how many training texts clean to nothing, the first one's row and text) and ``held`` (the
    valid and test texts, counted)."""
    tokens: Counter[str] = Counter()
    labels: dict[str, Counter] = {s: Counter() for s in SPLITS}
    parts: dict[str, list[str]] = {s: [] for s in SPLITS}
    max_len, info = 0, {}
    first: dict[str, dict[Any, str]] = {s: {} for s in SPLITS}  # each label's first row, per split (file:line)
    empty: list[Any] = [0, "", ""]  # training texts that clean to nothing: how many, the first's row and text
    held: dict[str, Counter] = {s: Counter() for s in SPLITS if s != "train"}  # valid/test texts, for pass 2
    for path, fixed in sources:
        path_fmt = detect_format(path, fmt)
        cfg = config if fixed is None else config.model_copy(
            update={"data": config.data.model_copy(update={"split_col": None})})
        rows = 0
        for chunk in read_chunks(path, fmt, chunk_size, header):
            if not len(chunk):  # a header alone, or blank lines: pandas gives one empty frame
                continue
            rows += len(chunk)
            if fixed == "train" and config.data.split_col is not None:  # --valid gives the split, yet a named
                check_columns(chunk, path, {"--split-col": config.data.split_col})  # column must be there
            table = task_cls.parse(chunk.reset_index(drop=True), RowRefs(path, path_fmt, header, chunk.index.to_numpy()),
                                   path, cfg, info)
            info = table.info
            names = np.asarray(table.split_values if fixed is None else [fixed] * len(table.split))
            cleaned = pipeline.clean_many(table.split.texts)
            for name in SPLITS:
                index = np.flatnonzero(names == name)
                if not len(index):
                    continue
                texts = [cleaned[i] for i in index]
                chunk_labels = [table.split.labels[i] for i in index]
                refs = table.split.rows
                for i in index:
                    if table.split.labels[i] not in first[name]:
                        first[name][table.split.labels[i]] = refs[i] if refs else str(path)
                if name == "train":
                    for i, text in zip(index, texts):  # row by row, as Vocab.build counts: ties keep the first
                        words = text.split()  # appearance
                        tokens.update(words)
                        max_len = max(max_len, len(words))
                        if not words:
                            empty[0] += 1
                            if empty[0] == 1:
                                empty[1:] = [refs[i] if refs else str(path), table.split.texts[i]]
                labels[name].update(chunk_labels)
                if name in held:  # (held in memory to score them anyway)
                    held[name].update(texts)
                parts[name].append(f"{name}-{len(parts[name]):05d}")
                (folder / f"{parts[name][-1]}.clean.json").write_text(json.dumps({"texts": texts, "labels": chunk_labels}))
            log.info("%s: read up to data row %d", path, int(chunk.index[-1]) + 1)
        if not rows:  # as an in-memory run says it (an IndexError on the empty frame had ended it)
            raise DataError(f"{path}: the file has no data rows.")
    return tokens, labels, parts, max_len, {**info, "first_rows": first, "cleaned_empty": empty, "held": held}


def _encode_pass(folder: Path, parts: dict[str, list[str]], encoder: TextEncoder, task: Task,
                 seed: int, held: dict[str, Counter]) -> tuple[dict[str, list[int]], int, dict[str, int]]:
    """Pass 2: encode each cached chunk into a shard (training rows of several chunks: dealt out at random, see
    :class:`~lstmtext.training.shard_files.Dealer`, and ``parts["train"]`` then names the shards cut); return the rows of each shard per split
    and the training tokens, and how many of the valid and test texts (``held``, counted in pass 1) are training
    texts too."""
    rows: dict[str, list[int]] = {s: [] for s in SPLITS}
    train_tokens = 0
    wanted = set().union(*held.values()) - {""}  # texts that clean to nothing are no shared text
    found: set[str] = set()
    for split, names in parts.items():
        dealer = Dealer(folder, len(names), seed) if split == "train" and len(names) > 1 else None
        try:
            for name in names:
                cache = folder / f"{name}.clean.json"
                chunk = json.loads(cache.read_text())
                if split == "train" and wanted:
                    found.update(text for text in chunk["texts"] if text in wanted)
                ids = [encoder.encode_tokens(text.split()) for text in chunk["texts"]]
                targets = task.targets([_label(y) for y in chunk["labels"]])
                lengths = np.fromiter(map(len, ids), np.int64, len(ids))
                if dealer is not None:
                    dealer.deal(ids, lengths, targets)
                else:
                    save_shard(folder, name, np.fromiter(chain.from_iterable(ids), np.int32, int(lengths.sum())),
                                lengths, targets)
                    rows[split].append(len(ids))
                cache.unlink()
                train_tokens += int(lengths.sum()) if split == "train" else 0
            if dealer is not None:
                parts[split], rows[split] = dealer.finish()
        finally:
            if dealer is not None:
                dealer.close()  # (finish closed them already; a failed pass's folder is removed)
    shared = {s: sum(n for text, n in counts.items() if text in found) for s, counts in held.items()}
    return rows, train_tokens, shared
