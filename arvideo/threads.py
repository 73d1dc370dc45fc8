"""How many threads torch may use: the CPUs this process may run on, or OMP_NUM_THREADS.

torch sizes its pool from the machine's cores, not from the CPUs the process is allowed
(taskset, cgroups, a CI runner's share), so several processes on a shared machine each take
every core and slow one another down. The CLI entry point calls `set_torch_threads` once,
before any work; OMP_NUM_THREADS, when set, wins (the usual way to split cores by hand).

The count does not follow the machine's load, so a run makes the same model busy or idle.
But several threads on cores that other processes keep busy wait on each other at every
parallel region: the main job's tokenizer made 2 s/step with 2 threads beside one busy
process on 2 cores, and 0.15 s/step with 1 thread (2026-12-03). `oversubscription_warning`
says so before the work starts.
"""

from __future__ import annotations

import os
from contextlib import contextmanager


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


def oversubscription_warning(threads: int, cpus: int, load: float) -> str | None:
    """A warning when `threads` plus the runnable processes already there (the 1-minute
    load average) exceed the `cpus`; None when they fit or the user chose the threads."""
    busy = int(load + 0.5)
    if threads <= 1 or busy == 0 or threads + busy <= cpus:
        return None
    return (
        f"{busy} other busy process(es) on {cpus} CPUs (load average {load:.1f}): torch's "
        f"{threads} threads will wait on each other and can run 10x slower. Set "
        f"OMP_NUM_THREADS={max(1, cpus - busy)} (results differ only in the last bits), or "
        "free the cores."
    )


def set_torch_threads() -> int:
    """Set torch's intra-op threads (see the module docstring); returns the number set.
    Warns on stderr when the machine is already busy and OMP_NUM_THREADS is not set."""
    import sys

    import torch

    threads = torch_threads()
    torch.set_num_threads(threads)
    if not os.environ.get("OMP_NUM_THREADS") and hasattr(os, "getloadavg"):
        warning = oversubscription_warning(threads, usable_cpus(), os.getloadavg()[0])
        if warning:
            print(f"arvideo: warning: {warning}", file=sys.stderr, flush=True)
    return threads


@contextmanager
def cpu_threads(threads: int | None):
    """torch.set_num_threads inside the block, the previous count after."""
    import torch

    previous = torch.get_num_threads()
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1 or None, got {threads}")
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
