"""Real Pong tokens for end-to-end tests: the `pong_dir` clips encoded by a tiny FSQ
tokenizer (random weights: its codes are still a fixed function of the frames, which is all
a generator test needs; tokenizer quality is tested in tests/tokenizer)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from arvideo.tokenizer import BottleneckConfig, TokenizerConfig, VideoTokenizer


@pytest.fixture(scope="session")
def tiny_tokenizer_dir(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    config = TokenizerConfig(
        widths=(8, 8, 8, 8),
        latent_dim=3,
        bottleneck=BottleneckConfig(kind="fsq", fsq_levels=(5, 4, 3)),
    )
    folder = tmp_path_factory.mktemp("tokenizer") / "fsq"
    VideoTokenizer(config).eval().save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def pong_tokens(pong_dir: Path, tiny_tokenizer_dir: Path, tmp_path_factory) -> Path:
    from arvideo.training.encode import encode

    out = tmp_path_factory.mktemp("tokens") / "pong-tokens"
    encode(tokenizer=str(tiny_tokenizer_dir), data=str(pong_dir), out=str(out), progress=False)
    return out
