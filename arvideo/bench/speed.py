"""`arvideo bench speed`: how fast arvideo samples, trains, tokenizes and plays, on this machine.

Random-weight models of the base config sizes (speed needs no training): the backbone of
configs/lm/*.yaml (width 256, depth 6, 8 heads, 8×8 latent grid per 64×64 frame) and the
tokenizer of configs/tokenizer/pong_fsq.yaml (TokenizerConfig defaults while that file holds
template placeholders). Every number is a median of repeats from one run; ratios divide
numbers of the same run. The fp32 matmul peak is measured in the same run and MFU is the
benchmarks' one formula (common.py: model FLOPs per token × training tokens/s over that
peak); the FLOP/s torch's FlopCounterMode counts are reported beside it. Targets are
reported as met or missed, never hidden. This module builds the models and times them,
and knows the public APIs of VideoLM, VideoTokenizer and VideoGenerator; the heads
comparison (categorical vs diffusion head on the same backbone, evaluations counted by
forward hooks) is speed_heads.py, which gets its models and rollouts from here.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import yaml

from arvideo.bench.common import matmul_peak, median_time, mfu
from arvideo.bench.report import (
    command_line,
    machine_info,
    write_results,
)
from arvideo.bench.speed_denoisers import denoiser_fields, denoiser_rows
from arvideo.bench.speed_heads import (
    compare_heads,
    counting,
    diffusion_fields,
    diffusion_settings,
    head_row,
)
from arvideo.bench.speed_report import check_targets, speed_markdown
from arvideo.bench.speed_training import compiled_training_speed, training_step_speed
from arvideo.bridge import lm_fields
from arvideo.generate import VideoGenerator
from arvideo.lm.conditioning import Conditions
from arvideo.lm.heads.base import SamplingSettings
from arvideo.lm.model import VideoLM, VideoLMConfig
from arvideo.lm.orders import ORDERS
from arvideo.model_folder import ModelInfo
from arvideo.tokenizer import TokenizerConfig, VideoTokenizer

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TOKENIZER_CONFIG = CONFIGS / "tokenizer/pong_fsq.yaml"


@dataclass(frozen=True)
class SpeedConfig:
    width: int = 256  # backbone of configs/lm/*.yaml
    depth: int = 6
    heads: int = 8
    frame_size: int = 64  # pixels; the tokenizer's 8× compression gives an 8×8 grid
    clip_frames: int = 8  # latent frames of a training clip (the LM's grid T)
    num_actions: int = 6  # Pong's action space
    scales: tuple[int, ...] = (1, 2, 3, 4, 6, 8)  # next_scale, last = latent grid side
    rollout_frames: int = 16  # frames per sampled rollout (no context), batch 1
    train_batch: int = 16  # clips per training step (configs/lm batch_size)
    tokenizer_batch: int = 8  # clips per encode / decode timing
    session_steps: int = 1000  # interactive world-model steps
    repeats: int = 3  # median over this many timings (after one warm-up)
    uncached_repeats: int = 1  # the uncached next-token rollout is slow: fewer repeats
    matmul_size: int = 2048  # n of the n×n fp32 matmul that measures the peak
    tokenizer: dict | None = None  # TokenizerConfig fields; None = TOKENIZER_CONFIG
    diffusion_steps: int | None = None  # None: SamplingSettings' default (arvideo generate's)
    diffusion_scales: tuple[int, ...] | None = None  # None: next_scale_diffusion.yaml's
    denoising_steps: int = 4  # Euler steps a frame of the frame denoisers (issue 15's <= 4)
    # orders whose training is also timed with compiled blocks (Transformer.compile_blocks)
    compiled_orders: tuple[str, ...] = ("next_token", "next_block")


PRESETS = {
    "base": SpeedConfig(),
    # a test: tiny models, two of everything; numbers mean nothing
    "smoke": SpeedConfig(
        width=32, depth=1, heads=2, frame_size=16, clip_frames=3, scales=(1, 2, 4),
        rollout_frames=2, train_batch=2, tokenizer_batch=1, session_steps=3, repeats=1,
        matmul_size=128,
        tokenizer=dict(widths=[16], patch_size=4, spatial_compression=4, latent_dim=3,
                       norm_groups=8, bottleneck=dict(kind="fsq", fsq_levels=[4, 4, 4])),
        diffusion_steps=2, diffusion_scales=(1, 2, 4), compiled_orders=(),
    ),
}  # fmt: skip


def load_tokenizer_config(config: SpeedConfig) -> tuple[TokenizerConfig, str]:
    """(config, where it came from)."""
    if config.tokenizer is not None:
        return TokenizerConfig.from_dict(dict(config.tokenizer)), "preset"
    if TOKENIZER_CONFIG.is_file():
        args = yaml.safe_load(TOKENIZER_CONFIG.read_text())["model"]["init_args"]["tokenizer"]
        try:
            return TokenizerConfig.from_dict(dict(args)), "configs/tokenizer/pong_fsq.yaml"
        except (TypeError, ValueError):  # template placeholders (WIDTHS) not filled in yet
            pass
    return TokenizerConfig(), "TokenizerConfig() defaults"


def build_lm(
    config: SpeedConfig, order: str, tokenizer: VideoTokenizer, head: str = "categorical"
) -> VideoLM:
    """The base backbone with the categorical head (codes of `tokenizer`), the diffusion
    head (continuous latents, options of configs/lm/<order>_diffusion.yaml) or, for the
    frame-denoising orders, the velocity head (configs/lm/<order>_velocity.yaml)."""
    grid = config.frame_size // tokenizer.spatial_compression
    if head == "diffusion":
        fields = diffusion_fields(order, config.diffusion_scales)
    elif ORDERS[order].denoising:  # the velocity head on continuous latents
        fields = denoiser_fields(order)
    else:  # as configs/lm/<order>_categorical.yaml (next_scale: the msvq tokenizer's scales)
        options = {}
        if order == "next_scale":
            options = dict(scales=list(config.scales), code_dim=tokenizer.latent_dim)
        fields = dict(refine=order == "next_block", order_options=options)
    # the vocabulary and grid of `tokenizer`'s codes; the diffusion fields bring their own
    # latent_dim (the continuous tokenizer's)
    derived = lm_fields(tokenizer, "codes", (config.clip_frames, grid, grid))
    lm_config = VideoLMConfig(
        width=config.width, depth=config.depth, heads=config.heads, order=order,
        window_frames=config.clip_frames - 1, num_actions=config.num_actions,
        **{**derived, **fields},
    )  # fmt: skip
    torch.manual_seed(0)  # construction only: weights of a speed test do not matter
    return VideoLM(lm_config).eval()


def rollout(
    lm: VideoLM,
    config: SpeedConfig,
    use_cache: bool,
    repeats: int,
    settings: SamplingSettings | None = None,
) -> dict:
    """A rollout of `rollout_frames` frames from nothing, batch 1, action-conditioned, with
    the backbone and head-output calls of the last run counted by forward hooks."""
    frames = config.rollout_frames
    actions = torch.randint(config.num_actions, (1, frames), generator=_gen())
    head_output = lm.head.get_submodule(lm.head.output_layer)  # called once per evaluation
    calls = []

    def run():
        with counting(lm.backbone) as backbone, counting(head_output) as head:
            out = lm.generate(
                None, Conditions(actions), frames, settings, generator=_gen(), use_cache=use_cache
            )
        calls.append((out.forward_passes, backbone.calls, head.calls))

    # the cached rollout (run first) warmed the same kernels: the slow uncached one is not
    # run twice
    timing = median_time(run, repeats, warmup=1 if use_cache else 0)
    passes, backbone_calls, head_calls = calls[-1]
    return {
        "seconds": timing.median_s, "fps": frames / timing.median_s, "passes": passes,
        "backbone_calls": backbone_calls, "head_calls": head_calls,
    }  # fmt: skip


@torch.no_grad()
def tokenizer_speed(tokenizer: VideoTokenizer, config: SpeedConfig, repeats: int) -> dict:
    shape = (config.tokenizer_batch, 3, config.clip_frames, config.frame_size, config.frame_size)
    video = torch.rand(shape, generator=_gen()) * 2 - 1
    latents = tokenizer.encode(video, _gen()).latents
    frames = shape[0] * shape[2]
    encode = median_time(lambda: tokenizer.encode(video, _gen()), repeats)
    decode = median_time(lambda: tokenizer.decode(latents), repeats)
    return {"encode_fps": frames / encode.median_s, "decode_fps": frames / decode.median_s}


def session_speed(tokenizer: VideoTokenizer, lm: VideoLM, config: SpeedConfig) -> dict:
    """`VideoGenerator.session`: step(action) -> decoded frame, `session_steps` times."""
    size = config.frame_size
    info = ModelInfo(frame_size=(size, size), clip_frames=config.clip_frames)
    generator = VideoGenerator(tokenizer, lm, info)
    frame = torch.randint(256, (1, size, size, 3), generator=_gen(), dtype=torch.uint8)
    session = generator.session(context=frame.numpy(), seed=0)
    actions = torch.randint(config.num_actions, (config.session_steps,), generator=_gen())
    steps_s = []
    start = time.perf_counter()
    for action in actions.tolist():
        before = time.perf_counter()
        session.step(action)
        steps_s.append(time.perf_counter() - before)
    total = time.perf_counter() - start
    return {
        "steps": config.session_steps,
        "steps_per_s": config.session_steps / total,
        "median_step_ms": 1e3 * statistics.median(steps_s),
        "p90_step_ms": 1e3 * float(np.percentile(steps_s, 90)),
        "decode_window": generator.decode_window,
        "cache_tokens": session.cache_length,
    }


def decode_share(tokenizer: VideoTokenizer, lm: VideoLM, config: SpeedConfig) -> dict:
    """Where a session step goes: the decode of the window vs the LM's one frame."""
    size = config.frame_size
    info = ModelInfo(frame_size=(size, size), clip_frames=config.clip_frames)
    generator = VideoGenerator(tokenizer, lm, info)
    grid = size // tokenizer.spatial_compression
    window = generator.decode_window
    codes = torch.randint(tokenizer.vocab_size, (1, window, grid, grid), generator=_gen())
    latents = tokenizer.codes_to_latents(codes)
    with torch.no_grad():
        window_s = median_time(lambda: tokenizer.decode(latents), config.repeats).median_s
        one_s = median_time(lambda: tokenizer.decode(latents[:, :, -1:]), config.repeats).median_s
    return {"decode_window_ms": 1e3 * window_s, "decode_one_frame_ms": 1e3 * one_s}


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def bench_speed(
    preset: Literal["base", "smoke"] = "base",
    out: str = "benchmarks/results",
    threads: int | None = None,
    session_steps: int | None = None,
    orders: str | None = None,
) -> dict:
    """Sampling (KV-cached vs not, per order), training MFU, tokenizer and session speed.

    Args:
        preset: 'base' (the base config sizes) or 'smoke' (tiny, for tests).
        out: folder of speed.{md,json}.
        threads: torch CPU threads (default: torch's choice, printed in the results).
        session_steps: override the interactive session length (1000 in 'base').
        orders: comma-separated orders (default: every registered order).
    """
    if preset not in PRESETS:
        raise ValueError(f"preset={preset!r}; use one of {sorted(PRESETS)}")
    if threads is not None:
        torch.set_num_threads(threads)
    config = PRESETS[preset]
    if session_steps is not None:
        config = replace(config, session_steps=session_steps)
    # the frame-denoising orders have their own table (velocity head, speed_denoisers.py)
    default = [name for name, order in ORDERS.items() if not order.denoising]
    chosen = [o.strip() for o in orders.split(",")] if orders else default
    unknown = [o for o in chosen if o not in ORDERS or ORDERS[o].denoising]
    if unknown:
        raise ValueError(
            f"orders: {unknown} are not token orders; use {default} (the frame denoisers "
            "always get their own table)"
        )
    data = measure(config, chosen)
    data.update(benchmark="speed", preset=preset, command=command_line(), machine=machine_info())
    data["config"] = asdict(config)
    write_results(out, "speed", data, speed_markdown(data))
    return data


