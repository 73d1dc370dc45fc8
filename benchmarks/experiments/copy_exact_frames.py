"""Where a world model loses to copy-last in mean foreground PSNR: the frames in which
copying is exact.

usage: copy_exact_frames.py CLIPS MODEL [--real N]

The mean of per-frame foreground PSNR caps an exact frame at 100 dB, so a frame where the
last real frame already matches the truth on the truth's foreground scores 100 for copy-last,
and ~40 for a model that got a few of those pixels wrong. This splits the model's mean
difference to copy-last (64 held-out 16-frame windows, N real frames (default 3, the main
job's protocol on 4x4 cells) then the rest generated with the true actions, greedy, still
cells kept) into those frames and the others, and lists the windows behind the first part
with the model's wrong foreground pixels. Written for SpaceInvaders on 4x4 cells
(benchmarks/results/capacity.md); any game works.
"""

from __future__ import annotations

import argparse

import torch

from arvideo.bench.paradigms.rollout_eval import copy_last_frame
from arvideo.generate import VideoGenerator
from arvideo.metrics import foreground_mask, foreground_psnr
from arvideo.rollout_score import PSNR_CAP_DB, held_out_windows, training_background

LENGTH, WINDOWS = 16, 64
PARTS = ("copy exact, model not", "model exact, copy not", "rest")


def split_difference(model_BT: torch.Tensor, copy_BT: torch.Tensor) -> dict[str, float]:
    """The mean model-minus-copy difference over frames with a foreground, as the sum of its
    parts: frames where only copy-last is exact, only the model, and neither or both."""
    seen = ~(model_BT.isnan() | copy_BT.isnan())
    copy_exact, model_exact = copy_BT >= PSNR_CAP_DB, model_BT >= PSNR_CAP_DB
    difference = torch.where(seen, model_BT - copy_BT, torch.zeros_like(model_BT))
    frames = int(seen.sum())
    parts = dict(zip(PARTS, (copy_exact & ~model_exact, model_exact & ~copy_exact,
                             ~(copy_exact ^ model_exact))))  # fmt: skip
    split = {name: float(difference[mask & seen].sum()) / frames for name, mask in parts.items()}
    split["frames"] = frames
    split["copy exact frames"] = int((copy_exact & seen).sum())
    split["copy exact, model not: frames"] = int((copy_exact & ~model_exact & seen).sum())
    return split


def rollout(generator, windows, real: int) -> torch.Tensor:
    """The model's greedy frames after `real` real ones (still cells kept), B×C×T×H×W in
    [-1, 1], as the scores read them."""
    video = ((windows.video_BCTHW.permute(0, 2, 3, 4, 1) + 1) * 127.5).round().to(torch.uint8)
    output = generator(
        context=video[:, :real].numpy(), actions=windows.actions_BT[:, : LENGTH - 1].numpy(),
        num_frames=LENGTH - real, seed=0, progress=False, top_k=1,
    )  # fmt: skip
    frames = torch.as_tensor(output.video)[:, real:]
    return frames.permute(0, 4, 1, 2, 3).float() / 127.5 - 1


def main(data: str, model: str, real: int) -> None:
    generator = VideoGenerator.from_pretrained(model)
    windows = held_out_windows(data, LENGTH, WINDOWS)
    background = training_background(data)
    truth = windows.video_BCTHW[:, :, real:]
    fake = rollout(generator, windows, real)
    copy = copy_last_frame(windows.video_BCTHW[:, :, :real], LENGTH - real)
    model_BT, copy_BT = (foreground_psnr(truth, video, background).clamp(max=PSNR_CAP_DB)
                         for video in (fake, copy))  # fmt: skip
    print(
        f"fg PSNR: model {float(model_BT.nanmean()):.2f}, copy-last "
        f"{float(copy_BT.nanmean()):.2f} dB ({real} real frames, "
        f"{LENGTH - real} generated, {WINDOWS} windows)"
    )
    split = split_difference(model_BT, copy_BT)
    print(
        f"model minus copy-last, {split['frames']} frames: "
        f"{float((model_BT - copy_BT).nanmean()):+.2f} dB = "
        + " + ".join(f"{split[k]:+.2f} ({k})" for k in PARTS)
    )
    print(
        f"copy-last exact in {split['copy exact frames']} frames; the model is not in "
        f"{split['copy exact, model not: frames']} of them:"
    )
    # the model's wrong foreground pixels in those frames
    wrong_BTHW = ((truth - fake).abs().amax(1) > 0) & foreground_mask(truth, background)
    missed = (copy_BT >= PSNR_CAP_DB) & (model_BT < PSNR_CAP_DB)
    wrong = wrong_BTHW.flatten(2).sum(-1) * missed
    for window in wrong.nonzero()[:, 0].unique().tolist():
        steps = wrong[window].nonzero()[:, 0]
        pixels, at = wrong[window][steps].tolist(), [s + 1 for s in steps.tolist()]
        print(f"  window {window}: steps {at}, wrong fg pixels {pixels}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips")
    parser.add_argument("model")
    parser.add_argument("--real", type=int, default=3, help="real frames before the rollout")
    args = parser.parse_args()
    main(args.clips, args.model, args.real)
