"""Metrics for generated video: per-frame PSNR/SSIM, foreground PSNR, Fréchet distance,
and (re-exported from arvideo.pong_objects) the Pong game-state error.

Videos are B×C×T×H×W in the layout of `VideoBatch.video`, either uint8 in [0, 255] or
floating point in [-1, 1] (the dtype says which; floats are clamped to [-1, 1], so a model's
overshoot counts as saturation). Both are mapped to [0, 1] before measuring, so PSNR is in dB
against a peak of 1 and the two dtypes give the same number for the same pixels. Per-frame
metrics return B×T float32. Knows nothing about models or data sets; `median_background` is
the one statistic of a data set it computes, from frames it is given.
"""

from __future__ import annotations

import torch
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from arvideo.pong_objects import ObjectHitRates, object_error

__all__ = [
    "ObjectHitRates",
    "foreground_mask",
    "foreground_psnr",
    "frechet_distance",
    "frechet_distance_from_moments",
    "median_background",
    "object_error",
    "psnr",
    "ssim",
    "frames_to_video",
    "video_to_frames",
]

# Default foreground test: a pixel differs from the background by more than half a uint8
# level in some channel (any real change, none of the float round-off).
FOREGROUND_THRESHOLD = 0.5 / 255


def to_unit_range(video: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] or float [-1, 1] -> float32 [0, 1]."""
    if video.dtype == torch.uint8:
        return video.float() / 255
    if not video.is_floating_point():
        raise ValueError(f"video must be uint8 or floating point, got {video.dtype}")
    return ((video.float() + 1) / 2).clamp(0, 1)


def _frames_unit(video_BCTHW: torch.Tensor, name: str) -> torch.Tensor:
    """B×C×T×H×W -> (B·T)×C×H×W in [0, 1]."""
    if video_BCTHW.ndim != 5:
        raise ValueError(f"{name} must be B×C×T×H×W, got shape {tuple(video_BCTHW.shape)}")
    B, C, T, H, W = video_BCTHW.shape
    frames = to_unit_range(video_BCTHW).permute(0, 2, 1, 3, 4)
    return frames.reshape(B * T, C, H, W)


def _pair(real_BCTHW: torch.Tensor, fake_BCTHW: torch.Tensor):
    if real_BCTHW.shape != fake_BCTHW.shape:
        raise ValueError(
            f"real and fake must have the same shape, got {tuple(real_BCTHW.shape)} and "
            f"{tuple(fake_BCTHW.shape)}"
        )
    return _frames_unit(real_BCTHW, "real"), _frames_unit(fake_BCTHW, "fake")


def psnr(real_BCTHW: torch.Tensor, fake_BCTHW: torch.Tensor) -> torch.Tensor:
    """Per-frame PSNR in dB (peak 1 after mapping to [0, 1]), B×T; identical frames give inf."""
    real, fake = _pair(real_BCTHW, fake_BCTHW)
    values = peak_signal_noise_ratio(fake, real, data_range=1.0, reduction="none", dim=(1, 2, 3))
    return values.reshape(real_BCTHW.shape[0], real_BCTHW.shape[2])


def ssim(real_BCTHW: torch.Tensor, fake_BCTHW: torch.Tensor) -> torch.Tensor:
    """Per-frame SSIM (Gaussian window 11, σ 1.5; frames at least 11×11), B×T."""
    real, fake = _pair(real_BCTHW, fake_BCTHW)
    values = structural_similarity_index_measure(fake, real, data_range=1.0, reduction="none")
    return values.reshape(real_BCTHW.shape[0], real_BCTHW.shape[2])


def median_background(video_BCTHW: torch.Tensor) -> torch.Tensor:
    """Per-pixel median over every frame of the clips: C×H×W, in the input's dtype and range.

    For an even number of frames the lower of the two middle values (an actual pixel value).
    """
    if video_BCTHW.ndim != 5:
        raise ValueError(f"video_BCTHW must be B×C×T×H×W, got shape {tuple(video_BCTHW.shape)}")
    B, C, T, H, W = video_BCTHW.shape
    frames = video_BCTHW.permute(0, 2, 1, 3, 4).reshape(B * T, C, H, W)
    return frames.median(dim=0).values


def foreground_psnr(
    real_BCTHW: torch.Tensor,
    fake_BCTHW: torch.Tensor,
    background_CHW: torch.Tensor,
    threshold: float = FOREGROUND_THRESHOLD,
) -> torch.Tensor:
    """PSNR over the pixels where the real frame differs from the background, B×T.

    A pixel is foreground when some channel of the real frame differs from `background_CHW`
    (same dtype convention as the videos) by more than `threshold` in [0, 1] units; its error
    counts over all channels. Frames without foreground give NaN (aggregate with nanmean);
    a perfect foreground gives inf. Static backgrounds otherwise dominate plain PSNR.
    """
    real, fake = _pair(real_BCTHW, fake_BCTHW)
    C, H, W = real.shape[1:]
    if background_CHW.shape != (C, H, W):
        raise ValueError(
            f"background_CHW must have shape {(C, H, W)}, got {tuple(background_CHW.shape)}"
        )
    mask_F1HW = _foreground_F1HW(real, background_CHW, threshold)
    pixels_F = mask_F1HW.sum(dim=(1, 2, 3)).float() * C
    squared_error_F = ((real - fake).square() * mask_F1HW).sum(dim=(1, 2, 3))
    mse_F = squared_error_F / pixels_F.clamp_min(1)
    values_F = -10 * torch.log10(mse_F)  # peak 1
    values_F = torch.where(pixels_F > 0, values_F, torch.full_like(values_F, float("nan")))
    return values_F.reshape(real_BCTHW.shape[0], real_BCTHW.shape[2])


def foreground_mask(
    video_BCTHW: torch.Tensor, background_CHW: torch.Tensor, threshold: float = FOREGROUND_THRESHOLD
) -> torch.Tensor:
    """B×T×H×W bool: the pixels `foreground_psnr` scores (some channel differs from
    `background_CHW` by more than `threshold` in [0, 1] units)."""
    B, _, T, H, W = video_BCTHW.shape
    frames = _frames_unit(video_BCTHW, "video_BCTHW")
    return _foreground_F1HW(frames, background_CHW, threshold).view(B, T, H, W)


def _foreground_F1HW(
    frames_FCHW: torch.Tensor, background_CHW: torch.Tensor, threshold: float
) -> torch.Tensor:
    background = to_unit_range(background_CHW).to(frames_FCHW.device)
    return ((frames_FCHW - background).abs() > threshold).any(dim=1, keepdim=True)


def frechet_distance_from_moments(
    mean_a: torch.Tensor, cov_a: torch.Tensor, mean_b: torch.Tensor, cov_b: torch.Tensor
) -> float:
    """‖μa - μb‖² + tr(Σa + Σb - 2 (Σa^½ Σb Σa^½)^½), in float64.

    The cross term uses the symmetric form, whose square root an eigen-decomposition gives
    exactly (it has the trace of (Σa Σb)^½); tiny negative eigenvalues from round-off are
    clipped to 0.
    """
    mean_a, mean_b = mean_a.double(), mean_b.double()
    cov_a, cov_b = cov_a.double(), cov_b.double()
    sqrt_a = _sqrt_psd(cov_a)
    cross = sqrt_a @ cov_b @ sqrt_a
    cross_eigenvalues = torch.linalg.eigvalsh((cross + cross.T) / 2).clamp_min(0)
    trace = torch.trace(cov_a) + torch.trace(cov_b) - 2 * cross_eigenvalues.sqrt().sum()
    return float((mean_a - mean_b).square().sum() + trace)


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    eigenvalues, eigenvectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return eigenvectors @ torch.diag(eigenvalues.clamp_min(0).sqrt()) @ eigenvectors.T


def frechet_distance(feats_a: torch.Tensor, feats_b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N×F and M×F)."""
    for name, feats in (("feats_a", feats_a), ("feats_b", feats_b)):
        if feats.ndim != 2 or feats.shape[0] < 2:
            raise ValueError(f"{name} must be N×F with N >= 2, got shape {tuple(feats.shape)}")
    if feats_a.shape[1] != feats_b.shape[1]:
        raise ValueError(
            f"feats_a and feats_b must share the feature width, got {feats_a.shape[1]} and "
            f"{feats_b.shape[1]}"
        )
    a, b = feats_a.double(), feats_b.double()
    cov_a, cov_b = torch.atleast_2d(torch.cov(a.T)), torch.atleast_2d(torch.cov(b.T))
    return frechet_distance_from_moments(a.mean(0), cov_a, b.mean(0), cov_b)


def video_to_frames(video_BCTHW: torch.Tensor) -> torch.Tensor:
    """B×C×T×H×W (uint8 or float [-1, 1]) -> B×T×H×W×C uint8, e.g. for `object_error`."""
    frames = _frames_unit(video_BCTHW, "video_BCTHW")
    B, _, T = video_BCTHW.shape[:3]
    frames = (frames * 255).round().to(torch.uint8).permute(0, 2, 3, 1)
    return frames.reshape(B, T, *frames.shape[1:])


def frames_to_video(frames_THWC: torch.Tensor) -> torch.Tensor:
    """A clip sample's T×H×W×C uint8 frames -> 1×C×T×H×W uint8."""
    frames_THWC = torch.as_tensor(frames_THWC)
    if frames_THWC.ndim != 4:
        raise ValueError(f"frames_THWC must be T×H×W×C, got shape {tuple(frames_THWC.shape)}")
    return frames_THWC.permute(3, 0, 1, 2)[None]
