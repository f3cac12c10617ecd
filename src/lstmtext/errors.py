"""Exception classes: every error a user can cause is an ``LstmTextError`` with a one-line message.

Messages follow one template: where, what was wrong, what was expected, what was received, how to fix it.
The CLI catches ``LstmTextError`` once and prints the message without a traceback.
"""

from __future__ import annotations


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


class NotFittedError(LstmTextError, AttributeError):
    """A model was used before ``fit`` or ``load``."""
