"""Scoring world-model rollouts against the truth, per horizon step.

A rollout is B×C×T×H×W (float [-1, 1] or uint8) holding only the predicted frames; the truth
has the same shape. Per horizon step: PSNR, foreground PSNR (pixels that differ from the
data's median background), SSIM, and the game state (ball and paddle positions found by
colour, arvideo.pong_objects). Across a rollout: action-following (defined below) and
diversity across seeds. The copy-the-last-frame baseline is a rollout like any other.

Action-following. Each action gets an expected vertical direction of the agent's (right)
paddle, measured on real training frames: the sign of the mean row change of the paddle over
transitions taken with that action, or 0 when that mean is below `min_motion_px` (NOOP,
FIRE) or the action was seen fewer than `min_count` times. A transition t -> t+1 taken with
a directed action agrees when the paddle is found in both frames and moved more than
`min_motion_px` in that direction. The score is the fraction of directed transitions that
agree; the truth's own score on the same windows is its ceiling (paddles stop at the walls
and Pong's paddle has inertia, so it is below 1). Knows metrics and the Pong locator; knows
nothing about models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from arvideo.metrics import foreground_psnr, psnr, ssim, video_to_frames
from arvideo.pong_objects import OBJECTS, locate_objects


@dataclass
class DirectionConfig:
    min_motion_px: float = 0.5  # at the frame's resolution; below this is "not moving"
    min_count: int = 3  # transitions an action needs before it gets a direction


@dataclass
class HorizonScores:
    """Means over the batch, one entry per predicted frame (horizon step 1..T)."""

    psnr: list[float]
    foreground_psnr: list[float]
    ssim: list[float]
    position_error_px: dict[str, list[float]]  # per object, where both frames show it
    visible_agreement: dict[str, list[float]]  # per object, both visible or both absent


def copy_last_frame(context_BCTHW: torch.Tensor, horizon: int) -> torch.Tensor:
    """The baseline rollout: the last context frame repeated `horizon` times."""
    if context_BCTHW.ndim != 5 or context_BCTHW.shape[2] < 1:
        raise ValueError(f"context_BCTHW must be B×C×T×H×W with T >= 1, got {context_BCTHW.shape}")
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    return context_BCTHW[:, :, -1:].expand(-1, -1, horizon, -1, -1).clone()


def paddle_rows(frames_BTHWC: np.ndarray | torch.Tensor) -> np.ndarray:
    """Row of the right (agent) paddle per frame, B×T float, NaN where it is not found."""
    frames = torch.as_tensor(frames_BTHWC)
    rows = np.full(frames.shape[:2], np.nan)
    for b in range(frames.shape[0]):
        for t in range(frames.shape[1]):
            paddle = locate_objects(frames[b, t]).right_paddle
            rows[b, t] = np.nan if paddle is None else paddle.y
    return rows


def action_directions(
    rows_BT: np.ndarray, actions_BT: np.ndarray, num_actions: int, config: DirectionConfig
) -> np.ndarray:
    """Expected paddle direction per action (-1 up, +1 down, 0 none) from real frames."""
    dy = rows_BT[:, 1:] - rows_BT[:, :-1]
    taken = np.asarray(actions_BT)[:, : dy.shape[1]]
    directions = np.zeros(num_actions, dtype=np.int64)
    for action in range(num_actions):
        moves = dy[(taken == action) & ~np.isnan(dy)]
        if len(moves) >= config.min_count and abs(moves.mean()) > config.min_motion_px:
            directions[action] = int(np.sign(moves.mean()))
    return directions


def episode_directions(
    frames: list[np.ndarray], actions: list[np.ndarray], num_actions: int,
    config: DirectionConfig | None = None,
) -> np.ndarray:  # fmt: skip
    """`action_directions` over whole episodes of different lengths (T×H×W×3 uint8 each)."""
    rows = [paddle_rows(torch.from_numpy(np.asarray(f))[None])[0] for f in frames]
    T = max(len(r) for r in rows)
    rows_BT = np.full((len(rows), T), np.nan)  # NaN padding: no transition is counted there
    actions_BT = np.zeros((len(rows), T), dtype=np.int64)
    for b, (ep_rows, ep_actions) in enumerate(zip(rows, actions)):
        rows_BT[b, : len(ep_rows)], actions_BT[b, : len(ep_actions)] = ep_rows, ep_actions
    return action_directions(rows_BT, actions_BT, num_actions, config or DirectionConfig())


def action_following(
    rows_BT: np.ndarray,
    actions_BT: np.ndarray | torch.Tensor,
    directions: np.ndarray,
    min_motion_px: float = DirectionConfig.min_motion_px,
) -> float:
    """Fraction of directed transitions where the paddle moved as the action says (NaN when
    no transition was taken with a directed action). actions_BT[:, t] leads from frame t to
    t+1; rows_BT from `paddle_rows`."""
    actions = np.asarray(actions_BT)[:, : rows_BT.shape[1] - 1]
    expected = np.asarray(directions)[actions]
    dy = rows_BT[:, 1:] - rows_BT[:, :-1]
    directed = expected != 0
    if not directed.any():
        return math.nan
    moved = np.nan_to_num(dy * expected, nan=-np.inf) > min_motion_px
    return float(moved[directed].mean())


def horizon_scores(
    truth_BCTHW: torch.Tensor, rollout_BCTHW: torch.Tensor, background_CHW: torch.Tensor
) -> HorizonScores:
    fg = foreground_psnr(truth_BCTHW, rollout_BCTHW, background_CHW)
    state = game_state_error(video_to_frames(truth_BCTHW), video_to_frames(rollout_BCTHW))
    return HorizonScores(
        psnr=_finite_mean(psnr(truth_BCTHW, rollout_BCTHW)),
        foreground_psnr=_finite_mean(fg),
        ssim=ssim(truth_BCTHW, rollout_BCTHW).mean(0).tolist(),
        position_error_px=state[0],
        visible_agreement=state[1],
    )


def _finite_mean(values_BT: torch.Tensor, cap: float = 100.0) -> list[float]:
    """nanmean over the batch with inf (perfect frames) capped at `cap` dB."""
    return values_BT.clamp(max=cap).nanmean(0).tolist()


def game_state_error(truth_BTHWC: torch.Tensor, fake_BTHWC: torch.Tensor):
    """Per object and horizon step: mean position error in px (where both frames show the
    object; NaN if never) and the fraction of frames that agree on its visibility."""
    B, T = truth_BTHWC.shape[:2]
    error = {name: np.full((B, T), np.nan) for name in OBJECTS}
    agree = {name: np.zeros((B, T)) for name in OBJECTS}
    for b in range(B):
        for t in range(T):
            real, fake = locate_objects(truth_BTHWC[b, t]), locate_objects(fake_BTHWC[b, t])
            for name in OBJECTS:
                r, f = getattr(real, name), getattr(fake, name)
                agree[name][b, t] = (r is None) == (f is None)
                if r is not None and f is not None:
                    error[name][b, t] = math.hypot(r.x - f.x, r.y - f.y)
    return (
        {name: _nanmean_columns(error[name]) for name in OBJECTS},
        {name: agree[name].mean(0).tolist() for name in OBJECTS},
    )


def _nanmean_columns(values_BT: np.ndarray) -> list[float]:
    counts = (~np.isnan(values_BT)).sum(0)
    sums = np.nansum(values_BT, 0)
    return [float(s / c) if c else math.nan for s, c in zip(sums, counts)]


def seed_diversity(rollouts_RBCTHW: torch.Tensor) -> float:
    """Mean per-pixel standard deviation across R seeds (in [0, 1] pixel units); 0 when the
    sampler is deterministic. Needs S >= 2 (else NaN)."""
    if rollouts_RBCTHW.shape[0] < 2:
        return math.nan
    unit = (rollouts_RBCTHW.float().clamp(-1, 1) + 1) / 2
    return float(unit.std(dim=0).mean())


def window_spread(values_RBT: torch.Tensor, cap: float = 100.0) -> float | None:
    """Half-width of a 95% interval (normal approximation, 1.96 standard errors) of the mean
    over windows: each window's values are averaged over seeds and steps first, so the
    spread is the one between held-out windows (seeds of one window are not independent).
    None with fewer than two windows."""
    per_window = values_RBT.clamp(max=cap).nanmean(dim=(0, 2))
    per_window = per_window[per_window.isfinite()]
    if per_window.numel() < 2:
        return None
    return float(1.96 * per_window.std() / math.sqrt(per_window.numel()))
