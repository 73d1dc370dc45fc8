"""Fixtures of the reliability suite (issue 18): bad inputs must be refused, naming them.

The helper modules beside this file (shard_cases.py, ...) are plain modules shared with
benchmarks/reliability.py, which tabulates them; `load_helper` imports one by path (tests run
with --import-mode=importlib, so sibling modules are not importable by name).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).parent


def load_helper(name: str):
    """Import HERE/<name>.py once, registered under its own name (dataclasses need that)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def shard_cases():
    return load_helper("shard_cases")


@pytest.fixture(scope="session")
def argument_cases():
    return load_helper("argument_cases")


@pytest.fixture(scope="session")
def tiny_models():
    return load_helper("tiny_models")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models on a shared 2-core machine: one thread is faster and steadier."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def manifest_cases():
    return load_helper("manifest_cases")


@pytest.fixture(scope="session")
def model_cases():
    return load_helper("model_cases")
