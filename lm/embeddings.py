"""Input embeddings of token values: codes (discrete) or latents (continuous), and slots.

* `CodeEmbedding`: one table per residual depth, summed (residual VQ codes B×N×depth, or
  plain codes B×N); optionally plus a learned projection of each code's decoded pixels (the
  tokenizer's patch for it, a fixed buffer), so that codes that look alike start alike and
  a sprite's position inside its cell is a linear read-out instead of a table to learn.
* `LatentEmbedding`: Linear(latent_dim -> D) for continuous tokens B×N×C.
* `SlotEmbedding`: a learned vector per position *within a frame* (h, w, or a next-scale
  slot). Rotary attention alone cannot tell apart tokens whose inputs are identical (e.g.
  the start block), so the input carries its in-frame position too; time stays relative.

These modules know value tensors and widths; nothing about orders, masks or heads.
"""

from __future__ import annotations

import torch
from torch import nn


class CodeEmbedding(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        width: int,
        depth: int = 1,
        init_std: float = 0.02,
        pixel_dim: int = 0,
    ):
        super().__init__()
        if vocab_size < 1 or depth < 1:
            raise ValueError(f"vocab_size and depth must be >= 1, got {vocab_size}, {depth}")
        if pixel_dim < 0 or (pixel_dim and depth != 1):
            raise ValueError(
                f"pixel_dim={pixel_dim} with depth={depth}: code pixels need plain codes "
                f"(depth 1) and pixel_dim >= 0"
            )
        self.depth = depth
        self.tables = nn.ModuleList(nn.Embedding(vocab_size, width) for _ in range(depth))
        for table in self.tables:
            nn.init.normal_(table.weight, std=init_std)
        self.pixel_proj = None
        if pixel_dim:
            # filled by set_pixels from the tokenizer; saved with the weights
            self.register_buffer("pixels_KP", torch.zeros(vocab_size, pixel_dim))
            # zero: it starts as the plain table and learns how much the pixels say. A start
            # at init_std outweighed the table 8x on Pong's 8x8 patches (4x at 4x4), and any
            # two codes' inputs were 0.8 alike (mean cosine): benchmarks/results/code_pixels.md
            self.pixel_proj = nn.Linear(pixel_dim, width, bias=False)
            nn.init.zeros_(self.pixel_proj.weight)

    @torch.no_grad()
    def set_pixels(self, pixels_KP: torch.Tensor) -> None:
        """Each code's decoded pixels, vocab_size × pixel_dim (arvideo.bridge.code_pixels)."""
        if self.pixel_proj is None:
            raise TypeError("this CodeEmbedding was built with pixel_dim=0")
        if pixels_KP.shape != self.pixels_KP.shape:
            raise ValueError(
                f"pixels_KP must be {tuple(self.pixels_KP.shape)} (vocab × pixel_dim), "
                f"got {tuple(pixels_KP.shape)}"
            )
        self.pixels_KP.copy_(pixels_KP)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """codes B×N (depth 1) or B×N×depth int64 -> B×N×D."""
        if self.depth == 1 and codes.dim() == 2:
            return self._with_pixels(self.tables[0](codes), codes)
        if codes.shape[-1] != self.depth:
            raise ValueError(f"codes must end in depth {self.depth}, got {tuple(codes.shape)}")
        embedded = sum(table(codes[..., d]) for d, table in enumerate(self.tables))
        return self._with_pixels(embedded, codes[..., 0])  # pixels: depth 1 only

    def _with_pixels(self, embedded: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        if self.pixel_proj is None:
            return embedded
        return embedded + self.pixel_proj(self.pixels_KP[codes])


class LatentEmbedding(nn.Module):
    def __init__(self, latent_dim: int, width: int, init_std: float = 0.02):
        super().__init__()
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1 for continuous tokens, got {latent_dim}")
        self.proj = nn.Linear(latent_dim, width)
        nn.init.normal_(self.proj.weight, std=init_std)
        nn.init.zeros_(self.proj.bias)

    def forward(self, latents_BNC: torch.Tensor) -> torch.Tensor:
        return self.proj(latents_BNC)


class SlotEmbedding(nn.Module):
    def __init__(self, num_slots: int, width: int, init_std: float = 0.02):
        super().__init__()
        self.table = nn.Embedding(num_slots, width)
        nn.init.normal_(self.table.weight, std=init_std)

    def forward(self, slot_N: torch.Tensor) -> torch.Tensor:
        return self.table(slot_N)


def value_embedding(
    kind: str,
    width: int,
    vocab_size: int = 0,
    code_depth: int = 1,
    latent_dim: int = 0,
    code_pixel_dim: int = 0,
) -> nn.Module:
    """An embedding of token values: kind "codes" (categorical head) or "latents"."""
    if kind == "codes":
        return CodeEmbedding(vocab_size, width, code_depth, pixel_dim=code_pixel_dim)
    if kind == "latents":
        return LatentEmbedding(latent_dim, width)
    raise ValueError(f"kind must be 'codes' or 'latents', got {kind!r}")
