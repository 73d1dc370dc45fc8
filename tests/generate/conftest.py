"""Tiny random models for the generation API (arvideo/testing.py), saved as a model folder
once per session. No training: the API is tested, not the samples' quality."""

from __future__ import annotations

import pytest

from arvideo.model_folder import save_model_folder
from arvideo.testing import tiny_info, tiny_lm, tiny_tokenizer


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "tiny"
    save_model_folder(path, tiny_tokenizer(), tiny_lm(), tiny_info())
    return path


@pytest.fixture(scope="session")
def gen(model_dir):
    from arvideo.generate import VideoGenerator

    return VideoGenerator.from_pretrained(model_dir)


@pytest.fixture(autouse=True, scope="module")
def one_thread(single_torch_thread):
    """Tiny models on a shared 2-core machine: one thread (tests/conftest.py)."""


@pytest.fixture(scope="session")
def builders():
    """The model builders above, for tests that need their own variants."""
    return tiny_tokenizer, tiny_lm, tiny_info
