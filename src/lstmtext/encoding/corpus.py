"""Unlabelled text as a stream of cleaned token lists (``data.unlabelled``), so a file larger than memory can
widen the vocabulary and train word vectors.

The file is read and cleaned once, in chunks, into a temporary file of cleaned texts (one per line); every
pass after that (the vocabulary, then word2vec's vocabulary pass and one per epoch) reads the cleaned file,
so a slow cleaning chain (stemming) runs once, not once per epoch. The file is named after this process and
removed with the corpus; one left by a process killed outright is removed by the next corpus made.
"""

from __future__ import annotations

import tempfile
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from lstmtext.data.texts import is_plain_text, iter_texts
from lstmtext.errors import DataError
from lstmtext.preprocess import Pipeline
from lstmtext.utils.orphans import hold, owned_prefix, remove_orphans
from lstmtext.utils.progress import progress_bar

CHUNK = 5_000
#: The name prefix of the cleaned copies in the temporary folder, followed by the owner's process id.
CLEANED_PREFIX = "lstmtext-unlabelled-"


class UnlabelledCorpus:
    """A restartable iterable over the cleaned token lists of an unlabelled file (empty texts skipped).

    Args:
        path: A table (CSV/TSV/JSONL/Parquet, ``text_col``) or a file with one text per line.
        text_col: The table's text column (as the user named it: a plain text file refuses one).
        pipeline: The run's cleaning chain.
        flags: The command-line options that name the file and its column, for the error message.
        held_out: Cleaned texts the model will be scored on (valid, test): ``overlap`` counts the unlabelled
            texts among them.
        default_col: A table's text column when ``text_col`` is None (e.g. the labelled data's).
        header: Whether a CSV/TSV file has a header row (without one its columns are text, label, ...).
        header_flag: The caller's option for a file without a header row, named in the missing-column error.
        chunks: Lists of raw texts to read instead of the file's column (the file's training rows, say); ``path``
            then only names them.
        empty: The error when no text survives cleaning, given how many non-blank texts were read (default: one
            about unlabelled text).
        progress: Show a bar of the texts read and cleaned (on a terminal): a big file took minutes in silence.

    Raises:
        DataError: When created, if the file is missing, has no such column, or no text survives cleaning.
    """

    def __init__(self, path: str | Path, text_col: str | None, pipeline: Pipeline,
                 flags: tuple[str, str] = ("--unlabelled", "--unlabelled-col"),
                 held_out: frozenset[str] = frozenset(), default_col: str = "text", header: bool = True,
                 header_flag: str | None = None, chunks: Iterable[list[str]] | None = None,
                 empty: Callable[[int], str] | None = None, progress: bool = False) -> None:
        self.path = Path(path)
        self.held_out = held_out
        self.texts = self.tokens = self.usable = 0  # usable: texts of two tokens or more (a language model's)
        self.overlap = self.read = 0  # read: the non-blank texts read, before cleaning
        remove_orphans(CLEANED_PREFIX)  # those of processes killed outright: a copy of a corpus each
        fd, name = tempfile.mkstemp(prefix=owned_prefix(CLEANED_PREFIX), suffix=".txt")
        self.cleaned = Path(name)
        held = hold(self.cleaned)  # while this object lives: no other process's clean-up removes it
        weakref.finalize(self, _release, held, self.cleaned)  # removed with this object
        if chunks is None:
            chunks = (texts for _, texts in iter_texts(self.path, text_col, CHUNK, defaults=(default_col,),
                                                       flag=flags[1], header=header, header_flag=header_flag))
        bar = progress_bar(None, None, f"cleaning {self.path.name}", progress, unit=" texts", unit_scale=True)
        with open(fd, "w", encoding="utf-8") as fh, bar:
            for texts in chunks:
                bar.update(len(texts))
                self.read += sum(1 for t in texts if t.strip())
                for text in pipeline.clean_many(texts):
                    tokens = text.split()
                    if tokens:
                        line = " ".join(tokens)
                        self.overlap += line in held_out
                        fh.write(line + "\n")
                        self.texts += 1
                        self.tokens += len(tokens)
                        self.usable += len(tokens) > 1
        if not self.texts and empty is not None:
            raise DataError(empty(self.read))
        if not self.texts:
            column = "" if is_plain_text(self.path) else f" and {flags[1]} ({text_col or default_col!r})"
            steps = pipeline.steps
            chain = ", ".join(steps[:4]) + (f", ... ({len(steps)} steps)" if len(steps) > 4 else "") or "no step"
            raise DataError(f"{self.path}: no unlabelled text is left after cleaning ({flags[0]}) with {chain}. Check "
                            f"the file{column}, or the cleaning.")

    def __iter__(self) -> Iterator[list[str]]:
        with self.cleaned.open(encoding="utf-8") as fh:
            for line in fh:
                yield line.split()

    def describe(self) -> str:
        """One line for the run's notes."""
        return f"unlabelled text from {self.path}: {self.texts:,} texts, {self.tokens:,} tokens after cleaning"


def _release(held: Any, path: Path) -> None:
    """Drop the lock on a cleaned copy and remove it."""
    if held is not None:
        held.close()
    path.unlink(missing_ok=True)
