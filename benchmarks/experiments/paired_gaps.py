"""How sure is "the model beats (or loses to) copy-last"? Model minus copy-last foreground PSNR
per horizon step, paired by window, with a 95% interval over windows, for one world model
under several change thresholds (lm/change_gate.py), on the main job's held-out windows.

usage: paired_gaps.py MODEL CLIPS [--context C] [--horizon H] [--windows W]
                      [--thresholds 0 0.7 ...] [--steps S] [--episodes all|choice|report]

Each line: the threshold, the mean fg PSNR of model and copy-last, the cells the model
changed from the frame before (summed over windows and steps), per step h1..hS the paired
gap "mean ± half-width", and per step the foreground PSNR of the error pooled over windows,
model/copy-last (no 100 dB cap deciding a step). The windows are `held_out_windows(CLIPS,
C + H, W)`, the ones the main job scores (`arvideo demo`: C 4, H 12; a 4-frame-clip model:
C 3, H 13), or with `--episodes report` (choice) the same count from the half of the val
episodes that `arvideo bench sampling` reports on (chooses on), so a threshold chosen there
is scored on the other.
"""

from __future__ import annotations

import argparse

import torch

from arvideo.bench.paradigms.episodes import evaluation_windows, load_episodes
from arvideo.bench.sampling import split_episodes
from arvideo.generate import VideoGenerator
from arvideo.rollout_score import held_out_windows, score_windows, training_background


def chosen_windows(clips: str, length: int, count: int, episodes: str):
    """The main job's windows ("all" val episodes) or those of one sampling-bench half."""
    if episodes == "all":
        return held_out_windows(clips, length, count)
    choice, report = split_episodes(load_episodes(clips, "val"))
    return evaluation_windows(choice if episodes == "choice" else report, length, count)


def changed_cells(generator, windows, context: int, threshold: float) -> int:
    """Generated cells whose code differs from the frame before's (the gate's count). A
    second, identical rollout (same seed): `score_windows` keeps no codes."""
    frames = ((windows.video_BCTHW.permute(0, 2, 3, 4, 1) + 1) * 127.5).round().to(torch.uint8)
    horizon = frames.shape[1] - context
    out = generator(
        context=frames[:, :context].numpy(), actions=windows.actions_BT[:, :-1].numpy(),
        num_frames=horizon, progress=False, top_k=1, change_threshold=threshold,
    )  # fmt: skip
    codes = torch.as_tensor(out.codes)
    return int((codes[:, context:] != codes[:, context - 1 : -1]).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("clips")
    parser.add_argument("--context", type=int, default=4)
    parser.add_argument("--horizon", type=int, default=12)
    parser.add_argument("--windows", type=int, default=64)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.0])
    parser.add_argument("--steps", type=int, default=4, help="horizon steps shown")
    parser.add_argument("--episodes", default="all", choices=["all", "choice", "report"])
    args = parser.parse_args()
    generator = VideoGenerator.from_pretrained(args.model)
    length = args.context + args.horizon
    windows = chosen_windows(args.clips, length, args.windows, args.episodes)
    background = training_background(args.clips)
    for threshold in args.thresholds:
        score = score_windows(
            generator, windows, args.context, background, 0, per_window=True, top_k=1,
            change_threshold=threshold,
        )  # fmt: skip
        gaps = score.foreground_gaps()[: args.steps]
        changed = changed_cells(generator, windows, args.context, threshold)
        print(
            f"threshold {threshold}: fg {score.model.foreground_psnr_db:.2f} (copy-last "
            f"{score.copy_last.foreground_psnr_db:.2f}), cells changed {changed}; model - "
            f"copy-last per step (dB, ± 95% over {gaps[0].windows} windows): "
            + " · ".join(gap.describe() for gap in gaps)
            + "; pooled fg model/copy-last: "
            + score.pooled_foreground_steps(args.steps),
            flush=True,
        )


if __name__ == "__main__":
    main()
