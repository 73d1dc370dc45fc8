"""What every benchmark measures the same way: wall time, the matmul peak and MFU.

`median_time` times a call (CUDA synchronised); `matmul_peak` measures the machine's
practical fp32 ceiling in the run that uses it; `mfu` is the one model-FLOP utilisation
formula of the benchmarks (speed and paradigms): model FLOPs per trained token
(`training_flops_per_token`, counted from the architecture, not from the kernels run) ×
trained tokens/s ÷ the matmul peak. Knows VideoLM's config and parameters; nothing about
data, training or reports.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch

from arvideo.lm.model import VideoLM


@dataclass
class Timing:
    median_s: float
    runs_s: list[float]


def median_time(fn, repeats: int, warmup: int = 1) -> Timing:
    """Median wall time of `fn()` over `repeats` calls, after `warmup` untimed ones."""
    if repeats < 1:
        raise ValueError(f"repeats={repeats} must be >= 1")
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(repeats):
        _sync()
        start = time.perf_counter()
        fn()
        _sync()
        runs.append(time.perf_counter() - start)
    return Timing(statistics.median(runs), runs)


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def matmul_peak(n: int, repeats: int, device: str) -> dict:
    """FLOP/s of an n×n @ n×n fp32 matmul: the machine's practical ceiling for MFU."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=generator).to(device)
    b = torch.randn(n, n, generator=generator).to(device)
    timing = median_time(lambda: a @ b, max(repeats, 5))
    return {"n": n, "seconds": timing.median_s, "gflops": 2 * n**3 / timing.median_s / 1e9}


def training_flops_per_token(model: VideoLM, sequence_length: int) -> float:
    """≈ 6 · parameters (the diffusion head counted once per noise draw; the adaLN
    modulation, which runs once per frame (cond_runs.py), once per frame's tokens) + attention
    scores and values, 12 · depth · width · sequence (forward + backward, over every key as
    PaLM counts it; the kernel skips what a block-causal mask hides (lm/mask_runs.py), so at
    8 block-causal frames 28 of this term's 64 blocks are counted but not computed)."""
    head = sum(p.numel() for p in model.head.parameters())
    draws = getattr(model.head, "noise_draws", 1)
    params = sum(p.numel() for p in model.parameters()) + head * (draws - 1)
    backbone = model.backbone
    modulations = [block.modulation for block in backbone.blocks] + [backbone.final_modulation]
    modulation = sum(p.numel() for m in modulations for p in m.parameters())
    config = model.config
    tokens_per_frame = max(sequence_length / config.grid[0], 1.0)
    params += modulation / tokens_per_frame - modulation
    return 6 * params + 12 * config.depth * config.width * sequence_length


def mfu(flops_per_token: float, tokens_per_s: float, peak_gflops: float) -> float:
    """Model FLOP utilisation, a fraction of the measured matmul peak (GFLOP/s)."""
    return flops_per_token * tokens_per_s / (peak_gflops * 1e9)
