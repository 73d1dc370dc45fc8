"""Where a world model's codes go wrong, per horizon step: each generated cell sorted by
whether its true code changed from the frame before and whether the model's did, with the
share of each kind that the model got right.

usage: code_errors.py MODEL CLIPS [WINDOWS] [CONTEXT] [HORIZON]
Defaults 64, 4, 8. Greedy, the windows' true actions, the held-out episodes. At step 1 both
"frames before" are the real last context frame's codes, so the split is clean there; later
the model's cells are compared with its own previous frame.

Kinds (shares of all generated cells):
  still, kept      the truth did not change; neither did the model (right by definition)
  still, changed   the truth did not change; the model made up a change
  moved, kept      the truth changed; the model kept the old code (a missed change)
  moved, changed   the truth changed and so did the model: `right` says how often to the
                   true code
"""

import sys

import torch

from arvideo.generate import VideoGenerator
from arvideo.metrics import video_to_frames
from arvideo.rollout_score import held_out_windows


def _same(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Bool B×h×w: the cell's code is the same (every level, for rvq's B×h×w×depth)."""
    same = a == b
    return same.flatten(3).all(-1) if same.ndim > 3 else same


def _true_codes(generator, video_BCTHW: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        chunks = video_BCTHW.split(8)
        parts = [generator.tokenizer.encode(chunk).codes for chunk in chunks]
    return torch.cat(parts)


def main(model: str, clips: str, windows="64", context="4", horizon="8") -> None:
    torch.set_num_threads(1)
    windows, context, horizon = int(windows), int(context), int(horizon)
    generator = VideoGenerator.from_pretrained(model)
    chosen = held_out_windows(clips, context + horizon, windows)
    frames = video_to_frames(chosen.video_BCTHW)
    output = generator(
        context=frames[:, :context].numpy(),
        actions=chosen.actions_BT[:, : context + horizon - 1].numpy(),
        num_frames=horizon, seed=0, progress=False, keep_still_cells=False, top_k=1,
    )  # fmt: skip
    fake, truth = torch.as_tensor(output.codes), _true_codes(generator, chosen.video_BCTHW)
    print(f"{model} on {clips}: {windows} windows, {context} + {horizon} frames, greedy")
    print("step | still,kept | still,changed | moved,kept | moved,changed (right) | cells right")
    for t in range(context, context + horizon):
        moved = ~_same(truth[:, t], truth[:, t - 1])
        changed = ~_same(fake[:, t], fake[:, t - 1])
        right = _same(fake[:, t], truth[:, t])
        share = lambda m: float(m.float().mean())  # noqa: E731
        both = moved & changed
        right_of_both = float(right[both].float().mean()) if both.any() else float("nan")
        print(
            f"h{t - context + 1:<3} | {share(~moved & ~changed):.4f}     | "
            f"{share(~moved & changed):.4f}        | {share(moved & ~changed):.4f}     | "
            f"{share(both):.4f} ({right_of_both:.2f})         | {share(right):.4f}"
        )


if __name__ == "__main__":
    main(*sys.argv[1:])
