"""The tokenizer -> LM bridge: the VideoLMConfig fields a tokenizer fixes.

One function for every place that builds a generator on a tokenizer's values (the trainer,
the model folder check, the benchmarks): vocabulary, code depth, latent width, latent grid
and, for an order that reads them (next_scale on codes), the tokenizer's scales and
refiners. Knows the tokenizer's constants and the order registry; knows nothing about
data sets, training or files. `code_pixels` reads each code's decoded patch, for a generator
that embeds codes by their pixels (`lm.code_pixels`).
"""

from __future__ import annotations

from typing import Literal

import torch

from arvideo.lm.orders import order_class
from arvideo.tokenizer import VideoTokenizer


def lm_fields(
    tokenizer: VideoTokenizer,
    values: Literal["codes", "latents"],
    grid: tuple[int, int, int],
    order: str | None = None,
    order_options: dict | None = None,
    code_pixels: bool = False,
) -> dict:
    """VideoLMConfig fields for a generator on `tokenizer`'s `values` over a latent `grid`
    T×H×W. With `order`, also `order_options` (the given ones, completed by the tokenizer's
    when the order needs them, e.g. next_scale codes: scales, code size, refiners), and
    `code_pixel_dim`: the values of one code's decoded patch with `code_pixels`, else 0."""
    fields = {
        "vocab_size": max(tokenizer.vocab_size, 1),  # 1: a continuous tokenizer has none
        "code_depth": tokenizer.code_depth,
        "latent_dim": tokenizer.latent_dim if values == "latents" else 0,
        "grid": tuple(grid),
    }
    if order is not None and order_class(order).needs_tokenizer_scales(values):
        options = order_class(order).tokenizer_options(tokenizer)
        fields["order_options"] = {**(order_options or {}), **options}
    cell = tokenizer.config.spatial_compression
    fields["code_pixel_dim"] = tokenizer.config.in_channels * cell * cell if code_pixels else 0
    return fields


@torch.no_grad()
def code_pixels(
    tokenizer: VideoTokenizer, grid_hw: tuple[int, int], batch: int = 64
) -> torch.Tensor:
    """Each code's decoded pixels, vocab × (channels·cell·cell) in [-1, 1]: the centre cell of
    a one-frame `grid_hw` grid filled with that code. The centre, because a decoder's view
    may reach the neighbours and the frame's border pads differently."""
    if tokenizer.is_continuous or tokenizer.code_depth != 1:
        raise TypeError("code_pixels needs a tokenizer of plain codes (vq, fsq, lfq)")
    H, W = grid_hw
    cell, row, col = tokenizer.config.spatial_compression, H // 2, W // 2
    device = next(tokenizer.parameters()).device
    patches = []
    for first in range(0, tokenizer.vocab_size, batch):
        codes_K = torch.arange(first, min(first + batch, tokenizer.vocab_size), device=device)
        grid_K1HW = codes_K.view(-1, 1, 1, 1).expand(-1, 1, H, W)
        frames_KCTHW = tokenizer.decode_codes(grid_K1HW).clamp(-1, 1)
        patch = frames_KCTHW[:, :, 0, row * cell : (row + 1) * cell, col * cell : (col + 1) * cell]
        patches.append(patch.reshape(len(codes_K), -1).float().cpu())
    return torch.cat(patches)
