"""The tasks: single-label (``classify``), multi-label (``multilabel``) and aspect sentiment (``absa``).

Each is a :class:`~lstmtext.tasks.base.Task` registered by name; importing this package registers them.
"""

from lstmtext.tasks.base import Task, available_tasks, get_task, register_task
from lstmtext.tasks.prediction import Prediction

# The built-in tasks register themselves on import.
from lstmtext.tasks import classify  # noqa: E402,F401  isort: skip
from lstmtext.tasks.multilabel import task as _multilabel  # noqa: E402,F401  isort: skip
from lstmtext.tasks.absa import task as _absa  # noqa: E402,F401  isort: skip

__all__ = ["Prediction", "Task", "available_tasks", "figure_files", "get_task", "register_task"]


def figure_files(splits: bool = True) -> list[str]:
    """The figures a training run writes for any task, ``<figure_stem>_<split>.png`` (``splits``), or an evaluation,
    ``<figure_stem>.png``: what a run protects from being replaced and what ``--overwrite`` clears."""
    stems = sorted({get_task(name).figure_stem for name in available_tasks()})
    return [f"{stem}_{split}.png" for stem in stems for split in ("train", "valid", "test")] if splits else \
        [f"{stem}.png" for stem in stems]
