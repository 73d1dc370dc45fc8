"""Patch-GAN discriminator (Isola et al. 2017, as used by VQGAN), applied frame by frame.

Scores overlapping patches of every frame as real or reconstructed; frames are folded into
the batch, so images and clips of any length work. Knows nothing about the tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange
from torch import nn


@dataclass
class DiscriminatorConfig:
    in_channels: int = 3
    width: int = 32
    layers: int = 3  # stride-2 convs; the receptive field grows ~2x per layer


class PatchDiscriminator(nn.Module):
    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        width = config.width
        modules: list[nn.Module] = [
            nn.Conv2d(config.in_channels, width, 4, 2, 1),
            nn.LeakyReLU(0.2),
        ]
        for _ in range(config.layers - 1):
            modules += [
                nn.Conv2d(width, 2 * width, 4, 2, 1),
                nn.GroupNorm(8, 2 * width),
                nn.LeakyReLU(0.2),
            ]
            width *= 2
        modules.append(nn.Conv2d(width, 1, 3, 1, 1))
        self.net = nn.Sequential(*modules)

    def forward(self, video_BCTHW: torch.Tensor) -> torch.Tensor:
        """Patch logits, (B·T)×1×h×w."""
        return self.net(rearrange(video_BCTHW, "b c t h w -> (b t) c h w"))
