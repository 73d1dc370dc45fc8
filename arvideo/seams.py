"""Seams of a video made in overlapping windows: is the step into a new window bigger than
the steps between frames inside one?

For each pair of consecutive frames the mean squared change is measured (pixels mapped to
[0, 1], as metrics.py does). Pairs that cross a seam (the frame before a window's first
generated frame, and that frame) and pairs inside windows are averaged apart and given as
PSNR in dB: a lower boundary PSNR than within-window PSNR means the video jumps at seams.
`jump_db` = within - boundary: about 0 for an invisible seam, positive for a visible one.
Knows pixels only; the seams come from `GenerationOutput.seams`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from arvideo.metrics import to_unit_range


@dataclass
class SeamReport:
    boundary_psnr_db: float  # consecutive frames across a seam (inf: identical)
    within_psnr_db: float  # consecutive frames inside a window
    jump_db: float  # within - boundary; > 0: frames change more at seams than inside
    seams: int  # boundaries measured
    within_pairs: int


def seam_report(frames_THWC: np.ndarray | torch.Tensor, seams: list[int]) -> SeamReport:
    """frames: one clip, T×H×W×3 (uint8, or float in [-1, 1]); seams: frame indices in
    (0, T) where a window's generated frames begin."""
    video = torch.as_tensor(np.asarray(frames_THWC))
    T = video.shape[0]
    if video.ndim != 4 or T < 2:
        raise ValueError(f"frames must be T×H×W×3 with T >= 2, got {tuple(video.shape)}")
    if not seams or any(not 0 < s < T for s in seams):
        raise ValueError(f"seams must be frame indices in (0, {T}), got {seams}")
    unit = to_unit_range(video)
    change_T1 = (unit[1:] - unit[:-1]).square().flatten(1).mean(1)  # pair (t-1, t) at t-1
    at_seam = torch.zeros(T - 1, dtype=torch.bool)
    at_seam[[s - 1 for s in seams]] = True
    if bool(at_seam.all()):
        raise ValueError("every pair of frames crosses a seam: nothing to compare with")
    boundary = _psnr(float(change_T1[at_seam].mean()))
    within = _psnr(float(change_T1[~at_seam].mean()))
    return SeamReport(boundary, within, within - boundary, len(set(seams)), int((~at_seam).sum()))


def _psnr(mse: float) -> float:
    return math.inf if mse == 0 else -10 * math.log10(mse)
