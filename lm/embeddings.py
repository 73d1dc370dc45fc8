"""Input embeddings of token values: codes (discrete) or latents (continuous), and slots.

* `CodeEmbedding`: one table per residual depth, summed (residual VQ codes B×N×depth, or
  plain codes B×N).
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
    def __init__(self, vocab_size: int, width: int, depth: int = 1, init_std: float = 0.02):
        super().__init__()
        if vocab_size < 1 or depth < 1:
            raise ValueError(f"vocab_size and depth must be >= 1, got {vocab_size}, {depth}")
        self.depth = depth
        self.tables = nn.ModuleList(nn.Embedding(vocab_size, width) for _ in range(depth))
        for table in self.tables:
            nn.init.normal_(table.weight, std=init_std)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """codes B×N (depth 1) or B×N×depth int64 -> B×N×D."""
        if self.depth == 1 and codes.dim() == 2:
            return self.tables[0](codes)
        if codes.shape[-1] != self.depth:
            raise ValueError(f"codes must end in depth {self.depth}, got {tuple(codes.shape)}")
        return sum(table(codes[..., d]) for d, table in enumerate(self.tables))


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
    kind: str, width: int, vocab_size: int = 0, code_depth: int = 1, latent_dim: int = 0
) -> nn.Module:
    """An embedding of token values: kind "codes" (categorical head) or "latents"."""
    if kind == "codes":
        return CodeEmbedding(vocab_size, width, code_depth)
    if kind == "latents":
        return LatentEmbedding(latent_dim, width)
    raise ValueError(f"kind must be 'codes' or 'latents', got {kind!r}")
