"""Scoring rollouts against copy-last on real held-out Pong windows."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from arvideo.ball_score import ball_score, clustered_share_ci95
from arvideo.bench.paradigms.rollout_eval import copy_last_frame
from arvideo.metrics import median_background, video_to_frames
from arvideo.rollout_score import (
    RolloutScore,
    WindowScores,
    WorldModelScore,
    held_out_windows,
    paired_ball_gap,
    paired_gaps,
    pooled_foreground_psnr,
    score_video,
)


def test_truth_scores_perfectly_and_an_empty_court_draws_no_ball(pong_dir):
    windows = held_out_windows(str(pong_dir), 8, 6)
    video = windows.video_BCTHW
    background = median_background(video[:, :, :1])
    perfect = score_video(video, video.clone(), background, pong=True)
    assert perfect.foreground_psnr_db == 100.0 and perfect.psnr_db == 100.0
    assert perfect.ball.drawn == perfect.ball.within_2px == 1.0 and perfect.ball.error_px == 0.0
    assert perfect.ball.agent_paddle_within_1px == 1.0
    assert perfect.foreground_psnr_by_step_db == perfect.psnr_by_step_db == [100.0] * 8
    assert perfect.ball.within_2px_ci95 == 0.0  # every window all hits: no spread
    steps = perfect.ball.within_2px_by_step
    assert len(steps) == 8 and all(v == 1.0 or math.isnan(v) for v in steps)
    empty = background[None, :, None].expand_as(video)
    blank = score_video(video, empty, background, pong=True)
    assert blank.ball.drawn == blank.ball.within_2px == 0.0 and math.isnan(blank.ball.error_px)
    assert blank.ball.agent_paddle_within_1px == 0.0
    assert all(v == 0.0 or math.isnan(v) for v in blank.ball.within_2px_by_step)
    assert blank.foreground_psnr_db < perfect.foreground_psnr_db


def test_copy_last_is_worse_than_the_truth_where_things_move(pong_dir):
    windows = held_out_windows(str(pong_dir), 8, 6)
    video = windows.video_BCTHW
    background = median_background(video[:, :, :1])
    truth = video[:, :, 2:]
    copied = score_video(truth, copy_last_frame(video[:, :, :2], 6), background, pong=False)
    assert copied.ball is None and copied.windows == len(windows) and copied.horizon == 6
    assert 0 < copied.foreground_psnr_db < 100.0
    by_step = copied.foreground_psnr_by_step_db
    assert len(by_step) == 6 and by_step[0] > by_step[-1]  # copying drifts with the horizon
    assert torch.isfinite(torch.tensor(copied.psnr_db))
    whole = copied.psnr_by_step_db  # per step, and its mean is the clip's PSNR
    assert len(whole) == 6 and math.isclose(sum(whole) / 6, copied.psnr_db, rel_tol=1e-5)


def test_per_window_scores_are_the_windows_behind_the_means(pong_dir):
    windows = held_out_windows(str(pong_dir), 8, 6)
    video = windows.video_BCTHW
    background = median_background(video[:, :, :1])
    fake = video.clone()
    fake[0] = background[:, None]  # one window blanked, the others perfect
    score = score_video(video, fake, background, pong=False, per_window=True)
    rows = torch.tensor(score.by_window.psnr_db)
    assert rows.shape == (6, 8)
    assert (rows[1:] == 100.0).all() and (rows[0] < 100.0).all()
    assert torch.allclose(rows.mean(0), torch.tensor(score.psnr_by_step_db))
    fg = torch.tensor(score.by_window.foreground_psnr_db)
    assert torch.allclose(fg.nanmean(0), torch.tensor(score.foreground_psnr_by_step_db))
    assert score_video(video, fake, background, pong=False).by_window is None


def _score(values_WT: list[list[float]]) -> RolloutScore:
    fg = torch.tensor(values_WT)
    return RolloutScore(
        windows=len(values_WT), horizon=len(values_WT[0]), psnr_db=0.0,
        foreground_psnr_db=float(fg.nanmean()), ball=None,
        by_window=WindowScores(values_WT, values_WT),
    )  # fmt: skip


def test_paired_gaps_difference_windows_and_leave_out_those_without_foreground():
    nan = math.nan
    model = _score([[30.0, 40.0], [32.0, 40.0], [34.0, nan]])
    copy = _score([[31.0, 100.0], [31.0, 100.0], [31.0, nan]])
    first, second = paired_gaps(model, copy, "foreground_psnr_db")
    assert math.isclose(first.mean_db, 1.0) and first.windows == 3  # -1, +1, +3
    assert math.isclose(first.ci95_db, 1.96 * 2.0 / math.sqrt(3), rel_tol=1e-6)
    assert second.mean_db == -60.0 and second.windows == 2 and second.ci95_db == 0.0
    assert first.describe() == "+1.0 ± 2.3"
    score = WorldModelScore(model, copy)
    assert score.foreground_gaps() == [first, second]
    assert "h1-2 (dB, ± 95% over windows): +1.0 ± 2.3 · -60.0 ± 0.0" in score.report()
    bare = WorldModelScore(replace(model, by_window=None), copy)
    assert bare.foreground_gaps() is None and "minus copy-last" not in bare.report()
    with pytest.raises(ValueError, match="per_window=True"):
        paired_gaps(bare.model, copy, "foreground_psnr_db")


def test_pooled_foreground_psnr_weighs_errors_not_exact_frames():
    inf, nan = math.inf, math.nan
    # step 1: one exact window and one at 20 dB (error 0.01): pooled error 0.005 = 23.0 dB,
    # where the capped mean says 60; step 2: no foreground in one window; step 3: all exact
    psnr_BT = torch.tensor([[inf, 30.0, inf], [20.0, nan, inf]])
    first, second, third = pooled_foreground_psnr(psnr_BT)
    assert math.isclose(first, 10 * math.log10(200), rel_tol=1e-6)
    assert math.isclose(second, 30.0, rel_tol=1e-6) and third == 100.0
    assert math.isnan(pooled_foreground_psnr(torch.tensor([[nan], [nan]]))[0])


def test_score_video_pools_the_foreground_error_per_step(pong_dir):
    windows = held_out_windows(str(pong_dir), 8, 6)
    video = windows.video_BCTHW
    background = median_background(video[:, :, :1])
    copied = score_video(video[:, :, 2:], copy_last_frame(video[:, :, :2], 6), background, False)
    pooled = copied.foreground_pooled_psnr_by_step_db
    assert len(pooled) == 6 and pooled[0] > pooled[-1]
    assert all(p <= m for p, m in zip(pooled, copied.foreground_psnr_by_step_db))  # Jensen
    perfect = score_video(video, video.clone(), background, pong=False)
    assert perfect.foreground_pooled_psnr_by_step_db == [100.0] * 8
    report = WorldModelScore(copied, copied).report()
    assert f"h1-4 (dB): {pooled[0]:.1f}/{pooled[0]:.1f}" in report


def test_clustered_share_interval_hand_computed():
    # share 4/6; residuals -1/3, +1/3; variance (2/9) / (2 * 1 * 3^2) = 1/81
    half = clustered_share_ci95(np.array([1, 3]), np.array([2, 4]))
    assert half == pytest.approx(1.96 / 9)
    # a window that counts nothing is not a cluster; one cluster gives no interval
    assert clustered_share_ci95(np.array([1, 0, 3]), np.array([2, 0, 4])) == pytest.approx(half)
    assert clustered_share_ci95(np.array([1, 0]), np.array([2, 0])) is None
    # the same share in every window: no spread, however many frames
    assert clustered_share_ci95(np.array([1, 2, 4]), np.array([2, 4, 8])) == 0.0


def test_ball_interval_comes_from_windows_that_differ(pong_dir):
    """A perfect rollout has no spread; blanking one window's frames drops the share and
    opens an interval."""
    windows = held_out_windows(str(pong_dir), 8, 6)
    video = windows.video_BCTHW
    background = median_background(video[:, :, :1])
    blank = background[None, :, None].expand_as(video)
    perfect = score_video(video, video.clone(), background, pong=True).ball
    one_window = video.clone()
    one_window[0] = blank[0]
    gathered = score_video(video, one_window, background, pong=True).ball
    assert perfect.within_2px_ci95 == 0.0
    assert gathered.within_2px < 1.0 and gathered.within_2px_ci95 > 0.0


def test_paired_ball_gap_differences_the_same_windows(pong_dir):
    """Blanking one window costs that window's balls, and the paired interval sees only that
    window differ; a perfect rollout against itself is no gap at all."""
    windows = held_out_windows(str(pong_dir), 8, 6)
    video = windows.video_BCTHW
    background = median_background(video[:, :, :1])
    perfect = score_video(video, video.clone(), background, pong=True, per_window=True)
    one_window = video.clone()
    one_window[0] = background[:, None]
    blanked = score_video(video, one_window, background, pong=True, per_window=True)
    shown = np.asarray(perfect.by_window.ball_shown)
    assert shown.sum() > shown[0] > 0  # window 0 and others show the ball
    assert perfect.by_window.ball_hits == perfect.by_window.ball_shown
    gap = paired_ball_gap(perfect, blanked)
    assert gap.gap == pytest.approx(shown[0] / shown.sum())
    assert gap.gap == pytest.approx(perfect.ball.within_2px - blanked.ball.within_2px)
    assert gap.ci95 > 0 and gap.windows == int((shown > 0).sum())
    same = paired_ball_gap(perfect, perfect)
    assert same.gap == 0.0 and same.ci95 == 0.0
    with pytest.raises(ValueError, match="per_window=True"):
        paired_ball_gap(perfect, score_video(video, one_window, background, pong=True))
    other = score_video(video[1:], video[1:].clone(), background, pong=True, per_window=True)
    with pytest.raises(ValueError, match="same windows"):
        paired_ball_gap(perfect, other)


def test_ball_interval_clusters_the_seeds_of_one_window(pong_dir):
    """Two sampling seeds of 6 windows (rows seed-major): with `window_of_row` the interval
    is over 6 windows, not 12 rows; the share is the same either way."""
    windows = held_out_windows(str(pong_dir), 8, 6)
    video = windows.video_BCTHW
    background = median_background(video[:, :, :1])
    truth = video_to_frames(video.repeat(2, 1, 1, 1, 1))
    fake = truth.clone()
    fake[6] = video_to_frames(background[None, :, None].expand_as(video))[0]  # seed 1, window 0
    ids = np.tile(np.arange(6), 2)
    as_rows, as_windows = ball_score(truth, fake), ball_score(truth, fake, ids)
    assert as_rows.within_2px == as_windows.within_2px < 1.0
    assert as_rows.within_2px_ci95 != pytest.approx(as_windows.within_2px_ci95)
    with pytest.raises(ValueError, match="window_of_row"):
        ball_score(truth, fake, np.arange(6))


def test_rollout_windows_returns_the_generated_frames_only(gen):
    """Windows of 2 real + 3 generated frames: a B×3×H×W×C uint8 rollout, the same for the
    same seed."""
    from arvideo.bench.paradigms.episodes import Windows
    from arvideo.rollout_score import rollout_windows

    size = gen.info.frame_size
    noise = torch.Generator().manual_seed(0)
    video = torch.rand(2, 3, 5, *size, generator=noise) * 2 - 1
    actions = torch.tensor([[0, 2, 2, 2, 2], [0, 3, 3, 3, 3]])
    chosen = Windows(video, actions)
    first = rollout_windows(gen, chosen, 2, seed=0, top_k=1)
    assert first.shape == (2, 3, *size, 3) and first.dtype == torch.uint8
    assert torch.equal(first, rollout_windows(gen, chosen, 2, seed=0, top_k=1))
