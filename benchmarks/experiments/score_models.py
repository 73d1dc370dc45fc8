"""Score several exported world models on the same held-out windows of one clip data set:
foreground PSNR, the ball within 2 px per horizon step and the agent's paddle within 1 px,
beside copy-last. For models trained on different data sets (more episodes, another
collection), scored on the episodes none of them saw.

usage: score_models.py CLIPS MODEL [MODEL ...] [--context C] [--horizon H] [--windows W]

The windows are `held_out_windows(CLIPS, C + H, W)` (the learning bench's: C 4, H 8), greedy,
true actions, the foreground against CLIPS' training split.
"""

from __future__ import annotations

import argparse

from arvideo.generate import VideoGenerator
from arvideo.rollout_score import held_out_windows, score_windows, training_background


def describe(name: str, score) -> str:
    line = f"{name}: fg {score.foreground_psnr_db:.2f} dB"
    if score.ball is not None:
        steps = " ".join(f"{x:.2f}" for x in score.ball.within_2px_by_step)
        line += (
            f", ball ≤2px {score.ball.within_2px:.3f} (by step {steps}), "
            f"paddle ≤1px {score.ball.agent_paddle_within_1px:.3f}"
        )
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips")
    parser.add_argument("models", nargs="+")
    parser.add_argument("--context", type=int, default=4)
    parser.add_argument("--horizon", type=int, default=8)
    parser.add_argument("--windows", type=int, default=64)
    args = parser.parse_args()
    windows = held_out_windows(args.clips, args.context + args.horizon, args.windows)
    background = training_background(args.clips)
    for index, model in enumerate(args.models):
        generator = VideoGenerator.from_pretrained(model)
        score = score_windows(generator, windows, args.context, background, 0, top_k=1)
        if index == 0:
            print(describe("copy-last", score.copy_last))
        print(describe(model, score.model), flush=True)


if __name__ == "__main__":
    main()
