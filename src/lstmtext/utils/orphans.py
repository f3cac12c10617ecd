"""Temporary files named after the process that owns them, and the removal of those whose process is gone.

A process killed outright (``kill -9``, the out-of-memory killer) runs no clean-up: a DDP launcher's job file
(the run's resolved config) or a pretraining's cleaned copy of its corpus stayed in the temporary folder for
good. Such files carry their owner's process id after a fixed prefix (``lstmtext-job-<pid>-...``); the next
command that writes one removes those of processes that are gone.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def owned_prefix(prefix: str) -> str:
    """The name prefix of this process's files of kind ``prefix`` (``lstmtext-job-`` -> ``lstmtext-job-4242-``)."""
    return f"{prefix}{os.getpid()}-"


def remove_orphans(prefix: str, folder: str | Path | None = None) -> list[Path]:
    """Remove the files named ``<prefix><pid>-...`` in ``folder`` (default: the temporary folder) whose process
    is gone; return them. Files of this process, of live ones and of other users' processes stay."""
    folder = Path(folder or tempfile.gettempdir())
    removed = []
    for path in folder.glob(f"{prefix}*-*"):
        pid = path.name.removeprefix(prefix).split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists (another user's counts as alive: not ours to judge)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:  # Windows: a pid no process has
        return False
    return True
