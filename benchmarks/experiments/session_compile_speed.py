"""`python benchmarks/experiments/session_compile_speed.py [--rounds 5] [--steps 200]`:
the interactive session of issue 17's target (next-block world model at the speed bench's
base preset, width 256 x depth 6, 8x8 tokens a frame, decode included) with eager and with
compiled decoding steps (`session(compile=True)`), interleaved round by round.

Random weights (speed needs no training): the speed bench's tokenizer and next-block model
(arvideo/bench/speed.py). Each round runs a fresh session of each kind for `steps` steps;
the compiled kind's graphs are made in an untimed warm-up session first (its seconds are
printed as the compile cost). Also times the LM's part alone: the session's token stream,
without the tokenizer's decode. Medians over rounds; ratios paired by round.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from arvideo.bench.speed import PRESETS, build_lm, load_tokenizer_config
from arvideo.generate import VideoGenerator
from arvideo.model_folder import ModelInfo
from arvideo.tokenizer import VideoTokenizer


def session_seconds(gen: VideoGenerator, steps: int, compile: bool, decode: bool) -> float:
    context = np.random.default_rng(0).integers(0, 256, (1, 64, 64, 3), dtype=np.uint8)
    session = gen.session(context=context, seed=0, compile=compile)
    actions = np.random.default_rng(1).integers(0, 6, steps)
    stream = session._run.stream  # the token stream alone: the decode excluded
    start = time.perf_counter()
    for action in actions.tolist():
        session.step(action) if decode else stream.step(torch.tensor([action]))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = PRESETS["base"]
    torch.manual_seed(0)
    tokenizer = VideoTokenizer(load_tokenizer_config(config)[0]).eval()
    lm = build_lm(config, "next_block", tokenizer)
    info = ModelInfo(frame_size=(64, 64), clip_frames=config.clip_frames)
    gen = VideoGenerator(tokenizer, lm, info)
    start = time.perf_counter()
    session_seconds(gen, 8, compile=True, decode=True)
    warm_s = time.perf_counter() - start
    print(f"compiled warm-up session (8 steps, compile included): {warm_s:.1f} s", flush=True)
    kinds = [(c, d) for d in (True, False) for c in (False, True)]
    seconds = {kind: [] for kind in kinds}
    for index in range(args.rounds):
        for compile, decode in kinds:
            elapsed = session_seconds(gen, args.steps, compile, decode)
            seconds[(compile, decode)].append(elapsed)
            label = f"{'compiled' if compile else 'eager':8s} {'session' if decode else 'LM only'}"
            print(f"round {index + 1}: {label} {args.steps / elapsed:6.1f} steps/s", flush=True)
    print("\n| part | eager steps/s | compiled steps/s | compiled / eager (paired median) |")
    print("|---|---|---|---|")
    parts = ((True, "session.step (decode included)"), (False, "LM token stream alone"))
    for decode, name in parts:
        eager, compiled = seconds[(False, decode)], seconds[(True, decode)]
        ratio = statistics.median(e / c for e, c in zip(eager, compiled))
        speeds = [args.steps / statistics.median(s) for s in (eager, compiled)]
        print(f"| {name} | {speeds[0]:.1f} | {speeds[1]:.1f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
