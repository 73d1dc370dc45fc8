"""Causal 3D convolutional encoder: video_BCTHW in [-1, 1] -> features z_BCTHW.

Spatial size shrinks by `spatial_compression` (a pixel-unshuffle stem of `patch_size`, then
strided convs), time by `temporal_compression` (the first frame alone, then groups of r).
Knows nothing about quantisation: it outputs `latent_dim` channels and the
bottleneck decides what they become.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import TokenizerConfig
from .layers import (
    CausalConv3d,
    Downsample,
    FrameAttention,
    FrameGroupNorm,
    ResBlock3d,
    conv_kernel,
    space_to_depth,
)


class Encoder(nn.Module):
    def __init__(self, config: TokenizerConfig) -> None:
        super().__init__()
        taps = config.time_kernel
        kernel = conv_kernel(taps)
        widths, groups = config.widths, config.norm_groups
        self.patch_size = config.patch_size
        stem_channels = config.in_channels * config.patch_size**2
        self.conv_in = CausalConv3d(stem_channels, widths[0], kernel)
        self.stages = nn.ModuleList()
        for level, width in enumerate(widths):
            blocks: list[nn.Module] = [
                ResBlock3d(width, width, groups, taps) for _ in range(config.num_res_blocks)
            ]
            if level < len(widths) - 1:
                # temporal down-sampling at the first (finest) levels: cheapest overall
                time = level < config.temporal_downsamples
                blocks.append(Downsample(width, widths[level + 1], time=time, time_kernel=taps))
            self.stages.append(nn.Sequential(*blocks))
        mid = widths[-1]
        attention = FrameAttention(mid, groups) if config.attention else nn.Identity()
        self.mid = nn.Sequential(ResBlock3d(mid, mid, groups, taps), attention)
        self.norm_out = FrameGroupNorm(groups, mid)
        self.conv_out = CausalConv3d(mid, config.latent_dim, kernel)

    def forward(self, video_BCTHW: torch.Tensor) -> torch.Tensor:
        x = self.conv_in(space_to_depth(video_BCTHW, self.patch_size))
        for stage in self.stages:
            x = stage(x)
        x = self.mid(x)
        return self.conv_out(F.silu(self.norm_out(x)))
