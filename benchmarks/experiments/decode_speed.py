"""Decoding speed of one checkout, for before/after comparisons of the decoding path.

Prints, at 1 thread: next-token decoding at the peers bench's 256x6 size (batch 1, ms a
token), next-block world-model rollouts at IRIS's size (batch 1, ms a frame), and the
interactive session at the speed bench's base preset (median ms a step, decode included).
Run it in two checkouts alternately, a few rounds, on an idle machine:

    python benchmarks/experiments/decode_speed.py
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

import torch

from arvideo.bench.peers import FULL, seeded, video_lm
from arvideo.bench.speed import PRESETS, _gen, build_lm, load_tokenizer_config, session_speed
from arvideo.lm.conditioning import Conditions
from arvideo.tokenizer import VideoTokenizer


def per_unit_ms(run, units: int, repeats: int = 3) -> float:
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times) / units


def next_token_ms() -> float:
    size = FULL.decoding[0]
    lm = video_lm(size, "next_token", FULL, 0)
    prompt = torch.randint(FULL.vocab_size, (1, 1, *size.grid_hw), generator=seeded())
    run = lambda: lm.generate(prompt, None, size.frames, generator=_gen())  # noqa: E731
    return per_unit_ms(run, size.new_frames * size.tokens_per_frame)


def next_block_ms() -> float:
    size = FULL.world
    lm = video_lm(size, "next_block", FULL, FULL.num_actions)
    context = torch.randint(FULL.vocab_size, (1, 1, *size.grid_hw), generator=seeded())
    actions = torch.randint(FULL.num_actions, (1, size.frames), generator=seeded(1))
    run = lambda: lm.generate(context, Conditions(actions), size.frames, generator=_gen())  # noqa: E731
    return per_unit_ms(run, size.new_frames)


def session_ms(steps: int = 250) -> float:
    """The speed bench's session measurement (`session_speed`), median ms a step."""
    config = replace(PRESETS["base"], session_steps=steps)
    tokenizer = VideoTokenizer(load_tokenizer_config(config)[0]).eval()
    lm = build_lm(config, "next_block", tokenizer)
    return session_speed(tokenizer, lm, config)["median_step_ms"]


if __name__ == "__main__":
    torch.set_num_threads(1)
    with torch.inference_mode():
        print(f"next-token 256x6 batch 1: {next_token_ms():.2f} ms a token")
        print(f"next-block IRIS size batch 1: {next_block_ms():.2f} ms a frame")
    print(f"session base preset: {session_ms():.2f} ms a step (median)")
