"""Torch threads come from the usable CPUs unless OMP_NUM_THREADS says otherwise."""

from __future__ import annotations

import os

import pytest

from arvideo.threads import torch_threads, usable_cpus


def test_threads_follow_omp_num_threads_else_the_usable_cpus():
    assert torch_threads({"OMP_NUM_THREADS": "3"}) == 3
    assert torch_threads({}) == usable_cpus()
    if hasattr(os, "sched_getaffinity"):
        assert usable_cpus() == len(os.sched_getaffinity(0))
    with pytest.raises(ValueError, match="OMP_NUM_THREADS='many'"):
        torch_threads({"OMP_NUM_THREADS": "many"})


def test_oversubscription_is_named_when_the_cores_are_already_busy():
    from arvideo.threads import oversubscription_warning

    warning = oversubscription_warning(threads=2, cpus=2, load=1.2)
    assert warning is not None and "OMP_NUM_THREADS=1" in warning and "1 other" in warning
    assert oversubscription_warning(threads=2, cpus=2, load=0.3) is None  # idle
    assert oversubscription_warning(threads=2, cpus=4, load=2.0) is None  # room left
    assert oversubscription_warning(threads=1, cpus=2, load=5.0) is None  # nothing to split
