"""Atomic writes: write to a temporary file or folder beside the target, then rename over it."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: How long a temporary folder beside a save's target must have been left untouched to be taken for one a killed
#: save left (and deleted): a save at work writes into its own all along.
STALE_SECONDS = 600


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _usual_mode(path: Path, directory: bool = False) -> None:
    """Give a temporary file or folder the mode a plain ``open``/``mkdir`` would (mkstemp makes them private)."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    A crash inside the block leaves ``path`` as it was and removes the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        _usual_mode(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    return write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _beside(path: Path, kind: str) -> list[Path]:
    """The temporary folders :func:`atomic_dir` makes beside ``path`` (``kind`` "tmp" while it writes, "old" for
    the folder it moves aside): exactly mkdtemp's ``.<name>.<8 characters>.<kind>``, so ``.model.v2.x.tmp``, another
    target's, is never taken for one of ``model``'s. Oldest first."""
    if not path.parent.is_dir():
        return []
    shape = re.compile(rf"\.{re.escape(path.name)}\.[A-Za-z0-9_]{{8}}\.{kind}")
    found = [p for p in path.parent.glob(f".{glob.escape(path.name)}.*.{kind}") if shape.fullmatch(p.name)]
    return sorted(found, key=lambda p: p.stat().st_mtime)


def moved_aside(path: str | Path) -> Path | None:
    """The last complete folder :func:`atomic_dir` had moved aside from ``path`` when a crash came between its two
    renames (``path`` gone), without moving it back (a reader must not race a writer): None if there is none."""
    path = Path(path)
    if path.exists():
        return None
    olds = [p for p in _beside(path, "old") if p.is_dir()]
    return olds[-1] if olds else None


def recover_dir(path: str | Path) -> bool:
    """Put back the folder :func:`atomic_dir` had moved aside when a crash came between its two renames (``path``
    gone, ``.<name>.*.old`` beside it); returns whether it did. The newest such folder is the last complete one."""
    path = Path(path)
    try:
        old = moved_aside(path)
        if old is None:
            return False
        os.replace(old, path)
    except OSError:  # another process (a rank of the same run) put it back first
        return path.exists()
    return True


@contextmanager
def atomic_dir(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it becomes ``path``.

    If ``path`` exists and ``overwrite`` is False, nothing is written and FileExistsError is raised
    before the block runs. With ``overwrite`` the old folder is moved aside, the new one renamed in,
    and only then the old one deleted, so a crash never leaves a half-written folder at ``path``.
    """
    path = Path(path)
    recover_dir(path)
    if path.exists() and not overwrite:
        raise FileExistsError(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in _beside(path, "tmp"):  # what a save killed half-way left (21 MB for a model); a writer at work
        if stale.is_dir() and not stale.is_symlink() and time.time() - stale.stat().st_mtime > STALE_SECONDS:
            shutil.rmtree(stale, ignore_errors=True)  # now touched it within the last minutes
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        for inner in [tmp, *tmp.rglob("*")]:  # safetensors' save_file also makes its files private
            if not inner.is_symlink():
                _usual_mode(inner, directory=inner.is_dir())
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
            os.rmdir(old)
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB blocks (saved models record their weights' checksum)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(path: Path, expected: str | None, where: str, fix: str) -> None:
    """Raise ``BundleError`` when ``path``'s checksum is not ``expected`` (None: nothing recorded, as in older saves)."""
    if expected is None:
        return
    if file_sha256(path) != expected:
        from lstmtext.errors import BundleError

        raise BundleError(f"{path}: its bytes do not match the checksum recorded in {where}: the file is corrupt or "
                          f"was replaced. {fix}")
