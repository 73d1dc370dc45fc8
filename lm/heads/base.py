"""The head interface: how the value of one position is predicted from the transformer output.

A head owns its loss and its sampler (MAR's habit). It knows nothing about token order,
video, or the backbone: it sees z_BND, the transformer output at the positions to predict.
Values are codes (int64, B×N or B×N×Depth) for the categorical head and latent vectors
(float, B×N×C) for the diffusion head.

Each head class declares what its callers need to know (heads/__init__.py maps names to
classes): `values` ("codes" or "latents", what it predicts and so what the LM trains on),
`output_layer` (the submodule called once per evaluation, for counting), `from_config`,
`evaluations(settings)` (network evaluations per `sample` call) and `confidence` (the score
within-block refinement reveals the surest tokens by).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal

import torch
from torch import nn

from ..schedules import SCHEDULES

if TYPE_CHECKING:
    from ..model_config import VideoLMConfig

Values = Literal["codes", "latents"]


@dataclass
class SamplingSettings:
    """What a user can turn at sampling time; heads ignore what does not apply to them."""

    temperature: float = 1.0  # categorical: logits / T; diffusion: scales the initial noise
    top_k: int | None = None  # categorical only
    top_p: float | None = None  # categorical only
    steps: int = 25  # diffusion only: integration steps
    solver: str = "euler"  # diffusion and frame denoising: "euler" or "heun"
    # frame-denoising orders only (orders/frame_denoising.py, lm/schedules.py): the schedule
    # matrix (None: the order's default), its pyramid/trapezoid stagger in rows per frame,
    # and the noise level finished frames are shown at (Diffusion Forcing's stabilization)
    schedule: str | None = None
    uncertainty: int = 1
    stabilization: float = 0.0
    # categorical x next_block frame blocks only (lm/change_gate.py): a generated cell keeps
    # the frame before's code unless the model gives its new code at least this probability
    change_threshold: float | None = None
    # the mirror gate (same models, depth-1 codes): a cell that drew the frame before's code
    # draws again among its other codes where the model gives that code less than this
    keep_threshold: float | None = None

    def check(self) -> None:
        """ValueError naming the first setting out of range (a model's saved defaults; user
        input is checked more strictly at the door, arvideo/generation_numbers.py)."""
        accepted = {
            "steps": (self.steps >= 1, ">= 1"),
            "solver": (self.solver in ("euler", "heun"), "'euler' or 'heun'"),
            "schedule": (self.schedule is None or self.schedule in SCHEDULES, sorted(SCHEDULES)),
            "uncertainty": (self.uncertainty >= 0, ">= 0"),
            "stabilization": (0 <= self.stabilization < 1, "in [0, 1)"),
            "change_threshold": (
                self.change_threshold is None or 0 <= self.change_threshold <= 1,
                "in [0, 1] or None",
            ),
            "keep_threshold": (
                self.keep_threshold is None or 0 <= self.keep_threshold <= 1,
                "in [0, 1] or None",
            ),
        }
        for name, (fine, expected) in accepted.items():
            if not fine:
                raise ValueError(f"sampling {name} must be {expected}, got {getattr(self, name)!r}")


# Which settings apply to which models (the rest of SamplingSettings applies to every model)
DENOISER_SETTINGS = ("steps", "solver")  # heads that integrate a flow (diffusion, velocity)
FRAME_DENOISING_SETTINGS = ("schedule", "uncertainty", "stabilization")  # orders that denoise


@dataclass
class HeadLoss:
    loss: torch.Tensor  # scalar, what the optimizer minimizes
    metrics: dict[str, torch.Tensor] = field(default_factory=dict)  # detached, for logging


class Head(nn.Module):
    """Predicts one value per position from z_BND (B×N×D)."""

    values: ClassVar[Values]  # "codes" (int64) or "latents" (float vectors)
    output_layer: ClassVar[str]  # the submodule called once per head evaluation
    # True: the backbone is the denoiser and the head reads its velocity; such a head pairs
    # only with orders that denoise (TokenOrder.denoising), and the reverse.
    denoiser: ClassVar[bool] = False
    stochastic: ClassVar[bool] = True  # `sample` draws from the generator (False: a read-out)

    @classmethod
    def from_config(cls, config: VideoLMConfig) -> Head:
        """The head a VideoLM of this config uses (width, vocabulary or latent size, and
        config.head_options)."""
        raise NotImplementedError

    def evaluations(self, settings: SamplingSettings) -> int:
        """Network evaluations one `sample` call makes with these settings."""
        return 1

    def confidence(
        self, z_BND: torch.Tensor, values: torch.Tensor, generator: torch.Generator | None
    ) -> torch.Tensor:
        """B×N score of sampled `values` (higher = surer). Heads without a score return
        uniform noise from `generator` (a random reveal order)."""
        B, N = values.shape[:2]
        return torch.rand(B, N, generator=generator, device=values.device)

    def loss(
        self,
        z_BND: torch.Tensor,
        target: torch.Tensor,
        weight_BN: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> HeadLoss:
        """Training loss of predicting `target` (values at the N positions) from z; a head
        whose loss draws noise draws it from `generator`."""
        raise NotImplementedError

    def sample(
        self,
        z_BND: torch.Tensor,
        generator: torch.Generator | None,
        settings: SamplingSettings,
        z_uncond_BND: torch.Tensor | None = None,
        cfg_scale: float | torch.Tensor = 1.0,
    ) -> torch.Tensor:
        """Draw one value per position.

        Classifier-free guidance: when z_uncond_BND is given, the head mixes the conditional
        and unconditional predictions as uncond + cfg_scale * (cond - uncond) (on logits for
        the categorical head, on the velocity for the diffusion head). cfg_scale is a float or
        a tensor broadcastable to B×N (a schedule over positions). cfg_scale == 1 must equal
        the conditional prediction exactly.
        """
        raise NotImplementedError
