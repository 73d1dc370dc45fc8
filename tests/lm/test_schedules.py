"""Schedule matrices and the schedule sampler: matrix shapes and monotonicity, and Euler /
Heun on a Gaussian flow whose exact velocity and exact transport map are known."""

from __future__ import annotations

import pytest
import torch

from arvideo.lm.schedule_sampler import check_schedule, integrate_schedule
from arvideo.lm.schedules import SCHEDULES, schedule_matrix


@pytest.mark.parametrize("kind", sorted(SCHEDULES))
@pytest.mark.parametrize("frames,context,steps,uncertainty", [(5, 1, 3, 1), (6, 0, 4, 2)])
def test_columns_non_increasing_and_end_at_zero(kind, frames, context, steps, uncertainty):
    levels = schedule_matrix(kind, frames, context, steps, uncertainty)
    check_schedule(levels)
    assert (levels.diff(dim=0) <= 0).all()
    assert (levels[-1] == 0).all() and (levels[:, :context] == 0).all()
    assert (levels[0, context:] <= 1).all() and levels[0, context:].max() == 1
    # every generated frame takes exactly `steps` moves from 1 to 0
    moves = (levels.diff(dim=0) < 0).sum(0)
    assert (moves[context:] == steps).all()


def test_autoregressive_is_one_frame_after_another():
    levels = schedule_matrix("autoregressive", 4, 1, 2)
    assert levels.shape == (1 + 3 * 2, 4)
    for k, frame in enumerate(range(1, 4)):
        rows = slice(2 * k, 2 * k + 3)
        torch.testing.assert_close(levels[rows, frame], torch.tensor([1.0, 0.5, 0.0]))
        assert (levels[: 2 * k + 1, frame + 1 :] == 1).all()  # later frames still wait


def test_full_sequence_moves_all_frames_together():
    levels = schedule_matrix("full_sequence", 3, 0, 4)
    assert levels.shape == (5, 3) and (levels == levels[:, :1]).all()


def test_pyramid_and_trapezoid_stagger():
    pyramid = schedule_matrix("pyramid", 4, 0, 2, uncertainty=1)
    assert pyramid.shape == (2 + 3 + 1, 4)
    assert (pyramid[1].diff() >= 0).all()  # later frames noisier
    trapezoid = schedule_matrix("trapezoid", 5, 0, 2, uncertainty=1)
    torch.testing.assert_close(trapezoid[2], trapezoid[2].flip(0))  # symmetric
    assert trapezoid[2, 2] > trapezoid[2, 0]  # the middle last


def test_unknown_schedule_and_bad_matrix_are_refused():
    with pytest.raises(ValueError, match="schedule must be one of"):
        schedule_matrix("zigzag", 3, 0, 2)
    with pytest.raises(ValueError, match="non-increasing"):
        check_schedule(torch.tensor([[0.5], [1.0]]))


# x0 ~ N(mu, sigma²), ε ~ N(0, 1), x_t = (1 - t)·x0 + t·ε. The marginal velocity
# E[ε - x0 | x_t] is affine in x_t, and the flow carries x1 to mu + sigma·x1 exactly.
MU, SIGMA = 1.5, 0.5


def gaussian_velocity(x: torch.Tensor, t: torch.Tensor, progress: float) -> torch.Tensor:
    t = t[..., None].double()
    var = (1 - t) ** 2 * SIGMA**2 + t**2
    centred = x.double() - (1 - t) * MU
    e_noise = t / var * centred
    e_data = MU + (1 - t) * SIGMA**2 / var * centred
    return (e_noise - e_data).to(x.dtype)


def solve(solver: str, steps: int) -> float:
    x1 = torch.randn(1, 64, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    levels = schedule_matrix("full_sequence", 1, 0, steps).double()
    frame_N = torch.zeros(64, dtype=torch.long)
    out = integrate_schedule(gaussian_velocity, x1, levels, frame_N, solver)
    assert out.evaluations == steps * (1 if solver == "euler" else 2)
    return float((out.x0_BNC - (MU + SIGMA * x1)).abs().max())


def test_euler_and_heun_on_a_gaussian_flow():
    assert solve("euler", 200) < 2e-2
    assert solve("heun", 20) < 2e-3
    # measured orders: doubling the steps halves Euler's error and quarters Heun's
    assert 1.8 < solve("euler", 100) / solve("euler", 200) < 2.2
    assert 3.5 < solve("heun", 100) / solve("heun", 200) < 4.5
