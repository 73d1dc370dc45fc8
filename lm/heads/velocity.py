"""The velocity head: the backbone itself is the denoiser, this head only reads its output.

For the frame-denoising orders (orders/frame_denoising.py: full-sequence flow matching,
next-frame diffusion, Diffusion Forcing) the transformer sees noisy latents and their noise
levels, so the velocity ε - x0 of every token is a linear read-out of its output z. The
loss is the rectified-flow MSE against the target the order built (noise and times are the
order's, not the head's); `sample` returns the predicted velocity with classifier-free
guidance on it. The integration over noise levels is the order's schedule sampler, so this
head draws nothing (`stochastic` False) and pairs only with orders that denoise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from .base import Head, HeadLoss, SamplingSettings

if TYPE_CHECKING:
    from ..model_config import VideoLMConfig


class VelocityHead(Head):
    """z_BND -> velocity B×N×C (C = latent_dim), a zero-initialised linear read-out (DiT)."""

    values = "latents"
    output_layer = "out"
    denoiser = True
    stochastic = False

    def __init__(self, width: int, latent_dim: int):
        super().__init__()
        for name, value in (("width", width), ("latent_dim", latent_dim)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.latent_dim = latent_dim
        self.out = nn.Linear(width, latent_dim)
        nn.init.zeros_(self.out.weight)  # a fresh model predicts velocity 0
        nn.init.zeros_(self.out.bias)

    @classmethod
    def from_config(cls, config: VideoLMConfig) -> VelocityHead:
        if config.latent_dim < 1:  # checked here: a trainer fills it in from the data set
            raise ValueError("head='velocity' needs latent_dim >= 1")
        return cls(config.width, config.latent_dim, **config.head_options)

    def velocity(self, z_BND: torch.Tensor) -> torch.Tensor:
        return self.out(z_BND.to(self.out.weight.dtype)).float()

    def loss(
        self,
        z_BND: torch.Tensor,
        target: torch.Tensor,
        weight_BN: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> HeadLoss:
        """MSE to `target` (B×N×C, the order's ε - x0), a weighted mean over tokens."""
        B, N = z_BND.shape[:2]
        if tuple(target.shape) != (B, N, self.latent_dim):
            raise ValueError(
                f"target must have shape {(B, N, self.latent_dim)}, got {tuple(target.shape)}"
            )
        mse_BN = (self.velocity(z_BND) - target.float()).square().mean(-1)
        if weight_BN is None:
            loss = mse_BN.mean()
        else:
            weight_BN = weight_BN.float()
            loss = (mse_BN * weight_BN).sum() / weight_BN.sum().clamp_min(1e-12)
        return HeadLoss(loss=loss, metrics={"flow_mse": loss.detach()})

    @torch.no_grad()
    def sample(
        self,
        z_BND: torch.Tensor,
        generator: torch.Generator | None,
        settings: SamplingSettings,
        z_uncond_BND: torch.Tensor | None = None,
        cfg_scale: float | torch.Tensor = 1.0,
    ) -> torch.Tensor:
        """The guided velocity v_u + s·(v_c - v_u); exactly v_c at s == 1 or unguided."""
        B, N = z_BND.shape[:2]
        scale = torch.as_tensor(cfg_scale, dtype=torch.float32, device=z_BND.device)
        scale_BN1 = torch.broadcast_to(scale, (B, N))[..., None]
        if z_uncond_BND is None or bool(torch.all(scale_BN1 == 1)):
            return self.velocity(z_BND)
        # one call for both halves, as the diffusion head: `evaluations` stays 1
        v_BNC, v_uncond_BNC = self.velocity(torch.cat([z_BND, z_uncond_BND])).chunk(2)
        return v_uncond_BNC + scale_BN1 * (v_BNC - v_uncond_BNC)
