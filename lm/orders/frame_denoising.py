"""Frame denoising: the transformer itself denoises whole frames of continuous latents.

One machine for three paradigms of the seed, differing only in noise layout and mask:
* `full_sequence_flow`: one noise level per clip, full attention (MovieGen, HunyuanVideo);
* `next_frame_flow`: clean history (or slightly noisy, `history_noise`), a noisy last frame,
  block-causal by frame (next-frame diffusion, NFD, arXiv 2506.01380);
* `diffusion_forcing`: an independent level per frame, block-causal (Diffusion Forcing,
  arXiv 2407.01392).

Training (rectified flow, as the diffusion head): z_t = (1 - t)·z_0 + t·ε per frame level t,
the input at a slot is the embedding of its own z_t, its level is embedded and added to its
adaLN conditioning (beside actions, labels, text), and the velocity head regresses ε - z_0.
Groups are frames (block-causal) or one group for the clip (full attention), so the
group-id mask of base.py gives both masks.

Sampling integrates a schedule matrix (schedules.py) with schedule_sampler.py: every row is
one uncached forward over the whole clip (two with Heun), with guidance as for every other
order. Frames at level 0 (context, finished frames) are shown to the model at the
`stabilization` level with fixed noise (DF's stabilization). Not yet: KV-cached streaming
(`streams` is False; a stream or session of these orders is refused).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Literal

import torch

from ..heads.diffusion import TimeEmbedding
from ..noise_layouts import NoiseLayout, check_noise_layout, frame_levels
from ..schedule_sampler import integrate_schedule
from ..schedules import schedule_matrix
from ..sequence import TokenLayout
from .base import Decoder, GenerationTrace, TeacherForcing, TokenOrder, ValueEmbeddingFactory

if TYPE_CHECKING:
    from ..heads.base import SamplingSettings
    from ..model import VideoLMConfig

Attention = Literal["full", "block_causal"]


class FrameDenoisingOrder(TokenOrder):
    """Base of the three paradigms; subclasses fix the noise layout, mask and schedule."""

    name = "frame_denoising"
    denoising = True
    noise_layout: ClassVar[NoiseLayout]
    attention: ClassVar[Attention]
    default_schedule: ClassVar[str]

    @classmethod
    def from_config(
        cls, config: VideoLMConfig, value_embedding: ValueEmbeddingFactory
    ) -> FrameDenoisingOrder:
        sizes = dict(latent_dim=config.latent_dim, history_noise=config.history_corruption)
        return cls(config.grid[1:], config.width, **sizes, **config.order_options)

    def __init__(
        self,
        grid_hw: tuple[int, int],
        width: int,
        latent_dim: int,
        time_sampling: str = "logit_normal",
        history_noise: float = 0.0,
    ):
        super().__init__()
        check_noise_layout(self.noise_layout, time_sampling, history_noise)
        self.grid_hw = tuple(grid_hw)
        self.tokens_per_frame = grid_hw[0] * grid_hw[1]
        self.latent_dim = latent_dim
        self.time_sampling, self.history_noise = time_sampling, history_noise
        self.noise_embedding = TimeEmbedding(width)  # level -> a conditioning vector

    # -- layout -----------------------------------------------------------------------------

    def layout(self, num_frames: int) -> TokenLayout:
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        H, W = self.grid_hw
        index = torch.arange(num_frames * H * W)
        t, slot = index // (H * W), index % (H * W)
        positions = torch.stack([t, slot // W, slot % W, torch.zeros_like(t)], dim=1).float()
        group = t if self.attention == "block_causal" else torch.zeros_like(t)
        return TokenLayout(group, t, slot, positions, num_frames)

    def flatten(self, values: torch.Tensor) -> torch.Tensor:
        B, T, H, W = values.shape[:4]
        if (H, W) != self.grid_hw:
            raise ValueError(f"token grid must be {self.grid_hw}, got {(H, W)}")
        return values.reshape(B, T * H * W, *values.shape[4:])

    def unflatten(self, values: torch.Tensor, num_frames: int) -> torch.Tensor:
        return values.reshape(values.shape[0], num_frames, *self.grid_hw, *values.shape[2:])

    def level_conditioning(self, t_BN: torch.Tensor) -> torch.Tensor:
        """B×N noise levels -> B×N×D vectors added to the slots' conditioning."""
        B, N = t_BN.shape
        return self.noise_embedding(t_BN.reshape(B * N)).reshape(B, N, -1)

    # -- training ---------------------------------------------------------------------------

    def teacher_forcing(
        self,
        values: torch.Tensor,
        embed: Callable[[torch.Tensor], torch.Tensor],
        generator: torch.Generator | None = None,
        reveal_BN: torch.Tensor | None = None,
    ) -> TeacherForcing:
        """Noise every frame to its layout's level; the target is the velocity ε - z_0."""
        B, N, _ = values.shape
        L = self.tokens_per_frame
        x0 = values.float()
        levels = frame_levels(
            self.noise_layout, B, N // L, self.time_sampling, generator, x0.device,
            self.history_noise,
        )  # fmt: skip
        t_BN = levels.t_BT.repeat_interleave(L, dim=1)
        noise = torch.randn(x0.shape, generator=generator, device=x0.device)
        x_t = (1 - t_BN[..., None]) * x0 + t_BN[..., None] * noise
        weight = None if levels.weight_BT is None else levels.weight_BT.repeat_interleave(L, 1)
        return TeacherForcing(
            embed(x_t), weight, cond_BND=self.level_conditioning(t_BN), target=noise - x0
        )

    # -- sampling ---------------------------------------------------------------------------

    def schedule(self, settings: SamplingSettings, frames: int, context: int) -> torch.Tensor:
        kind = settings.schedule or self.default_schedule
        return schedule_matrix(kind, frames, context, settings.steps, settings.uncertainty)

    def generate(
        self,
        decoder: Decoder,
        layout: TokenLayout,
        context: torch.Tensor | None,
        generator: torch.Generator | None = None,
        refine_steps: int = 1,
    ) -> GenerationTrace:
        """Noise for every frame after the context, then the settings' schedule."""
        self.check_refine_steps(refine_steps)
        settings, L = decoder.settings, self.tokens_per_frame
        known = 0 if context is None else context.shape[1]
        if known % L or known >= len(layout):
            raise ValueError(f"context must hold whole frames, fewer than {layout.num_frames}")
        device = layout.group_N.device
        shape = (decoder.batch_size, len(layout), self.latent_dim)
        x_BNC = settings.temperature * torch.randn(shape, generator=generator, device=device)
        if context is not None:
            x_BNC[:, :known] = context.float()
        history_noise = None
        if settings.stabilization > 0:
            history_noise = torch.randn(shape, generator=generator, device=device)
        levels_RT = self.schedule(settings, layout.num_frames, known // L)
        return self.denoise(decoder, layout, x_BNC, levels_RT, history_noise)

    def denoise(
        self,
        decoder: Decoder,
        layout: TokenLayout,
        x_BNC: torch.Tensor,
        levels_RT: torch.Tensor,
        history_noise_BNC: torch.Tensor | None = None,
    ) -> GenerationTrace:
        """Integrate x_BNC (each frame at its level in row 0 of levels_RT) to the last row.
        history_noise_BNC: the fixed noise of frames shown at the stabilization level."""
        settings = decoder.settings
        last: dict[str, torch.Tensor] = {}

        def velocity(x: torch.Tensor, t_BN: torch.Tensor, progress: float) -> torch.Tensor:
            x_in, t_in = self.stabilized(x, t_BN, settings.stabilization, history_noise_BNC)
            inputs = decoder.embed(x_in)
            out = decoder.run(inputs, 0, len(layout), False, self.level_conditioning(t_in))
            last["z"] = out.z_BND
            return decoder.sample(out, progress)

        solution = integrate_schedule(velocity, x_BNC, levels_RT, layout.frame_N, settings.solver)
        z = last.get("z", torch.zeros(*x_BNC.shape[:2], 0, device=x_BNC.device))
        return GenerationTrace(solution.x0_BNC, z, solution.evaluations)

    @staticmethod
    def stabilized(
        x_BNC: torch.Tensor, t_BN: torch.Tensor, level: float, noise_BNC: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens at level 0 shown at `level` (with fixed noise), the rest as they are."""
        if level <= 0 or noise_BNC is None:
            return x_BNC, t_BN
        done_BN = t_BN == 0
        noisy = (1 - level) * x_BNC + level * noise_BNC
        x_in = torch.where(done_BN[..., None], noisy, x_BNC)
        return x_in, torch.where(done_BN, torch.full_like(t_BN, level), t_BN)


class FullSequenceFlowOrder(FrameDenoisingOrder):
    name = "full_sequence_flow"
    noise_layout = "shared"
    attention = "full"
    default_schedule = "full_sequence"


class NextFrameFlowOrder(FrameDenoisingOrder):
    name = "next_frame_flow"
    noise_layout = "next_frame"
    attention = "block_causal"
    default_schedule = "autoregressive"


class DiffusionForcingOrder(FrameDenoisingOrder):
    name = "diffusion_forcing"
    noise_layout = "per_frame"
    attention = "block_causal"
    default_schedule = "autoregressive"
