"""Seams of tiled long rollouts, as the paradigm benchmark measures them."""

import torch

from arvideo.bench.paradigms.long_rollouts import seam_scores


def _drifting_video(generator: torch.Generator) -> torch.Tensor:
    """B×C×T×H×W in [-1, 1]: small random changes from frame to frame."""
    steps = 0.02 * torch.randn(2, 3, 8, 8, 8, generator=generator)
    return (steps.cumsum(dim=2) - 0.2).clamp(-1, 1)


def test_a_rollout_equal_to_the_truth_jumps_as_the_truth_does():
    truth = _drifting_video(torch.Generator().manual_seed(0))
    scores = seam_scores(truth, truth.clone(), [4])
    assert scores["jump_db"] == scores["truth_jump_db"]
    assert scores["seams"] == [4]


def test_a_step_at_the_window_boundary_is_a_visible_seam():
    truth = _drifting_video(torch.Generator().manual_seed(1))
    fake = truth.clone()
    fake[:, :, 4:] += 0.3  # the second window starts from another picture
    scores = seam_scores(truth, fake, [4])
    assert scores["jump_db"] > 10 > abs(scores["truth_jump_db"])
    assert scores["boundary_psnr_db"] < scores["within_psnr_db"]
