"""Training losses of the tokenizer: weighted L1 + L2 reconstruction, the quantizer's own
loss, and an optional patch-GAN term with VQGAN's adaptive weight.

Small moving objects matter more than their pixel count: on Atari games the static
background is ~95% of the pixels, and a plain autoencoder reaches a good PSNR while drawing
no ball. `pixel_weights` multiplies by `foreground_weight` every pixel that differs from the
clip's static background (its per-pixel temporal median), from the previous frame, or whose
colour is rare in the clip ("rare": also marks objects that stand still, such as a waiting
paddle, and works on single frames, where the other two see nothing; large static structure
such as borders stays background because its colour is common).
No loss needs downloaded weights. This module knows nothing about optimisers or logging.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from .discriminator import PatchDiscriminator
from .model import Reconstruction

ForegroundReference = Literal["median", "previous", "rare"]
FOREGROUND_REFERENCES = ("median", "previous", "rare")


@dataclass
class TokenizerLossConfig:
    l1_weight: float = 1.0
    l2_weight: float = 1.0
    quantizer_weight: float = 1.0
    foreground_weight: float = 20.0  # weight of moving pixels relative to background (1 = off)
    # Weight of pixels that changed since the previous frame (where an object is and was),
    # when above foreground_weight: fast small objects (a Pong ball) get more than still ones.
    motion_weight: float = 1.0
    # Weight of pixels the reconstruction gets wrong by more than foreground_threshold, when
    # above the others: a ghost object drawn on background costs as much as a missed one.
    error_weight: float = 1.0
    foreground_threshold: float = 0.1  # max |channel difference| (video in [-1, 1]) = moving
    foreground_references: tuple[ForegroundReference, ...] = ("median", "previous")
    foreground_dilation: int = 1  # grow the mask by this many pixels: object edges count too
    rare_colour_fraction: float = 0.02  # "rare": colours covering less than this of the clip
    # "fixed": the weights above; "data": foreground_weight, motion_weight and error_weight
    # derived at the start of training from the data set's own pixel statistics, so that
    # foreground and moving pixels get these shares of the total weight (arvideo/data/
    # frame_statistics.py); the default shares are what the fixed Pong weights 50/500 give
    # on Pong's training crops (5.4% foreground, 2.2% moving pixels)
    weights: Literal["fixed", "data"] = "fixed"
    foreground_share: float = 0.12
    motion_share: float = 0.81
    gan_weight: float = 0.0  # 0 disables the discriminator term
    gan_start_step: int = 2000  # the generator sees the GAN term from this step on
    adaptive_weight_max: float = 1e4

    def __post_init__(self) -> None:
        self.foreground_references = tuple(self.foreground_references)
        for reference in self.foreground_references:
            if reference not in FOREGROUND_REFERENCES:
                raise ValueError(
                    f"foreground_references has {reference!r}; expected {FOREGROUND_REFERENCES}"
                )
        if self.weights not in ("fixed", "data"):
            raise ValueError(f"weights={self.weights!r}: use 'fixed' or 'data'")
        if not (0 <= self.foreground_share and 0 <= self.motion_share
                and self.foreground_share + self.motion_share < 1):  # fmt: skip
            raise ValueError(
                f"foreground_share={self.foreground_share} and motion_share="
                f"{self.motion_share} must be >= 0 and leave the background a share (sum < 1)"
            )
        if not 0 < self.rare_colour_fraction <= 1:
            raise ValueError(f"rare_colour_fraction={self.rare_colour_fraction} must be in (0, 1]")
        for name in ("foreground_weight", "motion_weight", "error_weight"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 1")


@dataclass
class LossOutput:
    loss: torch.Tensor  # scalar
    metrics: dict[str, torch.Tensor] = field(default_factory=dict)  # detached


def foreground_mask(
    video_BCTHW: torch.Tensor,
    references: tuple[ForegroundReference, ...] = ("median", "previous"),
    threshold: float = 0.1,
    dilation: int = 1,
    rare_fraction: float = 0.02,
) -> torch.Tensor:
    """Bool B×1×T×H×W: pixels that differ from the static background or the last frame, or
    whose colour covers less than `rare_fraction` of the clip (whichever `references` name).

    With only "median" and "previous", a single image (T=1) has no motion: all False.
    """
    video = video_BCTHW.detach().float()
    moving = torch.zeros_like(video[:, :1], dtype=torch.bool)
    if "median" in references:
        background = temporal_median(video)
        moving |= (video - background).abs().amax(1, keepdim=True) > threshold
    if "previous" in references and video.shape[2] > 1:
        change = (video[:, :, 1:] - video[:, :, :-1]).abs().amax(1, keepdim=True) > threshold
        moving[:, :, 1:] |= change
        moving[:, :, :-1] |= change  # where the object was, too
    if "rare" in references:
        moving |= rare_colours(video, rare_fraction)
    if dilation > 0:
        size = 2 * dilation + 1
        moving = F.max_pool3d(moving.float(), (1, size, size), 1, (0, dilation, dilation)) > 0
    return moving


def temporal_median(video_BCTHW: torch.Tensor) -> torch.Tensor:
    """B×C×1×H×W: `median` over frames (the lower one for an even count). Clips of up to 3
    frames (the tokenizers' training crops) take min/max closed forms: torch.median over a
    3-long dimension cost 3.5 ms a 8×3×3×64×64 batch on one CPU thread, these 0.07 ms."""
    frames = video_BCTHW.unbind(2)
    if len(frames) == 1:
        return video_BCTHW
    if len(frames) == 2:
        return torch.minimum(*frames).unsqueeze(2)
    if len(frames) == 3:
        a, b, c = frames
        middle = torch.maximum(torch.minimum(a, b), torch.minimum(torch.maximum(a, b), c))
        return middle.unsqueeze(2)
    return video_BCTHW.median(dim=2, keepdim=True).values


def rare_colours(video_BCTHW: torch.Tensor, fraction: float) -> torch.Tensor:
    """Bool B×1×T×H×W: pixels whose colour (8-bit bins) covers < `fraction` of their clip."""
    batch, channels, frames, height, width = video_BCTHW.shape
    if channels > 7:
        raise ValueError(f"rare_colours packs <= 7 channels into int64, got {channels}")
    levels_BCN = ((video_BCTHW.reshape(batch, channels, -1).clamp(-1, 1) + 1) * 127.5).round()
    shifts_C1 = 256 ** torch.arange(channels, device=video_BCTHW.device).view(-1, 1)
    keys_BN = (levels_BCN.long() * shifts_C1).sum(1)
    rare_BN = torch.empty_like(keys_BN, dtype=torch.bool)
    for index, keys_N in enumerate(keys_BN):
        _, inverse_N, counts = keys_N.unique(return_inverse=True, return_counts=True)
        rare_BN[index] = counts[inverse_N] < fraction * keys_N.numel()
    return rare_BN.view(batch, 1, frames, height, width)


def pixel_weights(video_BCTHW: torch.Tensor, config: TokenizerLossConfig) -> torch.Tensor:
    """B×1×T×H×W weights: 1 on background, `foreground_weight` on foreground pixels and
    `motion_weight` (where larger) on pixels that changed since the previous frame."""
    mask = foreground_mask(
        video_BCTHW,
        config.foreground_references,
        config.foreground_threshold,
        config.foreground_dilation,
        config.rare_colour_fraction,
    )
    weights = 1.0 + (config.foreground_weight - 1.0) * mask.float()
    if config.motion_weight > config.foreground_weight:
        moving = foreground_mask(
            video_BCTHW, ("previous",), config.foreground_threshold, config.foreground_dilation
        )
        weights = torch.where(moving, config.motion_weight, weights)
    return weights


def weighted_reconstruction_loss(
    video_BCTHW: torch.Tensor, recon_BCTHW: torch.Tensor, config: TokenizerLossConfig
) -> LossOutput:
    """Weighted mean (sum w·err / sum w) of L1 and L2 over pixels; plain means as metrics."""
    weights = weights_before_errors = pixel_weights(video_BCTHW, config)
    error = recon_BCTHW.float() - video_BCTHW.float()
    if config.error_weight > 1:
        wrong = error.detach().abs().amax(1, keepdim=True) > config.foreground_threshold
        weights = torch.where(wrong, weights.clamp(min=config.error_weight), weights)
    norm = weights.sum() * video_BCTHW.shape[1]
    l1 = (weights * error.abs()).sum() / norm
    l2 = (weights * error.pow(2)).sum() / norm
    metrics = {
        "l1": error.abs().mean().detach(),
        "mse": error.pow(2).mean().detach(),
        "foreground_fraction": (weights > 1).float().mean(),
    }
    foreground = foreground_psnr(error.detach(), weights_before_errors > 1)
    if foreground is not None:  # a batch without foreground has no such PSNR
        metrics["foreground_psnr"] = foreground
    return LossOutput(config.l1_weight * l1 + config.l2_weight * l2, metrics)


def foreground_psnr(error_BCTHW: torch.Tensor, mask_B1THW: torch.Tensor) -> torch.Tensor | None:
    """PSNR (dB, values in [-1, 1]) over the masked pixels: with the loss's foreground mask,
    what the weighting aims at (the rollout scores use a data-set background instead);
    None when the mask is empty."""
    count = mask_B1THW.sum() * error_BCTHW.shape[1]
    if not count:
        return None
    mse = (error_BCTHW.pow(2) * mask_B1THW).sum() / count
    return 10 * torch.log10(4.0 / mse.clamp_min(1e-10))


def adaptive_gan_weight(
    reconstruction_loss: torch.Tensor,
    gan_loss: torch.Tensor,
    last_layer_weight: torch.Tensor,
    max_weight: float,
) -> torch.Tensor:
    """VQGAN: |grad rec| / |grad gan| at the decoder's last layer, detached and clamped."""
    rec_grad = torch.autograd.grad(reconstruction_loss, last_layer_weight, retain_graph=True)[0]
    gan_grad = torch.autograd.grad(gan_loss, last_layer_weight, retain_graph=True)[0]
    weight = rec_grad.norm() / (gan_grad.norm() + 1e-4)
    return weight.clamp(0.0, max_weight).detach()


class TokenizerLoss(nn.Module):
    """Generator-side and discriminator-side losses. The discriminator is optional."""

    def __init__(
        self, config: TokenizerLossConfig, discriminator: PatchDiscriminator | None = None
    ) -> None:
        super().__init__()
        if config.gan_weight > 0 and discriminator is None:
            raise ValueError("gan_weight > 0 needs a discriminator")
        self.config = config
        self.discriminator = discriminator

    def gan_active(self, step: int) -> bool:
        return (
            self.discriminator is not None
            and self.config.gan_weight > 0
            and (step >= self.config.gan_start_step)
        )

    def generator_loss(
        self,
        video_BCTHW: torch.Tensor,
        reconstruction: Reconstruction,
        step: int = 0,
        last_layer_weight: torch.Tensor | None = None,
    ) -> LossOutput:
        """Loss of the tokenizer. `last_layer_weight` (decoder's) is needed once GAN is on."""
        recon = weighted_reconstruction_loss(video_BCTHW, reconstruction.video, self.config)
        quantizer = reconstruction.encoded.quantizer_loss
        loss = recon.loss + self.config.quantizer_weight * quantizer
        metrics = {**recon.metrics, "reconstruction": recon.loss.detach()}
        metrics["quantizer"] = quantizer.detach()
        metrics.update({f"bottleneck/{k}": v for k, v in reconstruction.encoded.metrics.items()})
        if self.gan_active(step):
            if last_layer_weight is None:
                raise ValueError("last_layer_weight is required once the GAN term is active")
            gan = -self.discriminator(reconstruction.video).mean()
            weight = adaptive_gan_weight(
                recon.loss, gan, last_layer_weight, self.config.adaptive_weight_max
            )
            loss = loss + self.config.gan_weight * weight * gan
            metrics.update({"gan": gan.detach(), "gan_adaptive_weight": weight})
        return LossOutput(loss, metrics)

    def discriminator_loss(
        self, video_BCTHW: torch.Tensor, recon_BCTHW: torch.Tensor, step: int = 0
    ) -> LossOutput:
        """Hinge loss of the discriminator (zero before `gan_start_step`)."""
        if not self.gan_active(step):
            return LossOutput(video_BCTHW.new_zeros(()))
        real = self.discriminator(video_BCTHW.detach())
        fake = self.discriminator(recon_BCTHW.detach())
        loss = 0.5 * (F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean())
        metrics = {"real_logit": real.mean().detach(), "fake_logit": fake.mean().detach()}
        return LossOutput(loss, metrics)
