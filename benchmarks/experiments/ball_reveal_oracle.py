"""Would a refining next-block model find the ball if every cell away from it were already
committed, and committed right? An upper bound for any within-frame decoding schedule.

usage: ball_reveal_oracle.py CLIPS MODEL [--windows W] [--radius R]

For a model trained with `lm.refine: true`, on W held-out 16-frame windows, every span of the
model's window is fed with its true codes and actions (teacher forced: the horizon-1
prediction). The span's last frame is predicted twice: with nothing revealed (one-shot, as
sampling with one step does) and with the true codes of every cell revealed except the
(2R+1)×(2R+1) cells around the real ball's (what a perfect schedule would have committed
before reaching the ball). The hidden cells take their argmax; each frame with a real ball
scores a hit where the decoded frame draws a ball within 2 px of it. Equal shares mean the
model does not know which cell the ball enters, whatever the rest of the frame says; a
higher share with the reveal means the decoding schedule is what loses the ball.
"""

from __future__ import annotations

import argparse

import torch

from arvideo.generate import VideoGenerator
from arvideo.metrics import video_to_frames
from arvideo.pong_objects import locate_objects
from arvideo.rollout_score import held_out_windows

LENGTH = 16


def last_frame_argmax(lm, span_BTHW, actions_BT, reveal_BHW) -> torch.Tensor:
    """Argmax codes B×h×w of the span's last frame, `reveal_BHW`'s cells given their true code
    as the refinement input (earlier frames committed with nothing revealed)."""
    from changed_cell_odds import last_frame_logits  # this folder's sibling script

    reveal = torch.zeros(span_BTHW.shape, dtype=torch.bool)
    reveal[:, -1] = reveal_BHW
    codes = last_frame_logits(lm, span_BTHW, actions_BT, reveal.flatten(1)).argmax(-1)
    return torch.where(reveal_BHW, span_BTHW[:, -1], codes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips")
    parser.add_argument("model")
    parser.add_argument("--windows", type=int, default=64)
    parser.add_argument("--radius", type=int, default=1)
    args = parser.parse_args()
    from ball_cell_odds import decoded, near  # this folder's sibling script

    generator = VideoGenerator.from_pretrained(args.model)
    lm = generator.lm
    if lm.order.max_refine_steps == 1:
        raise SystemExit(f"{args.model}: a next_block model trained with refine: true is needed")
    frames = generator.max_context_frames + 1
    windows = held_out_windows(args.clips, LENGTH, args.windows)
    real = video_to_frames(windows.video_BCTHW)
    with torch.no_grad():
        codes = generator.tokenizer.encode(windows.video_BCTHW).codes
    h, w = codes.shape[-2:]
    cell, R = real.shape[2] // w, args.radius
    hits = {"nothing revealed": 0, f"all but the {2 * R + 1}x{2 * R + 1} around the ball": 0}
    balls = 0
    for start in range(LENGTH - frames + 1):
        span = codes[:, start : start + frames]
        actions = windows.actions_BT[:, start : start + frames]
        truths = [locate_objects(real[b, start + frames - 1]).ball for b in range(len(span))]
        around = torch.zeros(len(span), h, w, dtype=torch.bool)
        for b, truth in enumerate(truths):
            if truth is not None:
                r, c = int(truth.y) // cell, int(truth.x) // cell
                around[b, max(r - R, 0) : r + R + 1, max(c - R, 0) : c + R + 1] = True
        with torch.no_grad():
            decodes = [
                decoded(generator, last_frame_argmax(lm, span, actions, reveal))
                for reveal in (torch.zeros_like(around), ~around)
            ]
        for b, truth in enumerate(truths):
            if truth is None:
                continue
            balls += 1
            for name, frames_BHWC in zip(hits, decodes):
                hits[name] += near(truth, locate_objects(frames_BHWC[b]).ball)
    print(f"{args.model}, {frames}-frame spans, {balls} predicted frames with a ball:")
    for name, n in hits.items():
        print(f"  {name}: ball within 2 px in {n} ({n / max(balls, 1):.1%})")


if __name__ == "__main__":
    main()
