"""Training-step timing of the speed bench: one optimiser step (forward, backward, AdamW)
on a batch of random codes or latents, eager (with counted FLOPs and model FLOPs per token)
and with compiled blocks (`Transformer.compile_blocks`), timed in rounds paired with the
eager step. Knows a VideoLM and the speed config's batch and action count."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from arvideo.bench.common import median_time, training_flops_per_token
from arvideo.data.batch import TokenBatch
from arvideo.lm.model import VideoLM

if TYPE_CHECKING:  # annotations only: speed.py imports this module
    from arvideo.bench.speed import SpeedConfig


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@dataclass
class TrainingStep:
    """One optimiser step (forward, backward, AdamW) on a batch of random codes or latents."""

    run: Callable[[], None]
    tokens: int  # tokens of the batch
    batch: TokenBatch


def training_step(lm: VideoLM, config: SpeedConfig) -> TrainingStep:
    T, H, W = lm.config.grid
    if lm.config.order == "next_scale":
        shape = (config.train_batch, T, lm.order.tokens_per_frame)
    else:
        shape = (config.train_batch, T, H, W)
    actions = torch.randint(config.num_actions, (config.train_batch, T), generator=_gen())
    if lm.config.values == "latents":  # frame denoisers: continuous latents
        latents = torch.randn(*shape, lm.config.latent_dim, generator=_gen())
        batch = TokenBatch(latents=latents, actions=actions)
    else:
        codes = torch.randint(lm.config.vocab_size, shape, generator=_gen())
        batch = TokenBatch(codes=codes, actions=actions)
    optimizer = torch.optim.AdamW(lm.parameters(), lr=1e-4)

    def run():
        optimizer.zero_grad(set_to_none=True)
        lm.loss(batch, _gen()).loss.backward()
        optimizer.step()

    return TrainingStep(run, int(np.prod(shape)), batch)


def training_step_speed(lm: VideoLM, config: SpeedConfig, repeats: int) -> dict:
    """One optimiser step (forward, backward, AdamW) on a batch of random codes."""
    step = training_step(lm, config)
    lm.train()
    with FlopCounterMode(display=False) as counter:
        lm.loss(step.batch, _gen()).loss.backward()
    timing = median_time(step.run, repeats)
    lm.eval()
    flops = counter.get_total_flops()
    return {
        "seconds": timing.median_s,
        "tokens_per_s": step.tokens / timing.median_s,
        "gflop_per_step": flops / 1e9,
        "gflops": flops / timing.median_s / 1e9,
        "flops_per_token": training_flops_per_token(lm, step.tokens // config.train_batch),
    }


def compiled_training_speed(lm: VideoLM, config: SpeedConfig, repeats: int) -> dict:
    """The same step with `Transformer.compile_blocks`, timed in rounds interleaved with the
    eager step (eager, compiled, eager, ...), so that the ratio is paired; the compile (the
    first two compiled steps, one per graph direction) is timed apart."""
    step = training_step(lm, config)
    lm.train()
    lm.backbone.compile_blocks()
    start = time.perf_counter()
    step.run()
    step.run()
    compile_s = time.perf_counter() - start
    eager_s, compiled_s = [], []
    try:
        for _ in range(repeats):
            for compiled, runs in ((False, eager_s), (True, compiled_s)):
                lm.backbone.compile_blocks(compiled)
                runs.append(median_time(step.run, 1, warmup=0).median_s)
    finally:
        lm.backbone.compile_blocks(False)
        lm.eval()
    seconds = statistics.median(compiled_s)
    return {
        "seconds": seconds,
        "tokens_per_s": step.tokens / seconds,
        "compile_s": compile_s,
        "vs_eager": statistics.median(e / c for e, c in zip(eager_s, compiled_s)),
    }
