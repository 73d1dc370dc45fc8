"""The head interface: how the value of one position is predicted from the transformer output.

A head owns its loss and its sampler (MAR's habit). It knows nothing about token order,
video, or the backbone: it sees z_BND, the transformer output at the positions to predict.
Values are codes (int64, B×N or B×N×Depth) for the categorical head and latent vectors
(float, B×N×C) for the diffusion head.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class SamplingSettings:
    """What a user can turn at sampling time; heads ignore what does not apply to them."""

    temperature: float = 1.0  # categorical: logits / T; diffusion: scales the initial noise
    top_k: int | None = None  # categorical only
    top_p: float | None = None  # categorical only
    steps: int = 25  # diffusion only: integration steps
    solver: str = "euler"  # diffusion only: "euler" or "heun"


@dataclass
class HeadLoss:
    loss: torch.Tensor  # scalar, what the optimizer minimizes
    metrics: dict[str, torch.Tensor] = field(default_factory=dict)  # detached, for logging


class Head(nn.Module):
    """Predicts one value per position from z_BND (B×N×D)."""

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
