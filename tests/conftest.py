"""Shared fixtures. `pong_dir` is reused by other test folders: keep its name and speed."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

PONG_ARGS = dict(
    game="Pong",
    episodes=3,
    max_steps_per_episode=150,
    clip_length=8,
    shard_size=8,
    val_fraction=0.34,
    seed=0,
    progress=False,
)


@pytest.fixture(scope="session")
def pong_dir(tmp_path_factory) -> Path:
    """3 Pong episodes of <= 150 agent steps, 8-frame clips, 8 clips per shard; episodes 0, 1
    in train-*.tar, episode 2 in val-*.tar, dataset.json beside them. Treat as read-only."""
    from arvideo.data.atari import collect_atari

    out = tmp_path_factory.mktemp("pong") / "pong"
    collect_atari(out=str(out), **PONG_ARGS)
    return out


@pytest.fixture(scope="session")
def pong_args() -> dict:
    """The collect_atari arguments that made `pong_dir` (a copy; `out` not included)."""
    return dict(PONG_ARGS)


@pytest.fixture(scope="module")
def single_torch_thread():
    """One torch thread for a module's tests, restored after: tiny models on a shared 2-core
    machine run faster and steadier on one. Folders of tiny-model tests use it autouse."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
