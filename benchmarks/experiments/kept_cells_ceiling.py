"""The best a world model on a tokenizer's codes can score once still cells are kept: the true
codes of each held-out window, decoded and composited as a rollout is (`keep_still_cells`
from the real last context frame), against copy-last-frame, per horizon step.

A generator that predicted every code right would score this row. Where it stays below
copy-last at a horizon, no generator on this tokenizer passes copy-last there: the lever is
the tokenizer (or what is kept), not the generator.

usage: kept_cells_ceiling.py TOKENIZER_DIR CLIPS_DIR [WINDOWS] [CONTEXT] [HORIZON]
Defaults 64, 4, 12 (the main job's scoring; its 4x4-cell models use context 3, horizon 13).
"""

import sys

import torch

from arvideo.metrics import video_to_frames
from arvideo.rollout_score import (
    copy_last_frame,
    held_out_windows,
    score_video,
    training_background,
)
from arvideo.still_cells import cell_size, keep_still_cells
from arvideo.tokenizer import VideoTokenizer


def _float(video_BTHWC: torch.Tensor) -> torch.Tensor:
    return video_BTHWC.permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0


def _row(name: str, steps: list[float], mean: float) -> str:
    return f"{name:>22}: fg {mean:6.2f} dB | by step " + " ".join(f"{v:5.1f}" for v in steps)


def main(tokenizer_dir: str, clips: str, windows="64", context="4", horizon="12") -> None:
    torch.set_num_threads(1)
    windows, context, horizon = int(windows), int(context), int(horizon)
    tokenizer = VideoTokenizer.from_pretrained(tokenizer_dir).eval()
    cell = cell_size(tokenizer, "codes")
    if cell is None:
        raise SystemExit(f"{tokenizer_dir}: still cells cannot be kept for this tokenizer")
    video = held_out_windows(clips, context + horizon, windows).video_BCTHW
    with torch.no_grad():
        codes = [tokenizer.encode(video[i : i + 8]).codes for i in range(0, len(video), 8)]
        codes = torch.cat(codes)
        decoded = [tokenizer.decode_codes(codes[i : i + 8]) for i in range(0, len(codes), 8)]
    decoded = video_to_frames(torch.cat(decoded).clamp(-1, 1))
    real = video_to_frames(video)
    kept = keep_still_cells(decoded, codes, context, cell, real[:, context - 1])
    truth, background = video[:, :, context:], training_background(clips)
    pong = "pong" in clips.lower()
    rows = {
        "copy-last": copy_last_frame(video[:, :, :context], horizon),
        "true codes, decoded": _float(decoded[:, context:]),
        "true codes, kept cells": _float(kept[:, context:]),
    }
    print(f"{tokenizer_dir} on {clips}: {windows} windows, {context} + {horizon} frames")
    for name, fake in rows.items():
        score = score_video(truth, fake, background, pong)
        print(_row(name, score.foreground_psnr_by_step_db, score.foreground_psnr_db))


if __name__ == "__main__":
    main(*sys.argv[1:])
