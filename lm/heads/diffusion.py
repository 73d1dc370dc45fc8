"""The per-token diffusion head: a small flow-matching denoiser per position (MAR).

Implements the idea of Li et al., "Autoregressive Image Generation without Vector
Quantization" (MAR, 2024): the transformer output z of a position conditions a small MLP that
models the distribution of that position's continuous latent. The head owns its loss
(rectified flow on the latent x0, several noise draws per token) and its sampler (Euler or Heun
from noise at t = 1 to data at t = 0, classifier-free guidance on the velocity).

It knows nothing about token order, video or the backbone. Positions are independent here:
z_BND and values B×N×C are flattened into S = B·N rows (S×D, S×C) before the MLP, which sees
one row at a time.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal, get_args

import torch
from torch import nn

from .base import Head, HeadLoss, SamplingSettings
from .flow import integrate_flow, solver_evaluations

if TYPE_CHECKING:
    from ..model_config import VideoLMConfig

TimeSampling = Literal["uniform", "logit_normal"]

# logit-normal time sampling t = sigmoid(mean + std·n), n ~ N(0, 1): the (0, 1) setting of
# Esser et al. (SD3), which spends more training on mid times where the velocity is hardest.
LOGIT_NORMAL_MEAN = 0.0
LOGIT_NORMAL_STD = 1.0
# t in [0, 1] is scaled before the sinusoidal embedding so its frequencies span the range
# the usual diffusion-step embeddings were designed for (steps 0..1000).
TIME_EMBEDDING_SCALE = 1000.0


def sinusoidal_embedding(t_S: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """S times -> S×dim features (cos | sin over geometrically spaced frequencies)."""
    half = dim // 2
    exponent = torch.arange(half, device=t_S.device, dtype=torch.float32) / half
    freqs = torch.exp(-math.log(max_period) * exponent)
    angles = t_S.float()[:, None] * TIME_EMBEDDING_SCALE * freqs[None]
    emb_SD = torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)
    if dim % 2:
        emb_SD = nn.functional.pad(emb_SD, (0, 1))
    return emb_SD


class TimeEmbedding(nn.Module):
    """Diffusion time t in [0, 1] -> a hidden-width vector."""

    def __init__(self, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))

    def forward(self, t_S: torch.Tensor) -> torch.Tensor:
        return self.mlp(sinusoidal_embedding(t_S, self.hidden))


class AdaLNResBlock(nn.Module):
    """x + gate·MLP(LN(x)·(1 + scale) + shift), with shift/scale/gate from the condition.

    The modulation is zero-initialised, so every block starts as the identity (adaLN-zero).
    """

    def __init__(self, hidden: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 3 * hidden))
        nn.init.zeros_(self.modulation[1].weight)
        nn.init.zeros_(self.modulation[1].bias)

    def forward(self, x_SU: torch.Tensor, cond_SU: torch.Tensor) -> torch.Tensor:
        shift, scale, gate = self.modulation(cond_SU).chunk(3, dim=-1)
        h_SU = self.mlp(self.norm(x_SU) * (1 + scale) + shift)
        return x_SU + gate * h_SU


class FinalLayer(nn.Module):
    """Modulated LayerNorm, then a zero-initialised projection to the velocity."""

    def __init__(self, hidden: int, latent_dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 2 * hidden))
        self.out = nn.Linear(hidden, latent_dim)
        for layer in (self.modulation[1], self.out):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x_SU: torch.Tensor, cond_SU: torch.Tensor) -> torch.Tensor:
        shift, scale = self.modulation(cond_SU).chunk(2, dim=-1)
        return self.out(self.norm(x_SU) * (1 + scale) + shift)


class DiffusionHead(Head):
    """Flow-matching head over continuous latents: z_BND -> values B×N×C (C = latent_dim).

    width: D, the transformer width. hidden: the MLP width (default: D).
    noise_draws: (noise, time) pairs per token per training step; z is repeated, not
        recomputed, so extra draws cost only the small MLP (MAR uses 4).
    time_sampling: "logit_normal" focuses training on mid times; "uniform" on t ~ U(0, 1).

    After each `sample` call, `last_sample_evaluations` holds the denoiser forward passes it
    made; `evaluations(settings)` tells the count in advance. Under guidance one forward pass
    runs the conditional and unconditional rows stacked in one batch.
    """

    values = "latents"
    output_layer = "final"

    def __init__(
        self,
        width: int,
        latent_dim: int,
        hidden: int | None = None,
        blocks: int = 3,
        noise_draws: int = 4,
        time_sampling: TimeSampling = "logit_normal",
    ):
        super().__init__()
        if time_sampling not in get_args(TimeSampling):
            raise ValueError(
                f"time_sampling must be one of {get_args(TimeSampling)}, got {time_sampling!r}"
            )
        for name, value in (("width", width), ("latent_dim", latent_dim), ("blocks", blocks)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if noise_draws < 1:
            raise ValueError(f"noise_draws must be >= 1, got {noise_draws}")
        hidden = width if hidden is None else hidden
        self.latent_dim = latent_dim
        self.noise_draws = noise_draws
        self.time_sampling = time_sampling
        self.time_embedding = TimeEmbedding(hidden)
        self.cond_proj = nn.Linear(width, hidden)
        self.input_proj = nn.Linear(latent_dim, hidden)
        self.blocks = nn.ModuleList(AdaLNResBlock(hidden) for _ in range(blocks))
        self.final = FinalLayer(hidden, latent_dim)
        self.last_sample_evaluations = 0

    @classmethod
    def from_config(cls, config: VideoLMConfig) -> DiffusionHead:
        if config.latent_dim < 1:  # checked here: a trainer fills it in from the data set
            raise ValueError("head='diffusion' needs latent_dim >= 1")
        return cls(config.width, config.latent_dim, **config.head_options)

    def velocity(self, x_SC: torch.Tensor, t_S: torch.Tensor, z_SD: torch.Tensor) -> torch.Tensor:
        """The denoiser: predicted velocity ε - x0 at state x_t, time t, condition z."""
        dtype = self.input_proj.weight.dtype  # inputs follow the parameters; autocast may
        # then lower the compute (z from a bf16 backbone, x and t in float32)
        cond_SU = self.time_embedding(t_S) + self.cond_proj(z_SD.to(dtype))
        h_SU = self.input_proj(x_SC.to(dtype))
        for block in self.blocks:
            h_SU = block(h_SU, cond_SU)
        return self.final(h_SU, cond_SU)

    def sample_time(self, rows: int, generator: torch.Generator | None, device) -> torch.Tensor:
        """Training times t_S in (0, 1) by `time_sampling`."""
        if self.time_sampling == "uniform":
            return torch.rand(rows, generator=generator, device=device)
        n_S = torch.randn(rows, generator=generator, device=device)
        return torch.sigmoid(LOGIT_NORMAL_MEAN + LOGIT_NORMAL_STD * n_S)

    def loss(
        self,
        z_BND: torch.Tensor,
        target: torch.Tensor,
        weight_BN: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> HeadLoss:
        """Rectified-flow MSE: x_t = (1 - t)·x0 + t·ε, regress the velocity ε - x0.

        target: B×N×C latents x0. weight_BN: per-token weights (a weighted mean over tokens;
        e.g. 0 for padding). generator: the noise and times (None: torch's default).
        """
        self._check_inputs(z_BND, target, "target")
        B, N, D = z_BND.shape
        draws = self.noise_draws
        z_SD = z_BND.reshape(B * N, D).repeat(draws, 1)
        x0_SC = target.reshape(B * N, self.latent_dim).repeat(draws, 1).float()
        rows = x0_SC.shape[0]
        t_S = self.sample_time(rows, generator, z_BND.device)
        noise_SC = torch.randn(x0_SC.shape, generator=generator, device=z_BND.device)
        x_t_PC = (1 - t_S[:, None]) * x0_SC + t_S[:, None] * noise_SC
        v_SC = self.velocity(x_t_PC, t_S, z_SD).float()
        mse_BN = (v_SC - (noise_SC - x0_SC)).square().mean(-1).reshape(draws, B, N).mean(0)
        if weight_BN is None:
            loss = mse_BN.mean()
        else:
            if weight_BN.shape != (B, N):
                raise ValueError(
                    f"weight_BN must have shape {(B, N)}, got {tuple(weight_BN.shape)}"
                )
            weight_BN = weight_BN.float()
            loss = (mse_BN * weight_BN).sum() / weight_BN.sum().clamp_min(1e-12)
        return HeadLoss(loss=loss, metrics={"flow_mse": loss.detach()})

    def evaluations(self, settings: SamplingSettings) -> int:
        """Denoiser forward passes one `sample` call makes with these settings."""
        return solver_evaluations(settings.steps, settings.solver)

    @torch.no_grad()
    def sample(
        self,
        z_BND: torch.Tensor,
        generator: torch.Generator | None,
        settings: SamplingSettings,
        z_uncond_BND: torch.Tensor | None = None,
        cfg_scale: float | torch.Tensor = 1.0,
    ) -> torch.Tensor:
        """Integrate the flow from temperature-scaled noise; returns latents B×N×C.

        Guidance mixes velocities, v = v_u + s·(v_c - v_u); s == 1 (everywhere) or no
        z_uncond_BND runs the conditional forward alone, equal to the unguided sample exactly.
        """
        if z_BND.ndim != 3:
            raise ValueError(f"z_BND must be B×N×D, got shape {tuple(z_BND.shape)}")
        B, N, D = z_BND.shape
        x1_SC = settings.temperature * torch.randn(
            (B * N, self.latent_dim), generator=generator, device=z_BND.device
        )
        z_SD = z_BND.reshape(B * N, D)
        scale_S1 = self._guidance_scale(z_BND, z_uncond_BND, cfg_scale)
        if scale_S1 is None:
            velocity = lambda x_SC, t_S: self.velocity(x_SC, t_S, z_SD).float()
        else:
            z_both_PD = torch.cat([z_SD, z_uncond_BND.reshape(B * N, D)])

            def velocity(x_SC: torch.Tensor, t_S: torch.Tensor) -> torch.Tensor:
                v_both = self.velocity(torch.cat([x_SC, x_SC]), t_S.repeat(2), z_both_PD)
                v_cond_PC, v_uncond_PC = v_both.float().chunk(2)
                return v_uncond_PC + scale_S1 * (v_cond_PC - v_uncond_PC)

        solution = integrate_flow(velocity, x1_SC, settings.steps, settings.solver)
        self.last_sample_evaluations = solution.evaluations
        return solution.x0.reshape(B, N, self.latent_dim)

    def _guidance_scale(
        self,
        z_BND: torch.Tensor,
        z_uncond_BND: torch.Tensor | None,
        cfg_scale: float | torch.Tensor,
    ) -> torch.Tensor | None:
        """cfg_scale as S×1 when guidance is active; None when it reduces to conditional."""
        if z_uncond_BND is None:  # as the categorical head: no unconditional pass, no mixing
            return None
        B, N, _ = z_BND.shape
        scale = torch.as_tensor(cfg_scale, dtype=torch.float32, device=z_BND.device)
        try:
            scale_BN = torch.broadcast_to(scale, (B, N))
        except RuntimeError as error:
            raise ValueError(
                f"cfg_scale must broadcast to B×N = {(B, N)}, got shape {tuple(scale.shape)}"
            ) from error
        if bool(torch.all(scale_BN == 1)):
            return None
        if z_uncond_BND.shape != z_BND.shape:
            raise ValueError(
                f"z_uncond_BND must have the shape of z_BND {tuple(z_BND.shape)}, "
                f"got {tuple(z_uncond_BND.shape)}"
            )
        return scale_BN.reshape(B * N, 1)

    def _check_inputs(self, z_BND: torch.Tensor, values: torch.Tensor, name: str) -> None:
        if z_BND.ndim != 3:
            raise ValueError(f"z_BND must be B×N×D, got shape {tuple(z_BND.shape)}")
        expected = (*z_BND.shape[:2], self.latent_dim)
        if tuple(values.shape) != expected:
            raise ValueError(
                f"{name} must have shape B×N×C = {expected}, got {tuple(values.shape)}"
            )
