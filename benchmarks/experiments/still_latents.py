"""Kept cells for latent models: how much compositing still cells (a generated cell whose
latent moved by at most a tolerance keeps the frame before's pixels; arvideo/still_cells.py)
lifts the frame denoisers, and how the tolerance matters.

usage: still_latents.py DATA OUT.json MODEL [MODEL ...] [--windows 64] [--horizon 12]
Each model (a folder from `arvideo export`, a latent model on a cell tokenizer) is sampled
once on the same held-out windows (4 real frames, then `--horizon` generated with the true
actions, Euler 4 steps a frame, seed 0); that one sample is composited at each tolerance
(0 = every cell decoded except exact repeats) and scored beside copy-last-frame. Scores are
saved per model as they come and reused.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

CONTEXT = 4
TOLERANCES = (0.0, 0.05, 0.1, 0.25, 0.5, 1.0)
HORIZONS = (1, 2, 4, 8)


def row(score, horizon: int) -> dict:
    hs = [h for h in HORIZONS if h <= horizon]
    return {
        "psnr": score.psnr_db,
        "fg": score.foreground_psnr_db,
        "fg_by_h": {str(h): score.foreground_psnr_by_step_db[h - 1] for h in hs},
        "psnr_by_h": {str(h): score.psnr_by_step_db[h - 1] for h in hs},
        "ball_h1_8": None if score.ball is None else score.ball.within_2px,
    }


def measure(model: str, data: str, windows: int, horizon: int) -> dict:
    from arvideo.generate import VideoGenerator
    from arvideo.rollout_score import held_out_windows, score_video, training_background
    from arvideo.still_cells import cell_size, keep_still_cells

    generator = VideoGenerator.from_pretrained(model)
    cell = cell_size(generator.tokenizer, generator.lm.config.values)
    if cell is None:
        raise ValueError(f"{model}: its tokenizer is not cell-local; nothing to keep")
    chosen = held_out_windows(data, CONTEXT + horizon, windows)
    background = training_background(data)
    frames = ((chosen.video_BCTHW.permute(0, 2, 3, 4, 1) + 1) * 127.5).round().to(torch.uint8)
    output = generator(
        context=frames[:, :CONTEXT].numpy(),
        actions=chosen.actions_BT[:, : CONTEXT + horizon - 1].numpy(),
        num_frames=horizon, seed=0, progress=False, keep_still_cells=False, steps=4,
    )  # fmt: skip
    video = torch.from_numpy(output.video)
    values = torch.as_tensor(output.latents if output.codes is None else output.codes)
    truth = chosen.video_BCTHW[:, :, CONTEXT:]
    pong = (generator.info.game or "").lower() == "pong"

    def scored(video_BTHWC):
        fake = video_BTHWC[:, CONTEXT:].permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0
        return row(score_video(truth, fake, background, pong), horizon)

    from arvideo.bench.paradigms.rollout_eval import copy_last_frame

    copy = copy_last_frame(chosen.video_BCTHW[:, :, :CONTEXT], horizon)
    result = {
        "windows": windows, "horizon": horizon, "plain": scored(video),
        "copy_last": row(score_video(truth, copy, background, pong), horizon),
    }  # fmt: skip
    for tolerance in TOLERANCES:
        kept = keep_still_cells(video, values, CONTEXT, cell, frames[:, CONTEXT - 1], tolerance)
        result[f"kept_{tolerance:g}"] = scored(kept)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("out")
    parser.add_argument("models", nargs="+")
    parser.add_argument("--windows", type=int, default=64)
    parser.add_argument("--horizon", type=int, default=12)
    args = parser.parse_args()
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    for model in args.models:
        key = f"{model}|{args.windows}|{args.horizon}"
        if key not in results:
            results[key] = measure(model, args.data, args.windows, args.horizon)
            out.write_text(json.dumps(results, indent=2))
        r = results[key]
        print(model)
        for name, v in r.items():
            if isinstance(v, dict):
                fg = " ".join(f"{x:.2f}" for x in v["fg_by_h"].values())
                print(f"  {name:12s} PSNR {v['psnr']:.2f} fg {v['fg']:.2f}  fg h1/2/4/8 {fg}")


if __name__ == "__main__":
    main()
