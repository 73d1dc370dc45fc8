"""Next-block order: all tokens of the next block predicted in parallel, block-causal attention.

A block is a contiguous run of tokens in raster (t, h, w) order: one latent frame by
default, a band of `block_rows` rows, or `block_frames` whole frames. Teacher forcing shifts
by one block: the input at slot j of block g is the embedding of slot j of block g-1 (for
frame blocks: input at (t, h, w) = token (t-1, h, w)); block 0 gets a learned start vector.

Optional within-block refinement (MaskGIT, arXiv 2202.04200; confidence-ordered): with
`refine=True` the input of block g also carries the block's own already-revealed tokens
(a separate reveal embedding) or a learned hidden vector. Training reveals a random
fraction r ~ U[0, 1) of each block (loss only on hidden slots), so one-shot (S=1, nothing
revealed) and S>1 steps are both in distribution. Sampling with S steps reveals a cosine
schedule of the most confident tokens, and commits the block to the KV cache with the
input of its last step. Context blocks are committed with nothing revealed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..change_gate import gate_changes, redraw_unsure_keeps
from ..sequence import TokenLayout
from .base import (
    Decoder,
    GenerationTrace,
    TeacherForcing,
    TokenOrder,
    ValueEmbeddingFactory,
)

if TYPE_CHECKING:
    from ..model_config import VideoLMConfig


class NextBlockOrder(TokenOrder):
    name = "next_block"

    @classmethod
    def from_config(
        cls, config: VideoLMConfig, value_embedding: ValueEmbeddingFactory
    ) -> NextBlockOrder:
        blocks = dict(
            block_rows=config.block_rows, block_frames=config.block_frames, refine=config.refine
        )
        return cls(config.grid[1:], config.width, value_embedding, **blocks, **config.order_options)

    def __init__(
        self,
        grid_hw: tuple[int, int],
        width: int,
        value_embedding: ValueEmbeddingFactory | None = None,
        block_rows: int | None = None,
        block_frames: int = 1,
        refine: bool = False,
    ):
        super().__init__()
        H, W = grid_hw
        self.grid_hw = (H, W)
        self.tokens_per_frame = H * W
        self.block_frames = block_frames
        self.block_tokens = self._block_tokens(H, W, block_rows, block_frames)
        self.refine = refine
        self.max_refine_steps = self.block_tokens if refine else 1
        self.streams = block_frames == 1  # blocks inside one frame
        self.stream_obstacle = f"its blocks span frames: block_frames={block_frames}"
        self.start = nn.Parameter(torch.randn(width) * 0.02)
        if refine:
            if value_embedding is None:
                raise ValueError("refine=True needs a value_embedding factory")
            self.reveal_embedding = value_embedding()
            self.hidden = nn.Parameter(torch.randn(width) * 0.02)

    @staticmethod
    def _block_tokens(H: int, W: int, block_rows: int | None, block_frames: int) -> int:
        if block_frames < 1:
            raise ValueError(f"block_frames must be >= 1, got {block_frames}")
        if block_rows is None:
            return block_frames * H * W
        if block_frames != 1 or not 0 < block_rows <= H or H % block_rows:
            raise ValueError(
                f"block_rows must divide the grid height {H} (with block_frames=1), "
                f"got block_rows={block_rows}, block_frames={block_frames}"
            )
        return block_rows * W

    # -- layout -----------------------------------------------------------------------------

    def layout(self, num_frames: int) -> TokenLayout:
        if num_frames < 1 or num_frames % self.block_frames:
            raise ValueError(
                f"num_frames must be a positive multiple of block_frames "
                f"({self.block_frames}), got {num_frames}"
            )
        H, W = self.grid_hw
        index = torch.arange(num_frames * H * W)
        t, slot = index // (H * W), index % (H * W)
        h, w = slot // W, slot % W
        positions = torch.stack([t, h, w, torch.zeros_like(t)], dim=1).float()
        group = index // self.block_tokens
        return TokenLayout(group, t, slot, positions, num_frames)

    def flatten(self, values: torch.Tensor) -> torch.Tensor:
        B, T, H, W = values.shape[:4]
        if (H, W) != self.grid_hw:
            raise ValueError(f"token grid must be {self.grid_hw}, got {(H, W)}")
        return values.reshape(B, T * H * W, *values.shape[4:])

    def unflatten(self, values: torch.Tensor, num_frames: int) -> torch.Tensor:
        return values.reshape(values.shape[0], num_frames, *self.grid_hw, *values.shape[2:])

    # -- training ---------------------------------------------------------------------------

    def shift(self, content_BND: torch.Tensor) -> torch.Tensor:
        """Input at block g = content of block g-1; block 0 = start."""
        B, _, D = content_BND.shape
        G = self.block_tokens
        start = self.start.to(content_BND.dtype).expand(B, G, D)
        return torch.cat([start, content_BND[:, :-G]], dim=1)

    def reveal_inputs(self, values: torch.Tensor, reveal_BN: torch.Tensor) -> torch.Tensor:
        own = self.reveal_embedding(values)
        return torch.where(reveal_BN[..., None], own, self.hidden.to(own.dtype))

    def random_reveal(self, B: int, N: int, generator: torch.Generator | None, device):
        """Per block a fraction r ~ U[0, 1); each slot revealed with probability r."""
        groups = N // self.block_tokens
        r_BG = torch.rand(B, groups, 1, generator=generator, device=device)
        u_BGn = torch.rand(B, groups, self.block_tokens, generator=generator, device=device)
        return (u_BGn < r_BG).reshape(B, N)

    def teacher_forcing(
        self,
        values: torch.Tensor,
        embed: Callable[[torch.Tensor], torch.Tensor],
        generator: torch.Generator | None = None,
        reveal_BN: torch.Tensor | None = None,
    ) -> TeacherForcing:
        content = embed(values)
        inputs = self.shift(content)
        if not self.refine:
            return TeacherForcing(inputs)
        B, N = content.shape[:2]
        if reveal_BN is None:
            reveal_BN = self.random_reveal(B, N, generator, content.device)
        inputs = inputs + self.reveal_inputs(values, reveal_BN)
        return TeacherForcing(inputs, weight_BN=(~reveal_BN).float(), reveal_BN=reveal_BN)

    # -- sampling ---------------------------------------------------------------------------

    def prefill(self, decoder: Decoder, context: torch.Tensor) -> GenerationTrace:
        """Context blocks in one forward, committed with nothing revealed."""
        inputs = self.shift(decoder.embed(context))
        reveal = None
        if self.refine:
            reveal = torch.zeros(context.shape[:2], dtype=torch.bool, device=inputs.device)
            inputs = inputs + self.reveal_inputs(context, reveal)
        z = decoder.run(inputs, 0, context.shape[1], commit=True).z_BND
        return GenerationTrace(context, z, 1, reveal)

    def generate_group(
        self,
        decoder: Decoder,
        previous: torch.Tensor | None,
        group: int,
        refine_steps: int,
        fraction: float,
    ) -> GenerationTrace:
        """One block in `refine_steps` forwards; the last commits it to the cache."""
        G, B, start = self.block_tokens, decoder.batch_size, group * self.block_tokens
        base = self.start.expand(B, G, -1) if previous is None else decoder.embed(previous[:, -G:])
        revealed = torch.zeros(B, G, dtype=torch.bool, device=base.device)
        values = None
        for step in range(refine_steps):
            last = step == refine_steps - 1
            inputs = base
            if self.refine and values is None:
                inputs = base + self.hidden.to(base.dtype)  # nothing revealed yet
            elif self.refine:
                inputs = base + self.reveal_inputs(values, revealed)
            out = decoder.run(inputs, start, start + G, commit=last)
            sampled = decoder.sample(out, fraction)
            values = sampled if values is None else _where(revealed, values, sampled)
            if not last:
                fraction_shown = 1 - math.cos(math.pi / 2 * (step + 1) / refine_steps)
                target = min(G - 1, math.ceil(G * fraction_shown))  # keep the last step real
                revealed = self._reveal_more(decoder, out, sampled, revealed, target)
        if previous is not None:
            values = self._gate(decoder, out, values, previous[:, -G:], fraction)
        return GenerationTrace(values, out.z_BND, refine_steps, revealed if self.refine else None)

    def _gate(self, decoder, out, values, before, fraction: float) -> torch.Tensor:
        """The keep gate, then the change gate (lm/change_gate.py), where set; `before` is
        the frame before's codes (frame blocks: slot j of the block before is the same cell)."""
        keep, change = decoder.settings.keep_threshold, decoder.settings.change_threshold
        if (keep or change) and (self.block_tokens != self.tokens_per_frame or self.refine):
            raise ValueError(
                "keep_threshold and change_threshold need frame blocks without refinement"
            )
        if keep:
            redrawn = decoder.sample(out, fraction, exclude=before)
            confidence = decoder.confidence(out, before)
            values = redraw_unsure_keeps(values, before, confidence, redrawn, keep)
        if change:
            values = gate_changes(values, before, decoder.confidence(out, values), change)
        return values

    def _reveal_more(self, decoder, out, sampled, revealed, target: int) -> torch.Tensor:
        """Reveal the most confident hidden slots until `target` per sample are revealed."""
        count = target - int(revealed[0].sum())
        if count <= 0:
            return revealed
        score = decoder.confidence(out, sampled).float().masked_fill(revealed, -math.inf)
        chosen = score.topk(count, dim=1).indices
        return revealed.scatter(1, chosen, True)


def _where(mask_Bn: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-slot choice between value tensors B×n(×...)."""
    mask = mask_Bn.reshape(*mask_Bn.shape, *([1] * (a.dim() - 2)))
    return torch.where(mask, a, b)
