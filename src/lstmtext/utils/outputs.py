"""Nothing a user had is replaced without being asked: the one check every command runs on its outputs before
it starts its work (so a long audit or comparison is not run only to be refused at the end)."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from lstmtext.errors import NotWritableError, OutputExistsError

# What each command writes into its --out folder; a name already there means an earlier run's result.
WRITES = {
    # and the figures of the task's (lstmtext.tasks.figure_files, given by the caller as ``also``)
    "train": ("model", "checkpoint", "metrics.json", "report.md", "report.html", "history.json", "history.csv",
              "history.png", "training_texts.json"),
    "evaluate": ("metrics.json", "report.md", "report.html"),
    "compare": ("compare.json", "compare.md", "compare.png", "report.html"),
    "cv": ("cv.json", "cv.md", "report.html"),
    "audit": ("audit.csv", "audit.json", "report.html"),
    "suggest": ("to_label.csv", "suggest.csv", "suggest.json"),
    "search": ("results.csv", "results.md", "search.json", "best.toml", "search_trials.png", "search_heatmap.png",
               "report.html"),
    "learning-curve": ("learning_curve.md", "learning_curve.csv", "learning_curve.png", "report.html"),
}
#: The file a command goes on from when run again: with it in OUT, OUT holds this command's own work.
RESUMES_FROM = {"search": "study.db", "learning-curve": "learning_curve.json", "cv": "cv.json", "audit": "audit.json",
                "compare": "compare.partial.json"}
#: The key the file a command resumes from holds only once the command has finished (an interrupted one holds the
#: finished folds alone): run again, a finished cv or audit would only rewrite its reports (audit.csv may hold the
#: user's notes), so it is refused without --overwrite. search and learning-curve run again to add trials or sizes.
FINISHED_KEY = {"cv": "mean", "audit": "issues"}


def is_saved_model(path: str | Path) -> bool:
    """Whether ``path`` is a saved model's own folder (``config.json`` + ``model.safetensors``; format 1: ``meta.json``)."""
    path = Path(path)
    return (path / "meta.json").is_file() or ((path / "config.json").is_file() and (path / "model.safetensors").is_file())


def is_empty_dir(path: Path) -> bool:
    """An empty folder: nothing in it to lose."""
    return path.is_dir() and not any(path.iterdir())


def check_writable(path: str | Path, option: str = "--out") -> None:
    """Refuse, before any work, a path whose folder (or the nearest that exists above it) cannot be written: a
    read-only file system, another user's folder. (A full disk shows only when writing.)

    Raises:
        NotWritableError: Naming the folder and the fix.
    """
    path = Path(path)
    folder = next((p for p in (path, *path.parents) if p.exists()), None)
    if folder is None or not folder.is_dir():
        return  # a file in the way is reported by the caller, which knows what it meant to write
    if not os.access(folder, os.W_OK | os.X_OK):
        why = "a read-only file system" if _read_only(folder) else "no permission to write there"
        raise NotWritableError(f"{path}: cannot write in {folder} ({why}). Choose another {option}.")


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows)
        return False


#: What a member's checkpoint save killed half-way leaves in ``checkpoint/`` (lstmtext.utils.atomic's mkdtemp
#: shape): the folder it was writing (``tmp``) or the last complete one it had moved aside (``old``).
_MEMBER_LEFTOVER = re.compile(r"\.member\d+\.[A-Za-z0-9_]{8}\.(tmp|old)")


def is_checkpoint(path: Path) -> bool:
    """Whether the folder ``path`` holds only what a training checkpoint does (``*.safetensors`` and ``*.json``,
    an ensemble's in ``member<k>/`` folders, and the folders a member's save killed half-way leaves beside its
    own): ``--overwrite`` replaces such a folder whole."""
    def ours(p: Path) -> bool:
        if p.is_dir():
            return (p.name.startswith("member") or _MEMBER_LEFTOVER.fullmatch(p.name) is not None) and is_checkpoint(p)
        return p.is_file() and p.suffix in (".safetensors", ".json")

    return path.is_dir() and all(ours(p) for p in path.iterdir())


