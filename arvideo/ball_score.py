"""Where a rollout draws Pong's ball and the agent's paddle against the truth, frame by
frame: shares within tolerance, per horizon step, and intervals over windows (a lost ball
stays lost for the rest of its window, so a window's frames are one cluster). Knows the
Pong locator (pong_objects.py); nothing about models or data sets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from arvideo.pong_objects import locate_objects

BALL_TOLERANCE_PX = 2.0  # the targets: the ball within 2 px of the truth,
PADDLE_TOLERANCE_PX = 1.0  # the agent's paddle within 1 px


@dataclass
class BallScore:
    within_2px: float  # share of frames with a visible real ball where the rollout's is near
    drawn: float  # share of those frames where the locator finds any ball (artefacts count)
    error_px: float  # mean distance where both show one (NaN if never)
    within_2px_by_step: list[float] = field(default_factory=list)  # per horizon step
    agent_paddle_within_1px: float = math.nan  # frames showing the agent's (right) paddle
    # half-width of a 95% interval of within_2px over windows (`clustered_share_ci95`): a
    # lost ball stays lost for the rest of its window, so frames are not independent
    within_2px_ci95: float | None = None


@dataclass
class ShareGap:
    """One share minus another over the same frames, paired by window: the difference and
    the half-width of its 95% interval over windows (`clustered_share_ci95` of the per-window
    differences; None under two windows that count)."""

    gap: float
    ci95: float | None
    windows: int


def share_gap(hits_a_W, shown_a_W, hits_b_W, shown_b_W) -> ShareGap:
    """Share a minus share b over the same frames, clustered by window: per window, the
    real balls shown and the rollout's hits (or their means over seeds) of two rollouts.
    Refuses rollouts of different windows (their real balls differ)."""
    counts = np.asarray(shown_a_W, dtype=float)
    if not np.array_equal(counts, np.asarray(shown_b_W, dtype=float)):
        raise ValueError("a paired ball gap needs the same windows: their real balls differ")
    diff = np.asarray(hits_a_W, dtype=float) - np.asarray(hits_b_W, dtype=float)
    total = counts.sum()
    gap = float(diff.sum() / total) if total else math.nan
    return ShareGap(gap, clustered_share_ci95(diff, counts), int((counts > 0).sum()))


def ball_score(
    truth_BTHWC: torch.Tensor, fake_BTHWC: torch.Tensor, window_of_row: np.ndarray | None = None
) -> BallScore:
    """Where the rollout puts the ball (and the agent's paddle) against the truth, frame by
    frame; per-step shares are over the frames of that step that show a real ball.
    `window_of_row`: the held-out window each row rolls out (rows of several sampling seeds of
    one window are one cluster of the interval); None = every row its own window."""
    return score_ball_frames(ball_frames(truth_BTHWC, fake_BTHWC), window_of_row)


@dataclass
class BallFrames:
    """Per row and step, a real ball shown and the rollout's near it; the rest pooled."""

    shown_BT: np.ndarray
    near_BT: np.ndarray
    drawn: int
    errors: list[float]  # one per frame where both show a ball
    paddle: list[float]  # one per frame showing the agent's paddle


def ball_frames(truth_BTHWC: torch.Tensor, fake_BTHWC: torch.Tensor) -> BallFrames:
    rows, steps = truth_BTHWC.shape[:2]
    frames = BallFrames(np.zeros((rows, steps)), np.zeros((rows, steps)), 0, [], [])
    for b in range(rows):
        for t in range(steps):
            real = locate_objects(truth_BTHWC[b, t])
            fake = locate_objects(fake_BTHWC[b, t])
            if real.right_paddle is not None:
                frames.paddle.append(_distance(real.right_paddle, fake.right_paddle, max))
            if real.ball is None:
                continue
            frames.shown_BT[b, t] += 1
            if fake.ball is not None:
                frames.drawn += 1
                frames.errors.append(_distance(real.ball, fake.ball, math.hypot))
                frames.near_BT[b, t] += frames.errors[-1] <= BALL_TOLERANCE_PX
    return frames


def score_ball_frames(frames: BallFrames, window_of_row: np.ndarray | None) -> BallScore:
    shown, near, steps = frames.shown_BT, frames.near_BT, frames.shown_BT.shape[1]
    drawn, errors, paddle = frames.drawn, frames.errors, frames.paddle
    total = shown.sum()
    if not total:
        return BallScore(math.nan, math.nan, math.nan, [math.nan] * steps, _share(paddle))
    by_step_shown, by_step_near = shown.sum(0), near.sum(0)
    return BallScore(
        within_2px=float(near.sum() / total),
        drawn=drawn / total,
        error_px=float(np.mean(errors)) if errors else math.nan,
        within_2px_by_step=[
            float(n / s) if s else math.nan for n, s in zip(by_step_near, by_step_shown)
        ],
        agent_paddle_within_1px=_share(paddle),
        within_2px_ci95=clustered_share_ci95(*_by_window(near, shown, window_of_row)),
    )


def _by_window(near_BT: np.ndarray, shown_BT: np.ndarray, window_of_row: np.ndarray | None):
    """Hits and counts per window: rows summed over steps, and over rows of one window."""
    hits, counts = near_BT.sum(1), shown_BT.sum(1)
    if window_of_row is None:
        return hits, counts
    window_of_row = np.asarray(window_of_row)
    if window_of_row.shape != hits.shape:
        raise ValueError(
            f"window_of_row has shape {window_of_row.shape}, the rollout {hits.shape[0]} rows"
        )
    return np.bincount(window_of_row, hits), np.bincount(window_of_row, counts)


def clustered_share_ci95(hits_W: np.ndarray, counts_W: np.ndarray) -> float | None:
    """Half-width of a 95% interval (1.96 standard errors) of the share sum(hits)/sum(counts)
    when the counted items come in clusters (frames in windows): the ratio estimator's
    variance over clusters, sum((hits - share * counts)^2) / (n (n - 1) mean(counts)^2), with
    n the clusters that count anything. None under two such clusters."""
    kept = counts_W > 0
    hits, counts = hits_W[kept].astype(float), counts_W[kept].astype(float)
    n = len(counts)
    if n < 2:
        return None
    share = hits.sum() / counts.sum()
    variance = ((hits - share * counts) ** 2).sum() / (n * (n - 1) * counts.mean() ** 2)
    return float(1.96 * math.sqrt(variance))


def _distance(real, fake, combine) -> float:
    """combine(|dx|, |dy|): hypot for the ball, max (both axes within) for paddles."""
    if fake is None:
        return math.inf
    return float(combine(abs(real.x - fake.x), abs(real.y - fake.y)))


def _share(distances: list[float]) -> float:
    if not distances:
        return math.nan
    return float(np.mean([d <= PADDLE_TOLERANCE_PX for d in distances]))
