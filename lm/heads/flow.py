"""Rectified-flow integrators: carry noise at t = 1 to data at t = 0 along a velocity field.

Convention (shared with the diffusion head's loss): x_t = (1 - t)·x0 + t·ε, so the velocity is
dx_t/dt = ε - x0 and integration runs backwards in time, x_{t-h} = x_t - h·v. The
integrators know nothing about networks, guidance or tokens: they see a callable
`velocity(x_SC, t_S) -> v_SC` over S independent rows of C values and count its calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

import torch

Solver = Literal["euler", "heun"]
VelocityFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x_SC, t_S) -> v_SC


@dataclass
class FlowSolution:
    x0: torch.Tensor  # S×C, the state at t = 0
    evaluations: int  # calls of the velocity function


def check_solver(solver: str, steps: int) -> None:
    if solver not in get_args(Solver):
        raise ValueError(f"solver must be one of {get_args(Solver)}, got {solver!r}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")


def solver_evaluations(steps: int, solver: str) -> int:
    """Velocity evaluations that `integrate_flow` makes: Euler one per step, Heun two."""
    check_solver(solver, steps)
    return steps if solver == "euler" else 2 * steps


def time_grid(steps: int, device: torch.device | str | None = None) -> torch.Tensor:
    """steps + 1 times, uniformly from 1 (noise) down to 0 (data)."""
    return torch.linspace(1.0, 0.0, steps + 1, device=device)


def integrate_flow(
    velocity: VelocityFn, x1_SC: torch.Tensor, steps: int, solver: str = "euler"
) -> FlowSolution:
    """Integrate from x1_SC at t = 1 to t = 0 with `steps` uniform steps.

    Heun evaluates the velocity at both ends of every step, the last one included: in this
    parametrisation the field is finite at t = 0, so no step falls back to Euler.
    """
    check_solver(solver, steps)
    times = time_grid(steps, device=x1_SC.device).tolist()
    x_SC, evaluations = x1_SC, 0
    rows = x1_SC.shape[0]
    for t_now, t_next in zip(times[:-1], times[1:], strict=True):
        h = t_now - t_next
        v_now = velocity(x_SC, x_SC.new_full((rows,), t_now))
        evaluations += 1
        x_euler = x_SC - h * v_now
        if solver == "euler":
            x_SC = x_euler
            continue
        v_next = velocity(x_euler, x_SC.new_full((rows,), t_next))
        evaluations += 1
        x_SC = x_SC - h * 0.5 * (v_now + v_next)
    return FlowSolution(x0=x_SC, evaluations=evaluations)
