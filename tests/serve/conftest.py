"""The tiny random model folder of arvideo/testing.py, with a sample clip of random frames,
and the app over it, for the serve tests. The server is tested, not the samples."""

from __future__ import annotations

import pytest

from arvideo.testing import FRAME, PONG_ACTIONS, tiny_model_folder

MEANINGS = PONG_ACTIONS  # what the hello message lists (test_play_socket.py)
__all__ = ["FRAME", "MEANINGS"]


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    return tiny_model_folder(tmp_path_factory.mktemp("serve") / "tiny", sample_clip=True)


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory):
    """A results folder: a table, a PNG, a sample GIF in a subfolder, a file of another type."""
    from PIL import Image

    root = tmp_path_factory.mktemp("results")
    (root / "speed.json").write_text('[{"order": "next_block", "steps_per_s": 31.5}]')
    Image.new("RGB", (8, 8), (255, 0, 0)).save(root / "speed.png")
    (root / "samples").mkdir()
    Image.new("RGB", (8, 8), (0, 255, 0)).save(root / "samples" / "next_block.gif")
    (root / "notes.txt").write_text("not listed")
    return root


@pytest.fixture(autouse=True, scope="module")
def one_thread(single_torch_thread):
    """Tiny models on a shared 2-core machine: one thread (tests/conftest.py)."""


def make_client(model_dir, **options):
    from fastapi.testclient import TestClient

    from arvideo.serve.cli import build_app

    return TestClient(build_app(str(model_dir), **options))


@pytest.fixture(scope="module")
def client(model_dir, results_dir):
    with make_client(model_dir, results=str(results_dir), max_sessions=2) as test_client:
        yield test_client
