"""Interleaved, paired timing for `arvideo bench peers`: contenders take turns, round by round.

Each round runs every contender once (A, B, C, A, B, C, ...), so a neighbour that slows the
machine for a while slows all of them alike; a contender's speed is the median over rounds,
and a ratio is the median of the per-round ratios (rounds pair up). Before the rounds one
untimed run per contender warms it up and counts its network calls and FLOPs (FlopCounterMode
under the math attention kernel, which decomposes attention into counted matmuls whichever
kernel the timed runs use; masked entries count too). Knows nothing about what is run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from arvideo.bench.speed_heads import counting


@dataclass
class Contender:
    name: str
    run: Callable[[torch.Generator], object]  # one whole generation, its draws seeded
    network: nn.Module  # one call of it is one forward pass
    blocks: nn.Module  # the transformer blocks (no embeddings, heads, conditioning)
    model: nn.Module  # everything the generation uses (parameters counted)
    # the same generation run eagerly, counted in `run`'s place: a compiled graph fires no
    # forward hooks and runs under no FLOP counter (None: `run` itself is counted)
    counted_as: Callable[[torch.Generator], object] | None = None


@dataclass
class Measured:
    name: str
    seconds: list[float]  # one per round
    forwards: int  # network calls of one generation
    flops: float  # matmul FLOPs of one generation, attention included
    parameters: int
    layer_parameters: int  # of the transformer blocks
    first_s: float | None  # a compiled contender's untimed first run (its compile); else None

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@dataclass
class Profiled:
    """One untimed generation of a contender, counted."""

    forwards: int
    flops: float
    first_s: float | None  # a compiled contender's first run (its compile); else None


def profile(contender: Contender) -> Profiled:
    """Forward passes and FLOPs of one untimed generation, which also warms the contender
    up; a compiled one then runs once more, untimed, to compile."""
    counted = contender.counted_as or contender.run
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as flops:
        with counting(contender.network) as calls:
            counted(seeded())
    first_s = None
    if contender.counted_as is not None:
        start = time.perf_counter()
        contender.run(seeded())
        first_s = time.perf_counter() - start
    return Profiled(calls.calls, float(flops.get_total_flops()), first_s)


def interleave(
    contenders: list[Contender], rounds: int, label: str, work: float, unit: str
) -> list[Measured]:
    """Each contender once per round, in turn, a line printed per run; `work` (units per
    run) only turns the printed seconds into a speed."""
    counts = {c.name: profile(c) for c in contenders}
    seconds = {c.name: [] for c in contenders}
    for index in range(rounds):
        for contender in contenders:
            start = time.perf_counter()
            contender.run(seeded(1 + index))  # every round draws anew, alike for all
            elapsed = time.perf_counter() - start
            seconds[contender.name].append(elapsed)
            speed = f"{work / elapsed:,.1f} {unit}"
            print(f"{label} round {index + 1}/{rounds}: {contender.name:<22} {speed}", flush=True)
    return [
        Measured(
            c.name,
            seconds[c.name],
            counts[c.name].forwards,
            counts[c.name].flops,
            parameters(c.model),
            parameters(c.blocks),
            counts[c.name].first_s,
        )  # fmt: skip
        for c in contenders
    ]


def speed_ratio(a: Measured, b: Measured) -> float:
    """a's speed in units of b's: the median over rounds of b's seconds / a's seconds."""
    return statistics.median(sb / sa for sa, sb in zip(a.seconds, b.seconds))
