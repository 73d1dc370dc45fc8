"""Tiny random models for tests of code built on arvideo (ours and yours).

A 16×16-frame FSQ tokenizer (a 4×4 pixel-unshuffle stem, 64 codes on a 4×4 grid) and a
next-block categorical VideoLM with Pong's 6 actions, built in milliseconds and saved as a
model folder in well under a second. Nothing is trained: they exercise the API, the checks
and the server, not the samples' quality. Seeds fix construction, so two calls with the same
arguments build the same weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from arvideo.lm.model import VideoLM, VideoLMConfig
from arvideo.model_folder import ModelInfo, save_model_folder
from arvideo.tokenizer import BottleneckConfig, TokenizerConfig, VideoTokenizer

PONG_ACTIONS = ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"]
FRAME = 16
LM_SIZES = dict(
    width=32, depth=2, heads=2, mlp_ratio=2.0, order="next_block", vocab_size=64,
    grid=(4, 4, 4), num_actions=len(PONG_ACTIONS), cond_dropout=0.0,
)  # fmt: skip


def tiny_tokenizer(spatial: int = 4, seed: int = 0, encoder: str = "conv") -> VideoTokenizer:
    """Spatial 4: the stem alone (few convs, a short decode window); 16 adds two strided
    levels (for 64×64 Pong frames). encoder "cell": each code sees only its own cell."""
    torch.manual_seed(seed)  # construction only
    bottleneck = BottleneckConfig(kind="fsq", fsq_levels=(4, 4, 4), kmeans_init=False)
    widths = {4: (16,), 16: (16, 16, 16)}[spatial]
    config = TokenizerConfig(
        widths=widths, spatial_compression=spatial, patch_size=4, latent_dim=3,
        norm_groups=8, bottleneck=bottleneck, encoder=encoder, cell_width=16, cell_blocks=1,
    )  # fmt: skip
    return VideoTokenizer(config).eval()


def tiny_lm(seed: int = 0, perturb: float = 0.2, **overrides) -> VideoLM:
    """`overrides` replace LM_SIZES' fields. adaLN-zero blocks are identities at init, so
    every weight gets N(0, perturb²) noise to make blocks and actions matter (0 = none)."""
    torch.manual_seed(seed)
    model = VideoLM(VideoLMConfig(**{**LM_SIZES, **overrides}))
    if perturb:
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(torch.randn(parameter.shape, generator=generator) * perturb)
    return model.eval()


def tiny_info(**overrides) -> ModelInfo:
    values = dict(
        frame_size=(FRAME, FRAME), fps=15, context_frames=2, clip_frames=4, game="Pong",
        action_meanings=PONG_ACTIONS,
    )  # fmt: skip
    return ModelInfo(**{**values, **overrides})


def tiny_model_folder(
    path: str | Path, seed: int = 0, sample_clip: bool = False, **lm_overrides
) -> Path:
    """A model folder of the tiny parts; `sample_clip` saves 4 random frames with actions as
    its start clip (what `arvideo serve` plays from); `lm_overrides` go to `tiny_lm` (e.g.
    `sampling={"top_k": 1}`, the folder's sampling defaults)."""
    path = Path(path)
    lm = tiny_lm(seed=seed, **lm_overrides)
    save_model_folder(path, tiny_tokenizer(seed=seed), lm, tiny_info())
    if sample_clip:
        from arvideo.sample_clip import save_sample_clip

        rng = np.random.default_rng(seed)
        frames = rng.integers(0, 256, (4, FRAME, FRAME, 3), dtype=np.uint8)
        save_sample_clip(path, frames, np.array([0, 2, 3, 1]), "tiny-test-data")
    return path
