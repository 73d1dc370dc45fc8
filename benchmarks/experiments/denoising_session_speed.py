"""Steps/s of an interactive session of a frame-denoising world model (issue 15's target:
>= 30 steps/s on 2 cores, decode included, <= 4 denoising steps per frame).

The main job's generator size (configs/demo/generator.yaml: width 64, depth 4, 4 heads, an
8-frame clip of 8×8 latents, window 7 frames) with the next_frame_flow order and the
velocity head, random weights; the main job's tokenizer architecture
(configs/demo/tokenizer.yaml) with a continuous bottleneck (8 channels), random weights.
For each number of denoising steps: `runs` sessions of `steps` session steps after a
warm-up, timed with the decode (`session.step`) and without (the token stream alone).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/experiments/denoising_session_speed.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from arvideo.generate import VideoGenerator
from arvideo.lm.model import VideoLM, VideoLMConfig
from arvideo.model_folder import ModelInfo
from arvideo.tokenizer import TokenizerConfig, VideoTokenizer

ROOT = Path(__file__).resolve().parents[2]


def main_job_tokenizer() -> VideoTokenizer:
    path = ROOT / "configs/demo/tokenizer.yaml"
    args = yaml.safe_load(path.read_text())["model"]["init_args"]["tokenizer"]
    args["bottleneck"] = {"kind": "continuous"}
    torch.manual_seed(0)
    return VideoTokenizer(TokenizerConfig.from_dict(args)).eval()


def main_job_generator(order: str, latent_dim: int) -> VideoLM:
    torch.manual_seed(0)
    config = VideoLMConfig(
        order=order, head="velocity", width=64, depth=4, heads=4, latent_dim=latent_dim,
        grid=(8, 8, 8), num_actions=6,
    )  # fmt: skip
    return VideoLM(config).eval()


def steps_per_s(gen: VideoGenerator, denoise_steps: int, steps: int, decode: bool) -> float:
    context = np.random.default_rng(0).integers(0, 256, (1, 64, 64, 3), dtype=np.uint8)
    session = gen.session(context=context, seed=0, steps=denoise_steps)
    actions = np.random.default_rng(1).integers(0, 6, steps + 8)
    stream = session._run.stream  # the token stream alone: decode excluded

    def step(action: int) -> None:
        if decode:
            session.step(action)
        else:
            stream.step(torch.tensor([action]))

    for action in actions[:8]:  # warm-up, and the cache filled to its window
        step(int(action))
    start = time.perf_counter()
    for action in actions[8:]:
        step(int(action))
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--order", default="next_frame_flow")
    parser.add_argument("--denoise_steps", default="4,2")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tokenizer = main_job_tokenizer()
    lm = main_job_generator(args.order, tokenizer.config.latent_dim)
    gen = VideoGenerator(tokenizer, lm, ModelInfo(frame_size=(64, 64), clip_frames=8))
    rows = []
    with torch.no_grad():
        for denoise_steps in [int(s) for s in args.denoise_steps.split(",")]:
            for decode in (False, True):
                runs = [
                    steps_per_s(gen, denoise_steps, args.steps, decode) for _ in range(args.runs)
                ]
                row = dict(
                    order=args.order, denoise_steps=denoise_steps, decode=decode,
                    median_steps_per_s=statistics.median(runs), runs=runs,
                    forwards_per_step=denoise_steps + 1,
                )  # fmt: skip
                rows.append(row)
                print(json.dumps(row), flush=True)
    data = dict(rows=rows, threads=args.threads, load_before=os.getloadavg(), args=vars(args))
    if args.out:
        Path(args.out).write_text(json.dumps(data, indent=2))


if __name__ == "__main__":
    main()
