"""Scoring an exported world model on held-out windows, beside copying the last frame.

Windows of `context + horizon` frames are cut evenly from the val episodes of a clip data
set; the model continues each window's first frames with its true actions, and only the
generated frames are scored, as are the last context frame repeated (the copy-last
baseline). Reported as means over windows and horizon steps, and per horizon step: PSNR, foreground
PSNR (pixels that differ from the training split's median background: the moving objects),
and for Pong the ball (how often the model draws it where the truth shows it, and how far
from it) and the agent's paddle.
Knows the public `VideoGenerator` API, the metrics and the Pong locator; nothing about
training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from arvideo.ball_score import (
    BallScore,
    ShareGap,
    ball_frames,
    score_ball_frames,
    share_gap,
)
from arvideo.bench.paradigms.episodes import Windows, evaluation_windows, load_episodes
from arvideo.bench.paradigms.rollout_eval import copy_last_frame, window_spread
from arvideo.metrics import foreground_psnr, median_background, psnr, video_to_frames

PSNR_CAP_DB = 100.0
GAP_STEPS_SHOWN = 4  # the report's paired model - copy-last steps (the games target: h1-4)


@dataclass
class WindowScores:
    """Per held-out window and horizon step (windows × horizon lists), for paired comparisons
    of two models on the same windows and for intervals over windows. Capped as the means."""

    psnr_db: list[list[float]]
    foreground_psnr_db: list[list[float]]  # NaN where a truth frame has no foreground
    # Pong: per window, the generated frames showing a real ball, and those of them where
    # the rollout's is within 2 px (`paired_ball_gap`); None for other games
    ball_shown: list[float] | None = None
    ball_hits: list[float] | None = None


@dataclass
class RolloutScore:
    windows: int
    horizon: int
    psnr_db: float
    foreground_psnr_db: float
    ball: BallScore | None  # Pong only
    foreground_psnr_by_step_db: list[float] = field(default_factory=list)  # per horizon step
    psnr_by_step_db: list[float] = field(default_factory=list)  # per horizon step
    by_window: WindowScores | None = None  # only when asked for (`per_window=True`)
    # per horizon step, the PSNR of the foreground's squared error pooled over windows: no
    # cap, so an exact frame adds no error rather than 100 dB (`pooled_foreground_psnr`)
    foreground_pooled_psnr_by_step_db: list[float] = field(default_factory=list)


@dataclass
class PairedGap:
    """Model minus copy-last at one horizon step, paired by window (both capped as the
    means): the mean difference and the half-width of its 95% interval over windows (normal
    approximation; None under two windows). Windows without foreground are left out."""

    mean_db: float
    ci95_db: float | None
    windows: int

    @classmethod
    def of(cls, diff_W: torch.Tensor) -> PairedGap:
        """From per-window differences (NaN: a window without foreground, left out)."""
        half = window_spread(diff_W[None, :, None], cap=math.inf)  # differences: no cap
        seen = diff_W[diff_W.isfinite()]
        return cls(float(seen.mean()) if len(seen) else math.nan, half, len(seen))

    def describe(self) -> str:
        spread = "" if self.ci95_db is None else f" ± {self.ci95_db:.1f}"
        return f"{self.mean_db:+.1f}{spread}"


def paired_gaps(model: RolloutScore, copy_last: RolloutScore, metric: str) -> list[PairedGap]:
    """Per horizon step, `metric` ("foreground_psnr_db" or "psnr_db") of model minus
    copy-last over the same windows; both scores need `by_window` (`per_window=True`)."""
    if model.by_window is None or copy_last.by_window is None:
        raise ValueError("paired gaps need per-window scores: score with per_window=True")
    diff_WT = torch.tensor(getattr(model.by_window, metric)) - torch.tensor(
        getattr(copy_last.by_window, metric)
    )
    return [PairedGap.of(step) for step in diff_WT.T]  # the scores are capped already


def paired_ball_gap(a: RolloutScore, b: RolloutScore) -> ShareGap:
    """The ball within 2 px of rollout a minus rollout b, on the same Pong windows; both
    scores need `by_window` (`per_window=True`). Two models, or two samplings of one, rank
    far more surely this way than by their separate intervals: a window hard for one is
    hard for the other."""
    a_w, b_w = a.by_window, b.by_window
    if a_w is None or b_w is None or a_w.ball_shown is None or b_w.ball_shown is None:
        raise ValueError("a paired ball gap needs per-window Pong scores: per_window=True")
    return share_gap(a_w.ball_hits, a_w.ball_shown, b_w.ball_hits, b_w.ball_shown)


@dataclass
class WorldModelScore:
    model: RolloutScore
    copy_last: RolloutScore
    # the model with every frame decoded, for a model that keeps still cells by default
    # (still_cells.py); None when it does not
    model_plain: RolloutScore | None = None

    def beats_copy_last(self) -> bool:
        return self.model.foreground_psnr_db > self.copy_last.foreground_psnr_db

    def foreground_gaps(self) -> list[PairedGap] | None:
        """Model minus copy-last foreground PSNR per horizon step, paired by window (None
        when scored without `per_window`)."""
        if self.model.by_window is None:
            return None
        return paired_gaps(self.model, self.copy_last, "foreground_psnr_db")

    def report(self) -> str:
        lines = [
            f"held-out windows: {self.model.windows}, {self.model.horizon} generated frames each"
        ]
        rows = [("model", self.model), ("copy-last-frame", self.copy_last)]
        if self.model_plain is not None:
            rows.insert(1, ("model, no kept cells", self.model_plain))
        for name, score in rows:
            line = (
                f"  {name:20s} PSNR {score.psnr_db:6.2f} dB, "
                f"foreground PSNR {score.foreground_psnr_db:6.2f} dB"
            )
            if score.ball is not None:
                line += (
                    f", ball within 2 px in {score.ball.within_2px:.0%} of frames showing it "
                    f"(something ball-like in {score.ball.drawn:.0%}, "
                    f"{score.ball.error_px:.1f} px off); agent paddle within 1 px in "
                    f"{score.ball.agent_paddle_within_1px:.0%}"
                )
            lines.append(line)
        gaps = self.foreground_gaps()
        if gaps:
            shown = gaps[:GAP_STEPS_SHOWN]
            lines.append(
                f"  model minus copy-last, foreground PSNR per step h1-{len(shown)} (dB, ± 95% "
                f"over windows): {' · '.join(gap.describe() for gap in shown)}"
            )
        steps = min(GAP_STEPS_SHOWN, len(self.model.foreground_pooled_psnr_by_step_db))
        if steps:
            lines.append(
                f"  foreground PSNR of the error pooled over windows, model/copy-last, "
                f"h1-{steps} (dB): {self.pooled_foreground_steps(steps)}"
            )
        return "\n".join(lines)

    def pooled_foreground_steps(self, steps: int) -> str:
        """'model/copy-last' pooled foreground PSNR for the first `steps` horizon steps."""
        model = self.model.foreground_pooled_psnr_by_step_db[:steps]
        copy_last = self.copy_last.foreground_pooled_psnr_by_step_db[:steps]
        return " · ".join(f"{m:.1f}/{c:.1f}" for m, c in zip(model, copy_last))


def pooled_foreground_psnr(foreground_psnr_BT: torch.Tensor) -> list[float]:
    """Per step (column), the PSNR of the mean foreground squared error over the windows
    (rows) that show a foreground, from their uncapped per-frame PSNR (inf: exact). The
    capped per-frame mean lets a few exact frames decide a step (100 dB against ~40 for a
    frame a few pixels off); pooling the error weighs every window's error alike."""
    squared_error_BT = torch.pow(10.0, -foreground_psnr_BT / 10)  # peak 1; inf dB -> 0
    pooled_T = squared_error_BT.nanmean(dim=0)
    psnr_T = (-10 * torch.log10(pooled_T)).clamp(max=PSNR_CAP_DB)  # all exact: the cap
    return [float(v) for v in psnr_T]


