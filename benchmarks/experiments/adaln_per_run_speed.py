"""`python benchmarks/experiments/adaln_per_run_speed.py`: the backbone's training step
(forward + backward) with adaLN modulation per token against once per run of equal vectors
(lm/cond_runs.py), interleaved in one process, medians of 8 paired rounds, 1 thread.

Sizes: the main job's generator (width 64, depth 4, batch 8) and the speed bench's base
preset (width 256, depth 6, batch 4), in the next-block layout: 8 frames of 64 tokens, one
conditioning vector per frame.
"""

from __future__ import annotations

import statistics
import time

import torch

from arvideo.lm.cond_runs import CondRuns
from arvideo.lm.transformer import Transformer, TransformerConfig

FRAMES, TOKENS, ROUNDS = 8, 64, 9  # the first round warms up and is dropped


def per_token(cond_BND: torch.Tensor, memo: dict | None = None) -> CondRuns:
    """Every token its own run: the projection per token, as before cond_runs.py."""
    return CondRuns(cond_BND.reshape(-1, cond_BND.shape[-1]), None, cond_BND.shape)


def inputs(width: int, batch: int, generator: torch.Generator) -> dict:
    n = FRAMES * TOKENS
    frame = torch.arange(n) // TOKENS
    positions = torch.zeros(n, 4)
    positions[:, 0] = frame
    cond = torch.randn(batch, FRAMES, width, generator=generator)
    return dict(
        x_BND=torch.randn(batch, n, width, generator=generator),
        positions=positions,
        mask=frame[:, None] >= frame[None, :],
        cond_BND=cond.repeat_interleave(TOKENS, dim=1),
    )


def timed_step(model: Transformer, batch: dict) -> float:
    model.zero_grad()
    started = time.perf_counter()
    model(**batch).square().mean().backward()
    return time.perf_counter() - started


def compare(width: int, depth: int, batch_size: int) -> str:
    generator = torch.Generator().manual_seed(0)
    model = Transformer(TransformerConfig(width=width, depth=depth, heads=4))
    with torch.no_grad():  # adaLN-zero starts at zero: give the modulation some weight
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.02)
    batch = inputs(width, batch_size, generator)
    runs_of = CondRuns.of
    times: dict[str, list[float]] = {"per_token": [], "per_run": []}
    try:
        for round_index in range(ROUNDS):
            for name, split in (("per_token", per_token), ("per_run", runs_of)):
                CondRuns.of = split
                seconds = timed_step(model, batch)
                if round_index:
                    times[name].append(seconds)
    finally:
        CondRuns.of = runs_of
    ratio = statistics.median(a / b for a, b in zip(times["per_token"], times["per_run"]))
    token_ms = statistics.median(times["per_token"]) * 1e3
    run_ms = statistics.median(times["per_run"]) * 1e3
    return (
        f"w{width} d{depth} B{batch_size}: per token {token_ms:.1f} ms, per run {run_ms:.1f} "
        f"ms, speed-up x{ratio:.2f} (median of {ROUNDS - 1} paired rounds)"
    )


def main() -> None:
    torch.set_num_threads(1)
    for width, depth, batch_size in ((64, 4, 8), (256, 6, 4)):
        print(compare(width, depth, batch_size), flush=True)


if __name__ == "__main__":
    main()
