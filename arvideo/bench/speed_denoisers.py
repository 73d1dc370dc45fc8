"""The frame denoisers' rows of `arvideo bench speed`: full-sequence flow, next-frame diffusion
and Diffusion Forcing on the same backbone as the other orders.

Per order, the velocity model of configs/lm/<order>_velocity.yaml (its order options; token
width: the latent_dim of configs/tokenizer/pong_continuous.yaml) at the speed bench's backbone
sizes. A rollout of `rollout_frames` frames from nothing, action-conditioned, batch 1, with
`steps` Euler steps a frame: the block-causal two stream frame by frame with the KV cache
(steps + 1 forwards over one frame's tokens: the last commits the frame), full-sequence flow
denoises whole clips of its trained length in half-overlapping windows (lm/long_video.py:
every step is a forward over the whole window). Backbone passes are counted with a forward
hook, not by formula; ms per frame is the rollout's median time over its frames. A training
step (forward, backward, AdamW) on random latents completes the row. This module knows those
YAML files and VideoLM's public API; speed.py passes in the builder and the timers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import torch

from arvideo.bench.common import median_time
from arvideo.bench.report import Column, markdown_table
from arvideo.bench.speed_heads import continuous_latent_dim, counting, lm_recipe
from arvideo.lm.conditioning import Conditions
from arvideo.lm.decoding import DecodeOptions
from arvideo.lm.heads.base import SamplingSettings
from arvideo.lm.long_video import generate_tiled
from arvideo.lm.model import VideoLM

DENOISERS = ("full_sequence_flow", "next_frame_flow", "diffusion_forcing")


def denoiser_fields(order: str) -> dict:
    """VideoLMConfig fields of configs/lm/<order>_velocity.yaml beyond the backbone sizes."""
    lm = lm_recipe(order, "velocity")
    return dict(
        head="velocity", latent_dim=continuous_latent_dim(),
        order_options=dict(lm.get("order_options") or {}),
        history_corruption=float(lm.get("history_corruption") or 0.0),
    )  # fmt: skip


def rollout(lm: VideoLM, frames: int, num_actions: int, steps: int, repeats: int) -> dict:
    """`frames` frames from nothing with `steps` Euler steps a frame, passes counted."""
    actions = torch.randint(num_actions, (1, frames), generator=torch.Generator().manual_seed(0))
    settings = replace(SamplingSettings(), steps=steps)
    options = DecodeOptions(settings, generator=torch.Generator().manual_seed(0))
    calls = []

    def run():
        with counting(lm.backbone) as backbone:
            if lm.order.tiles and frames > lm.config.grid[0]:
                generate_tiled(lm, None, Conditions(actions), frames, options)
            else:
                lm.decode(None, Conditions(actions), frames, options)
        calls.append(backbone.calls)

    timing = median_time(run, repeats, warmup=1)
    return {
        "fps": frames / timing.median_s,
        "ms_per_frame": 1e3 * timing.median_s / frames,
        "backbone_passes_per_frame": calls[-1] / frames,
    }


def denoiser_rows(
    build: Callable[[str], VideoLM],
    train_step: Callable[[VideoLM], dict],
    frames: int,
    num_actions: int,
    repeats: int,
    steps: int,
) -> list[dict]:
    rows = []
    for order in DENOISERS:
        lm = build(order)
        row = {
            "order": order,
            "parameters": sum(p.numel() for p in lm.parameters()),
            "denoising_steps": steps,
            **rollout(lm, frames, num_actions, steps, repeats),
            "train_step_s": train_step(lm)["seconds"],
        }
        rows.append(row)
        print(f"{order}: {row}", flush=True)
    return rows


DENOISER_COLUMNS = [
    Column("order"),
    Column("parameters", "params"),
    Column("denoising_steps", "Euler steps / frame"),
    Column("backbone_passes_per_frame", "backbone passes / frame", 2),
    Column("ms_per_frame", "ms / frame", 1),
    Column("fps", "fr/s", 2),
    Column("train_step_s", "train step s", 3),
]


def denoisers_markdown(rows: list[dict], config: dict) -> str:
    text = (
        f"Frame denoisers (the backbone itself denoises whole frames of "
        f"{continuous_latent_dim()}-channel latents; configs/lm/<order>_velocity.yaml): "
        f"{config['rollout_frames']}-frame rollouts from nothing, batch 1, Euler, medians of "
        f"{config['repeats']}. next_frame_flow and diffusion_forcing stream with the KV cache "
        "(steps + 1 forwards over one frame: the last commits it); full_sequence_flow "
        "denoises half-overlapping windows of its clip length (each step a forward over "
        "the whole window). Training: the same batch as above, random latents."
    )
    return text + "\n\n" + markdown_table(rows, DENOISER_COLUMNS)
