"""Why a next-block Pong world model drops the ball one step ahead: what it believes about the
ball's cell when its context is true.

usage: ball_cell_odds.py CLIPS MODEL [--windows W]

On W held-out 16-frame windows, every span of the model's window is fed with its true codes
and actions, and the model's distribution for the span's last frame is read (teacher forced:
the horizon-1 prediction, with no drift). Each predicted frame that shows a real ball is
decoded from the per-cell argmax and sorted into "hit" (a ball within 2 px) or "miss". For
the cell holding the real ball it prints, per group, how the model splits that cell's
probability: keeping the frame before's code, the true code, the best code other than the
kept one, and all codes other than the kept one. A miss with p(other) well above the best
other code's probability is a ball spread over several codes of one cell (a decoding
problem: no single ball code beats "as before"); a miss with a low p(other) is the model
expecting no change there, and the expected changes it puts in the still cells around the
ball say whether it expects the ball in a neighbouring cell instead (spread over cells) or
nowhere near.
"""

from __future__ import annotations

import argparse
import math
import statistics

import torch

from arvideo.ball_score import BALL_TOLERANCE_PX
from arvideo.generate import VideoGenerator
from arvideo.metrics import video_to_frames
from arvideo.pong_objects import locate_objects, playfield_rows
from arvideo.rollout_score import held_out_windows

