"""Causal 3D convolutional decoder: latents_BCTHW -> video_BCTHW (unbounded, ~[-1, 1]).

The mirror of the encoder (ending in a pixel-shuffle head when `patch_size` > 1): latent
frame 0 makes frame 0 alone, each later latent frame makes r frames;
output frame t never depends on a later latent frame.
Knows nothing about codes; `last_layer_weight` is exposed for the adaptive GAN weight.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import TokenizerConfig
from .layers import (
    CausalConv3d,
    FrameAttention,
    FrameGroupNorm,
    ResBlock3d,
    Upsample,
    conv_kernel,
    depth_to_space,
)


class Decoder(nn.Module):
    def __init__(self, config: TokenizerConfig) -> None:
        super().__init__()
        taps = config.time_kernel
        kernel = conv_kernel(taps)
        widths, groups = config.widths[::-1], config.norm_groups  # coarsest first
        mid = widths[0]
        self.conv_in = CausalConv3d(config.latent_dim, mid, kernel)
        attention = FrameAttention(mid, groups) if config.attention else nn.Identity()
        self.mid = nn.Sequential(ResBlock3d(mid, mid, groups, taps), attention)
        self.stages = nn.ModuleList()
        levels = len(widths)
        for index, width in enumerate(widths):
            blocks: list[nn.Module] = [
                ResBlock3d(width, width, groups, taps) for _ in range(config.num_res_blocks)
            ]
            if index < levels - 1:
                # mirrors the encoder: time is up-sampled at the finest levels
                time = (levels - 2 - index) < config.temporal_downsamples
                blocks.append(Upsample(width, widths[index + 1], time=time, time_kernel=taps))
            self.stages.append(nn.Sequential(*blocks))
        self.norm_out = FrameGroupNorm(groups, widths[-1])
        self.patch_size = config.patch_size
        self.conv_out = CausalConv3d(widths[-1], config.in_channels * config.patch_size**2, kernel)

    @property
    def last_layer_weight(self) -> torch.Tensor:
        return self.conv_out.conv.weight

    def forward(self, latents_BCTHW: torch.Tensor) -> torch.Tensor:
        x = self.mid(self.conv_in(latents_BCTHW))
        for stage in self.stages:
            x = stage(x)
        x = self.conv_out(F.silu(self.norm_out(x)))
        return depth_to_space(x, self.patch_size)
