"""Classifier-free guidance scale schedules over the course of generation.

`cfg_schedule` maps the fraction of the output already generated (0 at the first step, 1 at
the last; a float, or a tensor such as fraction_BN, one value per position) to the guidance
scale handed to a head's `sample(..., cfg_scale=...)`:

* "constant": `scale` everywhere;
* "linear": a ramp from 1 (no guidance) at the start to `scale` at the end,
  1 + (scale - 1) * fraction, as in VAR (linear in the scale index) and MUSE (linear in
  the decoding step): weak guidance while the coarse structure is drawn, strong at the end.

It knows nothing about heads, orders or tokens: what "fraction" means (scale index, frame,
token position) is chosen by the order's sampling loop.
"""

from __future__ import annotations

from typing import Literal

import torch

ScheduleKind = Literal["constant", "linear"]


def cfg_schedule(
    kind: ScheduleKind, scale: float, fraction: float | torch.Tensor
) -> float | torch.Tensor:
    """The guidance scale at `fraction` in [0, 1] of the generation.

    "constant" (and any scale of 1) returns the float `scale` itself, which the heads treat as
    exact no-op guidance when it is 1; "linear" returns the type of `fraction`.
    """
    if kind not in ("constant", "linear"):
        raise ValueError(f"kind must be 'constant' or 'linear', got {kind!r}")
    if isinstance(fraction, torch.Tensor) and fraction.numel() > 0:
        low, high = float(fraction.min()), float(fraction.max())
    elif isinstance(fraction, torch.Tensor):
        low = high = 0.0
    else:
        low = high = float(fraction)
    if low < 0.0 or high > 1.0:
        raise ValueError(f"fraction must lie in [0, 1], got values in [{low}, {high}]")
    if kind == "constant" or scale == 1.0:
        return scale
    return 1.0 + (scale - 1.0) * fraction
