"""Exception classes: every error a user can cause is an ``LstmTextError`` with a one-line message.

Messages follow one template: where, what was wrong, what was expected, what was received, how to fix it.
The CLI catches ``LstmTextError`` once and prints the message without a traceback.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any


class LstmTextError(Exception):
    """Base class of the errors a user can cause and fix."""


class ConfigError(LstmTextError, ValueError):
    """A config file, preset, ``--set`` override or argument is invalid."""


class DataError(LstmTextError, ValueError):
    """A data file is unreadable or its content is not what the task needs."""


class BundleError(LstmTextError):
    """A saved model directory is missing files, has another format version, or does not match itself."""


class OutputExistsError(LstmTextError, FileExistsError):
    """An output file or folder is already there and replacing it was not asked for (``--overwrite``)."""


class NotWritableError(LstmTextError, PermissionError):
    """An output path lies on a read-only file system or in a folder this user cannot write."""


class NotFittedError(LstmTextError, AttributeError):
    """A model was used before ``fit`` or ``load``."""


#: The two flags that ``lstmtext.run`` and the estimators take as arguments, ``overwrite=`` and ``resume=``.
_FLAGS = (
    (r"Pass --overwrite\b", "Pass overwrite=True"),
    (r"even with --overwrite\b", "even with overwrite=True"),
    (r"start again with --overwrite\b", "start again with overwrite=True"),
    (r"Pass --resume\b", "Pass resume=True"),
    (r"--resume and --overwrite together: --resume continues the run in OUT, --overwrite starts",
     "resume=True and overwrite=True together: resume continues the run in out_dir, overwrite starts"),
)

#: Command-line options that error messages name, as the Python API (``TextClassifier`` and friends) calls them:
#: (pattern, replacement), each pattern a whole phrase so that other text is left alone.
PYTHON_NAMES = (
    *_FLAGS,
    (r"--set preprocess\.preset=", "preprocess="),
    (r"(?<![\w-])--preset '", "preset='"),
    (r"Check --label-col\.", "Check the labels (y)."),
    (r"\(--valid\)", "(valid_texts= and valid_labels=)"),
    (r"--valid FILE\b", "valid_texts= and valid_labels="),
    (r"another data\.split_seed, or your own with --split-col or --valid/--test",
     "another random_state, or your own with valid_texts= and valid_labels="),
    (r"Leave it out of --aspects\b", "Leave its column out of y"),
    (r"a --valid file\b", "valid_texts= and valid_labels="),
    (r"a larger data\.valid_size where lstmtext makes the split", "a larger valid_size="),
    (r"Hold out smaller shares \(data\.valid_size, data\.test_size\)", "Hold out a smaller valid_size="),
    (r"Leave the cleaning out \(--preprocess, a config file's \[preprocess\] section; the model's is then used\)",
     "Leave the cleaning out (preprocess= and overrides' preprocess.* keys; the model's is then used)"),
    (r"^--pretrained (?=\S+: the language model was trained with)", "train.pretrained "),
    (r"Give the folder written by `lstmtext train --out`\.", "Give a folder written by save() or `lstmtext train --out`."),
    (r"give a split column \(--split-col\)", "give the valid set yourself (valid_texts= and valid_labels=)"),
    (r"--set data\.drop_duplicates=true, or train's --drop-duplicates, drops",
     "overrides={'data.drop_duplicates': True} drops"),
    (r"--set data\.drop_duplicates=true", "overrides={'data.drop_duplicates': True}"),
    (r"Check --label-col and --label-sep \(or multilabel\.layout\)\.", "Check the labels (y)."),
    (r"leave its column out of --label-col a,b,c \(multilabel\.labels\)", "leave it out of y"),
)

#: ``lstmtext.run``'s wording: it reads files and writes a folder as ``train`` does, set by its arguments
#: (``out_dir=``, ``valid_path=``) and the config's keys (``data.text_col``), which the messages then name.
RUN_NAMES = (
    *_FLAGS,
    (r"or another --out\.", "or another out_dir."),
    (r"\(given by --(text|label)-col\)", r"(given by data.\1_col)"),
    (r"Pass the right name with --(text|label)-col", r"Set data.\1_col to the right name"),
    (r"\(--split-col\)", "(data.split_col)"),
    (r"\(--set data\.drop_duplicates=true, or train's --drop-duplicates, drops", "(data.drop_duplicates=true drops"),
    (r"--label-sep (?='[^']*')", "multilabel.label_sep = "),
)

#: The loggers whose warnings a Python API call rewords (:func:`python_terms`): the data checks.
PYTHON_WORDED_LOGS = ("lstmtext.data.dataset", "lstmtext.pipeline.prepare", "lstmtext.tasks.multilabel.data")


def python_wording(message: str, names: tuple[tuple[str, str], ...] = PYTHON_NAMES) -> str:
    """``message`` naming the Python API's arguments instead of the command-line options."""
    for pattern, name in names:
        message = re.sub(pattern, name, message)
    return message


def in_python_terms(exc: LstmTextError, names: tuple[tuple[str, str], ...] = PYTHON_NAMES) -> LstmTextError:
    """The same error, its message naming the Python API's arguments instead of the command-line options."""
    return type(exc)(python_wording(str(exc), names))


class _PythonWording(logging.Filter):
    """Reword the data warnings a Python API call logs (they name command-line options)."""

    def __init__(self, names: tuple[tuple[str, str], ...]) -> None:
        super().__init__()
        self.names = names

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = python_wording(record.getMessage(), self.names), None
        return True


def python_terms(method: Callable[..., Any], names: tuple[tuple[str, str], ...] = PYTHON_NAMES) -> Callable[..., Any]:
    """Wrap a Python API method: the errors raised inside it name its arguments (:func:`in_python_terms`), by the
    ``names`` table (the estimators': :data:`PYTHON_NAMES`; ``lstmtext.run``'s: :data:`RUN_NAMES`)."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        logs, wording = [logging.getLogger(name) for name in PYTHON_WORDED_LOGS], _PythonWording(names)
        for data_log in logs:
            data_log.addFilter(wording)
        try:
            return method(*args, **kwargs)
        except LstmTextError as exc:
            raise in_python_terms(exc, names) from None
        finally:
            for data_log in logs:
                data_log.removeFilter(wording)

    return wrapper

