"""The tokenizer -> LM bridge: the VideoLMConfig fields a tokenizer fixes.

One function for every place that builds a generator on a tokenizer's values (the trainer,
the model folder check, the benchmarks): vocabulary, code depth, latent width, latent grid
and, for an order that reads them (next_scale on codes), the tokenizer's scales and
refiners. Knows the tokenizer's constants and the order registry; knows nothing about
data sets, training or files.
"""

from __future__ import annotations

from typing import Literal

from arvideo.lm.orders import order_class
from arvideo.tokenizer import VideoTokenizer


def lm_fields(
    tokenizer: VideoTokenizer,
    values: Literal["codes", "latents"],
    grid: tuple[int, int, int],
    order: str | None = None,
    order_options: dict | None = None,
) -> dict:
    """VideoLMConfig fields for a generator on `tokenizer`'s `values` over a latent `grid`
    T×H×W. With `order`, also `order_options` (the given ones, completed by the tokenizer's
    when the order needs them, e.g. next_scale codes: scales, code size, refiners)."""
    fields = {
        "vocab_size": max(tokenizer.vocab_size, 1),  # 1: a continuous tokenizer has none
        "code_depth": tokenizer.code_depth,
        "latent_dim": tokenizer.latent_dim if values == "latents" else 0,
        "grid": tuple(grid),
    }
    if order is not None and order_class(order).needs_tokenizer_scales(values):
        options = order_class(order).tokenizer_options(tokenizer)
        fields["order_options"] = {**(order_options or {}), **options}
    return fields
