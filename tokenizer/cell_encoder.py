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

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .config import TokenizerConfig


def pointwise(conv: nn.Conv3d, x_BTHWC: torch.Tensor) -> torch.Tensor:
    """A 1×1×1 Conv3d applied to channels-last features as the matmul it is. The weights stay
    a Conv3d's (checkpoints keep their shapes); channels-last avoids the transposed copies and
    the non-mkldnn 3D-conv kernel that a 1×1×1 conv on B×C×T×H×W takes on CPU."""
    return F.linear(x_BTHWC, conv.weight.flatten(1), conv.bias)


class PositionResBlock(nn.Module):
    """Pre-norm residual MLP applied at every position (channels-last): LayerNorm, SiLU,
    1×1 conv, twice."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = PositionNorm(channels), PositionNorm(channels)
        self.fc1 = nn.Conv3d(channels, channels, 1)
        self.fc2 = nn.Conv3d(channels, channels, 1)

    def forward(self, x_BTHWC: torch.Tensor) -> torch.Tensor:
        h = pointwise(self.fc1, F.silu(self.norm1(x_BTHWC)))
        return x_BTHWC + pointwise(self.fc2, F.silu(self.norm2(h)))


class PositionNorm(nn.Module):
    """LayerNorm over the channels of each position (channels-last; no pooling over space).
    A module around `norm` so that checkpoints keep their `norm1.norm.weight` keys."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x_BTHWC: torch.Tensor) -> torch.Tensor:
        return self.norm(x_BTHWC)


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
        cells_BTHWC = rearrange(
            video_BCTHW, "b c t (h p) (w q) -> b t h w (c p q)", p=self.cell, q=self.cell
        )  # space_to_depth's channel order, channels-last
        x = self.blocks(pointwise(self.embed, cells_BTHWC))
        z_BTHWC = pointwise(self.out, F.silu(self.norm_out(x)))
        return z_BTHWC.movedim(-1, 1)


class CellConvEncoder(nn.Module):
    """Each s×s cell encoded on its own by a small 2D conv stack (cells are the batch).

    Zero padding at the cell's border and per-cell GroupNorm keep it local like
    `CellEncoder`, but the 3×3 kernels are shared across positions inside the cell, so a
    small object (the ball) is learned once rather than once per sub-cell position. Widths:
    cell_width/4 at s×s, doubling at each stride-2 conv down to 2×2, then a linear map of the
    2×2 grid to `latent_dim`.
    """

    def __init__(self, config: TokenizerConfig) -> None:
        super().__init__()
        self.cell, groups = config.spatial_compression, 4
        levels = int(math.log2(self.cell)) - 1  # s -> 2 in stride-2 steps
        width = max(groups, config.cell_width // 2**levels)
        layers: list[nn.Module] = [nn.Conv2d(config.in_channels, width, 3, padding=1)]
        for _ in range(levels):
            layers += [CellResBlock(width, groups), nn.Conv2d(width, 2 * width, 3, 2, 1)]
            width *= 2
        layers += [CellResBlock(width, groups), nn.GroupNorm(groups, width), nn.SiLU()]
        self.stack = nn.Sequential(*layers)
        self.out = nn.Linear(4 * width, config.latent_dim)

    def forward(self, video_BCTHW: torch.Tensor) -> torch.Tensor:
        B, _, T, H, W = video_BCTHW.shape
        s = self.cell
        cells = rearrange(video_BCTHW, "b c t (h p) (w q) -> (b t h w) c p q", p=s, q=s)
        features = self.stack(cells).flatten(1)
        return rearrange(
            self.out(features), "(b t h w) c -> b c t h w", b=B, t=T, h=H // s, w=W // s
        )


class CellResBlock(nn.Module):
    """Pre-norm 2D residual block on whole cells (GroupNorm over one cell's features)."""

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.GroupNorm(groups, channels), nn.GroupNorm(groups, channels)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        return x + self.conv2(F.silu(self.norm2(h)))
