"""What a next-block cell-token world model believes about the cells that change, teacher-forced.

usage: changed_cell_odds.py CLIPS MODEL [FRAMES]

On 64 held-out 16-frame windows, every span of FRAMES frames (default: the model's window)
is fed with its true codes and actions, and the model's distribution for the span's last
frame is read. Frames are grouped by how many cells truly change: "big" (30 or more: on
SpaceInvaders, the formation stepping) and "small" (1-29: shots, bombs, the cannon). For the
changed cells of each group: how often the true code is the model's top 1 and in its top 5,
and the mean probability of the true code and of keeping the old one. Written for
SpaceInvaders on 4x4 cells (benchmarks/results/capacity.md); any game works.
"""

from __future__ import annotations

import sys

import torch

from arvideo.data.batch import TokenBatch
from arvideo.generate import VideoGenerator
from arvideo.rollout_score import held_out_windows

LENGTH, WINDOWS, BIG = 16, 64, 30


def last_frame_logits(lm, span_BTHW, actions_BT, reveal_BN=None) -> torch.Tensor:
    """Teacher-forced logits B×h×w×V of a span's last frame, from its true codes and actions
    (`reveal_BN`: a refining next-block model's revealed slots, None = nothing revealed)."""
    T, h, w = span_BTHW.shape[1:]
    z, _, _ = lm.head_inputs(TokenBatch(codes=span_BTHW, actions=actions_BT), reveal_BN=reveal_BN)
    return lm.head.logits(z[:, (T - 1) * h * w :]).unflatten(1, (h, w))


def last_frame_log_probs(generator, codes_BTHW, actions_BT, frames: int):
    """Log-probabilities of each span's last frame (spans × B × h × w × V), with that
    frame's true codes and the codes of the frame before."""
    logp, true, before = [], [], []
    with torch.no_grad():
        for start in range(codes_BTHW.shape[1] - frames + 1):
            span = codes_BTHW[:, start : start + frames]
            logits = last_frame_logits(generator.lm, span, actions_BT[:, start : start + frames])
            logp.append(logits.float().log_softmax(-1))
            true.append(span[:, -1])
            before.append(span[:, -2])
    return torch.cat(logp), torch.cat(true), torch.cat(before)


def main(data: str, model: str, frames: int | None) -> None:
    generator = VideoGenerator.from_pretrained(model)
    if generator.lm.config.order != "next_block":
        raise SystemExit(f"{model}: a next_block model is needed, not {generator.lm.config.order}")
    frames = frames or generator.max_context_frames + 1
    windows = held_out_windows(data, LENGTH, WINDOWS)
    with torch.no_grad():
        codes = generator.tokenizer.encode(windows.video_BCTHW).codes
    logp, true, before = last_frame_log_probs(generator, codes, windows.actions_BT, frames)
    changed = true != before
    per_frame = changed.flatten(1).sum(1)
    p_true = logp.gather(-1, true.unsqueeze(-1)).squeeze(-1).exp()
    p_keep = logp.gather(-1, before.unsqueeze(-1)).squeeze(-1).exp()
    top1, top5 = logp.argmax(-1), logp.topk(5, -1).indices
    in_top5 = (top5 == true.unsqueeze(-1)).any(-1)
    print(f"{model}, {frames}-frame spans: {len(per_frame)} predicted frames, "
          f"{float((per_frame == 0).float().mean()):.3f} of them with no changed cell")  # fmt: skip
    groups = {f"big (>= {BIG} changed)": per_frame >= BIG,
              f"small (1-{BIG - 1})": (per_frame > 0) & (per_frame < BIG)}  # fmt: skip
    for name, frames_F in groups.items():
        cells = changed & frames_F[:, None, None]
        print(
            f"{name}: {int(frames_F.sum())} frames, {int(cells.sum())} changed cells; true code "
            f"top 1 {float((top1 == true)[cells].float().mean()):.3f}, in top 5 "
            f"{float(in_top5[cells].float().mean()):.3f}; mean p(true) "
            f"{float(p_true[cells].mean()):.3f}, p(keep the old code) "
            f"{float(p_keep[cells].mean()):.3f}"
        )
    still = ~changed
    print(f"still cells: mean p(keep) {float(p_keep[still].mean()):.4f}, top 1 keeps "
          f"{float((top1 == before)[still].float().mean()):.5f}")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else None)
