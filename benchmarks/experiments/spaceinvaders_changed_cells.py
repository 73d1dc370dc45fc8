"""Which cells a world model on a cell tokenizer changes, against the truth; and the ceiling:
the true codes decoded with kept cells.

usage: spaceinvaders_changed_cells.py CLIPS MODEL [MODEL ...]
On 64 held-out windows (3 real frames, then 13), for horizons 1, 2 and 4: the cells each
model's greedy rollout changes, the cells the truth changes, and the share of changed and
still cells whose code is right. Written for SpaceInvaders on 4x4 cells
(benchmarks/results/capacity.md); any game and cell size work.
"""

import sys

import torch

from arvideo.bench.paradigms.rollout_eval import copy_last_frame
from arvideo.generate import VideoGenerator
from arvideo.rollout_score import held_out_windows, score_video, training_background
from arvideo.still_cells import keep_still_cells

CONTEXT, HORIZON = 3, 13


def as_float(video_BTHWC: torch.Tensor) -> torch.Tensor:
    return video_BTHWC[:, CONTEXT:].permute(0, 4, 1, 2, 3).float() / 127.5 - 1


def ceiling(tokenizer, windows, background) -> torch.Tensor:
    """Prints the true codes' scores beside copy-last; returns the true codes B×T×h×w."""
    with torch.no_grad():
        encoded = tokenizer.encode(windows.video_BCTHW)
        decoded = tokenizer.decode(encoded.latents).clamp(-1, 1)
    frames = ((windows.video_BCTHW.permute(0, 2, 3, 4, 1) + 1) * 127.5).round().to(torch.uint8)
    pixels = ((decoded.permute(0, 2, 3, 4, 1) + 1) * 127.5).round().to(torch.uint8)
    cell = tokenizer.spatial_compression
    kept = keep_still_cells(pixels, encoded.codes, CONTEXT, cell, frames[:, CONTEXT - 1])
    truth = windows.video_BCTHW[:, :, CONTEXT:]
    rows = {
        "true codes, kept cells": as_float(kept),
        "true codes, every cell decoded": as_float(pixels),
        "copy last frame": copy_last_frame(windows.video_BCTHW[:, :, :CONTEXT], HORIZON),
    }
    for name, video in rows.items():
        score = score_video(truth, video, background, False)
        by_step = " ".join(f"{x:.1f}" for x in score.foreground_psnr_by_step_db[:4])
        print(f"{name}: fg {score.foreground_psnr_db:.2f} (h1-4 {by_step})")
    changed = (encoded.codes[:, 1:] != encoded.codes[:, :-1]).float().mean()
    print(f"share of cells whose true code changes a frame: {float(changed):.3f}")
    return encoded.codes


def changes(model: str, windows, codes: torch.Tensor) -> None:
    generator = VideoGenerator.from_pretrained(model)
    frames = ((windows.video_BCTHW.permute(0, 2, 3, 4, 1) + 1) * 127.5).round().to(torch.uint8)
    output = generator(
        context=frames[:, :CONTEXT].numpy(),
        actions=windows.actions_BT[:, : CONTEXT + HORIZON - 1].numpy(),
        num_frames=HORIZON, seed=0, progress=False, top_k=1, keep_still_cells=False,
    )  # fmt: skip
    predicted = torch.as_tensor(output.codes)
    for h in (1, 2, 4):
        t = CONTEXT + h - 1
        moved, real = predicted[:, t] != predicted[:, t - 1], codes[:, t] != codes[:, t - 1]
        right = predicted[:, t] == codes[:, t]
        print(
            f"{model} h{h}: model changes {int(moved.sum())} cells, the truth "
            f"{int(real.sum())}, both {int((moved & real).sum())}; right: changed cells "
            f"{float(right[real].float().mean()):.2f}, still cells "
            f"{float(right[~real].float().mean()):.4f}"
        )


if __name__ == "__main__":
    clips, models = sys.argv[1], sys.argv[2:]
    windows = held_out_windows(clips, CONTEXT + HORIZON, 64)
    tokenizer = VideoGenerator.from_pretrained(models[0]).tokenizer.eval()
    codes = ceiling(tokenizer, windows, training_background(clips))
    for model in models:
        changes(model, windows, codes)
