"""The sampling bench's markdown: every setting on the choice half, the contenders on the
report half, and each row paired with a reference row of its half on the same windows."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from arvideo.bench.report import Column, command_line, machine_info, markdown_table, run_header

if TYPE_CHECKING:
    from arvideo.bench.sampling import SettingScore

GREEDY = {"top_k": 1}
REPORTED_STEPS = 4  # the first horizon steps shown per setting (issue targets: h1-4)
COLUMNS = [
    Column("setting"), Column("seeds"), Column("fg", "fg PSNR"),
    Column("fg_range", "fg PSNR seed range"),
    Column("copy_fg", "copy-last fg"), Column("psnr", "PSNR"),
    Column("ball", "ball ≤2px", 3), Column("paddle", "agent paddle ≤1px", 3),
    Column("steps", f"fg / copy-last fg, h1-{REPORTED_STEPS}"),
    Column("fg_gap", "fg − reference (paired)"), Column("ball_gap", "ball − reference (paired)"),
]  # fmt: skip


def paired_with(score: SettingScore, reference: SettingScore) -> dict[str, str]:
    """`score` minus `reference` on the same windows, each with its 95% interval over
    windows: fg PSNR (dB, means over steps and seeds) and the ball within 2 px (points).
    Far tighter than the two rows' own intervals: a window hard for one is hard for both.
    "–" where a row lacks per-window scores (older partial files) or the game is not Pong."""
    import torch

    from arvideo.ball_score import share_gap
    from arvideo.rollout_score import PairedGap

    gaps = {"fg_gap": "–", "ball_gap": "–"}
    a, b = score.window_foreground_psnr_db, reference.window_foreground_psnr_db
    if a and len(a) == len(b):
        gaps["fg_gap"] = PairedGap.of(torch.tensor(a) - torch.tensor(b)).describe() + " dB"
    if score.window_ball_hits is not None and reference.window_ball_hits is not None:
        try:
            gap = share_gap(score.window_ball_hits, score.window_ball_shown,
                            reference.window_ball_hits, reference.window_ball_shown)  # fmt: skip
        except ValueError:  # other windows: nothing to pair
            return gaps
        spread = "" if gap.ci95 is None else f" ± {100 * gap.ci95:.1f}"
        gaps["ball_gap"] = "–" if math.isnan(gap.gap) else f"{100 * gap.gap:+.1f}{spread}"
    return gaps


def reference_of(scores: list[SettingScore]) -> SettingScore:
    """The row the others are paired with: greedy decoding where it was scored, else the
    first row."""
    return next((s for s in scores if s.setting == GREEDY), scores[0])


def _row(name: str, score: SettingScore, reference: SettingScore) -> dict:
    return {
        "setting": name, "seeds": score.seeds, "fg": score.foreground_psnr_db,
        "fg_range": f"{score.foreground_psnr_min_db:.2f}–{score.foreground_psnr_max_db:.2f}",
        "copy_fg": score.copy_last_foreground_psnr_db, "psnr": score.psnr_db,
        "ball": score.ball_within_2px, "paddle": score.agent_paddle_within_1px,
        "steps": " · ".join(
            f"{a:.1f}/{b:.1f}"
            for a, b in zip(score.foreground_psnr_by_step_db[:REPORTED_STEPS],
                            score.copy_last_foreground_psnr_by_step_db)
        ) or "–",
        **paired_with(score, reference),
    }  # fmt: skip


def _describe(setting: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in setting.items()) or "(library defaults)"


def sampling_markdown(data: dict, choice, report, best) -> str:
    extra = {k: data[k] for k in ("model", "data", "choose_by", "seeds", "windows", "context",
                                  "horizon", "choice_episodes", "report_episodes")}  # fmt: skip
    md = run_header("Sampling defaults chosen on validation", command_line(), machine_info(), extra)
    md += "\n\n## Choice half (every setting)\n\n"
    reference = reference_of(choice)
    md += _paired_note(reference)
    md += markdown_table([_row(_describe(s.setting), s, reference) for s in choice], COLUMNS)
    md += f"\n\nChosen by {data['choose_by']}: **{_describe(best.setting)}**"
    md += " (written as the model's default)." if data["written"] else "."
    md += "\n\n## Report half (episodes the choice never saw)\n\n"
    reference = reference_of(list(report.values()))
    md += _paired_note(reference)
    rows = [_row(f"{name}: {_describe(s.setting)}", s, reference) for name, s in report.items()]
    return md + markdown_table(rows, COLUMNS) + "\n"


def _paired_note(reference: SettingScore) -> str:
    return (
        f"Paired columns: each row minus **{_describe(reference.setting)}** on the same "
        "windows, ± the 95% interval over windows (ball in points).\n\n"
    )
