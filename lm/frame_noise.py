"""The noise of frame-denoising sampling, drawn frame by frame in one fixed order.

Whole-clip sampling (every frame laid out at once) and a stream (one frame at a time, with a
KV cache) must draw the same numbers from the same generator, so both draw per frame, in
time order: a generated frame's start noise (t = 1, scaled by the temperature), then, when
`stabilization` > 0, the fixed noise the frame is shown with once it is done (context
frames draw only the latter). Knows nothing of models or schedules.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .heads.base import SamplingSettings


@dataclass
class FrameNoise:
    start_BnC: torch.Tensor | None  # where a generated frame starts (t = 1); None: context
    history_BnC: torch.Tensor | None  # shown with it at the stabilization level; None: off


def draw_frame_noise(
    shape_BnC: tuple[int, int, int],
    settings: SamplingSettings,
    generated: bool,
    generator: torch.Generator | None,
    device: torch.device | str,
) -> FrameNoise:
    """The draws of one frame (B×n×C, n its tokens), in the fixed order above."""
    start = history = None
    if generated:
        start = settings.temperature * torch.randn(shape_BnC, generator=generator, device=device)
    if settings.stabilization > 0:
        history = torch.randn(shape_BnC, generator=generator, device=device)
    return FrameNoise(start, history)


def cat_history(parts: list[FrameNoise]) -> torch.Tensor | None:
    """The history noise of consecutive frames along the tokens (None when off)."""
    if not parts or parts[0].history_BnC is None:
        return None
    return torch.cat([part.history_BnC for part in parts], dim=1)
