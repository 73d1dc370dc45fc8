"""Score several exported world models on the same held-out windows of one clip data set:
foreground PSNR, the ball within 2 px per horizon step, the agent's paddle within 1 px and
action-following (with `--action_following`), beside copy-last and the truth. For models
trained on different data sets (more episodes, another collection), scored on the episodes
none of them saw.

usage: score_models.py CLIPS MODEL [MODEL ...] [--context C] [--horizon H] [--windows W]
                       [--sampling JSON] [--arms JSON]

The windows are `held_out_windows(CLIPS, C + H, W)` (the learning bench's: C 4, H 8), greedy
(plus `--sampling`'s options, e.g. '{"keep_threshold": 0.7}'), true actions, the foreground
against CLIPS' training split. Action-following is the paradigm bench's
(`rollout_eval.action_following`: directions measured on CLIPS' training episodes, the step
from the last real frame included); the truth's own score is its ceiling.

`--arms '[{}, {"keep_threshold": 0.7}]'` scores every model once per arm (sampling options
on top of `--sampling`); an arm with more `refine_steps` than a model's order takes is
skipped for that model. Every row after the first also prints its ball share minus the
first row's, paired by window (`rollout_score.paired_ball_gap`), with its 95% interval.
"""

from __future__ import annotations

import argparse
import json

import torch

from arvideo.bench.paradigms.episodes import load_episodes
from arvideo.bench.paradigms.rollout_eval import (
    action_following,
    episode_directions,
    paddle_rows,
)
from arvideo.generate import VideoGenerator
from arvideo.metrics import video_to_frames
from arvideo.rollout_score import (
    held_out_windows,
    paired_ball_gap,
    rollout_windows,
    score_windows,
    training_background,
)


def _spread(half: float | None) -> str:
    return "" if half is None else f" ± {half:.3f}"


def describe(name: str, score) -> str:
    line = f"{name}: fg {score.foreground_psnr_db:.2f} dB"
    if score.ball is not None:
        steps = " ".join(f"{x:.2f}" for x in score.ball.within_2px_by_step)
        line += (
            f", ball ≤2px {score.ball.within_2px:.3f}{_spread(score.ball.within_2px_ci95)}"
            f" (by step {steps}), "
            f"paddle ≤1px {score.ball.agent_paddle_within_1px:.3f}"
        )
    return line


class ActionFollowing:
    """Scores rollouts (B×T×H×W×C uint8, the generated frames) of the windows' true actions;
    the step from the last context frame into the rollout counts."""

    def __init__(self, clips: str, windows, context: int):
        train = load_episodes(clips, "train")
        num_actions = int(max(a.max() for a in train.actions)) + 1
        self.directions = episode_directions(train.frames, train.actions, num_actions)
        self.last = video_to_frames(windows.video_BCTHW[:, :, context - 1 : context])
        self.taken = windows.actions_BT[:, context - 1 :].numpy()

    def __call__(self, rollout_BTHWC: torch.Tensor) -> float:
        rows = paddle_rows(torch.cat([self.last, torch.as_tensor(rollout_BTHWC)], dim=1))
        return action_following(rows, self.taken, self.directions)


def _applies(generator, sampling: dict) -> bool:
    """False where the arm asks for more refinement steps than the model's order takes, so
    one arm list can span a refining model and its one-shot baseline."""
    return sampling.get("refine_steps", 1) <= generator.lm.order.max_refine_steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips")
    parser.add_argument("models", nargs="+")
    parser.add_argument("--context", type=int, default=4)
    parser.add_argument("--horizon", type=int, default=8)
    parser.add_argument("--windows", type=int, default=64)
    parser.add_argument("--action_following", action="store_true")
    parser.add_argument("--sampling", type=json.loads, default={}, help="JSON generate options")
    parser.add_argument("--arms", type=json.loads, default=[{}], help="JSON list of options")
    args = parser.parse_args()
    C = args.context
    windows = held_out_windows(args.clips, C + args.horizon, args.windows)
    background = training_background(args.clips)
    follow = ActionFollowing(args.clips, windows, C) if args.action_following else None
    if follow is not None:
        truth = video_to_frames(windows.video_BCTHW[:, :, C:])
        print(f"truth: action-following {follow(truth):.3f}")
        copy_last = follow.last.expand_as(truth)
        print(f"copy-last: action-following {follow(copy_last):.3f}")
    first = None
    for model in args.models:
        generator = VideoGenerator.from_pretrained(model)
        for arm in args.arms:
            sampling = {"top_k": 1, **args.sampling, **arm}
            if not _applies(generator, sampling):
                most = generator.lm.order.max_refine_steps
                print(f"{model} {json.dumps(arm)}: skipped (its order takes {most} step(s))")
                continue
            score = score_windows(generator, windows, C, background, 0, True, **sampling)
            if first is None:
                print(describe("copy-last", score.copy_last))
            name = model if arm == {} else f"{model} {json.dumps(arm)}"
            line = describe(name, score.model)
            if first is not None and score.model.ball is not None:
                gap = paired_ball_gap(score.model, first)
                line += f", ball − first row {gap.gap:+.3f}{_spread(gap.ci95)} (paired)"
            if follow is not None:  # the same greedy rollout, still cells kept as scored above
                rollout = rollout_windows(generator, windows, C, **sampling)
                line += f", action-following {follow(rollout):.3f}"
            print(line, flush=True)
            first = score.model if first is None else first


if __name__ == "__main__":
    main()
