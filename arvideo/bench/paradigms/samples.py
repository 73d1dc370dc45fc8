"""Sample GIFs of the paradigm benchmark: the same held-out context continued by every
paradigm, each beside the truth, for the compare page of `arvideo serve --results`
(which shows every GIF of the results folder side by side) and for a look by eye.

`<out>/samples/<order>_<head>.gif`: for the first few evaluation windows, truth | rollout
(context frames included, then the paradigm's frames with the true actions, seed 0).
"""

from __future__ import annotations

from pathlib import Path

import torch

from arvideo.generate import side_by_side
from arvideo.metrics import video_to_frames
from arvideo.video_io import write_video

SAMPLE_WINDOWS = 4


def save_sample(
    folder: Path, name: str, window_BCTHW: torch.Tensor, rollout_BCTHW: torch.Tensor,
    windows: int = SAMPLE_WINDOWS, fps: float = 8.0,
) -> Path:  # fmt: skip
    """`folder/<name>.gif`: per window (the first `windows`), the whole real window beside
    its context followed by `rollout_BCTHW` (the generated frames after the context)."""
    k = min(windows, window_BCTHW.shape[0])
    truth = window_BCTHW[:k]
    context = truth[:, :, : truth.shape[2] - rollout_BCTHW.shape[2]]
    generated = torch.cat([context, rollout_BCTHW[:k].to(context.dtype)], dim=2)
    frames = side_by_side(video_to_frames(generated).numpy(), video_to_frames(truth).numpy())
    folder.mkdir(parents=True, exist_ok=True)
    return write_video(folder / f"{name}.gif", frames, fps)
