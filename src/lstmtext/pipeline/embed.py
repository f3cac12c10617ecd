"""``lstmtext embed``: word2vec vectors from the texts of a file (or the bundled tweets' training split), cleaned
once into a temporary file that every pass reads, so that the corpus need not fit in memory."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lstmtext.config import PreprocessConfig
from lstmtext.data.bundled import load_bundled_airline
from lstmtext.data.splits import training_texts
from lstmtext.data.texts import is_plain_text
from lstmtext.encoding import corpus as corpus_module
from lstmtext.encoding.corpus import UnlabelledCorpus
from lstmtext.encoding.embeddings import train_word2vec
from lstmtext.encoding.vector_files import write_word2vec_text
from lstmtext.errors import ConfigError, DataError
from lstmtext.preprocess import Pipeline
from lstmtext.preprocess.presets import cleaning_choice, resolved_preprocess


def embed_file(data: str | Path | None, out: str | Path, *, algo: str = "cbow", dim: int = 128, window: int = 5,
               min_count: int = 1, epochs: int = 10, seed: int = 42, preprocess: str = "en-tweet",
               text_col: str | None = None, split_file: str | Path | None = None, split_col: str | None = None,
               header: bool = True) -> tuple[int, int]:
    """Train word2vec on the texts of ``data`` (or the bundled tweets' training split) and write the vectors.
    The texts are cleaned once, in chunks, into a temporary file that every pass reads: the corpus need not fit
    in memory, a table split by ``split_file`` or ``split_col`` too.

    Args:
        data: A table with a text column, or a plain text file with one text a line; None: the bundled airline
            tweets' training split.
        out: The vectors file (word2vec text format).
        algo: ``cbow`` or ``skipgram``.
        dim: Vector size.
        window: Context window.
        min_count: Ignore rarer words.
        epochs: Passes over the texts.
        seed: Seed (one worker, so runs repeat exactly).
        preprocess: The cleaning applied first, a preset or comma-separated steps (use the model's).
        text_col: The text column (default ``text``).
        split_file: A ``row,split`` file: learn from its train rows only.
        split_col: A column saying train / valid / test for each row (as ``train --split-col``): learn from the
            train rows only, so that no valid or test text shapes the vectors a model is then scored with.
        header: Whether a CSV/TSV file has a header row (without one its columns are text, label, ...).

    Returns:
        ``(vectors written, texts read)``.

    Raises:
        ConfigError: For an unknown algorithm or a size below 1, or both ``split_file`` and ``split_col``.
        DataError: For a missing column, a bad split file or split value.
    """
    if algo not in ("cbow", "skipgram"):
        raise ConfigError(f"--algo must be cbow or skipgram. Got {algo!r} instead.")
    for flag, value in (("--dim", dim), ("--window", window), ("--min-count", min_count), ("--epochs", epochs)):
        if value < 1:  # gensim hangs on a window of 0 and fails with its own traceback on the others
            raise ConfigError(f"{flag} must be at least 1. Got {value} instead.")
    if split_file is not None and split_col is not None:
        raise ConfigError("--split-file and --split-col both say which rows are for training: give one.")
    spec = resolved_preprocess(cleaning_choice(preprocess))  # a cleaning preset, or comma-separated steps
    pipeline = Pipeline(spec["steps"], spec["options"], PreprocessConfig().max_chars, keep_end=True)
    source = data if data is not None else "the bundled tweets"

    def empty(read: int) -> str:
        return (f"{source}: no text is left after cleaning ({read:,} read). Check the file, --text-col and "
                f"--preprocess ({preprocess}).")

    chunks: Iterable[list[str]] | None = None  # None: the file's text column, read in chunks
    if data is None:
        if split_file is not None or split_col is not None:
            raise ConfigError("--split-file and --split-col need DATA: without it the bundled tweets' training "
                              "split is used.")
        chunks = [load_bundled_airline().splits["train"].texts]
    elif split_file is not None or split_col is not None:
        path = Path(data)
        if is_plain_text(path, (text_col or "text",), header):
            raise DataError(f"{data}: a plain text file is read as one text a line and has no rows to split. Drop "
                            f"{'--split-file' if split_file is not None else '--split-col'}, or give a table.")
        chunks = training_texts(path, text_col or "text", split_file, split_col, header, corpus_module.CHUNK)
    # cleaned once into a temporary file that word2vec reads on every pass: a corpus larger than memory works
    corpus = UnlabelledCorpus(source, text_col, pipeline, ("DATA", "--text-col"), header=header, chunks=chunks,
                              empty=empty, header_flag="--no-header")
    vectors = train_word2vec(corpus, dim, algo, window, min_count, epochs, seed)
    write_word2vec_text(out, vectors)
    return len(vectors), corpus.read
