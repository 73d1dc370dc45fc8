"""Real Pong tokens for end-to-end tests: the `pong_dir` clips encoded by a tiny FSQ
tokenizer (random weights: its codes are still a fixed function of the frames, which is all
a generator test needs; tokenizer quality is tested in tests/tokenizer), and `quiet_trainer`,
the silent few-step CPU trainer those tests fit with."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch

from arvideo.tokenizer import BottleneckConfig, TokenizerConfig, VideoTokenizer

BOTTLENECKS = {
    "fsq": BottleneckConfig(kind="fsq", fsq_levels=(5, 4, 3)),
    "msvq": BottleneckConfig(kind="msvq", codebook_size=32, scales=(1, 2, 4, 8)),
    "continuous": BottleneckConfig(kind="continuous"),
}


def save_tiny_tokenizer(kind: str, folder: Path) -> Path:
    torch.manual_seed(0)
    config = TokenizerConfig(widths=(8, 8, 8, 8), latent_dim=3, bottleneck=BOTTLENECKS[kind])
    VideoTokenizer(config).eval().save_pretrained(folder)
    return folder


def encode_pong(kind: str, pong_dir: Path, tmp_path_factory) -> Path:
    from arvideo.training.encode import encode

    root = tmp_path_factory.mktemp(f"tokens-{kind}")
    tokenizer = save_tiny_tokenizer(kind, root / "tokenizer")
    out = root / "tokens"
    encode(tokenizer=str(tokenizer), data=str(pong_dir), out=str(out), progress=False)
    return out


@pytest.fixture(scope="session")
def pong_tokens(pong_dir: Path, tmp_path_factory) -> Path:
    """Pong clips as FSQ codes (60 codes, 8×8 per frame)."""
    return encode_pong("fsq", pong_dir, tmp_path_factory)


@pytest.fixture(scope="session")
def pong_token_sets(pong_dir: Path, pong_tokens: Path, tmp_path_factory) -> dict[str, Path]:
    """Token data for every head × order: FSQ codes, msvq codes, continuous latents."""
    return {
        "fsq": pong_tokens,
        "msvq": encode_pong("msvq", pong_dir, tmp_path_factory),
        "continuous": encode_pong("continuous", pong_dir, tmp_path_factory),
    }


@pytest.fixture
def quiet_trainer():
    """`make(steps, root, checkpointing=False)`: a CPU trainer for a few steps with no logger,
    progress bar, summary or validation (tests score the model themselves)."""

    def make(steps: int, root, checkpointing: bool = False) -> L.Trainer:
        return L.Trainer(
            max_steps=steps,
            accelerator="cpu",
            logger=False,
            enable_checkpointing=checkpointing,
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            limit_val_batches=0,
            default_root_dir=root,
        )

    return make
