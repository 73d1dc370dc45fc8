"""Multi-head self-attention with an explicit boolean mask, rotary positions and a KV cache.

The mask is an argument (N×M or B×N×M, True = may attend; M = cached + new keys), built by
whoever owns the token order; this module never invents one. Uses
`F.scaled_dot_product_attention`, so fused kernels apply on CUDA.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .kv_cache import KVCache
from .rope import RopeAngles, Rotary


class RMSNorm(nn.Module):
    """Root-mean-square norm (Zhang & Sennrich 2019), optionally without a learned gain."""

    def __init__(self, dim: int, eps: float = 1e-6, affine: bool = True):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim)) if affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.rms_norm(x.float(), (x.shape[-1],), eps=self.eps).to(x.dtype)
        return y if self.weight is None else y * self.weight


class Attention(nn.Module):
    def __init__(self, width: int, heads: int, qk_norm: bool = True):
        super().__init__()
        if width % heads:
            raise ValueError(f"width ({width}) must be divisible by heads ({heads})")
        self.heads, self.head_dim = heads, width // heads
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.out = nn.Linear(width, width, bias=False)
        # QK-norm keeps logits bounded under bf16 autocast (ViT-22B's habit).
        self.q_norm = RMSNorm(self.head_dim) if qk_norm else nn.Identity()
        self.k_norm = RMSNorm(self.head_dim) if qk_norm else nn.Identity()

    def forward(
        self,
        x_BND: torch.Tensor,
        angles: RopeAngles,
        mask: torch.Tensor,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> torch.Tensor:
        B, N, D = x_BND.shape
        qkv = self.qkv(x_BND).view(B, N, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q_BANd = Rotary.rotate(self.q_norm(qkv[0]), angles)
        k_BANd = Rotary.rotate(self.k_norm(qkv[1]), angles)
        v_BANd = qkv[2]
        if cache is not None:
            k_BANd, v_BANd = cache.update(layer, k_BANd, v_BANd)
        if mask.dim() == 3:
            mask = mask.unsqueeze(1)  # B×1×N×M: shared over heads
        if mask.shape[-1] != k_BANd.shape[2] or mask.shape[-2] != N:
            raise ValueError(
                f"mask must end in {N}×{k_BANd.shape[2]} (queries × keys), got {tuple(mask.shape)}"
            )
        y = F.scaled_dot_product_attention(q_BANd, k_BANd, v_BANd, attn_mask=mask)
        return self.out(y.transpose(1, 2).reshape(B, N, D))
