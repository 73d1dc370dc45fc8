"""Where a Pong world model loses the ball: every held-out frame that shows a real ball,
sorted by what the tokenizer's own reconstruction and the model's greedy rollout do with it.

usage: ball_failures.py CLIPS MODEL [--context C] [--horizon H] [--windows W]

The windows, rollout and tolerance are `score_models.py`'s (greedy, true actions, still cells
kept; the ball within 2 px). The tokenizer is the model folder's own. A frame counts as
"tokenizer ok" when the reconstruction of the true frame puts the ball within 2 px; the
rollout's ball is "missing" when the locator finds none, else binned by its distance to the
truth. A ball more than 10 px off is mostly not a ball: the locator's pick of a paddle edge
or a speck once the model has dropped the real one.
"""

from __future__ import annotations

import argparse
import math
from collections import Counter

import torch

from arvideo.generate import VideoGenerator
from arvideo.metrics import video_to_frames
from arvideo.pong_objects import locate_objects
from arvideo.rollout_score import held_out_windows, rollout_windows

BINS = ((2.0, "within 2 px"), (4.0, "2-4 px"), (10.0, "4-10 px"), (math.inf, "> 10 px"))


def rollout_bin(real, fake) -> str:
    if fake is None:
        return "missing"
    distance = math.hypot(real.x - fake.x, real.y - fake.y)
    return next(name for limit, name in BINS if distance <= limit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips")
    parser.add_argument("model")
    parser.add_argument("--context", type=int, default=4)
    parser.add_argument("--horizon", type=int, default=8)
    parser.add_argument("--windows", type=int, default=64)
    args = parser.parse_args()
    C, H = args.context, args.horizon
    windows = held_out_windows(args.clips, C + H, args.windows)
    generator = VideoGenerator.from_pretrained(args.model)
    frames = video_to_frames(windows.video_BCTHW)
    fake = rollout_windows(generator, windows, C, top_k=1)
    with torch.no_grad():
        video = windows.video_BCTHW
        parts = [generator.tokenizer(video[i : i + 8]).video for i in range(0, len(video), 8)]
    rebuilt = video_to_frames(torch.cat(parts).clamp(-1, 1))[:, C:]
    counts, by_step, appears = Counter(), [Counter() for _ in range(H)], Counter()
    for b in range(len(windows)):
        for t in range(H):
            real = locate_objects(frames[b, C + t]).ball
            if real is None:
                continue
            tokenizer_ok = rollout_bin(real, locate_objects(rebuilt[b, t]).ball) == BINS[0][1]
            outcome = rollout_bin(real, locate_objects(fake[b, t]).ball)
            counts["tokenizer ok" if tokenizer_ok else "tokenizer misses", outcome] += 1
            if locate_objects(frames[b, C + t - 1]).ball is None:
                appears[outcome] += 1
            by_step[t][outcome] += 1
    total = sum(counts.values())
    print(f"{args.model}: {total} frames with a real ball, {len(windows)} windows x {H}")
    for (tokenizer, outcome), count in sorted(counts.items()):
        print(f"  {tokenizer:17s} | model {outcome:12s} {count:5d}  {count / total:.3f}")
    names = [name for _, name in BINS] + ["missing"]
    print(
        f"  the ball not in the real frame before: {sum(appears.values())} frames, model",
        ", ".join(f"{name} {appears[name]}" for name in names),
    )
    steps = [f"h{t + 1} " + "/".join(str(step[n]) for n in names) for t, step in enumerate(by_step)]
    print("  by step:", " · ".join(steps), f"({'/'.join(names)})")


if __name__ == "__main__":
    main()
