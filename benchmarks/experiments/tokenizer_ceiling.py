"""What a world model on a tokenizer's codes can reach at best: the tokenizer's own
reconstructions of the main job's held-out windows, scored as the main job scores rollouts.

usage: tokenizer_ceiling.py TOKENIZER_DIR CLIPS_DIR [WINDOWS] [CONTEXT] [HORIZON]
Prints foreground PSNR, the ball within 2 px and the agent's paddle within 1 px over the
`HORIZON` frames after `CONTEXT` of each of `WINDOWS` windows (defaults 32, 4, 12: the main
job's), as `arvideo.rollout_score.score_video` computes them for a model's rollout.
"""

import sys

import torch

from arvideo.rollout_score import held_out_windows, score_video, training_background
from arvideo.tokenizer import VideoTokenizer


def main(tokenizer_dir: str, clips: str, windows="32", context="4", horizon="12") -> None:
    torch.set_num_threads(1)
    windows, context, horizon = int(windows), int(context), int(horizon)
    tokenizer = VideoTokenizer.from_pretrained(tokenizer_dir).eval()
    video = held_out_windows(clips, context + horizon, windows).video_BCTHW
    with torch.no_grad():
        parts = [tokenizer(video[i : i + 8]).video.clamp(-1, 1) for i in range(0, len(video), 8)]
    truth, rebuilt = video[:, :, context:], torch.cat(parts)[:, :, context:]
    score = score_video(truth, rebuilt, training_background(clips), pong=True)
    print(
        f"{tokenizer_dir}: {windows} windows x {horizon} frames: foreground PSNR "
        f"{score.foreground_psnr_db:.2f} dB, ball within 2 px {score.ball.within_2px:.3f} "
        f"(drawn {score.ball.drawn:.3f}), agent paddle within 1 px "
        f"{score.ball.agent_paddle_within_1px:.3f}"
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
