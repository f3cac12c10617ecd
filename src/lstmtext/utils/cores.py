"""How many CPU cores this process may use: the default for threads and worker processes."""

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
