"""A tiny random generator (16×16 frames, FSQ tokenizer with a 4×4 stem, next-block LM with
6 actions) for the reliability suite: the checks are tested, not the samples."""

from __future__ import annotations

import torch

from arvideo.generate import VideoGenerator
from arvideo.lm.model import VideoLM, VideoLMConfig
from arvideo.model_folder import ModelInfo
from arvideo.tokenizer import BottleneckConfig, TokenizerConfig, VideoTokenizer

ACTIONS = 6
LM_SIZES = dict(
    width=32, depth=2, heads=2, mlp_ratio=2.0, order="next_block", vocab_size=64,
    grid=(4, 4, 4), num_actions=ACTIONS, cond_dropout=0.0,
)  # fmt: skip


def tiny_parts(seed: int = 0) -> tuple[VideoTokenizer, VideoLM, ModelInfo]:
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
    )
    lm = VideoLM(VideoLMConfig(**LM_SIZES))
    info = ModelInfo(frame_size=(16, 16), context_frames=2, clip_frames=4)
    return tokenizer.eval(), lm.eval(), info


def tiny_generator() -> VideoGenerator:
    return VideoGenerator(*tiny_parts())
