"""Long rollouts: which paradigms drift. Every generator continues the same held-out windows
for `long_horizon` frames (far past its trained clip) with the true actions, one seed; PSNR
and foreground PSNR are kept per horizon step and reported at horizons 1, 8, 32 and 128.

Past the clip an order that streams attends to a sliding window of its last frames (the
model's window, as `VideoGenerator` does); full_sequence_flow, which denoises whole clips,
continues in overlapping windows (lm/long_video.py, half a clip of overlap).
"""

from __future__ import annotations

import traceback

import torch

from arvideo.bench.paradigms.evaluate import decode_values, sample_values
from arvideo.bench.paradigms.models import TrainedGenerator, encode_values
from arvideo.bench.paradigms.rollout_eval import copy_last_frame, horizon_scores
from arvideo.lm.conditioning import Conditions
from arvideo.lm.decoding import DecodeOptions
from arvideo.lm.heads.base import SamplingSettings

REPORTED_HORIZONS = (1, 8, 32, 128)


def reported_horizons(horizon: int) -> list[int]:
    """The report's horizons up to `horizon`, and `horizon` itself."""
    return sorted({h for h in REPORTED_HORIZONS if h <= horizon} | {horizon})


@torch.no_grad()
def long_rollout(
    trained: TrainedGenerator,
    video_BCTHW: torch.Tensor,
    actions_BT: torch.Tensor,
    context_frames: int,
    settings: SamplingSettings,
    seed: int,
    tokenizer,
) -> torch.Tensor:
    """The frames after the first `context_frames` of each window, generated (B×C×T×H×W)."""
    model = trained.model
    total = video_BCTHW.shape[2]
    context = model.from_tokenizer_values(
        encode_values(tokenizer, video_BCTHW[:, :, :context_frames])
    )
    conditions = Conditions(actions_BT=actions_BT)
    options = DecodeOptions(settings, generator=torch.Generator().manual_seed(seed))
    values = sample_values(model, context, conditions, total, options).values
    video = decode_values(tokenizer, model.to_tokenizer_values(values))
    return video[:, :, context_frames:]


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
        fake = long_rollout(
            trained, video_BCTHW, actions_BT, context_frames, settings, seed, tokenizer
        )
    except Exception as error:
        traceback.print_exc()
        return {"status": f"failed: {error!r}"}
    truth = video_BCTHW[:, :, context_frames:]
    return {"status": "ok", **long_scores(truth, fake, background_CHW)}
