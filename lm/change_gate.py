"""Two gates on a cell's change from the frame before: the change gate and its mirror, the
keep gate.

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
per block and no within-block refinement (`why_not`): there a block is a frame, and slot j
of the frame before is the same cell.

The keep gate (`SamplingSettings.keep_threshold` = q) is the mirror: a cell that drew the
frame before's code, to which the model gives probability below q, draws again among its
other codes (greedy: the likeliest of them). So a cell changes when the model puts more than
1 - q on a change in all, even where that mass is split over several codes and one code for
"as before" is the single likeliest: a Pong ball whose next position spreads over a few codes
of its cell is otherwise dropped by greedy decoding and the rollout loses it. q 0 (or None)
is plain sampling; choose q on validation. It needs codes of depth 1 (`why_not_keep`). With
both set, the keep gate runs first and the change gate may send its new code back.
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


def why_not_keep(config: VideoLMConfig) -> str | None:
    """Why keep_threshold does not apply to a model of this config (None: it does)."""
    reason = why_not(config)
    if reason is None and config.code_depth != 1:
        return f"its codes have {config.code_depth} residual depths (the gate needs 1)"
    return reason


def redraw_unsure_keeps(
    values_Bn: torch.Tensor,
    before_Bn: torch.Tensor,
    log_probability_before_Bn: torch.Tensor,
    redrawn_Bn: torch.Tensor,
    threshold: float,
) -> torch.Tensor:
    """`values_Bn` with every slot that holds the frame before's code, to which the model
    gives a log-probability below log(threshold), set to `redrawn_Bn` (a draw of the same
    slot among its other codes)."""
    if threshold <= 0:
        return values_Bn
    unsure = (values_Bn == before_Bn) & (log_probability_before_Bn < math.log(threshold))
    return torch.where(unsure, redrawn_Bn, values_Bn)
