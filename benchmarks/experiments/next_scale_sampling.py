"""`python benchmarks/experiments/next_scale_sampling.py WORK_DIR [--seeds 3]`: is the
next-scale row's gap to next_block a sampling matter?

The paradigm bench samples every categorical row at temperature 1. Next-scale samples a frame's
coarse summary first and then every finest cell in parallel under it, so one wrong coarse code
conditions many cells. This re-scores the bench's trained next_scale × categorical model
(`WORK_DIR/runs/next_scale_categorical/model`, from a `--paradigms '["next_scale_categorical"]'`
run) on the bench's own held-out windows and seeds, at temperature 1 and greedy (top_k 1), and
prints fg PSNR, the ball and the paddle for each. The bench's data and tokenizers are given as
in that run (`--data`, `--tokenizers`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from arvideo.bench.paradigms import models
from arvideo.bench.paradigms.budget import PARADIGMS, budget_preset
from arvideo.bench.paradigms.evaluate import rollout
from arvideo.bench.paradigms.run import prepare
from arvideo.bench.paradigms.scoring import score
from arvideo.lm.heads.base import SamplingSettings
from arvideo.lm.model import VideoLM


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work_dir", type=Path)
    parser.add_argument("--data", type=Path, default=Path("runs/par/data/pong"))
    parser.add_argument("--tokenizers", type=Path, default=Path("runs/par/tok"))
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    paradigm = next(p for p in PARADIGMS if p.name == "next_scale × categorical")
    budget = budget_preset("full")
    bench = prepare(args.data, budget, args.work_dir / "probe", 0, args.tokenizers, [paradigm])
    tokenizer = bench.tokenizers["msvq"].tokenizer
    model = VideoLM.from_pretrained(args.work_dir / "runs" / "next_scale_categorical" / "model")
    trained = models.TrainedGenerator(paradigm, model.eval(), None, 0)
    context = models.encode_values(tokenizer, bench.context)
    for name, settings in (
        ("temperature 1", SamplingSettings()),
        ("greedy", SamplingSettings(top_k=1)),
    ):
        out = rollout(trained, tokenizer, context, bench.evaluate.actions_BT, budget.horizon,
                      args.seeds, bench.seed, settings)  # fmt: skip
        scores = score(bench, out.video_RBCTHW, bench.evaluate.actions_BT)
        fg = scores["foreground_psnr_by_step"]
        print(
            f"{name:14s} fg PSNR {scores['foreground_psnr']:.2f} dB "
            f"(t+1 {fg[0]:.2f}, t+4 {fg[3]:.2f}, t+8 {fg[7]:.2f}), PSNR {scores['psnr']:.2f}, "
            f"ball {scores['ball_within_2px']:.3f}, "
            f"paddle {scores['agent_paddle_within_1px']:.3f}, "
            f"action-follow {scores['action_following']:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
