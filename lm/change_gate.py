"""The change gate: a generated cell keeps the frame before's code unless the model is sure.

With `SamplingSettings.change_threshold` = p, a next-block model of codes samples each frame
as usual, then every cell whose new code differs from the code at the same position in the
frame before, and to which the model gives probability below p, takes the frame before's
code back. A video codec's skip block, decided by the model's own confidence: p 0 (or None)
is plain sampling, and p above every probability the model gives is copying the last frame.

Why: on a game where little moves per frame, a rollout that redraws a cell it is unsure of
(a stray shot or shield pixel, a sprite every other frame) loses more on the still frames
than it gains on the moving ones (benchmarks/results/capacity.md, "SpaceInvaders: where the
2 dB go"). Choose p on validation episodes (`arvideo bench sampling`), not by hand: too high
and the model stops drawing motion it predicts.

The probability is the head's for the sampled code, unfiltered (temperature 1, no top-k)
and without guidance. Applies to categorical heads under the next-block order with one frame
per block and no within-block refinement (`applies`): there a block is a frame, and slot j
of the frame before is the same cell.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from .heads import head_class

if TYPE_CHECKING:
    from .model_config import VideoLMConfig


def why_not(config: VideoLMConfig) -> str | None:
    """Why change_threshold does not apply to a model of this config (None: it does)."""
    if head_class(config.head).values != "codes":
        return f"head {config.head!r} predicts latents, not codes"
    if config.order != "next_block":
        return f"order {config.order!r} is not next_block"
    if config.block_rows is not None or config.block_frames != 1:
        return "its blocks are not single frames (block_rows / block_frames)"
    if config.refine:
        return "it refines within a block (refine=True)"
    return None


def gate_changes(
    values_Bn: torch.Tensor,
    before_Bn: torch.Tensor,
    log_probability_Bn: torch.Tensor,
    threshold: float,
) -> torch.Tensor:
    """`values_Bn` with every changed slot whose log-probability is below log(threshold)
    set back to `before_Bn` (the same slots of the frame before). Codes of several residual
    depths (B×n×depth) change as one, with their joint log-probability."""
    if threshold <= 0:
        return values_Bn
    changed = values_Bn != before_Bn
    if changed.dim() > 2:
        changed = changed.flatten(2).any(-1)
    back = changed & (log_probability_Bn < math.log(threshold))
    back = back.reshape(*back.shape, *([1] * (values_Bn.dim() - 2)))
    return torch.where(back, before_Bn, values_Bn)
