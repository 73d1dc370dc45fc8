"""Sticky greedy decoding: does a cell-token world model lose to copy-last because it
changes cells it is unsure of? Keep each cell's previous code unless the model's likeliest
code has probability >= tau (tau 0: plain greedy; tau -> 1: copy-last exactly). The rule is
the library's `change_threshold` (lm/change_gate.py); this script wraps the head's sampler
only to count the changes the model wanted and those the gate held back.

usage: sticky_decoding.py CLIPS MODEL TAU [TAU ...] [--real N]

64 held-out 16-frame windows: 9 real frames (--real: N) then the rest generated with the true
actions (--real 3 is the main job's protocol on 4x4 cells: 3 real, 13 generated); a
model with a shorter window sees the last real frames that fit, so every model is scored
on the same frames against the same copy-last. Sticky decoding (tau > 0) needs a next-block
model without refinement (one head call per frame, cells in raster order); any other model
is scored at tau 0 only, plain greedy. Written for SpaceInvaders on 4x4 cells
(benchmarks/results/capacity.md).
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import torch

from arvideo.generate import VideoGenerator
from arvideo.lm.change_gate import gate_changes
from arvideo.lm.heads.categorical import CategoricalHead
from arvideo.rollout_score import held_out_windows, score_windows, training_background

REAL, LENGTH, WINDOWS = 9, 16, 64


def sticky_sample(previous_BN: torch.Tensor, tau: float, counts: dict):
    """A CategoricalHead.sample that keeps the previous frame's code where unsure."""
    state = {"previous": previous_BN}

    def sample(head, z_BND, generator, settings, z_uncond_BND=None, cfg_scale=1.0):
        log_probs = head.guided_logits(z_BND, z_uncond_BND, cfg_scale).float().log_softmax(-1)
        confidence, codes = log_probs.max(-1)
        gated = gate_changes(codes, state["previous"], confidence, tau)  # the library's rule
        counts["changed"] += int((codes != state["previous"]).sum())
        counts["kept"] += int((gated != codes).sum())
        state["previous"] = gated
        return gated

    return sample


def main(data: str, model: str, taus: list[float], real: int = REAL) -> None:
    generator = VideoGenerator.from_pretrained(model)
    windows = held_out_windows(data, LENGTH, WINDOWS)
    context = min(real, generator.max_context_frames)
    drop = real - context
    video, actions = windows.video_BCTHW[:, :, drop:], windows.actions_BT[:, drop:]
    windows = replace(windows, video_BCTHW=video, actions_BT=actions)
    background = training_background(data)
    with torch.no_grad():
        last = generator.tokenizer.encode(windows.video_BCTHW[:, :, context - 1 : context])
    plain = CategoricalHead.sample
    sticky = generator.lm.config.order == "next_block"
    if not sticky and taus != [0.0]:
        raise SystemExit(
            f"sticky decoding needs a next_block model; {model} is "
            f"{generator.lm.config.order!r}: pass tau 0 (plain greedy) only"
        )
    for tau in taus:
        counts = {"changed": 0, "kept": 0}
        if sticky:  # counts the cells it changes, and keeps some where tau > 0
            CategoricalHead.sample = sticky_sample(last.codes.flatten(1), tau, counts)
        try:
            score = score_windows(generator, windows, context, background, 0, top_k=1)
        finally:
            CategoricalHead.sample = plain
        model, copy = score.model, score.copy_last
        model_fg, copy_fg = model.foreground_psnr_db, copy.foreground_psnr_db
        steps = zip(model.foreground_psnr_by_step_db, copy.foreground_psnr_by_step_db)
        print(
            f"tau {tau}: fg {model_fg:.2f} (copy-last {copy_fg:.2f}); cells the model changed "
            f"{counts['changed']}, kept back {counts['kept']}; per step model/copy "
            + " · ".join(f"{a:.1f}/{b:.1f}" for a, b in steps),
            flush=True,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips")
    parser.add_argument("model")
    parser.add_argument("taus", type=float, nargs="+")
    parser.add_argument("--real", type=int, default=REAL, help="real frames before the rollout")
    args = parser.parse_args()
    main(args.clips, args.model, args.taus, args.real)
