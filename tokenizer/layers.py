"""Causal 3D building blocks shared by the encoder and decoder.

Time is causal everywhere: convolutions pad only on the past side (replicating the first
frame), normalisation is per frame, attention is within a frame. So output frame t never
sees input frame t+1, and a single image (T=1) is a valid clip. These blocks know nothing
about codes or losses.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn


class CausalConv3d(nn.Module):
    """3D convolution padded on the past side in time and symmetrically in space.

    The space padding (zeros) is the convolution's own, so no padded copy of the input is
    made; only the time padding, which replicates the first frame, concatenates."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: tuple[int, int, int] = (3, 3, 3),
        stride: tuple[int, int, int] = (1, 1, 1),
    ) -> None:
        super().__init__()
        self.time_pad = kernel[0] - 1
        padding = (0, kernel[1] // 2, kernel[2] // 2)
        self.conv = nn.Conv3d(in_channels, out_channels, kernel, stride=stride, padding=padding)

    def forward(self, x_BCTHW: torch.Tensor) -> torch.Tensor:
        if self.time_pad:
            first = x_BCTHW[:, :, :1].expand(-1, -1, self.time_pad, -1, -1)
            x_BCTHW = torch.cat([first, x_BCTHW], dim=2)
        return self.conv(x_BCTHW)


class FrameGroupNorm(nn.GroupNorm):
    """GroupNorm over (C, H, W) of each frame separately: statistics never mix frames."""

    def forward(self, x_BCTHW: torch.Tensor) -> torch.Tensor:
        frames = x_BCTHW.shape[2]
        x = rearrange(x_BCTHW, "b c t h w -> (b t) c h w")
        x = super().forward(x)
        return rearrange(x, "(b t) c h w -> b c t h w", t=frames)


def conv_kernel(time_kernel: int) -> tuple[int, int, int]:
    """A 3×3 spatial kernel with `time_kernel` causal taps in time."""
    return (time_kernel, 3, 3)


class ResBlock3d(nn.Module):
    """Pre-norm residual block: norm, SiLU, causal conv, twice; 1x1 skip when widths differ."""

    def __init__(
        self, in_channels: int, out_channels: int, groups: int, time_kernel: int = 3
    ) -> None:
        super().__init__()
        kernel = conv_kernel(time_kernel)
        self.norm1 = FrameGroupNorm(groups, in_channels)
        self.conv1 = CausalConv3d(in_channels, out_channels, kernel)
        self.norm2 = FrameGroupNorm(groups, out_channels)
        self.conv2 = CausalConv3d(out_channels, out_channels, kernel)
        self.skip = nn.Conv3d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, x_BCTHW: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x_BCTHW)))
        h = self.conv2(F.silu(self.norm2(h)))
        skip = x_BCTHW if self.skip is None else self.skip(x_BCTHW)
        return skip + h


class FrameAttention(nn.Module):
    """Single-head self-attention among the H*W positions of each frame."""

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.norm = FrameGroupNorm(groups, channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.out = nn.Linear(channels, channels)

    def forward(self, x_BCTHW: torch.Tensor) -> torch.Tensor:
        _, _, frames, height, _ = x_BCTHW.shape
        h_FND = rearrange(self.norm(x_BCTHW), "b c t h w -> (b t) (h w) c")
        q, k, v = self.qkv(h_FND).chunk(3, dim=-1)
        h_FND = self.out(F.scaled_dot_product_attention(q, k, v))
        h = rearrange(h_FND, "(b t) (h w) c -> b c t h w", t=frames, h=height)
        return x_BCTHW + h


class Downsample(nn.Module):
    """Halve H and W (stride-2 conv); optionally halve time too, keeping frame 0 alone.

    With past padding 2 and stride 2, output frame i sees input frames 2i-2..2i, so
    T = 1 + 2m frames become 1 + m and output 0 sees only input frame 0.
    """

    def __init__(
        self, in_channels: int, out_channels: int, time: bool, time_kernel: int = 3
    ) -> None:
        super().__init__()
        kernel = (3 if time else time_kernel, 3, 3)  # the time stride needs its 3 taps
        self.conv = CausalConv3d(in_channels, out_channels, kernel, stride=(2 if time else 1, 2, 2))

    def forward(self, x_BCTHW: torch.Tensor) -> torch.Tensor:
        return self.conv(x_BCTHW)


class Upsample(nn.Module):
    """Double H and W (nearest + conv); optionally double time, keeping frame 0 alone.

    Time: a causal conv makes 2 frames per latent frame, interleaved; the first output
    frame is dropped, so 1 + m latent frames become 1 + 2m frames and latent j makes frames
    2j-1 and 2j (latent 0 makes frame 0 alone).
    """

    def __init__(
        self, in_channels: int, out_channels: int, time: bool, time_kernel: int = 3
    ) -> None:
        super().__init__()
        self.time = time
        self.time_conv = CausalConv3d(in_channels, 2 * in_channels) if time else None
        self.conv = CausalConv3d(in_channels, out_channels, conv_kernel(time_kernel))

    def forward(self, x_BCTHW: torch.Tensor) -> torch.Tensor:
        x = x_BCTHW
        if self.time_conv is not None:
            x = rearrange(self.time_conv(x), "b (c r) t h w -> b c (t r) h w", r=2)[:, :, 1:]
        x = F.interpolate(x, scale_factor=(1, 2, 2), mode="nearest")
        return self.conv(x)


def space_to_depth(x_BCTHW: torch.Tensor, patch: int) -> torch.Tensor:
    """Pixel-unshuffle each frame: B×C×T×H×W -> B×(C·p·p)×T×(H/p)×(W/p). Lossless, per frame."""
    if patch == 1:
        return x_BCTHW
    return rearrange(x_BCTHW, "b c t (h p) (w q) -> b (c p q) t h w", p=patch, q=patch)


def depth_to_space(x_BCTHW: torch.Tensor, patch: int) -> torch.Tensor:
    """Inverse of `space_to_depth`: B×(C·p·p)×T×h×w -> B×C×T×(h·p)×(w·p)."""
    if patch == 1:
        return x_BCTHW
    return rearrange(x_BCTHW, "b (c p q) t h w -> b c t (h p) (w q)", p=patch, q=patch)
