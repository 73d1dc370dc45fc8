"""Shared helpers for the LM tests: tiny models, random batches, and un-zeroing adaLN.

A fresh model has adaLN-zero blocks (identity maps), which would make cache and causality
tests pass trivially; `randomize` gives every parameter small random values first.
"""

from __future__ import annotations

import pytest
import torch

from arvideo.data.batch import TokenBatch
from arvideo.lm.model import VideoLM, VideoLMConfig

TINY = dict(width=32, depth=2, heads=2, mlp_ratio=2.0, vocab_size=11, grid=(3, 2, 3))


def randomize(module: torch.nn.Module, seed: int = 0, std: float = 0.2) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            noise = torch.randn(parameter.shape, generator=generator) * std
            parameter.copy_(parameter + noise)
    return module


def tiny_model(seed: int = 0, **overrides) -> VideoLM:
    torch.manual_seed(seed)  # construction only; every test draw below uses a Generator
    config = VideoLMConfig(**{**TINY, **overrides})
    return randomize(VideoLM(config), seed).eval()


def random_batch(model: VideoLM, batch: int = 2, frames: int | None = None, seed: int = 0):
    config = model.config
    T, H, W = config.grid
    T = frames or T
    g = torch.Generator().manual_seed(seed)
    codes = latents = actions = None
    if config.head == "categorical":
        shape = (batch, T, H, W) + ((config.code_depth,) if config.code_depth > 1 else ())
        codes = torch.randint(0, config.vocab_size, shape, generator=g)
    else:
        latents = torch.randn(batch, T, H, W, config.latent_dim, generator=g)
    if config.num_actions:
        actions = torch.randint(0, config.num_actions, (batch, T), generator=g)
    return TokenBatch(codes=codes, latents=latents, actions=actions)


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


@pytest.fixture
def make_model():
    return tiny_model


@pytest.fixture
def make_batch():
    return random_batch
