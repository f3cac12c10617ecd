"""Unlabelled text as a stream of cleaned token lists (``data.unlabelled``): read in chunks on every pass, so a
file larger than memory can widen the vocabulary and train word vectors.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lstmtext.data.texts import iter_texts
from lstmtext.errors import DataError
from lstmtext.preprocess import Pipeline

CHUNK = 5_000


class UnlabelledCorpus:
    """A restartable iterable over the cleaned token lists of an unlabelled file (empty texts skipped).

    Args:
        path: A table (CSV/TSV/JSONL/Parquet, ``text_col``) or a file with one text per line.
        text_col: The table's text column.
        pipeline: The run's cleaning chain.

    Raises:
        DataError: When created, if the file is missing, has no such column, or no text survives cleaning.
    """

    def __init__(self, path: str | Path, text_col: str | None, pipeline: Pipeline) -> None:
        self.path, self.text_col, self.pipeline = Path(path), text_col, pipeline
        self.texts = self.tokens = 0
        for tokens in self:  # one pass: check it early, and count what it holds
            self.texts += 1
            self.tokens += len(tokens)
        if not self.texts:
            raise DataError(f"{self.path}: no unlabelled text is left after cleaning (--unlabelled). Check the file "
                            f"and --unlabelled-col ({text_col or 'text'!r}).")

    def __iter__(self) -> Iterator[list[str]]:
        for _, texts in iter_texts(self.path, self.text_col, CHUNK):
            for cleaned in self.pipeline.clean_many(texts):
                tokens = cleaned.split()
                if tokens:
                    yield tokens

    def describe(self) -> str:
        """One line for the run's notes."""
        return f"unlabelled text from {self.path}: {self.texts:,} texts, {self.tokens:,} tokens after cleaning"
