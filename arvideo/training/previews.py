"""A callback that saves real-vs-model frame grids at validation (PNG + TensorBoard image).

It knows only the `preview(batch) -> Preview` method a module exposes (reconstructions for
the tokenizer, rollouts for the generator); nothing about either model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from PIL import Image


@dataclass
class Preview:
    real_BCTHW: torch.Tensor  # [-1, 1]
    fake_BCTHW: torch.Tensor  # [-1, 1], same shape


def to_uint8_frames(video_BCTHW: torch.Tensor) -> np.ndarray:
    """[-1, 1] float B×C×T×H×W -> uint8 B×T×H×W×C."""
    video = ((video_BCTHW.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return video.permute(0, 2, 3, 4, 1).cpu().numpy()


def frame_grid(rows: list[np.ndarray], gap: int = 2) -> np.ndarray:
    """Rows of frames (each T×H×W×C uint8) -> one H'×W'×C image, frames left to right."""
    count, height, width, channels = rows[0].shape
    grid = np.full(
        (len(rows) * (height + gap) - gap, count * (width + gap) - gap, channels),
        255,
        dtype=np.uint8,
    )
    for r, frames in enumerate(rows):
        for t, frame in enumerate(frames):
            top, left = r * (height + gap), t * (width + gap)
            grid[top : top + height, left : left + width] = frame
    return grid


def preview_grid(preview: Preview, max_clips: int = 4, max_frames: int = 8) -> np.ndarray:
    """Interleaved rows: real clip, model clip, real clip, model clip, ..."""
    real = to_uint8_frames(preview.real_BCTHW[:max_clips, :, :max_frames])
    fake = to_uint8_frames(preview.fake_BCTHW[:max_clips, :, :max_frames])
    rows = [row for pair in zip(real, fake) for row in pair]
    return frame_grid(rows)


class PreviewCallback(Callback):
    """Every validation epoch: `pl_module.preview(first val batch)` -> PNG and TensorBoard."""

    def __init__(self, max_clips: int = 4, max_frames: int = 8) -> None:
        self.max_clips = max_clips
        self.max_frames = max_frames
        self._batch = None

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, *_) -> None:
        if batch_idx == 0:
            self._batch = batch

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self._batch is None or trainer.sanity_checking or not hasattr(pl_module, "preview"):
            return
        with torch.no_grad():
            grid = preview_grid(pl_module.preview(self._batch), self.max_clips, self.max_frames)
        self._batch = None
        folder = Path(trainer.log_dir or trainer.default_root_dir) / "previews"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(grid).save(folder / f"step{trainer.global_step:07d}.png")
        for logger in trainer.loggers:
            experiment = getattr(logger, "experiment", None)
            if hasattr(experiment, "add_image"):
                experiment.add_image("preview", grid, trainer.global_step, dataformats="HWC")