def check_out(out: str | Path, command: str, overwrite: bool, also: Sequence[str] = (),
              inputs: Sequence[str | Path | None] = ()) -> Path:
    """Return ``out`` as a Path, after checking that it is a folder (or not there yet), not a saved model's own
    folder, and holds nothing ``command`` would replace (unless ``overwrite``); a folder holding the file a command
    resumes from (:data:`RESUMES_FROM`) is its own, and passes. Whatever ``overwrite`` says, no input file may be
    one that the command writes or sits in a folder it replaces (``inputs``: the files it reads, None for none),
    and a ``checkpoint`` folder that is not a training checkpoint is not replaced.

    Raises:
        OutputExistsError: Naming what is there, with the fix.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} is a file: --out takes a folder (made if missing). Choose another --out.")
    check_writable(out)
    if is_saved_model(out):  # --overwrite would put a second model in model/ beside the first, and mix their files
        raise OutputExistsError(f"{out} is a saved model's own folder. Give a new folder as --out (a training run "
                                f"writes its model to OUT/model).")
    if (out / "lm.json").is_file():  # a language model's folder: a run's files would mix with it, and a later
        # `pretrain --overwrite` of it would delete them
        raise OutputExistsError(f"{out} is a language model's folder (lstmtext pretrain). Give a new folder as --out.")
    names = (*WRITES[command], *also)
    for path in (Path(p) for p in inputs if p is not None and Path(p).exists()):
        where = path.resolve()
        hit = next((n for n in names if where.is_relative_to((out / n).resolve())), None)
        if hit is not None:  # history.csv as the training data: --overwrite wrote the loss history over it
            raise OutputExistsError(f"{path}: {command} writes {out / hit}, which would replace this input file. Move "
                                    "the file, or choose another --out.")
    if "checkpoint" in names and (out / "checkpoint").exists() and not is_checkpoint(out / "checkpoint"):
        what = "it holds other files" if (out / "checkpoint").is_dir() else "a file"
        raise OutputExistsError(f"{out / 'checkpoint'} is there and is not a training checkpoint ({what}); the run "
                                "keeps its checkpoint there. Move it away, or choose another --out.")
    model = out / "model"
    clash = sorted(set(WRITES[command]) & set(WRITES["train"])) if command != "train" else []
    if clash and is_saved_model(model):  # --overwrite put cv's report.html in place of the run's, beside its report.md
        raise OutputExistsError(f"{out} holds a training run (its model/): {command}'s {', '.join(clash)} would "
                                "replace the run's own and sit beside its other files. Give a new folder as --out.")
    if "model" in WRITES[command] and model.exists() and not is_saved_model(model) \
            and not is_empty_dir(model):  # --overwrite replaces only a saved model there
        raise OutputExistsError(f"{model} is there and is not a saved model; the run would save its model there. "
                                "Move it away, or choose another --out.")
    if command in RESUMES_FROM and (out / RESUMES_FROM[command]).exists():  # after the checks above: a training
        if not overwrite and _finished(out / RESUMES_FROM[command], FINISHED_KEY.get(command)):  # run saved there
            raise OutputExistsError(f"{out}: a finished {command} is there ({', '.join(WRITES[command])}): the same "
                                    f"{command} again would only rewrite its reports, and another one would replace "
                                    "them. Pass --overwrite to run one again, or choose another --out.")
        return out  # since must not lose its report; the command checks its settings and goes on
    folder = next((name for name in names if "." in name and (out / name).is_dir()), None)
    if folder is not None:  # an empty one passed the check below, and the run ended writing its file, in a traceback
        raise OutputExistsError(f"{out / folder} is a folder; {command} writes a file of that name there. Move it away, "
                                "or choose another --out.")
    found = [name for name in names if (out / name).exists() and not is_empty_dir(out / name)]
    if found and not overwrite:
        resume = "--resume to continue an interrupted training, " if found == ["checkpoint"] else ""
        raise OutputExistsError(f"{out}: {', '.join(found)} already there (an earlier run's). Pass {resume}--overwrite "
                                f"to replace {'it' if len(found) == 1 else 'them'}, or choose another --out.")
    return out


def _finished(path: Path, key: str | None) -> bool:
    """Whether the JSON file ``path`` holds ``key``: the command that writes it finished (an unreadable file is left
    to the command, which says what is wrong with it)."""
    if key is None:
        return False
    import json

    try:
        return key in json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return False


def check_out_file(path: str | Path, overwrite: bool, inputs: Sequence[str | Path] = ()) -> Path:
    """Return ``path``, a file a command writes, after checking it is none of its ``inputs`` and (unless
    ``overwrite``) not already there.

    Raises:
        OutputExistsError: Naming the file, with the fix.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputExistsError(f"{path} is a folder: give the path of a file to write (in it or elsewhere).")
    if path.exists() and any(path.resolve() == Path(i).resolve() for i in inputs):
        raise OutputExistsError(f"{path}: this is also the input file. Write to another file.")
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} is already there. Pass --overwrite to replace it, or choose another file.")
    blocker = next((p for p in path.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():  # its folder could not be made: a traceback had said so
        raise NotWritableError(f"{path}: {blocker} is a file, so no folder can be made there. Choose another path.")
    check_writable(path.parent, "path")
    return path
