"""How many CPU cores this process may use (the default for threads and worker processes), and how busy they are."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, as a container or ``taskset`` limits it), at least 1.

    ``os.cpu_count()`` counts the machine's cores, so a process pinned to 2 of 64 started 64 threads or workers.
    """
    if hasattr(os, "process_cpu_count"):  # Python 3.13+
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):  # Linux
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def default_threads() -> int:
    """``OMP_NUM_THREADS`` when it is set to a positive number (the variable users set to say how many threads a
    process may use), else every core this process may run on (:func:`usable_cores`)."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else usable_cores()


def load_average() -> list[float] | None:
    """The machine's 1, 5 and 15 minute load averages, rounded (None where the platform has none): what an
    experiment's report records beside its seconds, which other work on the machine slows."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None
