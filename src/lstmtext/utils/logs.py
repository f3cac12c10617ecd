"""How the command line shows log records: a warning as the CLI's own lines are written (``warning: ...``)."""

from __future__ import annotations

import logging


class CliFormatter(logging.Formatter):
    """Warnings and errors read ``warning: message`` like the CLI's printed ones; details (``--verbose``) keep their
    level and logger (``INFO lstmtext.training.loop: ...``), where knowing the source helps."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {message}"
        return f"{record.levelname} {record.name}: {message}"


def log_to_stderr(level: int) -> None:
    """Send the process's log records at ``level`` and above to standard error, formatted by :class:`CliFormatter`
    (nothing changes where logging is set up already, as under pytest or in a user's program)."""
    handler = logging.StreamHandler()
    handler.setFormatter(CliFormatter())
    logging.basicConfig(level=level, handlers=[handler])
