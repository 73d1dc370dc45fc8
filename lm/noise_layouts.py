"""Noise layouts for training the frame denoisers: which noise level each frame gets.

* `shared`: one level per clip (full-sequence flow matching, MovieGen / HunyuanVideo); with
  `clean_context` a random number of leading frames (0 to T-1) stay clean and out of the
  loss, as the context frames of video prediction are when sampling (without it, a model
  only ever saw clean frames beside noisy ones at sampling time);
* `next_frame`: one noisy frame per clip, anywhere in it, after a clean history
  (next-frame diffusion, arXiv 2506.01380); with `history_noise` > 0 history frames get a
  level ~ U(0, history_noise) (against drift, as history corruption does for codes). The loss
  counts the noisy frame only; frames after it are outside its block-causal view. Drawing
  its place uniformly trains every history length sampling meets, from none (the first
  frame from a caption) to the clip's: always the last frame left the first frames of a
  generation out of distribution (a caption-only flow model scored chance on every factor);
* `per_frame`: an independent level per frame (Diffusion Forcing, arXiv 2407.01392).

Levels are drawn by `time_sampling`: "uniform" t ~ U(0, 1), or "logit_normal" t =
sigmoid(n), n ~ N(0, 1) (SD3's setting, shared with the diffusion head). Knows nothing of
models or tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch

from .heads.diffusion import LOGIT_NORMAL_MEAN, LOGIT_NORMAL_STD, TimeSampling

NoiseLayout = Literal["shared", "next_frame", "per_frame"]


@dataclass
class FrameLevels:
    t_BT: torch.Tensor  # noise level of every frame, in [0, 1)
    weight_BT: torch.Tensor | None  # frames that count in the loss; None = all


def check_noise_layout(layout: str, time_sampling: str, history_noise: float) -> None:
    if layout not in get_args(NoiseLayout):
        raise ValueError(f"noise_layout must be one of {get_args(NoiseLayout)}, got {layout!r}")
    if time_sampling not in get_args(TimeSampling):
        raise ValueError(
            f"time_sampling must be one of {get_args(TimeSampling)}, got {time_sampling!r}"
        )
    if not 0 <= history_noise < 1:
        raise ValueError(f"history_noise must be in [0, 1), got {history_noise}")


def draw_times(shape: tuple[int, ...], time_sampling: str, generator, device) -> torch.Tensor:
    if time_sampling == "uniform":
        return torch.rand(shape, generator=generator, device=device)
    n = torch.randn(shape, generator=generator, device=device)
    return torch.sigmoid(LOGIT_NORMAL_MEAN + LOGIT_NORMAL_STD * n)


def history_levels(
    batch: int, frames: int, history_noise: float, generator, device
) -> torch.Tensor:
    """B×T levels ~ U(0, history_noise) of clean history frames (0 when it is 0)."""
    return history_noise * torch.rand(batch, frames, generator=generator, device=device)


def frame_levels(
    layout: NoiseLayout,
    batch: int,
    frames: int,
    time_sampling: str,
    generator: torch.Generator | None,
    device: torch.device | str,
    history_noise: float = 0.0,
    clean_context: bool = False,
) -> FrameLevels:
    """Training levels B×T for one batch under `layout`."""
    if layout == "shared":
        t_B1 = draw_times((batch, 1), time_sampling, generator, device)
        if not clean_context:
            return FrameLevels(t_B1.expand(batch, frames).contiguous(), None)
        context_B1 = torch.randint(0, frames, (batch, 1), generator=generator, device=device)
        clean_BT = torch.arange(frames, device=device)[None] < context_B1
        t_BT = torch.where(clean_BT, torch.zeros_like(t_B1), t_B1.expand(batch, frames))
        return FrameLevels(t_BT, (~clean_BT).float())
    if layout == "per_frame":
        return FrameLevels(draw_times((batch, frames), time_sampling, generator, device), None)
    t_BT = history_levels(batch, frames, history_noise, generator, device)
    noisy_B = torch.randint(0, frames, (batch, 1), generator=generator, device=device)
    noisy_BT = torch.arange(frames, device=device)[None] == noisy_B
    t_B1 = draw_times((batch, 1), time_sampling, generator, device)
    t_BT = torch.where(noisy_BT, t_B1.expand(batch, frames), t_BT)
    return FrameLevels(t_BT, noisy_BT.float())
