"""One sampler for every schedule matrix: integrate each token between the noise levels of
consecutive rows (Euler or Heun), in the rectified-flow convention of heads/flow.py
(x_t = (1 - t)·x0 + t·ε, dx/dt = ε - x0, x_{t-h} = x_t - h·v).

A row moves token n of frame f from t_m = K[m, f] to t_{m+1} = K[m+1, f], with its own step
h = t_m - t_{m+1} >= 0 (0 for frames that wait or are done: they do not move). The velocity
callable sees all tokens with their current levels, so the model can condition on frames at
other levels (Diffusion Forcing). It knows nothing of networks, guidance or video: a
callable `velocity(x_BNC, t_BN, progress) -> v_BNC`, where progress in [0, 1] is the share
of rows done (for guidance schedules).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .heads.flow import check_solver

ScheduleVelocityFn = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]


@dataclass
class ScheduleSolution:
    x0_BNC: torch.Tensor  # every token at its last row's level (0 for a full schedule)
    evaluations: int  # calls of the velocity function


def check_schedule(levels_RT: torch.Tensor) -> None:
    """Levels in [0, 1], at least two rows, every column non-increasing."""
    if levels_RT.ndim != 2 or levels_RT.shape[0] < 2:
        raise ValueError(f"a schedule is (M + 1) × T with M >= 1, got {tuple(levels_RT.shape)}")
    if levels_RT.min() < 0 or levels_RT.max() > 1:
        raise ValueError("schedule levels must lie in [0, 1]")
    if (levels_RT.diff(dim=0) > 0).any():
        raise ValueError("every schedule column must be non-increasing row by row")


def integrate_schedule(
    velocity: ScheduleVelocityFn,
    x_BNC: torch.Tensor,
    levels_RT: torch.Tensor,
    frame_N: torch.Tensor,
    solver: str = "euler",
) -> ScheduleSolution:
    """Carry x_BNC (each token at its frame's level in row 0) through every row."""
    check_solver(solver, levels_RT.shape[0] - 1)
    check_schedule(levels_RT)
    B, N, _ = x_BNC.shape
    t_RN = levels_RT.to(x_BNC.device, torch.float32)[:, frame_N]
    rows, evaluations = t_RN.shape[0] - 1, 0
    for m in range(rows):
        h_1N1 = (t_RN[m] - t_RN[m + 1])[None, :, None]
        if not bool((h_1N1 > 0).any()):
            continue  # nothing moves in this row: no evaluation
        v_now = velocity(x_BNC, t_RN[m].expand(B, N), m / rows)
        evaluations += 1
        x_euler = x_BNC - h_1N1 * v_now
        if solver == "euler":
            x_BNC = x_euler
            continue
        v_next = velocity(x_euler, t_RN[m + 1].expand(B, N), (m + 1) / rows)
        evaluations += 1
        x_BNC = x_BNC - h_1N1 * 0.5 * (v_now + v_next)
    return ScheduleSolution(x_BNC, evaluations)
