"""What the paradigm benchmark scores: a rollout's frames against the truth (every quality
metric the report shows), the reference rows (the truth's own action-following and copying
the last frame) and each tokenizer's reconstruction of the evaluation windows. The metrics
themselves live in rollout_eval.py, frame_order.py and arvideo/rollout_score.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from arvideo.ball_score import ball_score
from arvideo.bench.paradigms import models
from arvideo.bench.paradigms.budget import PARADIGMS
from arvideo.bench.paradigms.evaluate import decode_values
from arvideo.bench.paradigms.frame_order import order_fd
from arvideo.bench.paradigms.long_rollouts import copy_last_long
from arvideo.bench.paradigms.rollout_eval import (
    action_following,
    copy_last_frame,
    horizon_scores,
    paddle_rows,
    seed_diversity,
    window_spread,
)
from arvideo.metrics import foreground_psnr, video_to_frames
from arvideo.tokenizer import StabilityMeter, TokenStability, VideoTokenizer

if TYPE_CHECKING:
    from arvideo.bench.paradigms.run import Bench


def score(bench: Bench, video_RBCTHW: torch.Tensor, actions_BT: torch.Tensor) -> dict:
    """Every quality metric of predicted frames (R seeds × B windows) against the truth."""
    R = video_RBCTHW.shape[0]
    truth = bench.truth.repeat(R, 1, 1, 1, 1)
    fake = video_RBCTHW.flatten(0, 1)
    scores = horizon_scores(truth, fake, bench.background_CHW)
    # action-following includes the step from the last context frame into the rollout
    last = bench.context[:, :, -1:].repeat(R, 1, 1, 1, 1)
    rows = paddle_rows(video_to_frames(torch.cat([last, fake], dim=2)))
    taken = actions_BT[:, bench.budget.context_frames - 1 :].repeat(R, 1).numpy()
    mean = lambda values: float(np.nanmean(values)) if np.isfinite(values).any() else None
    # the targets: the ball within 2 px, the agent's paddle within 1 px
    windows = np.tile(np.arange(bench.truth.shape[0]), R)  # rows: seed-major, R × B
    ball = ball_score(video_to_frames(truth), video_to_frames(fake), windows)
    per_window = foreground_psnr(truth, fake, bench.background_CHW).unflatten(0, (R, -1))
    return {
        "psnr": mean(scores.psnr), "foreground_psnr": mean(scores.foreground_psnr),
        "ssim": mean(scores.ssim),
        "psnr_by_step": scores.psnr, "foreground_psnr_by_step": scores.foreground_psnr,
        "ssim_by_step": scores.ssim,
        "position_error_px_by_step": scores.position_error_px,
        "visible_agreement_by_step": scores.visible_agreement,
        "ball_error_px": mean(scores.position_error_px["ball"]),
        "right_paddle_error_px": mean(scores.position_error_px["right_paddle"]),
        "action_following": action_following(rows, taken, bench.directions),
        "order_fd": order_fd(bench.classifier.net, truth, fake),
        "diversity": seed_diversity(video_RBCTHW),
        "ball_within_2px": _finite(ball.within_2px),
        "ball_within_2px_by_step": ball.within_2px_by_step,
        "ball_within_2px_ci95": ball.within_2px_ci95,
        "agent_paddle_within_1px": _finite(ball.agent_paddle_within_1px),
        "foreground_psnr_ci95": window_spread(per_window),
    }  # fmt: skip


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None


def reference_rows(bench: Bench) -> tuple[dict, dict]:
    """The truth (action-following ceiling) and the copy-the-last-frame baseline."""
    actions = bench.evaluate.actions_BT
    truth = score(bench, bench.truth[None], actions)
    truth = {"action_following": truth["action_following"]}  # the rest is trivially perfect
    copy = copy_last_frame(bench.context, bench.budget.horizon)[None]
    baseline = score(bench, copy, actions)
    cost = {"forward_passes_per_frame": 0.0, "ms_per_frame": None, "frames_per_s": None,
            "diversity": 0.0}  # fmt: skip
    copy_row = {"paradigm": "copy last frame", "tokenizer": "–", "actions": {**baseline, **cost},
                "no_actions": {**baseline, **cost}}  # fmt: skip
    if bench.long is not None:
        copy_row["long"] = copy_last_long(
            bench.long.video_BCTHW, bench.budget.context_frames, bench.background_CHW
        )
    return {"paradigm": "truth", "tokenizer": "–", "actions": truth}, copy_row


def token_stability(
    tokenizer: VideoTokenizer, video_BCTHW: torch.Tensor, values: torch.Tensor
) -> TokenStability:
    """Do the cells of `video_BCTHW` whose pixels stand still keep their code (or latent)?
    `values`: the clips' `models.encode_values` (codes, or B×T×H×W×C latents); msvq is
    judged on its finest scale (tokenizer/stability.py)."""
    meter = StabilityMeter.of(tokenizer)
    if tokenizer.is_continuous:
        meter.update(video_BCTHW, latents_BCTHW=values.permute(0, 4, 1, 2, 3))
    else:
        meter.update(video_BCTHW, codes=values)
    return meter.result()


def measure_tokenizers(bench: Bench) -> list[dict]:
    """Reconstruction of the evaluation windows by each tokenizer, the stability of its
    tokens there, and where it came from."""
    rows = []
    for kind, trained in bench.tokenizers.items():
        recon = models.encode_values(trained.tokenizer, bench.evaluate.video_BCTHW)
        with torch.no_grad():
            video = decode_values(trained.tokenizer, recon)
        scores = horizon_scores(bench.evaluate.video_BCTHW, video, bench.background_CHW)
        stability = token_stability(trained.tokenizer, bench.evaluate.video_BCTHW, recon)
        rows.append({
            "tokenizer": kind, "source": trained.source, "steps": trained.steps,
            "wall_s": trained.wall_s, "psnr": float(np.mean(scores.psnr)),
            "ssim": float(np.mean(scores.ssim)),
            "foreground_psnr": float(np.nanmean(scores.foreground_psnr)),
            "still_kept": stability.kept, "codes_per_patch": stability.codes_per_patch,
            "used_by": ", ".join(p.name for p in PARADIGMS if p.tokenizer_kind == kind),
        })  # fmt: skip
    return rows
