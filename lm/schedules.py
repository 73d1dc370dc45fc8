"""Schedule matrices for frame denoising (Diffusion Forcing, arXiv 2407.01392, sec. 3.3).

A schedule is a (M + 1) × T matrix of noise levels in [0, 1] (1 = pure noise, 0 = data):
row m holds the level of every frame after m sampling rows, row 0 the start, row M all
zeros. Every column is non-increasing; the sampler (schedule_sampler.py) integrates each
frame from its level in row m to its level in row m + 1. Context frames are 0 throughout.

All four shipped schedules are one *staggered* form: generated frame k starts denoising
after d_k rows and then takes `steps` uniform rows from 1 to 0. Autoregressive: d_k =
k·steps (one frame after another); full-sequence: d_k = 0 (all frames together); pyramid:
d_k = k·uncertainty (later frames stay noisier, DF's "uncertainty" stagger); trapezoid:
d_k = min(k, G-1-k)·uncertainty (both ends first, the middle last). This module knows
nothing of models or solvers.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = [
    "SCHEDULES",
    "autoregressive",
    "full_sequence",
    "pyramid",
    "trapezoid",
    "schedule_matrix",
]


def staggered(frames: int, context: int, steps: int, delays: list[int]) -> torch.Tensor:
    """(M + 1) × frames levels: context columns 0, generated frame k = (1 - (m - d_k)/steps)
    clipped to [0, 1], with M = steps + max(d_k)."""
    generated = frames - context
    if steps < 1 or not 0 <= context < frames or len(delays) != generated:
        raise ValueError(
            f"need steps >= 1, 0 <= context < frames and one delay per generated frame; got "
            f"steps={steps}, context={context}, frames={frames}, {len(delays)} delays"
        )
    if min(delays) < 0:
        raise ValueError(f"delays must be >= 0, got {delays}")
    rows = steps + max(delays)
    m_R1 = torch.arange(rows + 1, dtype=torch.float64)[:, None]
    d_1G = torch.tensor(delays, dtype=torch.float64)[None, :]
    levels_RG = ((steps + d_1G - m_R1) / steps).clamp(0.0, 1.0)
    levels_RT = torch.zeros(rows + 1, frames, dtype=torch.float64)
    levels_RT[:, context:] = levels_RG
    return levels_RT.float()


def autoregressive(frames: int, context: int, steps: int, uncertainty: int = 0) -> torch.Tensor:
    """One frame after another, `steps` rows each (the stagger equals `steps`)."""
    return staggered(frames, context, steps, [k * steps for k in range(frames - context)])


def full_sequence(frames: int, context: int, steps: int, uncertainty: int = 0) -> torch.Tensor:
    """Every generated frame at the same level (full-sequence flow matching)."""
    return staggered(frames, context, steps, [0] * (frames - context))


def pyramid(frames: int, context: int, steps: int, uncertainty: int = 1) -> torch.Tensor:
    """Frame k starts `uncertainty` rows after frame k - 1: later frames noisier."""
    return staggered(frames, context, steps, [k * uncertainty for k in range(frames - context)])


def trapezoid(frames: int, context: int, steps: int, uncertainty: int = 1) -> torch.Tensor:
    """Both ends of the generated run first, `uncertainty` rows later per frame inwards."""
    G = frames - context
    return staggered(frames, context, steps, [min(k, G - 1 - k) * uncertainty for k in range(G)])


ScheduleFn = Callable[[int, int, int, int], torch.Tensor]
SCHEDULES: dict[str, ScheduleFn] = {
    "autoregressive": autoregressive,
    "full_sequence": full_sequence,
    "pyramid": pyramid,
    "trapezoid": trapezoid,
}


def schedule_matrix(
    kind: str, frames: int, context: int, steps: int, uncertainty: int = 1
) -> torch.Tensor:
    """The schedule named `kind` (a key of SCHEDULES)."""
    if kind not in SCHEDULES:
        raise ValueError(f"schedule must be one of {sorted(SCHEDULES)}, got {kind!r}")
    return SCHEDULES[kind](frames, context, steps, uncertainty)
