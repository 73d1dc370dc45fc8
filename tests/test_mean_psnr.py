"""The rollout's per-clip PSNR stays finite when frames are copied exactly."""

from __future__ import annotations

import numpy as np

from arvideo.generate_cli import mean_psnr
from arvideo.rollout_score import PSNR_CAP_DB


def test_identical_frames_count_as_the_cap_not_infinity():
    still = np.full((3, 8, 8, 3), 90, dtype=np.uint8)
    assert mean_psnr(still, still.copy()) == PSNR_CAP_DB
    moved = still.copy()
    moved[0, 0, 0] = 0  # one frame off: the mean is finite and below the cap
    assert 0 < mean_psnr(still, moved) < PSNR_CAP_DB
