"""How many threads torch may use: the CPUs this process may run on, or OMP_NUM_THREADS.

torch sizes its pool from the machine's cores, not from the CPUs the process is allowed
(taskset, cgroups, a CI runner's share), so several processes on a shared machine each take
every core and slow one another down. The CLI entry point calls `set_torch_threads` once,
before any work; OMP_NUM_THREADS, when set, wins (the usual way to split cores by hand).
"""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """CPUs this process may run on (sched_getaffinity where the OS has it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def torch_threads(environ: dict | None = None) -> int:
    """OMP_NUM_THREADS when set to a positive integer, else the usable CPUs."""
    value = (os.environ if environ is None else environ).get("OMP_NUM_THREADS", "").strip()
    if not value:
        return usable_cpus()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"OMP_NUM_THREADS={value!r} must be a positive integer")
    return int(value)


def set_torch_threads() -> int:
    """Set torch's intra-op threads (see the module docstring); returns the number set."""
    import torch

    threads = torch_threads()
    torch.set_num_threads(threads)
    return threads
