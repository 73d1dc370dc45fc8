"""A data set's own pixel statistics, for a tokenizer loss with no per-game constants.

The tokenizer's loss weighs foreground pixels (those that differ from the clip's median
background or the previous frame, or have a rare colour) and moving pixels (changed since
the previous frame) above the background. Fixed weights (50 and 500, tuned on Pong) give a
game whose objects cover ten times Pong's pixels ten times Pong's foreground share of the
loss. Here the weights follow from *shares* instead: the foreground and the moving pixels
each get a stated share of the total weight, and the weights that give those shares come
from how many such pixels the data set has (`derived_weights`).

`FrameStatistics` is measured once on training crops, with the loss's own masks, and stored
beside the data set (`frame_statistics.json`, keyed by the mask settings); later runs reload
it. Knows the clip reader and the loss's masks; nothing about models.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from arvideo.tokenizer.losses import TokenizerLossConfig, foreground_mask

STATISTICS_FILE = "frame_statistics.json"


@dataclass
class FrameStatistics:
    """Shares of pixels the loss's masks mark, over training crops of `crop_frames`."""

    crops: int  # crops measured
    crop_frames: int
    foreground_fraction: float  # pixels in the foreground mask (moving ones included)
    moving_fraction: float  # pixels in the motion mask (changed since the previous frame)
    mask_settings: dict  # the loss fields the masks were built with (the cache key)


@dataclass
class DerivedWeights:
    foreground_weight: float
    motion_weight: float
    error_weight: float

    def report(self, stats: FrameStatistics) -> str:
        return (
            f"loss weights from the data set: foreground {self.foreground_weight:.1f} "
            f"(foreground {stats.foreground_fraction:.2%} of pixels), motion "
            f"{self.motion_weight:.1f} (moving {stats.moving_fraction:.2%}), error "
            f"{self.error_weight:.1f}; measured on {stats.crops} crops of {stats.crop_frames} "
            "frames"
        )


def mask_settings(config: TokenizerLossConfig) -> dict:
    """The loss fields that decide which pixels the masks mark."""
    return {
        "foreground_references": list(config.foreground_references),
        "foreground_threshold": config.foreground_threshold,
        "foreground_dilation": config.foreground_dilation,
        "rare_colour_fraction": config.rare_colour_fraction,
    }


@torch.no_grad()
def measure_statistics(
    clips_BCTHW: torch.Tensor, crop_frames: int | None, config: TokenizerLossConfig
) -> FrameStatistics:
    """The loss's foreground and motion masks over every `crop_frames` crop of the clips
    (None: whole clips, as a data module without a crop length trains)."""
    B, C, T, H, W = clips_BCTHW.shape
    crop_frames = crop_frames or T
    if not 1 <= crop_frames <= T:
        raise ValueError(f"crop_frames={crop_frames} must be in [1, {T}] (the clips' frames)")
    usable = T - T % crop_frames
    crops = clips_BCTHW[:, :, :usable].unflatten(2, (-1, crop_frames)).transpose(1, 2)
    crops = crops.flatten(0, 1)  # (B·T/crop)×C×crop×H×W
    foreground = moving = 0.0
    for chunk in crops.split(64):
        foreground += foreground_mask(
            chunk, config.foreground_references, config.foreground_threshold,
            config.foreground_dilation, config.rare_colour_fraction,
        ).float().sum().item()  # fmt: skip
        moving += (
            foreground_mask(
                chunk, ("previous",), config.foreground_threshold, config.foreground_dilation
            )
            .float()
            .sum()
            .item()
        )
    pixels = crops.shape[0] * crop_frames * H * W
    return FrameStatistics(
        crops.shape[0], crop_frames, foreground / pixels, moving / pixels, mask_settings(config)
    )


def derived_weights(stats: FrameStatistics, config: TokenizerLossConfig) -> DerivedWeights:
    """Weights that give the foreground pixels `config.foreground_share` and the moving ones
    `config.motion_share` of the total pixel weight (the background the rest).

    With background b = 1 − f, still foreground f − m and moving m (fractions of pixels),
    the total weight is b / (1 − s_f − s_m), so w_fg = s_f·total / (f − m) and
    w_mv = s_m·total / m. The error weight keeps its ratio to the foreground weight.
    A data set with no foreground (or no motion) keeps weight 1 there."""
    f, m = stats.foreground_fraction, min(stats.moving_fraction, stats.foreground_fraction)
    s_f, s_m = config.foreground_share, config.motion_share
    total = (1.0 - f) / max(1.0 - s_f - s_m, 1e-6)
    foreground = max(1.0, s_f * total / (f - m)) if f - m > 1e-6 else 1.0
    motion = max(1.0, s_m * total / m) if m > 1e-6 else 1.0
    ratio = config.error_weight / max(config.foreground_weight, 1.0)
    return DerivedWeights(foreground, motion, max(1.0, ratio * foreground))


def dataset_statistics(
    data: str | Path, crop_frames: int | None, config: TokenizerLossConfig, clips: int = 256
) -> FrameStatistics:
    """The statistics stored beside `data` for these mask settings and crop length, or
    measured on up to `clips` training clips and stored (a data set is read-only to
    training otherwise: the file is the only thing written)."""
    path = Path(data) / STATISTICS_FILE
    stored = json.loads(path.read_text()) if path.is_file() else []
    from arvideo.training.tokenizer_runs import val_clips

    sample = None
    if crop_frames is None:  # whole clips: their length is the crop
        sample = val_clips(str(data), None, clips, "train")
        crop_frames = sample.shape[2]
    key = {**mask_settings(config), "crop_frames": crop_frames}
    for entry in stored:
        if {**entry["mask_settings"], "crop_frames": entry["crop_frames"]} == key:
            return FrameStatistics(**entry)
    if sample is None:
        sample = val_clips(str(data), None, clips, "train")
    stats = measure_statistics(sample, crop_frames, config)
    path.write_text(json.dumps([*stored, asdict(stats)], indent=2))
    return stats
