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
