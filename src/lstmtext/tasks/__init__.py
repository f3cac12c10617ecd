"""The tasks: single-label (``classify``), multi-label (``multilabel``) and aspect sentiment (``absa``).

Each is a :class:`~lstmtext.tasks.base.Task` registered by name; importing this package registers them.
"""

from lstmtext.tasks.base import Task, available_tasks, get_task, register_task
from lstmtext.tasks.prediction import Prediction

# The built-in tasks register themselves on import.
from lstmtext.tasks import classify, multilabel  # noqa: E402,F401  isort: skip
from lstmtext.tasks.absa import task as _absa  # noqa: E402,F401  isort: skip

__all__ = ["Prediction", "Task", "available_tasks", "get_task", "register_task"]
