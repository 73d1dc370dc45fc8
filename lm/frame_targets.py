"""What a frame denoiser regresses, and how its read-out becomes the solver's velocity.

Rectified flow (heads/flow.py's convention): x_t = (1 - t)·x0 + t·ε, velocity ε - x0. The
velocity head's read-out means either
* "velocity": ε - x0 itself (the target as it is);
* "x0": the clean latents ("x-prediction", JiT arXiv 2511.13720), trained with the velocity
  loss it implies, |x0 - x̂0|² / t² (t at least T_MIN), and turned into the velocity
  (x_t - x̂0) / t for the solver.

Pure functions of tensors: they know nothing of models, orders or layouts.
"""

from __future__ import annotations

from typing import Literal

import torch

Prediction = Literal["velocity", "x0"]
T_MIN = 0.05  # the smallest level an x0 read-out divides by


def noised(x0_BNC: torch.Tensor, noise_BNC: torch.Tensor, t_BN: torch.Tensor) -> torch.Tensor:
    """x_t of every token at its own level t."""
    t = t_BN[..., None]
    return (1 - t) * x0_BNC + t * noise_BNC


def regression(
    prediction: Prediction,
    x0: torch.Tensor,
    noise: torch.Tensor,
    t_BN: torch.Tensor,
    weight_BN: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(target, loss weight) of the head: the velocity ε - x0, or under x-prediction x0
    weighted by 1 / t² (the velocity loss of the implied velocity)."""
    if prediction == "velocity":
        return noise - x0, weight_BN
    implied = t_BN.clamp_min(T_MIN).square().reciprocal()
    return x0, implied if weight_BN is None else weight_BN * implied


def as_velocity(
    prediction: Prediction, out: torch.Tensor, x_BNC: torch.Tensor, t_BN: torch.Tensor
) -> torch.Tensor:
    """The solver's velocity from the head's (guided) read-out at state x_BNC, t_BN."""
    if prediction == "velocity":
        return out
    return (x_BNC - out) / t_BN.clamp_min(T_MIN)[..., None]
