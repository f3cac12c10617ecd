"""The one place that refuses an impossible run before any work starts: combinations of features, and a model
that is already saved where the run would write.

Each refusal is one line that names both sides of the conflict and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lstmtext.config import Config
from lstmtext.data.dataset import LabelledData
from lstmtext.errors import ConfigError, DataError, OutputExistsError
from lstmtext.inference.bundle import check_save_target
from lstmtext.models import check_model, parameter_count
from lstmtext.tasks import figure_files, get_task
from lstmtext.utils.outputs import check_out, is_saved_model

# What --stream cannot do, because it needs every row in memory at once.
#: What --stream cannot do (it needs every row at once): when it is set, and the --set that unsets it.
_IN_MEMORY_ONLY = {
    "data.drop_duplicates": (lambda c: c.data.drop_duplicates, "--set data.drop_duplicates=false"),
    "train.oversample": (lambda c: c.train.oversample, "--set train.oversample=none"),
    "preprocess.keep_language": (lambda c: c.preprocess.keep_language, "--set preprocess.keep_language=none"),
    "model.embedding.kind word2vec": (lambda c: c.model.embedding.kind == "word2vec",
                                      "--set model.embedding.kind=random (the preset's word2vec start learns from "
                                      "every training text at once)"),
    "data.unlabelled (--unlabelled)": (lambda c: c.data.unlabelled, "leave out --unlabelled"),
    "model.ngram_fit after": (lambda c: c.model.ngram_bag and c.model.ngram_fit == "after",
                              '--set model.ngram_fit=joint (the linear fit reads every training text at once)'),
}


def check_resume_or_overwrite(resume: bool, overwrite: bool) -> None:
    """Refuse ``--resume`` with ``--overwrite``: one continues what OUT holds, the other replaces it (resume won,
    unsaid)."""
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite together: --resume continues the run in OUT, --overwrite starts it "
                          "again from nothing. Give one of them.")


def prepare_out(out_dir: str | Path | None, *, overwrite: bool, resume: bool,
                inputs: Sequence[Any] = ()) -> Path | None:
    """The output folder as a Path, after checking that a saved model there may be replaced and that no file the
    run reads (``inputs``: paths, or data in memory, which is skipped) is one it would write.

    Raises:
        OutputExistsError: If ``out_dir/model`` exists and neither ``overwrite`` nor ``resume`` is set, or another
            command's results there would be replaced (its report, metrics).
    """
    check_resume_or_overwrite(resume, overwrite)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None and is_saved_model(out / "model") and not (overwrite or resume):  # else check_out names it
        raise OutputExistsError(f"{out / 'model'}: a trained model is already there. Pass --overwrite to replace it, "
                          "or another --out.")
    if out is not None and is_saved_model(out / "model"):  # what saving would refuse, refused before the training
        check_save_target(out / "model")
    # e.g. an audit's report.html, a user's own history.csv
    files = [p for p in inputs if isinstance(p, (str, Path))]
    return out if out is None else check_out(out, "train", overwrite or resume, also=figure_files(), inputs=files)


def check_run(config: Config, *, data: Any = None, out_dir: str | Path | None = None, stream: bool = False,
              shard: Any = None, valid_path: str | Path | None = None, split_file: str | Path | None = None,
              chunk_size: int | None = None) -> None:
    """Raise a one-line error for a combination of features (task, data source, streaming, DDP, ensembles,
    oversampling, monitor) that cannot work together.

    Raises:
        ConfigError: For a conflict between two settings or options.
        DataError: For a streamed file whose validation rows are not marked.
    """
    task = get_task(config.task)
    check_model(config.model)  # before the data is read: a misspelt model.name or option
    if data is None and not task.reads_bundled:
        raise ConfigError(f"--task {config.task} needs a DATA file with its labels (the bundled airline tweets have "
                          "one label per text); see docs/absa.md and docs/multilabel.md for the layouts.")
    if config.train.monitor not in task.monitors:
        raise ConfigError(f"train.monitor {config.train.monitor!r} does not apply to --task {config.task}. Use one of "
                          f"{', '.join(task.monitors)}.")
    if config.train.oversample and not task.can_oversample:
        raise ConfigError(f"train.oversample cannot be combined with --task {config.task}: a text with several labels "
                          "has no single class to copy. Use --class-weight balanced instead.")
    emb = config.model.embedding
    lm = "--pretrained" if config.train.pretrained else "train.pretrain" if config.train.pretrain else None
    if emb.path and emb.kind != "pretrained":  # the file was never read, without a word (even under -v)
        fix = (f"drop the path: with {lm} the language model starts the embedding" if lm else
               "add --set model.embedding.kind=\"pretrained\", or drop the path")
        raise ConfigError(f"model.embedding.path is set ({emb.path}) but model.embedding.kind is {emb.kind!r}, which "
                          f"does not read it: {fix}.")
    if config.data.unlabelled and config.model.embedding.kind == "onehot":
        raise ConfigError("--unlabelled cannot be combined with model.embedding.kind onehot: words only the "
                          "unlabelled text has would get frozen inputs that never learn. Use word2vec or random.")
    t = config.train
    if t.init_from is None and (t.new_words != "keep" or t.new_classes != "error"):  # else ignored without a word
        raise ConfigError("train.new_words and train.new_classes say how train.init_from grows a saved model; give "
                          "train.init_from (--init-from) too.")  # (here, not in the schema: saved configs hold them)
    if config.train.init_from and config.data.unlabelled:
        raise ConfigError("--unlabelled cannot be combined with --init-from: a warm start keeps the saved model's "
                          "vocabulary and vectors. Drop one of them.")
    if config.train.init_from and (stream or shard is not None):
        raise ConfigError(f"--init-from cannot be combined with {'--stream' if stream else '--nproc'} yet (the saved "
                          "vocabulary and weights are read in one process, in memory). Drop one of them.")
    if lm and config.train.init_from:
        raise ConfigError(f"{lm} cannot be combined with --init-from: a warm start continues a saved classifier's own "
                          "weights. Drop one of them.")
    if lm and (stream or shard is not None):
        raise ConfigError(f"{lm} cannot be combined with {'--stream' if stream else '--nproc'} yet (the language "
                          "model is trained and read in one process). Drop one of them.")
    if lm and config.model.embedding.kind != "random":
        raise ConfigError(f"{lm} starts the embedding from the language model; model.embedding.kind "
                          f"{config.model.embedding.kind!r} would start it elsewhere. Set model.embedding.kind=\"random\".")
    if shard is not None and config.train.unfreeze == "gradual":
        raise ConfigError("train.unfreeze gradual cannot be combined with --nproc (DDP fixes the trained parameters at "
                          "start). Use train.unfreeze=\"all\" or one process.")
    if shard is not None and task.cannot_distribute:
        raise ConfigError(f"--nproc cannot train --task {config.task}: {task.cannot_distribute}. Train it in one "
                          "process (leave out --nproc).")
    if shard is not None and config.model.ensemble > 1:
        raise ConfigError("model.ensemble > 1 cannot be combined with --nproc; train the ensemble in one process.")
    if shard is not None and config.train.self_training and config.data.unlabelled:
        raise ConfigError("train.self_training cannot be combined with --nproc (the teacher answers the unlabelled "
                          "texts in one process). Train in one process or set train.self_training=0.")
    if shard is not None and config.model.ngram_bag and config.model.ngram_fit == "after":
        raise ConfigError("model.ngram_fit=after cannot be combined with --nproc (the linear fit reads every training "
                          "text in one process). Train in one process or use --set model.ngram_fit=joint.")
    if not stream:
        return
    if data is None or out_dir is None or isinstance(data, LabelledData):
        raise ConfigError("--stream needs a DATA file and --out (the shards go to OUT/shards). Give both, or drop "
                          "--stream.")
    if config.model.ensemble > 1:
        raise ConfigError("model.ensemble > 1 cannot be combined with --stream; train the ensemble in memory, or one "
                          "model with --set model.ensemble=1 (the absa and multilabel presets have several).")
    if split_file is not None:
        raise ConfigError("--split-file cannot be combined with --stream (it numbers the rows of the whole file); give "
                          "the split as a column (--split-col) or drop --stream.")
    for key, (is_set, unset) in _IN_MEMORY_ONLY.items():
        if is_set(config):
            raise ConfigError(f"{key} is not supported with --stream (it needs every row in memory). Unset it "
                              f"({unset}) or drop --stream.")
    reason = task.cannot_stream(config)
    if reason:
        raise ConfigError(f"--stream cannot read this --task {config.task} data: {reason}"
                          + ("." if "--stream" in reason else ". Drop --stream."))
    if chunk_size is not None and chunk_size < config.train.batch_size:  # batches are made within a shard
        raise ConfigError(f"--chunk-size {chunk_size} is smaller than train.batch_size {config.train.batch_size}: "
                          "batches are made within a chunk's shard, so every batch would hold at most "
                          f"{chunk_size} rows. Give --chunk-size {config.train.batch_size} or more.")
    if config.data.split_col is None and valid_path is None:
        raise DataError(f"{data}: --stream needs the validation rows marked: give --split-col (train/valid/test per "
                        "row) or --valid FILE; a random split would need the whole file in memory.")


#: Bytes a trained parameter takes: float32 weights, their gradients and Adam's two moments.
TRAINING_BYTES_PER_PARAMETER = 16


def check_fits_in_memory(config: Config, vocab_size: int, outputs: Any, **kwargs: Any) -> None:
    """Refuse, before any training, a model whose weights, gradients and Adam's moments alone (one member's at a
    time for an ensemble) exceed the machine's memory: ``--set model.hidden_size=100000`` (a zero too many) had
    ended in an allocator's traceback after the data was read, or with the machine swapping.

    Raises:
        ConfigError: Naming the model's size settings and the memory.
    """
    m = config.model
    one = parameter_count(m.model_copy(update={"ensemble": 1}), vocab_size, outputs, **kwargs)
    total = _physical_memory()
    if one is None or total is None:
        return
    # an ensemble's members train one after another: one member's gradients and optimizer state at a time, beside
    # every member's weights (activations come on top: the figure is what the model needs at the least)
    count = one * m.ensemble
    need = one * TRAINING_BYTES_PER_PARAMETER + (m.ensemble - 1) * one * 4
    if need <= total:
        return
    sizes = ", ".join(f"model.{k}={getattr(m, k):,}" for k in ("hidden_size", "embedding_dim", "num_layers",
                                                               "ensemble")) + f", {vocab_size:,} words"
    if m.ngram_bag:
        sizes += f", model.ngram_buckets={m.ngram_buckets:,}"
    raise ConfigError(f"the model would hold {count:,} parameters ({sizes}): {need / 2**30:,.1f} GiB for its weights, "
                      f"gradients and optimizer state, more than this machine's {total / 2**30:,.1f} GiB of memory. "
                      "Choose smaller sizes (lstmtext models lists each architecture's settings).")


def _physical_memory() -> int | None:
    """The machine's memory in bytes (None where the system does not say)."""
    import os

    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
