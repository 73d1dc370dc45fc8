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
