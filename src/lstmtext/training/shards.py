"""Training on data larger than memory: read a CSV/TSV/JSONL file in chunks into token shards on disk, train from them.

Two passes, each holding one chunk of rows: the first cleans the texts, counts tokens and labels (so the
vocabulary is the one an in-memory run builds) and caches the cleaned texts; the second encodes them into
shards in ``OUT/shards/``: ``<split>-<n>.tokens.npy`` (int32 ids of the rows, end to end),
``.offsets.npy`` (int64 row starts plus the end) and ``.labels.npy``. An epoch visits the training shards in
an order drawn from ``(seed, epoch)`` and makes length-bucketed batches within each shard, so peak memory
follows the chunk size, not the file size. Validation and test rows are read memory-mapped.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections import Counter
from collections.abc import Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from lstmtext import __version__
from lstmtext.utils.atomic import write_json
from lstmtext.encoding.batching import Batch, iterate, train_batches
from lstmtext.config import Config, TrainConfig
from lstmtext.data.dataset import SPLIT_ALIASES, Split, _check_cells, _check_columns, check_classes
from lstmtext.data.io import _locate_bad_bytes, detect_format, row_ref
from lstmtext.encoding.encoder import TextEncoder
from lstmtext.errors import BundleError, ConfigError, DataError
from lstmtext.tasks.metrics import classification_metrics
from lstmtext.encoding.vocab import Vocab

log = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 10_000
SPLITS = ("train", "valid", "test")


def read_chunks(path: str | Path, fmt: str | None, chunk_size: int, header: bool = True) -> Iterator[pd.DataFrame]:
    """Yield frames of at most ``chunk_size`` rows of strings, indexed by 0-based data row (for ``file:line`` errors).

    Raises:
        DataError: If the file is missing, Parquet, not UTF-8 or not parseable.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found. Check the path (relative paths start at {Path.cwd()}).")
    fmt = detect_format(path, fmt)
    if fmt == "parquet":
        raise DataError(f"{path}: --stream reads csv, tsv and jsonl files, not parquet. Convert the file or drop --stream.")
    try:
        if fmt == "jsonl":
            yield from _jsonl_chunks(path, chunk_size)
            return
        with pd.read_csv(path, sep="," if fmt == "csv" else "\t", dtype=str, keep_default_na=False, na_values=[""],
                         encoding="utf-8", header=0 if header else None, chunksize=chunk_size) as reader:
            for chunk in reader:  # the index runs on from chunk to chunk
                if not header:
                    chunk.columns = ["text", "label"][: chunk.shape[1]] + [f"col{i}" for i in range(2, chunk.shape[1])]
                yield chunk
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: {_locate_bad_bytes(path, exc)} is not valid UTF-8. Re-save the file as UTF-8 "
                        "(e.g. `iconv -f latin1 -t utf-8`).") from None
    except pd.errors.ParserError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot parse as {fmt}: {first}. Check quoting and the delimiter.") from None


