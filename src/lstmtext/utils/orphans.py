"""Temporary files named after the process that owns them, and the removal of those whose process is gone.

A process killed outright (``kill -9``, the out-of-memory killer) runs no clean-up: a DDP launcher's job file
(the run's resolved config) or a pretraining's cleaned copy of its corpus stayed in the temporary folder for
good. Such files carry their owner's process id after a fixed prefix (``lstmtext-job-<pid>-...``) and, while
the owner runs, a shared lock (:func:`hold`); the next command that writes one removes those that are this
user's, whose process is gone and that nobody holds (a process of another pid namespace, a container sharing
the folder, holds its file although its pid means nothing here). On Windows nothing is removed: ``os.kill(pid,
0)`` would end the process there, not probe it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


def owned_prefix(prefix: str) -> str:
    """The name prefix of this process's files of kind ``prefix`` (``lstmtext-job-`` -> ``lstmtext-job-4242-``)."""
    return f"{prefix}{os.getpid()}-"


def hold(path: str | Path) -> IO[bytes] | None:
    """A shared lock on ``path`` for as long as the returned file stays open (None where there are no locks):
    :func:`remove_orphans` leaves a held file alone, whatever its name's process id says."""
    if fcntl is None:
        return None
    fh = open(path, "rb")  # noqa: SIM115 - kept open on purpose: the lock lives as long as it
    try:
        fcntl.flock(fh, fcntl.LOCK_SH)
    except OSError:  # a file system without locks (Lustre without -o flock, some NFS): unheld, as on Windows
        fh.close()
        return None
    return fh


def remove_orphans(prefix: str, folder: str | Path | None = None) -> list[Path]:
    """Remove the files named ``<prefix><pid>-...`` in ``folder`` (default: the temporary folder) that are this
    user's, whose process is gone and that no process holds; return them. Nothing is removed on Windows."""
    if fcntl is None or os.name == "nt":
        return []
    folder = Path(folder or tempfile.gettempdir())
    removed = []
    for path in folder.glob(f"{prefix}*-*"):
        pid = path.name.removeprefix(prefix).split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or alive(int(pid)):
            continue
        owner = path.with_name(path.name.split(".error", 1)[0])  # a job file's error files go with it
        with contextlib.suppress(OSError):  # gone meanwhile, or not ours to delete (a shared /tmp's sticky bit)
            if path.stat().st_uid == os.getuid() and not _held(path) and not (owner != path and _held(owner)):
                path.unlink()
                removed.append(path)
    return removed


def _held(path: Path) -> bool:
    """Whether a process holds ``path`` (:func:`hold`): an exclusive lock cannot be had (a file that is gone is
    not held; one whose lock cannot be tested counts as held)."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return False
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:  # no locks on this file system: nothing tells a live owner from a dead one
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists (POSIX; another user's counts as alive: not ours to judge)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
