"""The tokenizer bench's numbers (`arvideo.bench.tokenizers.evaluate_tokenizer`) for tokenizers
already trained: PSNR, foreground PSNR, the ball and paddles within 1 px where visible, token
stability, on the first 64 val clips of a clip data set (all their frames).

usage: tokenizer_eval.py CLIPS TOKENIZER_DIR [TOKENIZER_DIR ...]
"""

import sys

import torch

from arvideo.bench.tokenizers import evaluate_tokenizer
from arvideo.rollout_score import training_background
from arvideo.tokenizer import VideoTokenizer
from arvideo.training.tokenizer_runs import val_clips

KEYS = (
    "psnr", "foreground_psnr", "ball_visible_hit", "left_paddle_visible_hit",
    "right_paddle_visible_hit", "stable_kept", "codes_per_patch", "background_codes",
)  # fmt: skip


def main(clips: str, *tokenizers: str) -> None:
    torch.set_num_threads(1)
    real = val_clips(clips, None, 64)
    background = training_background(clips)
    print(f"{clips}: {real.shape[0]} val clips x {real.shape[2]} frames")
    for folder in tokenizers:
        tokenizer = VideoTokenizer.from_pretrained(folder).eval()
        with torch.no_grad():
            numbers, _ = evaluate_tokenizer(tokenizer, real, background)
        shown = ", ".join(f"{key} {float(numbers[key]):.3f}" for key in KEYS if key in numbers)
        print(f"{folder}: {shown}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