def _jsonl_chunks(path: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{lineno + 1}: not a JSON object ({exc.msg}). Write one object per line.") from None
            lines.append(lineno)
            if len(records) == chunk_size:
                yield pd.DataFrame.from_records(records, index=lines)
                records, lines = [], []
    if records:
        yield pd.DataFrame.from_records(records, index=lines)


def _rows(frame: pd.DataFrame, path: Path, config: Config, fmt: str, header: bool, split: str | None) -> pd.DataFrame:
    """Check a chunk as :func:`lstmtext.data.read_labelled` checks a file; return columns text, label, split."""
    cfg = config.data
    split_col = None if split else cfg.split_col
    _check_columns(frame, path, {"--text-col": cfg.text_col, "--label-col": cfg.label_col, "--split-col": split_col})
    _check_cells(frame, path, cfg.text_col, "text in column", fmt, header)
    _check_cells(frame, path, cfg.label_col, "label in column", fmt, header)
    out = pd.DataFrame({"text": frame[cfg.text_col].astype(str), "label": frame[cfg.label_col].astype(str).str.strip()})
    if split:
        out["split"] = split
        return out
    raw = frame[split_col].astype(str).str.strip().str.lower()
    bad = ~raw.isin(list(SPLIT_ALIASES))
    if bad.any():
        raise DataError(f"{row_ref(path, int(raw[bad].index[0]), fmt, header)}: split value {raw[bad].iloc[0]!r} in "
                        f"column {split_col!r} is not one of train, valid (dev, validation), test. Fix the value.")
    out["split"] = raw.map(SPLIT_ALIASES)
    return out


def check_streamable(config: Config, data: str | Path | None, out_dir: str | Path | None,
                     valid_path: str | Path | None) -> None:
    """Raise a ConfigError or DataError for a run that cannot stream (what needs the whole file in memory)."""
    if data is None or out_dir is None:
        raise ConfigError("--stream needs a DATA file and --out (the shards go to OUT/shards). Give both, or drop --stream.")
    if config.task != "classify":
        raise ConfigError(f"--stream supports task 'classify' only. Got {config.task!r} instead. Drop --stream.")
    if config.data.split_col is None and valid_path is None:
        raise DataError(f"{data}: --stream needs the validation rows marked: give --split-col (train/valid/test per "
                        "row) or --valid FILE; a stratified split would need the whole file in memory.")
    unsupported = {"data.drop_duplicates": config.data.drop_duplicates, "train.oversample": config.train.oversample,
                   "preprocess.keep_language": config.preprocess.keep_language,
                   "model.embedding.kind word2vec": config.model.embedding.kind == "word2vec"}
    for key, value in unsupported.items():
        if value:
            raise ConfigError(f"{key} is not supported with --stream (it needs every row in memory). Unset it or drop --stream.")


def prepare_shards(config: Config, data: str | Path, folder: Path, *, chunk_size: int = DEFAULT_CHUNK_SIZE,
                   fmt: str | None = None, valid_path: str | Path | None = None, test_path: str | Path | None = None,
                   header: bool = True) -> dict[str, Any]:
    """Read the data in chunks and write the token shards and ``meta.json`` to ``folder``; return the meta.

    Raises:
        DataError: For unreadable files, bad cells or splits, and classes missing from training.
    """
    from lstmtext.pipeline.run import build_pipeline

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    pipeline = build_pipeline(config)
    fixed = "train" if valid_path is not None or test_path is not None else None
    sources = [(Path(data), fixed), *((Path(p), s) for p, s in ((valid_path, "valid"), (test_path, "test")) if p)]
    counter, classes, parts, max_len = _clean_pass(sources, config, pipeline, folder, fmt, chunk_size, header)
    if not parts["train"] or not parts["valid"]:
        raise DataError(f"{data}: no {'training' if not parts['train'] else 'validation'} rows. Mark some rows train and "
                        f"some valid in column {config.data.split_col!r}, or give --valid FILE.")
    check_classes({s: Split([], sorted(c)) for s, c in classes.items() if c}, str(data))
    vocab = Vocab.build([counter], config.vocab.num_words, config.vocab.min_freq)  # a Counter adds its counts
    encoder = TextEncoder(pipeline, vocab, config.vocab.max_len or max_len or 1, config.vocab.truncating,
                          config.vocab.padding)
    labels = sorted(classes["train"])
    rows, train_tokens = _encode_pass(folder, parts, encoder, {label: i for i, label in enumerate(labels)})
    meta = {"source": str(data), "chunk_size": chunk_size, "labels": labels, "shards": parts, "rows": rows,
            "class_counts": [classes["train"][y] for y in labels], "train_tokens": train_tokens,
            "encoder": encoder.to_dict(), "vocab": vocab.to_dict()}
    write_json(folder / "meta.json", meta)  # written last: a folder with meta.json is complete
    return meta


def _clean_pass(sources: list[tuple[Path, str | None]], config: Config, pipeline: Any, folder: Path, fmt: str | None,
                chunk_size: int, header: bool) -> tuple[Counter[str], dict[str, Counter[str]], dict[str, list[str]], int]:
    """Pass 1: clean each chunk, count training tokens and every split's labels, cache the cleaned texts."""
    counter: Counter[str] = Counter()
    classes: dict[str, Counter[str]] = {s: Counter() for s in SPLITS}
    parts: dict[str, list[str]] = {s: [] for s in SPLITS}
    max_len = 0
    for path, split in sources:
        path_fmt = detect_format(path, fmt)
        for chunk in read_chunks(path, fmt, chunk_size, header):
            rows = _rows(chunk, path, config, path_fmt, header, split)
            cleaned = np.array(pipeline.clean_many(rows["text"].tolist()), dtype=object)
            for name in SPLITS:
                mask = (rows["split"] == name).to_numpy()
                if not mask.any():
                    continue
                texts, labels = cleaned[mask].tolist(), rows["label"][mask].tolist()
                if name == "train":
                    for text in texts:  # row by row, as Vocab.build counts: ties keep the first appearance
                        tokens = text.split()
                        counter.update(tokens)
                        max_len = max(max_len, len(tokens))
                classes[name].update(labels)
                parts[name].append(f"{name}-{len(parts[name]):05d}")
                (folder / f"{parts[name][-1]}.clean.json").write_text(json.dumps({"texts": texts, "labels": labels}))
            log.info("%s: read up to data row %d", path, int(chunk.index[-1]) + 1)
    return counter, classes, parts, max_len


def _encode_pass(folder: Path, parts: dict[str, list[str]], encoder: TextEncoder,
                 label_id: dict[str, int]) -> tuple[dict[str, list[int]], int]:
    """Pass 2: encode each cached chunk into a shard; return the rows of each shard per split and the training tokens."""
    rows: dict[str, list[int]] = {s: [] for s in SPLITS}
    train_tokens = 0
    for split, names in parts.items():
        for name in names:
            cache = folder / f"{name}.clean.json"
            chunk = json.loads(cache.read_text())
            ids = [encoder.encode_tokens(text.split()) for text in chunk["texts"]]
            offsets = np.zeros(len(ids) + 1, dtype=np.int64)
            np.cumsum([len(x) for x in ids], out=offsets[1:])
            np.save(folder / f"{name}.tokens.npy", np.fromiter(chain.from_iterable(ids), np.int32, int(offsets[-1])))
            np.save(folder / f"{name}.offsets.npy", offsets)
            np.save(folder / f"{name}.labels.npy", np.array([label_id[y] for y in chunk["labels"]], dtype=np.int64))
            cache.unlink()
            rows[split].append(len(ids))
            train_tokens += int(offsets[-1]) if split == "train" else 0
    return rows, train_tokens


class ShardSequences(Sequence):
    """The rows of one or more shards as a read-only sequence of int32 id arrays.

    Args:
        folder: The shards folder.
        names: Shard names (``train-00000``, ...).
        mmap: Memory-map the token arrays instead of reading them.
    """

    def __init__(self, folder: Path, names: Sequence[str], mmap: bool = False) -> None:
        self._tokens = [np.load(folder / f"{n}.tokens.npy", mmap_mode="r" if mmap else None) for n in names]
        self._offsets = [np.load(folder / f"{n}.offsets.npy") for n in names]
        self._starts = np.cumsum([0] + [len(o) - 1 for o in self._offsets])

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, i: int) -> np.ndarray:  # type: ignore[override]
        k = 0 if len(self._tokens) == 1 else int(np.searchsorted(self._starts, i, side="right")) - 1
        j = i - int(self._starts[k])
        return self._tokens[k][self._offsets[k][j] : self._offsets[k][j + 1]]

    @property
    def lengths(self) -> np.ndarray:
        """``(N,)`` int64 row lengths."""
        return np.concatenate([np.diff(o) for o in self._offsets])


