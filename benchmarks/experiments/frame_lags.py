"""How well does a frame match the one L frames before it? A game with a beat shows it as a
match that improves again at a longer lag (SpaceInvaders: lag 4 better than 2 and 3, lag 8
better than 7), which tells how far back a world model's clips must see.

usage: frame_lags.py CLIPS [--windows W] [--lags L]

Per lag 1..L, over `held_out_windows(CLIPS, 16, W)`: the foreground PSNR of frame t against
frame t - L (capped at 100 dB, as the rollout scores) and the share of exactly equal frames.
"""

from __future__ import annotations

import argparse

from arvideo.metrics import foreground_psnr
from arvideo.rollout_score import PSNR_CAP_DB, held_out_windows, training_background


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips")
    parser.add_argument("--windows", type=int, default=256)
    parser.add_argument("--lags", type=int, default=8)
    args = parser.parse_args()
    video = held_out_windows(args.clips, 16, args.windows).video_BCTHW
    background = training_background(args.clips)
    print(f"{len(video)} held-out windows of {video.shape[2]} frames")
    for lag in range(1, args.lags + 1):
        real, before = video[:, :, lag:], video[:, :, :-lag]
        fg = foreground_psnr(real, before, background).clamp(max=PSNR_CAP_DB)
        exact = (real == before).flatten(3).all(-1).all(1)  # B×T: every pixel and channel
        print(
            f"lag {lag}: fg {float(fg.nanmean()):.2f} dB, frames exact "
            f"{float(exact.float().mean()):.3f}"
        )


if __name__ == "__main__":
    main()
