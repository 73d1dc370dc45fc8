"""Long rollouts: which paradigms drift. Every generator continues the same held-out windows
for `long_horizon` frames (far past its trained clip) with the true actions, one seed; PSNR
and foreground PSNR are kept per horizon step and reported at horizons 1, 8, 32 and 128.

Past the clip an order that streams attends to a sliding window of its last frames (the
model's window, as `VideoGenerator` does); full_sequence_flow, which denoises whole clips,
continues in overlapping windows (lm/long_video.py, half a clip of overlap); for it the row
also measures its seams (arvideo/seams.py): the PSNR between consecutive frames across a
window boundary against inside windows, per window, beside the truth's at the same frames.
"""

from __future__ import annotations

import math
import statistics
import traceback
from dataclasses import dataclass, field

import torch

from arvideo.bench.paradigms.evaluate import decode_values, sample_values
from arvideo.bench.paradigms.models import TrainedGenerator, encode_values
from arvideo.bench.paradigms.rollout_eval import copy_last_frame, horizon_scores
from arvideo.lm.conditioning import Conditions
from arvideo.lm.decoding import DecodeOptions
from arvideo.lm.heads.base import SamplingSettings
from arvideo.lm.long_video import TiledTokens
from arvideo.seams import seam_report

REPORTED_HORIZONS = (1, 8, 32, 128)


def reported_horizons(horizon: int) -> list[int]:
    """The report's horizons up to `horizon`, and `horizon` itself."""
    return sorted({h for h in REPORTED_HORIZONS if h <= horizon} | {horizon})


@dataclass
class LongRollout:
    video_BCTHW: torch.Tensor  # the generated frames, after the context
    seams: list[int] = field(default_factory=list)  # frames (context included) where windows begin


@torch.no_grad()
def long_rollout(
    trained: TrainedGenerator,
    video_BCTHW: torch.Tensor,
    actions_BT: torch.Tensor,
    context_frames: int,
    settings: SamplingSettings,
    seed: int,
    tokenizer,
) -> LongRollout:
    """The frames after the first `context_frames` of each window, generated, and the seams
    of a tiled rollout (a latent per frame, which the benchmark checks: latent = pixel index)."""
    model = trained.model
    total = video_BCTHW.shape[2]
    context = model.from_tokenizer_values(
        encode_values(tokenizer, video_BCTHW[:, :, :context_frames])
    )
    conditions = Conditions(actions_BT=actions_BT)
    options = DecodeOptions(settings, generator=torch.Generator().manual_seed(seed))
    sampled = sample_values(model, context, conditions, total, options)
    video = decode_values(tokenizer, model.to_tokenizer_values(sampled.values))
    seams = sampled.seams if isinstance(sampled, TiledTokens) else []
    return LongRollout(video[:, :, context_frames:], seams)


def seam_scores(truth_BCTHW: torch.Tensor, fake_BCTHW: torch.Tensor, seams: list[int]) -> dict:
    """Seams of every window (whole windows, context included), as medians over windows:
    boundary and within-window PSNR of consecutive frames, their difference (jump_db: ~0 for
    an invisible seam), and the truth's jump at the same frames (what the game itself does)."""
    fake = [seam_report(clip.permute(1, 2, 3, 0), seams) for clip in fake_BCTHW]  # T×H×W×C
    real = [seam_report(clip.permute(1, 2, 3, 0), seams) for clip in truth_BCTHW]
    return {
        "seams": seams,
        "boundary_psnr_db": _finite_median([r.boundary_psnr_db for r in fake]),
        "within_psnr_db": _finite_median([r.within_psnr_db for r in fake]),
        "jump_db": _finite_median([r.jump_db for r in fake]),
        "truth_jump_db": _finite_median([r.jump_db for r in real]),
    }


def _finite_median(values: list[float]) -> float | None:
    """The median of the finite values (identical frames give inf dB); None when none are."""
    finite = [v for v in values if math.isfinite(v)]
    return statistics.median(finite) if finite else None


def long_scores(truth_BCTHW: torch.Tensor, fake_BCTHW: torch.Tensor, background_CHW) -> dict:
    """PSNR and foreground PSNR per horizon step, and the windows they average."""
    scores = horizon_scores(truth_BCTHW, fake_BCTHW, background_CHW)
    return {
        "windows": truth_BCTHW.shape[0],
        "psnr_by_step": scores.psnr,
        "foreground_psnr_by_step": scores.foreground_psnr,
    }


def copy_last_long(video_BCTHW: torch.Tensor, context_frames: int, background_CHW) -> dict:
    """The copy-the-last-frame baseline on the same long windows."""
    horizon = video_BCTHW.shape[2] - context_frames
    copied = copy_last_frame(video_BCTHW[:, :, :context_frames], horizon)
    return long_scores(video_BCTHW[:, :, context_frames:], copied, background_CHW)


def long_row(trained, video_BCTHW, actions_BT, context_frames, settings, seed, tokenizer,
             background_CHW) -> dict:  # fmt: skip
    """A paradigm's long-rollout scores; an order that cannot go that far is reported (its
    traceback on stderr), not fatal."""
    try:
        out = long_rollout(
            trained, video_BCTHW, actions_BT, context_frames, settings, seed, tokenizer
        )
    except Exception as error:
        traceback.print_exc()
        return {"status": f"failed: {error!r}"}
    truth = video_BCTHW[:, :, context_frames:]
    row = {"status": "ok", **long_scores(truth, out.video_BCTHW, background_CHW)}
    if out.seams:
        whole = torch.cat([video_BCTHW[:, :, :context_frames], out.video_BCTHW], 2)
        row["seam"] = seam_scores(video_BCTHW, whole, out.seams)
    return row
