"""Next-token order: raster (t, h, w), one token per step (GPT / LlamaGen / IRIS style).

Exactly next-block with blocks of one token and no refinement: group = token index, the
input at token i is the embedding of token i-1 (a learned start vector at token 0), placed
at the position of token i, so the mask is plain causal. Context frames are fed at once;
the sampler then fills one token per transformer call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import ValueEmbeddingFactory
from .next_block import NextBlockOrder

if TYPE_CHECKING:
    from ..model_config import VideoLMConfig


class NextTokenOrder(NextBlockOrder):
    name = "next_token"

    @classmethod
    def from_config(
        cls, config: VideoLMConfig, value_embedding: ValueEmbeddingFactory
    ) -> NextTokenOrder:
        return cls(config.grid[1:], config.width, value_embedding, **config.order_options)

    def __init__(
        self,
        grid_hw: tuple[int, int],
        width: int,
        value_embedding: ValueEmbeddingFactory | None = None,
    ):
        super().__init__(grid_hw, width, value_embedding, block_rows=None, refine=False)
        self.block_tokens = 1  # group = token index: block-causal becomes causal
