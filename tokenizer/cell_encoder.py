"""Cell-local encoder: each latent position sees only its own cell of pixels.

video_BCTHW in [-1, 1] -> z_BCTHW, like `Encoder`, but the receptive field of latent (t, i, j)
is exactly the s×s pixels of cell (i, j) in frame t (s = spatial_compression): a pixel-
unshuffle to s·s·C channels, then a per-position MLP (1×1 convs with residual blocks and a
per-position LayerNorm; nothing that pools over the frame). So identical cell contents always
give identical latents, and with a deterministic bottleneck identical codes: a cell whose
pixels stand still keeps its code by construction, wherever it sits and whatever moves
elsewhere. The decoder keeps its wide receptive field, so reconstruction still uses the
neighbours. (ViT-style patch embeddings have the same locality; this is the point of it.)
Per frame only: temporal compression needs time mixing and is refused by the config.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import TokenizerConfig
from .layers import space_to_depth


class PositionNorm(nn.Module):
    """LayerNorm over the channels of each position of B×C×T×H×W (no pooling over space)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x_BCTHW: torch.Tensor) -> torch.Tensor:
        return self.norm(x_BCTHW.movedim(1, -1)).movedim(-1, 1)


class PositionResBlock(nn.Module):
    """Pre-norm residual MLP applied at every position: norm, SiLU, 1×1 conv, twice."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = PositionNorm(channels), PositionNorm(channels)
        self.fc1 = nn.Conv3d(channels, channels, 1)
        self.fc2 = nn.Conv3d(channels, channels, 1)

    def forward(self, x_BCTHW: torch.Tensor) -> torch.Tensor:
        h = self.fc1(F.silu(self.norm1(x_BCTHW)))
        return x_BCTHW + self.fc2(F.silu(self.norm2(h)))


class CellEncoder(nn.Module):
    def __init__(self, config: TokenizerConfig) -> None:
        super().__init__()
        self.cell = config.spatial_compression
        width = config.cell_width
        self.embed = nn.Conv3d(config.in_channels * self.cell**2, width, 1)
        self.blocks = nn.Sequential(*[PositionResBlock(width) for _ in range(config.cell_blocks)])
        self.norm_out = PositionNorm(width)
        self.out = nn.Conv3d(width, config.latent_dim, 1)

    def forward(self, video_BCTHW: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.embed(space_to_depth(video_BCTHW, self.cell)))
        return self.out(F.silu(self.norm_out(x)))
