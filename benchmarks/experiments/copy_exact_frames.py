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

import sys

import torch

from arvideo.generate import VideoGenerator
from arvideo.metrics import FOREGROUND_THRESHOLD, to_unit_range
from arvideo.rollout_score import held_out_windows, score_windows, training_background

LENGTH, WINDOWS, EXACT_DB = 16, 64, 99.9
PARTS = ("copy exact, model not", "model exact, copy not", "rest")


def split_difference(model_TW: torch.Tensor, copy_TW: torch.Tensor) -> dict[str, float]:
    """The mean model-minus-copy difference over frames with a foreground, as the sum of its
    parts: frames where only copy-last is exact, only the model, and neither or both."""
    seen = ~(model_TW.isnan() | copy_TW.isnan())
    copy_exact, model_exact = copy_TW >= EXACT_DB, model_TW >= EXACT_DB
    difference = torch.where(seen, model_TW - copy_TW, torch.zeros_like(model_TW))
    frames = int(seen.sum())
    parts = {
        "copy exact, model not": copy_exact & ~model_exact,
        "model exact, copy not": model_exact & ~copy_exact,
        "rest": ~(copy_exact ^ model_exact),
    }
    split = {name: float(difference[mask & seen].sum()) / frames for name, mask in parts.items()}
    split["frames"] = frames
    split["copy exact frames"] = int((copy_exact & seen).sum())
    split["copy exact, model not: frames"] = int((copy_exact & ~model_exact & seen).sum())
    return split


def wrong_pixels(generator, windows, real: int, background_CHW: torch.Tensor) -> torch.Tensor:
    """Per window and generated step, the model's wrong pixels on the truth's foreground
    where copy-last has none (0 elsewhere)."""
    video = ((windows.video_BCTHW.permute(0, 2, 3, 4, 1) + 1) * 127.5).round().to(torch.uint8)
    output = generator(
        context=video[:, :real].numpy(), actions=windows.actions_BT[:, : LENGTH - 1].numpy(),
        num_frames=LENGTH - real, seed=0, progress=False, top_k=1,
    )  # fmt: skip
    fake = torch.as_tensor(output.video)[:, real:].float() / 255
    truth, last = video[:, real:].float() / 255, video[:, real - 1 : real].float() / 255
    background = to_unit_range(background_CHW).permute(1, 2, 0)
    foreground = ((truth - background).abs() > FOREGROUND_THRESHOLD).any(-1)
    model_wrong = ((truth - fake).abs().amax(-1) > 0) & foreground
    copy_wrong = ((truth - last).abs().amax(-1) > 0) & foreground
    copy_exact = ~copy_wrong.flatten(2).any(-1) & foreground.flatten(2).any(-1)
    return model_wrong.flatten(2).sum(-1) * copy_exact


def main(data: str, model: str, real: int) -> None:
    generator = VideoGenerator.from_pretrained(model)
    windows = held_out_windows(data, LENGTH, WINDOWS)
    background = training_background(data)
    score = score_windows(generator, windows, real, background, 0, per_window=True, top_k=1)
    model_TW = torch.tensor(score.model.by_window.foreground_psnr_db)
    copy_TW = torch.tensor(score.copy_last.by_window.foreground_psnr_db)
    print(
        f"fg PSNR: model {score.model.foreground_psnr_db:.2f}, copy-last "
        f"{score.copy_last.foreground_psnr_db:.2f} dB ({real} real frames, "
        f"{LENGTH - real} generated, {WINDOWS} windows)"
    )
    split = split_difference(model_TW, copy_TW)
    print(
        f"model minus copy-last, {split['frames']} frames: "
        f"{float((model_TW - copy_TW).nanmean()):+.2f} dB = "
        + " + ".join(f"{split[k]:+.2f} ({k})" for k in PARTS)
    )
    print(
        f"copy-last exact in {split['copy exact frames']} frames; the model is not in "
        f"{split['copy exact, model not: frames']} of them:"
    )
    wrong = wrong_pixels(generator, windows, real, background)
    for window in wrong.nonzero()[:, 0].unique().tolist():
        steps = wrong[window].nonzero()[:, 0]
        pixels, at = wrong[window][steps].tolist(), [s + 1 for s in steps.tolist()]
        print(f"  window {window}: steps {at}, wrong fg pixels {pixels}")


if __name__ == "__main__":
    args = sys.argv[1:]
    real = 3
    if "--real" in args:
        at = args.index("--real")
        real = int(args[at + 1])
        del args[at : at + 2]
    main(args[0], args[1], real)
