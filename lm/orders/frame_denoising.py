"""Frame denoising: the transformer itself denoises whole frames of continuous latents.

One machine for three paradigms of the seed, differing only in noise layout and mask:
* `full_sequence_flow`: one noise level per clip, full attention (MovieGen, HunyuanVideo);
* `next_frame_flow`: clean history (or slightly noisy, `history_noise`), one noisy frame,
  block-causal by frame (next-frame diffusion, NFD, arXiv 2506.01380);
* `diffusion_forcing`: an independent level per frame, block-causal (Diffusion Forcing,
  arXiv 2407.01392).

Training (rectified flow, as the diffusion head): z_t = (1 - t)·z_0 + t·ε per frame level t,
the input at a slot is the embedding of its own z_t, its level is embedded and added to its
adaLN conditioning (beside actions, labels, text), and the velocity head regresses ε - z_0
(or z_0 itself with `prediction: x0`, weighted as the velocity loss it implies). Groups are
frames (block-causal) or one group for the clip (full attention), so the group-id mask of
base.py gives both masks. Options: full-sequence flow keeps a random number of leading
frames clean (`clean_context`, the context of sampling); next-frame diffusion may train
every frame of a clip at once (`teacher_forcing: complete`: a clean copy of the clip ahead
of the noisy one, `base.complete_forcing_mask`).

Sampling integrates a schedule matrix (schedules.py) with schedule_sampler.py, with guidance
as for every other order. Frames at level 0 (context, finished frames) are shown to the model
at the `stabilization` level with fixed noise (DF's stabilization). Two paths, equal for the
same noise (frame_noise.py fixes the order of the draws):
* whole clip (`generate_clip`, any schedule): every row is one uncached forward over the
  clip (two with Heun);
* frame by frame (block-causal orders under the autoregressive schedule; `generate`, and
  streams and sessions, streaming.py): `prefill` writes the context into the KV cache once;
  `generate_group` denoises one frame, each step attending to the cache plus the frame's
  own tokens (bidirectional in the frame) without writing to the cache, then commits the
  finished frame in one more forward (at the stabilization level when set). Cost per frame:
  steps (2·steps with Heun) + 1 forwards over one frame's tokens.
full_sequence_flow does not stream (full attention: no frame is final before the clip is);
lm/long_video.py extends it past its clip length with overlapping windows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Literal, get_args

import torch

from ..frame_noise import FrameNoise, cat_history, draw_frame_noise
from ..frame_targets import Prediction, as_velocity, noised, regression
from ..heads.diffusion import TimeEmbedding
from ..noise_layouts import (
    NoiseLayout,
    check_noise_layout,
    draw_times,
    frame_levels,
    history_levels,
)
from ..schedule_sampler import integrate_schedule
from ..schedules import schedule_matrix
from ..sequence import TokenLayout
from .base import (
    Decoder,
    GenerationTrace,
    StepOutput,
    TeacherForcing,
    TokenOrder,
    ValueEmbeddingFactory,
)

if TYPE_CHECKING:
    from ..heads.base import SamplingSettings
    from ..model_config import VideoLMConfig

Attention = Literal["full", "block_causal"]
# how next_frame trains: "one_frame" noises one frame per clip behind a clean history (the
# loss sees 1 of T frames); "complete" runs a clean copy of the clip ahead of a noisy copy
# with an independent level per frame, every noisy frame seeing the clean frames before it
# (complete teacher forcing, MAGI arXiv 2501.12389): all T frames train in one forward
ForcingKind = Literal["one_frame", "complete"]


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
        teacher_forcing: ForcingKind = "one_frame",
        clean_context: bool = True,
        prediction: Prediction = "velocity",
    ):
        super().__init__()
        check_noise_layout(self.noise_layout, time_sampling, history_noise)
        if teacher_forcing not in get_args(ForcingKind):
            raise ValueError(
                f"teacher_forcing must be one of {get_args(ForcingKind)}, got {teacher_forcing!r}"
            )
        if teacher_forcing == "complete" and self.noise_layout != "next_frame":
            raise ValueError(
                f"teacher_forcing='complete' is next_frame_flow's (clean history), not "
                f"{self.name!r}'s (noise layout {self.noise_layout!r})"
            )
        if not isinstance(clean_context, bool):  # a CLI string "false" would read as True
            raise ValueError(f"clean_context must be true or false, got {clean_context!r}")
        if prediction not in get_args(Prediction):
            raise ValueError(
                f"prediction must be one of {get_args(Prediction)}, got {prediction!r}"
            )
        self.prediction = prediction
        self.complete_forcing = teacher_forcing == "complete"
        # full_sequence_flow: leading frames kept clean in training, as context is when
        # sampling (noise_layouts.py); the other layouts have clean or noisy history anyway
        self.clean_context = clean_context
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
        if self.complete_forcing:
            return self._complete_forcing(x0, embed, generator)
        levels = frame_levels(
            self.noise_layout, B, N // L, self.time_sampling, generator, x0.device,
            self.history_noise, self.clean_context,
        )  # fmt: skip
        t_BN = levels.t_BT.repeat_interleave(L, dim=1)
        noise = torch.randn(x0.shape, generator=generator, device=x0.device)
        weight = None if levels.weight_BT is None else levels.weight_BT.repeat_interleave(L, 1)
        target, weight = self.regression(x0, noise, t_BN, weight)
        return TeacherForcing(
            embed(noised(x0, noise, t_BN)), weight, cond_BND=self.level_conditioning(t_BN),
            target=target,
        )  # fmt: skip

    def regression(self, x0, noise, t_BN, weight_BN):
        """(target, loss weight) of the head under this order's read-out (frame_targets.py)."""
        return regression(self.prediction, x0, noise, t_BN, weight_BN)

    def as_velocity(self, out: torch.Tensor, x_BNC: torch.Tensor, t_BN: torch.Tensor):
        """The solver's velocity from the head's (guided) read-out (frame_targets.py)."""
        return as_velocity(self.prediction, out, x_BNC, t_BN)

    def _complete_forcing(
        self, x0: torch.Tensor, embed: Callable, generator: torch.Generator | None
    ) -> TeacherForcing:
        """Every frame noisy at its own level (the loss sees them all), plus the clean copy
        that later frames attend to (at a level ~ U(0, history_noise) when that is set)."""
        B, N, _ = x0.shape
        L = self.tokens_per_frame
        t_BN = draw_times((B, N // L), self.time_sampling, generator, x0.device)
        t_BN = t_BN.repeat_interleave(L, dim=1)
        noise = torch.randn(x0.shape, generator=generator, device=x0.device)
        clean, clean_t = x0, torch.zeros_like(t_BN)
        if self.history_noise:
            level = history_levels(B, N // L, self.history_noise, generator, x0.device)
            clean_t = level.repeat_interleave(L, dim=1)
            history = torch.randn(x0.shape, generator=generator, device=x0.device)
            clean = noised(x0, history, clean_t)
        target, weight = self.regression(x0, noise, t_BN, None)
        return TeacherForcing(
            embed(noised(x0, noise, t_BN)), weight, cond_BND=self.level_conditioning(t_BN),
            target=target,
            clean_BND=embed(clean), clean_cond_BND=self.level_conditioning(clean_t),
        )  # fmt: skip

    # -- sampling ---------------------------------------------------------------------------

    def schedule_kind(self, settings: SamplingSettings) -> str:
        return settings.schedule or self.default_schedule

    def schedule(self, settings: SamplingSettings, frames: int, context: int) -> torch.Tensor:
        kind = self.schedule_kind(settings)
        return schedule_matrix(kind, frames, context, settings.steps, settings.uncertainty)

    def stream_refusal(self, settings: SamplingSettings) -> str | None:
        kind = self.schedule_kind(settings)
        if not self.streams or kind == "autoregressive":
            return super().stream_refusal(settings)
        return (
            f"a stream denoises one frame after another (schedule 'autoregressive'); "
            f"schedule={kind!r} denoises several frames together: sample the whole clip "
            "(VideoLM.generate, VideoGenerator.__call__)"
        )

    def generate(
        self,
        decoder: Decoder,
        layout: TokenLayout,
        context: torch.Tensor | None,
        generator: torch.Generator | None = None,
        refine_steps: int = 1,
    ) -> GenerationTrace:
        """Frame by frame with the KV cache (`prefill`, `generate_group`) when the order
        streams and the schedule is autoregressive; the whole clip otherwise."""
        self.check_refine_steps(refine_steps)
        if self.stream_refusal(decoder.settings) is None:
            return super().generate(decoder, layout, context, generator, refine_steps)
        return self.generate_clip(decoder, layout, context, generator)

    def generate_clip(
        self,
        decoder: Decoder,
        layout: TokenLayout,
        context: torch.Tensor | None,
        generator: torch.Generator | None = None,
    ) -> GenerationTrace:
        """The settings' schedule over the whole clip, uncached: any schedule, and the
        reference a stream equals under the autoregressive one (same noise, frame_noise.py)."""
        settings, L = decoder.settings, self.tokens_per_frame
        known = 0 if context is None else context.shape[1]
        if known % L or known >= len(layout):
            raise ValueError(f"context must hold whole frames, fewer than {layout.num_frames}")
        c, shape = known // L, (decoder.batch_size, L, self.latent_dim)
        device = layout.group_N.device
        noise = [
            draw_frame_noise(shape, settings, f >= c, generator, device)
            for f in range(layout.num_frames)
        ]
        starts = [part.start_BnC for part in noise[c:]]
        x_BNC = torch.cat(([context.float()] if known else []) + starts, dim=1)
        levels_RT = self.schedule(settings, layout.num_frames, c)
        return self.denoise(decoder, layout, x_BNC, levels_RT, cat_history(noise))

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
        last: list[StepOutput] = []

        def velocity(x: torch.Tensor, t_BN: torch.Tensor, progress: float) -> torch.Tensor:
            last[:] = [self.evaluate(decoder, x, t_BN, history_noise_BNC, 0)]
            return self.as_velocity(decoder.sample(last[0], progress), x, t_BN)

        solver = decoder.settings.solver
        solution = integrate_schedule(velocity, x_BNC, levels_RT, layout.frame_N, solver)
        z = last[0].z_BND if last else torch.zeros(*x_BNC.shape[:2], 0, device=x_BNC.device)
        return GenerationTrace(solution.x0_BNC, z, solution.evaluations)

    # -- the step API: KV-cached, one frame at a time (block-causal orders) -----------------

    def prefill(self, decoder: Decoder, context: torch.Tensor) -> GenerationTrace:
        """Commit the context frames (at the stabilization level when it is set)."""
        frames = context.shape[1] // self.tokens_per_frame
        noise = [self._draw(decoder, generated=False) for _ in range(frames)]
        z = self.commit(decoder, context.float(), 0, cat_history(noise))
        return GenerationTrace(context, z, 1)

    def generate_group(
        self,
        decoder: Decoder,
        previous: torch.Tensor | None,
        group: int,
        refine_steps: int,
        fraction: float,
    ) -> GenerationTrace:
        """Denoise frame `group` (a group is a frame) from noise in `settings.steps` steps:
        each sees the cache plus the frame itself and leaves the cache as it was; then
        commit the frame. `previous` is not needed: history is in the cache."""
        if not self.streams:
            raise ValueError(f"order {self.name!r} samples whole clips, not frame by frame")
        L, settings = self.tokens_per_frame, decoder.settings
        start, noise = group * L, self._draw(decoder, generated=True)

        def velocity(x: torch.Tensor, t_BN: torch.Tensor, progress: float) -> torch.Tensor:
            step = self.evaluate(decoder, x, t_BN, noise.history_BnC, start)
            # one fraction per group, as every order
            return self.as_velocity(decoder.sample(step, fraction), x, t_BN)

        one_frame = schedule_matrix("full_sequence", 1, 0, settings.steps)
        frame_n = torch.zeros(L, dtype=torch.long, device=noise.start_BnC.device)
        solution = integrate_schedule(
            velocity, noise.start_BnC, one_frame, frame_n, settings.solver
        )
        z = self.commit(decoder, solution.x0_BNC, start, noise.history_BnC)
        return GenerationTrace(solution.x0_BNC, z, solution.evaluations + 1)

    def evaluate(
        self,
        decoder: Decoder,
        x_BnC: torch.Tensor,
        t_Bn: torch.Tensor,
        history_BnC: torch.Tensor | None,
        start: int,
    ) -> StepOutput:
        """One uncommitted forward of slots [start, start + n) at their levels (finished
        ones shown at the stabilization level)."""
        level = decoder.settings.stabilization
        x_in, t_in = self.stabilized(x_BnC, t_Bn, level, history_BnC)
        stop = start + x_BnC.shape[1]
        return decoder.run(decoder.embed(x_in), start, stop, False, self.level_conditioning(t_in))

    def commit(
        self,
        decoder: Decoder,
        x0_BnC: torch.Tensor,
        start: int,
        history_BnC: torch.Tensor | None,
    ) -> torch.Tensor:
        """Finished frames into the cache as later frames see them (level 0, or the
        stabilization level with their fixed noise); returns their z."""
        t_Bn = torch.zeros(x0_BnC.shape[:2], device=x0_BnC.device)
        x_in, t_in = self.stabilized(x0_BnC, t_Bn, decoder.settings.stabilization, history_BnC)
        stop = start + x0_BnC.shape[1]
        inputs, levels = decoder.embed(x_in), self.level_conditioning(t_in)
        return decoder.run(inputs, start, stop, True, levels).z_BND

    def _draw(self, decoder: Decoder, generated: bool) -> FrameNoise:
        shape = (decoder.batch_size, self.tokens_per_frame, self.latent_dim)
        device = self.noise_embedding.mlp[0].weight.device
        return draw_frame_noise(shape, decoder.settings, generated, decoder.generator, device)

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
