"""Multi-head self-attention with an explicit boolean mask, rotary positions and a KV cache.

The mask is an argument (N×M or B×N×M, True = may attend; M = cached + new keys, or None when
every query may attend to every key; or its `MaskRuns` when its rows come in a few runs),
built by whoever owns the token order; this module never invents one. Uses
`F.scaled_dot_product_attention`, so fused kernels apply on CUDA. Queries and keys are
normalised and rotated together, as one 2×B×heads×N×d tensor: half the elementwise calls,
which a one-token decoding step is made of.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .kv_cache import KVCache
from .mask_runs import MaskRuns
from .rope import RopeAngles, Rotary


def rms_norm(x: torch.Tensor, gain: torch.Tensor | None, eps: float) -> torch.Tensor:
    """RMS norm over the last dim with fp32 statistics; `gain` broadcasts against x (None:
    no gain). fp32 with a 1-D gain: one fused call, no round trip."""
    if x.dtype == torch.float32 and (gain is None or gain.dim() == 1):
        return F.rms_norm(x, (x.shape[-1],), gain, eps)
    y = F.rms_norm(x.float(), (x.shape[-1],), eps=eps).to(x.dtype)
    return y if gain is None else y * gain


def explicit_attention(q, k, v, mask: torch.Tensor | None) -> torch.Tensor:
    """softmax(q·kᵀ/√d, masked) · v written out: what sdpa computes, in ops a compiler fuses."""
    scores = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


class RMSNorm(nn.Module):
    """Root-mean-square norm (Zhang & Sennrich 2019), optionally without a learned gain."""

    def __init__(self, dim: int, eps: float = 1e-6, affine: bool = True):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim)) if affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rms_norm(x, self.weight, self.eps)


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
        qk_2BANd = Rotary.rotate(self._norm_qk(qkv[:2]), angles)
        q_BANd, k_BANd, v_BANd = qk_2BANd[0], qk_2BANd[1], qkv[2]
        if cache is not None:
            k_BANd, v_BANd = cache.update(layer, k_BANd, v_BANd)
        if isinstance(mask, torch.Tensor) and mask.dim() == 3:
            mask = mask.unsqueeze(1)  # B×1×N×M: shared over heads
        if mask is not None and tuple(mask.shape[-2:]) != (N, k_BANd.shape[2]):
            raise ValueError(
                f"mask must end in {N}×{k_BANd.shape[2]} (queries × keys), got {tuple(mask.shape)}"
            )
        if isinstance(mask, MaskRuns):  # runs of equal rows: unmasked pieces
            y = mask.attend(q_BANd, k_BANd, v_BANd)
        elif getattr(cache, "explicit_attention", False):  # a compiled step (slot_cache.py)
            y = explicit_attention(q_BANd, k_BANd, v_BANd, mask)
        else:
            y = F.scaled_dot_product_attention(q_BANd, k_BANd, v_BANd, attn_mask=mask)
        return self.out(y.transpose(1, 2).reshape(B, N, D))

    def _norm_qk(self, qk_2BANd: torch.Tensor) -> torch.Tensor:
        """QK-norm of queries and keys in one call, each with its own gain."""
        if not isinstance(self.q_norm, RMSNorm):
            return qk_2BANd
        gain = torch.stack([self.q_norm.weight, self.k_norm.weight]).view(2, 1, 1, 1, -1)
        return rms_norm(qk_2BANd, gain, self.q_norm.eps)
