"""Tiny random models for the generation API: a 16×16 FSQ tokenizer (4×4 latent grid, 64
codes) and a next-block categorical VideoLM with 6 actions, saved as a model folder once per
session. No training: the API is tested, not the samples' quality."""

from __future__ import annotations

import pytest
import torch

from arvideo.lm.model import VideoLM, VideoLMConfig
from arvideo.model_folder import ModelInfo, save_model_folder
from arvideo.tokenizer import BottleneckConfig, TokenizerConfig, VideoTokenizer

MEANINGS = ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"]  # Pong's
FRAME = 16


def tiny_tokenizer(spatial: int = 4, seed: int = 0) -> VideoTokenizer:
    """A 4×4 pixel-unshuffle stem and no down-sampling (spatial 4): few convs, a short
    decode window; spatial 16 adds two strided levels (for 64×64 Pong frames)."""
    torch.manual_seed(seed)  # construction only
    bottleneck = BottleneckConfig(kind="fsq", fsq_levels=(4, 4, 4), kmeans_init=False)
    widths = {4: (16,), 16: (16, 16, 16)}[spatial]
    config = TokenizerConfig(
        widths=widths, spatial_compression=spatial, patch_size=4, latent_dim=3,
        norm_groups=8, bottleneck=bottleneck,
    )  # fmt: skip
    return VideoTokenizer(config).eval()


def tiny_lm(seed: int = 0, **overrides) -> VideoLM:
    torch.manual_seed(seed)
    values = dict(
        width=32, depth=2, heads=2, mlp_ratio=2.0, order="next_block", vocab_size=64,
        grid=(4, 4, 4), num_actions=len(MEANINGS), cond_dropout=0.0,
    )  # fmt: skip
    model = VideoLM(VideoLMConfig(**{**values, **overrides}))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # adaLN-zero blocks are identities at init: make them matter
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.2)
    return model.eval()


def tiny_info(**overrides) -> ModelInfo:
    values = dict(
        frame_size=(FRAME, FRAME), fps=15, context_frames=2, clip_frames=4, game="Pong",
        action_meanings=MEANINGS,
    )  # fmt: skip
    return ModelInfo(**{**values, **overrides})


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
