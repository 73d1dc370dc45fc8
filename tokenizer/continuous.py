"""Continuous KL bottleneck (diagonal Gaussian, as in latent diffusion) for diffusion heads.

A 1×1 conv turns features into a mean and log-variance per channel; training samples
mean + std * noise, evaluation uses the mean. The latents handed out are normalised,
(x - shift) * scale per channel, with shift/scale stored as buffers (saved with the model)
and set from data by `set_latent_statistics`, so they are roughly unit variance. No codes.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from .bottleneck import Bottleneck, BottleneckOutput, fp32_region
from .config import BottleneckConfig


class GaussianBottleneck(Bottleneck):
    kinds = ("continuous",)
    values = "latents"
    vocab_size = 0

    def __init__(self, config: BottleneckConfig, latent_dim: int) -> None:
        super().__init__()
        self.kl_weight = config.kl_weight
        self.moments = nn.Conv3d(latent_dim, 2 * latent_dim, 1)
        self.register_buffer("latent_shift", torch.zeros(latent_dim))
        self.register_buffer("latent_scale", torch.ones(latent_dim))

    def _affine(self) -> tuple[torch.Tensor, torch.Tensor]:
        view = (1, -1, 1, 1, 1)
        return self.latent_shift.view(view), self.latent_scale.view(view)

    def raw_latents(
        self, z_BCTHW: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(sample, mean, logvar) before normalisation; samples only in training mode."""
        with fp32_region(z_BCTHW):
            mean, logvar = self.moments(z_BCTHW.float()).chunk(2, dim=1)
            logvar = logvar.clamp(-30.0, 20.0)
            if not self.training:
                return mean, mean, logvar
            noise = torch.randn(
                mean.shape, generator=generator, device=mean.device, dtype=mean.dtype
            )
            return mean + (0.5 * logvar).exp() * noise, mean, logvar

    def forward(
        self, z_BCTHW: torch.Tensor, generator: torch.Generator | None = None
    ) -> BottleneckOutput:
        sample, mean, logvar = self.raw_latents(z_BCTHW, generator)
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).mean()
        shift, scale = self._affine()
        metrics = {"kl": kl.detach(), "latent_std": sample.detach().std()}
        return BottleneckOutput(
            latents=(sample - shift) * scale, codes=None, loss=self.kl_weight * kl, metrics=metrics
        )

    def to_decoder_input(self, latents_BCTHW: torch.Tensor) -> torch.Tensor:
        shift, scale = self._affine()
        return latents_BCTHW / scale + shift

    def codes_to_latents(self, codes: torch.Tensor) -> torch.Tensor:
        raise TypeError("the continuous bottleneck has no codes")

    @torch.no_grad()
    def set_latent_statistics(self, raw_latents_BCTHW: torch.Tensor) -> None:
        """Set shift/scale so these raw (unnormalised) latents get zero mean, unit variance."""
        flat_NC = rearrange(raw_latents_BCTHW.float(), "b c t h w -> (b t h w) c")
        if flat_NC.shape[0] < 2:
            raise ValueError("set_latent_statistics needs at least two latent positions")
        self.latent_shift.copy_(flat_NC.mean(0))
        self.latent_scale.copy_(1.0 / flat_NC.std(0).clamp_min(1e-6))