def score_video(
    truth_BCTHW: torch.Tensor, fake_BCTHW: torch.Tensor, background_CHW: torch.Tensor, pong: bool,
    per_window: bool = False,
) -> RolloutScore:  # fmt: skip
    uncapped = foreground_psnr(truth_BCTHW, fake_BCTHW, background_CHW)
    fg = uncapped.clamp(max=PSNR_CAP_DB)
    whole = psnr(truth_BCTHW, fake_BCTHW).clamp(max=PSNR_CAP_DB)
    ball, by_window = None, WindowScores(whole.tolist(), fg.tolist())
    if pong:
        frames = ball_frames(video_to_frames(truth_BCTHW), video_to_frames(fake_BCTHW))
        ball = score_ball_frames(frames, None)
        by_window.ball_shown = frames.shown_BT.sum(1).tolist()
        by_window.ball_hits = frames.near_BT.sum(1).tolist()
    return RolloutScore(
        windows=truth_BCTHW.shape[0],
        horizon=truth_BCTHW.shape[2],
        psnr_db=float(whole.mean()),
        foreground_psnr_db=float(fg.nanmean()),
        ball=ball,
        foreground_psnr_by_step_db=[float(v) for v in fg.nanmean(dim=0)],
        psnr_by_step_db=[float(v) for v in whole.mean(dim=0)],
        by_window=by_window if per_window else None,
        foreground_pooled_psnr_by_step_db=pooled_foreground_psnr(uncapped),
    )