def measure(config: SpeedConfig, orders: list[str]) -> dict:
    tokenizer_config, source = load_tokenizer_config(config)
    torch.manual_seed(0)
    tokenizer = VideoTokenizer(tokenizer_config).eval()
    peak = matmul_peak(config.matmul_size, config.repeats, "cpu")
    print(f"fp32 matmul peak: {peak['gflops']:.1f} GFLOP/s", flush=True)
    rows, models, heads = [], {}, []
    for order in orders:
        lm = models[order] = build_lm(config, order, tokenizer)
        uncached_repeats = config.uncached_repeats if order == "next_token" else config.repeats
        cached = rollout(lm, config, True, config.repeats)
        heads.append(head_row(order, lm, cached, config.rollout_frames))
        uncached = rollout(lm, config, False, uncached_repeats)
        # the peak beside the timing it normalises: a peak taken once, at the start, read
        # 76 GFLOP/s (188 idle) while other jobs were finishing, and gave an MFU of 0.98
        near = matmul_peak(config.matmul_size, config.repeats, "cpu")["gflops"]
        train = training_step_speed(lm, config, config.repeats)
        row = {
            "order": order,
            "parameters": sum(p.numel() for p in lm.parameters()),
            "cached_fps": cached["fps"],
            "uncached_fps": uncached["fps"],
            "kv_speedup": uncached["seconds"] / cached["seconds"],
            "passes_per_frame": cached["passes"] / config.rollout_frames,
            "train_step_s": train["seconds"],
            "train_tokens_per_s": train["tokens_per_s"],
            "train_gflops": train["gflops"],
            "train_flops_per_token": train["flops_per_token"],
            "matmul_peak_gflops": near,
            "mfu": mfu(train["flops_per_token"], train["tokens_per_s"], near),
        }
        if order in config.compiled_orders:
            compiled = compiled_training_speed(lm, config, config.repeats)
            row.update(
                compiled_step_s=compiled["seconds"],
                compiled_vs_eager=compiled["vs_eager"],
                compile_s=compiled["compile_s"],
                compiled_mfu=mfu(train["flops_per_token"], compiled["tokens_per_s"], near),
            )
        rows.append(row)
        print(f"{order}: {row}", flush=True)
    base_fps = next((r["cached_fps"] for r in rows if r["order"] == "next_token"), None)
    for row in rows:
        row["vs_next_token"] = None if base_fps is None else row["cached_fps"] / base_fps
    data = {"matmul_peak": peak, "orders": rows, "tokenizer_source": source}
    data["heads"] = compare_heads(
        heads, config.rollout_frames, diffusion_settings(config.diffusion_steps),
        build=lambda order: build_lm(config, order, tokenizer, "diffusion"),
        rollout=lambda lm, settings: rollout(lm, config, True, config.repeats, settings),
    )  # fmt: skip
    data["denoisers"] = denoiser_rows(
        build=lambda order: build_lm(config, order, tokenizer),
        train_step=lambda lm: training_step_speed(lm, config, config.repeats),
        frames=config.rollout_frames, num_actions=config.num_actions, repeats=config.repeats,
        steps=config.denoising_steps,
    )  # fmt: skip
    data["tokenizer"] = tokenizer_speed(tokenizer, config, config.repeats)
    data["tokenizer"]["parameters"] = sum(p.numel() for p in tokenizer.parameters())
    if "next_block" in models:
        data["session"] = session_speed(tokenizer, models["next_block"], config)
        data["session"].update(decode_share(tokenizer, models["next_block"], config))
    data["targets"] = check_targets(data)
    return data
