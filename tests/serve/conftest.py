"""A tiny random model folder for the serve tests (16×16 frames, FSQ tokenizer with a 4×4
stem, next-block categorical LM with Pong's 6 actions) with a sample clip of random frames,
and the app over it. The server is tested, not the samples."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arvideo.lm.model import VideoLM, VideoLMConfig
from arvideo.model_folder import ModelInfo, save_model_folder
from arvideo.sample_clip import save_sample_clip
from arvideo.tokenizer import BottleneckConfig, TokenizerConfig, VideoTokenizer

MEANINGS = ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"]
FRAME = 16


def tiny_model_folder(path, seed: int = 0):
    torch.manual_seed(seed)  # construction only
    bottleneck = BottleneckConfig(kind="fsq", fsq_levels=(4, 4, 4), kmeans_init=False)
    tokenizer = VideoTokenizer(
        TokenizerConfig(
            widths=(16,),
            spatial_compression=4,
            patch_size=4,
            latent_dim=3,
            norm_groups=8,
            bottleneck=bottleneck,
        )  # fmt: skip
    ).eval()
    lm = VideoLM(
        VideoLMConfig(
            width=32,
            depth=2,
            heads=2,
            mlp_ratio=2.0,
            order="next_block",
            vocab_size=64,
            grid=(4, 4, 4),
            num_actions=len(MEANINGS),
            cond_dropout=0.0,
        )  # fmt: skip
    )
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # adaLN-zero blocks are identities at init: make actions matter
        for parameter in lm.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.2)
    info = ModelInfo(
        frame_size=(FRAME, FRAME), fps=15, context_frames=2, clip_frames=4, game="Pong",
        action_meanings=MEANINGS,
    )  # fmt: skip
    save_model_folder(path, tokenizer, lm.eval(), info)
    frames = np.random.default_rng(seed).integers(0, 256, (4, FRAME, FRAME, 3), dtype=np.uint8)
    save_sample_clip(path, frames, np.array([0, 2, 3, 1]), "tiny-test-data")
    return path


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    return tiny_model_folder(tmp_path_factory.mktemp("serve") / "tiny")


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