def held_out_windows(data: str, length: int, count: int, split: str = "val") -> Windows:
    return evaluation_windows(load_episodes(data, split), length, count)


def score_world_model(
    generator,
    data: str,
    context: int,
    horizon: int,
    windows: int = 16,
    seed: int = 0,
    split: str = "val",
    background_CHW: torch.Tensor | None = None,
    per_window: bool = False,
    **sampling,
) -> WorldModelScore:
    """Model vs copy-last on `windows` windows of `data` (a clip data set folder); `split`
    "val" is the held-out episodes; `background_CHW`: the foreground reference (None = the
    median of the training split's first frames; pass it to score many models on one data
    set without reading it again); `per_window`: keep every window's scores too
    (`RolloutScore.by_window`); `sampling`: temperature, top_k, ... as in generate."""
    chosen = held_out_windows(data, context + horizon, windows, split)
    background = background_CHW if background_CHW is not None else training_background(data)
    return score_windows(generator, chosen, context, background, seed, per_window, **sampling)


def rollout_windows(generator, chosen: Windows, context: int, seed: int = 0, **sampling):
    """The generated frames (B×H×H×W×C uint8 tensor) of each window: its first `context`
    frames real, the rest sampled with its true actions (`sampling` as in generate; still
    cells as the model folder decodes by default)."""
    horizon = chosen.video_BCTHW.shape[2] - context
    output = generator(
        context=video_to_frames(chosen.video_BCTHW[:, :, :context]).numpy(),
        actions=chosen.actions_BT[:, : context + horizon - 1].numpy(),
        num_frames=horizon, seed=seed, progress=False, **sampling,
    )  # fmt: skip
    return torch.from_numpy(output.video)[:, context:]


def score_windows(
    generator, chosen: Windows, context: int, background_CHW: torch.Tensor, seed: int = 0,
    per_window: bool = False, **sampling,
) -> WorldModelScore:  # fmt: skip
    """Model vs copy-last on given windows: each window's first `context` frames are real,
    the rest are generated with its true actions and scored. `sampling` as in
    `score_world_model`, plus `keep_still_cells` (None = kept where the model can)."""
    from arvideo.still_cells import cell_size, keep_still_cells, why_not

    horizon = chosen.video_BCTHW.shape[2] - context
    frames = ((chosen.video_BCTHW.permute(0, 2, 3, 4, 1) + 1) * 127.5).round().to(torch.uint8)
    wanted = sampling.pop("keep_still_cells", None)
    cell = cell_size(generator.tokenizer, generator.lm.config.values)
    if wanted and cell is None:
        values = generator.lm.config.values
        raise ValueError(f"keep_still_cells=True: {why_not(generator.tokenizer, values)}")
    # sample once, every cell decoded; the kept-cells video is composited from its codes
    output = generator(
        context=frames[:, :context].numpy(),
        actions=chosen.actions_BT[:, : context + horizon - 1].numpy(),
        num_frames=horizon, seed=seed, progress=False, keep_still_cells=False, **sampling,
    )  # fmt: skip
    video = torch.from_numpy(output.video)
    keeps = cell is not None and wanted is not False
    if keeps:
        values = output.codes if output.codes is not None else output.latents
        kept = keep_still_cells(
            video, torch.as_tensor(values), context, cell, frames[:, context - 1]
        )

    def as_float(video_BTHWC: torch.Tensor) -> torch.Tensor:
        return video_BTHWC[:, context:].permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0

    truth = chosen.video_BCTHW[:, :, context:]
    pong = (generator.info.game or "").lower() == "pong"
    baseline = copy_last_frame(chosen.video_BCTHW[:, :, :context], horizon)
    plain = score_video(truth, as_float(video), background_CHW, pong, per_window)
    return WorldModelScore(
        model=score_video(truth, as_float(kept), background_CHW, pong, per_window)
        if keeps
        else plain,
        copy_last=score_video(truth, baseline, background_CHW, pong, per_window),
        model_plain=plain if keeps else None,
    )


def training_background(data: str, clips: int = 64) -> torch.Tensor:
    """The median of the first frames of `clips` training clips: the still court."""
    from arvideo.training.tokenizer_runs import val_clips

    return median_background(val_clips(data, 1, clips, "train"))