def load_split(folder: Path, names: Sequence[str]):
    """Return the shards of a split as an :class:`lstmtext.training.loop.EncodedSplit` (ids memory-mapped)."""
    from lstmtext.training.loop import EncodedSplit

    labels = np.concatenate([np.load(folder / f"{n}.labels.npy") for n in names])
    return EncodedSplit(ShardSequences(folder, names, mmap=True), labels)  # type: ignore[arg-type]


class ShardedBatches:
    """Training batches from shards: shards in an order drawn from ``(seed, epoch)``, bucketed within each.

    Shard ``k`` uses seed ``train.seed + k``: a single shard gives the batches of an in-memory run.

    Args:
        folder: The shards folder.
        names: Training shard names.
        rows: Rows of each shard.
        cfg: The train section (batch_size, seed, bucket).
    """

    def __init__(self, folder: Path, names: Sequence[str], rows: Sequence[int], cfg: TrainConfig) -> None:
        self.folder, self.names, self.rows, self.cfg = folder, list(names), list(rows), cfg

    def __len__(self) -> int:
        return sum(-(-r // self.cfg.batch_size) for r in self.rows)

    def epoch_batches(self, epoch: int) -> Iterator[Batch]:
        """Yield the batches of one epoch, reading one shard at a time."""
        order = np.random.default_rng([self.cfg.seed, epoch]).permutation(len(self.names))
        for k in order:
            sequences = ShardSequences(self.folder, [self.names[k]])
            labels = np.load(self.folder / f"{self.names[k]}.labels.npy")
            batches = train_batches(sequences.lengths, self.cfg.batch_size, self.cfg.seed + int(k), epoch, self.cfg.bucket)
            yield from iterate(sequences, batches, labels)


def run_stream(config: Config, data: str | Path | None, out_dir: str | Path | None, *, resume: bool = False,
               overwrite: bool = False, progress: bool = True, chunk_size: int | None = None, shard: Any = None,
               fmt: str | None = None, valid_path: str | Path | None = None, test_path: str | Path | None = None,
               header: bool = True) -> Any:
    """Train from shards as :func:`lstmtext.pipeline.run.run` trains from memory; same outputs, plus ``OUT/shards/``.

    With ``resume``, shards already complete in ``OUT/shards`` are used again. In a distributed run rank 0
    writes the shards while the other ranks wait.

    Raises:
        ConfigError: For settings that need every row in memory (see :func:`check_streamable`).
        DataError: For unreadable data, and data without marked validation rows.
        BundleError: If ``OUT/model`` exists and neither ``overwrite`` nor ``resume`` is set.
    """
    from lstmtext.encoding.embeddings import initial_embedding
    from lstmtext.models import build_model
    from lstmtext.pipeline.run import RunResult, _write_outputs, configure_threads
    from lstmtext.training.loop import ClassificationObjective, fit, predict_logits

    check_streamable(config, data, out_dir, valid_path)
    out = Path(out_dir)  # type: ignore[arg-type]
    if (out / "model").exists() and not (overwrite or resume):
        raise BundleError(f"{out / 'model'}: a trained model is already there. Pass --overwrite to replace it, or another --out.")
    if config.model.ensemble > 1:
        from lstmtext.errors import ConfigError

        raise ConfigError("model.ensemble > 1 cannot be combined with --stream; train the ensemble in memory.")
    folder = out / "shards"
    if (shard is None or shard.rank == 0) and not (resume and (folder / "meta.json").is_file()):
        prepare_shards(config, data, folder, chunk_size=chunk_size or DEFAULT_CHUNK_SIZE, fmt=fmt,  # type: ignore[arg-type]
                       valid_path=valid_path, test_path=test_path, header=header)
    if shard is not None:
        shard.barrier()
    meta = json.loads((folder / "meta.json").read_text())
    configure_threads(config.train.threads)
    encoder = TextEncoder.from_dict(meta["encoder"], Vocab.from_dict(meta["vocab"]))
    labels, counts = meta["labels"], np.array(meta["class_counts"], dtype=np.float64)
    weights = None
    if config.train.class_weight == "balanced":  # imbalance.class_weights' formula, from the streamed counts
        weights = torch.tensor(counts.sum() / (len(labels) * np.maximum(counts, 1)), dtype=torch.float32)
    torch.manual_seed(config.train.seed)
    model = build_model(config.model, len(encoder.vocab), len(labels),
                        **initial_embedding(config.model, encoder.vocab, [], encoder.pipeline))
    train = ShardedBatches(folder, meta["shards"]["train"], meta["rows"]["train"], config.train)
    splits = {s: load_split(folder, meta["shards"][s]) for s in ("valid", "test") if meta["shards"][s]}
    objective = ClassificationObjective(len(labels), weights)
    result = fit(shard.wrap(model) if shard is not None else model, train, splits["valid"], config.train, objective,
                 out / "checkpoint", resume, progress, shard=shard)
    if shard is not None and shard.rank != 0:  # ranks > 0 only train: rank 0 evaluates and writes
        return RunResult(None, {}, result.history, result, {})
    metrics = {}
    for name, split in splits.items():
        pred = predict_logits(model, split.sequences, config.train.eval_batch_size).argmax(1).numpy()
        metrics[name] = classification_metrics(split.labels.tolist(), pred, labels)
    summary = _summary(config, meta, model, encoder, result)
    _write_outputs(out, config, encoder, labels, model, metrics, result, summary)
    return RunResult(out, metrics, result.history, result, summary)


def _summary(config: Config, meta: dict[str, Any], model: Any, encoder: TextEncoder, result: Any) -> dict[str, Any]:
    """The run summary of :func:`lstmtext.pipeline.run.run`, from the shards' meta instead of the texts."""
    tokens = meta["train_tokens"] * len(result.history)
    return {
        "architecture": config.model.name, "source": f"{meta['source']} (streamed)", "labels": meta["labels"],
        "n_parameters": sum(p.numel() for p in model.parameters()), "vocab_size": len(encoder.vocab),
        "max_len": encoder.max_len, "epochs_run": len(result.history), "best_epoch": result.best_epoch,
        "train_seconds": result.seconds, "tokens_per_second": tokens / max(result.seconds, 1e-9),
        "split_sizes": {k: sum(v) for k, v in meta["rows"].items() if v}, "steps": encoder.pipeline.steps,
        "seed": config.train.seed, "lstmtext_version": __version__,
        "notes": [f"streamed in chunks of {meta['chunk_size']} rows: {len(meta['shards']['train'])} training shards"],
    }
