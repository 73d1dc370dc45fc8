"""Rotary position embedding over (time, height, width, scale) (RoFormer, arXiv 2104.09864).

The head dimension is split into four groups of rotation pairs, one per axis; each group
rotates by its axis coordinate times a geometric ladder of frequencies. Scores then depend
only on position *differences*, so absolute time may keep growing during long generation.

This module knows positions (B×N×4 or N×4, float or long: t, h, w, scale) and head vectors.
It knows nothing about token order, masks, video or caches.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

NUM_AXES = 4  # t, h, w, scale


@dataclass
class RopeAngles:
    """cos/sin of the rotation angles, broadcastable against B×heads×N×(head_dim/2)."""

    cos: torch.Tensor
    sin: torch.Tensor


def split_pairs(head_dim: int, axes: int = NUM_AXES) -> list[int]:
    """Rotation pairs per axis: an even share, the remainder going to time (axis 0)."""
    if head_dim % 2 or head_dim < 2 * axes:
        raise ValueError(f"head_dim must be even and >= {2 * axes}, got {head_dim}")
    pairs = head_dim // 2
    share = [pairs // axes] * axes
    share[0] += pairs - sum(share)
    return share


class Rotary(nn.Module):
    """Multi-axis RoPE without parameters; `angles(positions)` once per forward, then `rotate`."""

    def __init__(self, head_dim: int, base: float = 100.0):
        super().__init__()
        self.head_dim = head_dim
        self.pairs = split_pairs(head_dim)
        ladders = [base ** (-torch.arange(n, dtype=torch.float64) / n) for n in self.pairs]
        axis = torch.cat([torch.full((n,), a) for a, n in enumerate(self.pairs)])
        # Non-persistent: derived from the config, never saved.
        self.register_buffer("inv_freq", torch.cat(ladders).float(), persistent=False)
        self.register_buffer("axis", axis.long(), persistent=False)

    def angles(self, positions: torch.Tensor) -> RopeAngles:
        """positions: N×4 or B×N×4 -> angles broadcastable to B×heads×N×(head_dim/2)."""
        if positions.shape[-1] != NUM_AXES or positions.dim() not in (2, 3):
            raise ValueError(f"positions must be N×4 or B×N×4, got {tuple(positions.shape)}")
        coords = positions.float()[..., self.axis]  # (B)×N×P
        theta = coords * self.inv_freq
        if theta.dim() == 3:
            theta = theta.unsqueeze(1)  # B×1×N×P: shared over heads
        return RopeAngles(cos=theta.cos(), sin=theta.sin())

    @staticmethod
    def rotate(x_BANd: torch.Tensor, angles: RopeAngles) -> torch.Tensor:
        """Rotate pairs (first half, second half) of the head vectors by the angles."""
        first, second = x_BANd.float().chunk(2, dim=-1)
        cos, sin = angles.cos, angles.sin
        out = torch.cat([first * cos - second * sin, first * sin + second * cos], dim=-1)
        return out.to(x_BANd.dtype)