LENGTH = 16
PADDLE_REACH, WALL_PX = 0.2, 3  # a paddle's side of the court (a fifth of its width); px
BUCKETS = (0.25, 0.5, 0.75, 1.01)
PROBABILITIES = ("keep", "true", "best_other", "other", "phantom")
EVENTS = ("appears", "at a paddle", "at a wall", "free flight")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips")
    parser.add_argument("model")
    parser.add_argument("--windows", type=int, default=64)
    args = parser.parse_args()
    from changed_cell_odds import last_frame_log_probs  # this folder's sibling script

    generator = VideoGenerator.from_pretrained(args.model)
    frames = generator.max_context_frames + 1
    windows = held_out_windows(args.clips, LENGTH, args.windows)
    with torch.no_grad():
        codes = generator.tokenizer.encode(windows.video_BCTHW).codes
        logp, true, before = last_frame_log_probs(generator, codes, windows.actions_BT, frames)
        greedy = decoded(generator, logp.argmax(-1))
        matched_codes, flipped = count_matched(logp, before)
        matched = decoded(generator, matched_codes)
    # spans are ordered start-major: span s of window b is row s * B + b
    B, spans = len(windows), LENGTH - frames + 1
    real = video_to_frames(windows.video_BCTHW)
    cell = real.shape[2] // codes.shape[-1]
    groups, matched_hits = {"hit": [], "miss": []}, 0
    for row in range(len(logp)):
        start, b = divmod(row, B)
        truth = locate_objects(real[b, start + frames - 1]).ball
        if truth is None:
            continue
        fake = locate_objects(greedy[row]).ball
        hit = near(truth, fake)
        matched_hits += near(truth, locate_objects(matched[row]).ball)
        r, c = int(truth.y) // cell, int(truth.x) // cell
        before_ball = locate_objects(real[b, start + frames - 2]).ball
        probs = logp[row, r, c].exp()
        keep, code = int(before[row, r, c]), int(true[row, r, c])
        others = probs.clone()
        others[keep] = 0
        groups["hit" if hit else "miss"].append(
            {
                "keep": float(probs[keep]),
                "true": float(probs[code]),
                "best_other": float(others.max()),
                "other": float(others.sum()),
                "phantom": phantom_change(logp[row], true[row], before[row], r, c),
                "changed": keep != code,
                "drawn": fake is not None,
                "event": event(before_ball, truth, real.shape[2:4]),
                "enters": before_ball is None
                or (int(before_ball.y) // cell, int(before_ball.x) // cell) != (r, c),
            }  # fmt: skip
        )
    print(f"{args.model}: {spans} spans x {B} windows, {frames}-frame spans, the ball's cell")
    for name, rows in groups.items():
        describe(name, rows)
    shown = sum(len(rows) for rows in groups.values())
    print(
        f"  count-matched decoding: ball within 2 px in {matched_hits} of {shown} frames "
        f"(greedy {len(groups['hit'])}); {float(flipped.float().mean()):.2f} cells a frame "
        "drawn changed beyond greedy"
    )


def near(truth, fake) -> bool:
    """The scores' test: a drawn ball within BALL_TOLERANCE_PX of the real one."""
    return fake is not None and math.hypot(truth.x - fake.x, truth.y - fake.y) <= BALL_TOLERANCE_PX


def count_matched(logp_FHWV, before_FHW):
    """Greedy codes, plus as many more changed cells as the model expects: per frame, the
    expected count of cells that change, sum(1 - p(keep)), rounded, less those greedy
    already changes; the kept cells likeliest to change take their best other code. A ball
    spread over candidate cells, each below one half, is then drawn once, in the likeliest."""
    codes = logp_FHWV.argmax(-1)
    p_keep = logp_FHWV.gather(-1, before_FHW.unsqueeze(-1)).squeeze(-1).exp()
    kept = codes == before_FHW
    missing = ((1 - p_keep).flatten(1).sum(1).round() - (~kept).flatten(1).sum(1)).clamp(min=0)
    others = logp_FHWV.scatter(-1, before_FHW.unsqueeze(-1), -math.inf).argmax(-1)
    score = torch.where(kept, 1 - p_keep, torch.full_like(p_keep, -1.0)).flatten(1)
    rank = score.argsort(1, descending=True).argsort(1)
    flip = ((rank < missing[:, None]) & (score > 0)).view_as(codes)
    return torch.where(flip, others, codes), flip.flatten(1).sum(1)


def phantom_change(logp_HWV, true_HW, before_HW, r: int, c: int) -> float:
    """The model's expected count of changes in the 8 cells around the ball's that truly keep
    their code: a ball the model spreads over several candidate cells shows here (each
    candidate below one half, so argmax draws it in none)."""
    H, W = true_HW.shape
    rows, cols = slice(max(r - 1, 0), min(r + 2, H)), slice(max(c - 1, 0), min(c + 2, W))
    keep = before_HW[rows, cols]
    p_change = 1 - logp_HWV[rows, cols].gather(-1, keep.unsqueeze(-1)).squeeze(-1).exp()
    still = true_HW[rows, cols] == keep
    still[r - rows.start, c - cols.start] = False
    return float(p_change[still].sum())


def event(before, truth, frame_HW: tuple[int, int]) -> str:
    """Where the real ball is, from its positions (px) in this frame and the one before:
    just served (none before), on a paddle's side, at the top or bottom wall, or in flight."""
    if before is None:
        return "appears"
    H, W = frame_HW
    first, end = playfield_rows(H)
    if min(truth.x, before.x) < PADDLE_REACH * W or max(truth.x, before.x) > (1 - PADDLE_REACH) * W:
        return "at a paddle"
    if min(truth.y, before.y) < first + WALL_PX or max(truth.y, before.y) > end - WALL_PX:
        return "at a wall"
    return "free flight"


def decoded(generator, codes_BHW: torch.Tensor, chunk: int = 64) -> torch.Tensor:
    """Frames B×H×W×3 of one-frame codes, decoded `chunk` at a time."""
    parts = [generator.tokenizer.decode_codes(codes_BHW[i : i + chunk, None]).clamp(-1, 1)
             for i in range(0, len(codes_BHW), chunk)]  # fmt: skip
    return video_to_frames(torch.cat(parts))[:, 0]


def describe(name: str, rows: list[dict]) -> None:
    if not rows:
        print(f"  {name}: none")
        return
    means = {k: statistics.fmean(r[k] for r in rows) for k in PROBABILITIES}
    changed = sum(r["changed"] for r in rows)
    print(
        f"  {name}: {len(rows)} frames ({changed} with the cell's code changed); mean p(keep) "
        f"{means['keep']:.3f}, p(true) {means['true']:.3f}, best other {means['best_other']:.3f}, "
        f"p(other) {means['other']:.3f}; expected changes in the still cells around it "
        f"{means['phantom']:.3f}"
    )
    drawn, enters = sum(r["drawn"] for r in rows), sum(r["enters"] for r in rows)
    events = {e: sum(r["event"] == e for r in rows) for e in EVENTS}
    print(
        f"    a ball drawn (by a miss: too far): {drawn}; entering a new cell: {enters}; "
        "where the real one is: " + ", ".join(f"{e} {n}" for e, n in events.items())
    )
    low = 0.0
    for high in BUCKETS:
        inside = [r for r in rows if low <= r["other"] < high]
        spread = [r["best_other"] / r["other"] for r in inside if r["other"] > 0]
        share = f", best other / p(other) {statistics.fmean(spread):.2f}" if spread else ""
        print(f"    p(other) in [{low:.2f}, {min(high, 1):.2f}): {len(inside)}{share}")
        low = high


if __name__ == "__main__":
    main()
