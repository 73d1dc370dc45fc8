"""The heads comparison of `arvideo bench speed`: the categorical head next to the per-token
diffusion head on the same backbone, per order.

Per order, the diffusion head of configs/lm/<order>_diffusion.yaml (its refine, block and head
options; token width: the latent_dim of configs/tokenizer/pong_continuous.yaml) is rolled out
KV-cached with what `arvideo generate` samples with (no guidance), and its row sits beside the
categorical row of the same order's rollout: frames/s, backbone passes per frame and head
evaluations per frame, and the diffusion head's frames/s over the categorical one's (numbers of
the same run). Passes and evaluations are counted with forward hooks on the backbone and on the
head's output layer, not by formula. This module knows those YAML files, VideoLM's public API
and, of the heads, only their declared `output_layer`; it does not know how the speed
benchmark builds or times its models: speed.py passes in the builder and the rollout.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import yaml

from arvideo.bench.report import Column, markdown_table
from arvideo.lm.heads.base import SamplingSettings
from arvideo.lm.model import VideoLM

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
CONTINUOUS_CONFIG = CONFIGS / "tokenizer/pong_continuous.yaml"  # the diffusion head's tokens


def lm_recipe(order: str, head: str) -> dict:
    """The `lm` section of configs/lm/<order>_<head>.yaml."""
    recipe = yaml.safe_load((CONFIGS / f"lm/{order}_{head}.yaml").read_text())
    return recipe["model"]["init_args"]["lm"]


def diffusion_fields(order: str, scales: tuple[int, ...] | None = None) -> dict:
    """VideoLMConfig fields of configs/lm/<order>_diffusion.yaml (the backbone sizes are the
    caller's) and the continuous tokenizer's latent_dim as the token width; `scales`, if set,
    replaces next_scale's."""
    lm = lm_recipe(order, "diffusion")
    fields = {k: lm[k] for k in ("refine", "block_rows", "block_frames") if k in lm}
    options = dict(lm.get("order_options") or {})
    if order == "next_scale" and scales is not None:
        options["scales"] = list(scales)
    return dict(
        fields, head="diffusion", head_options=dict(lm.get("head_options") or {}),
        order_options=options, latent_dim=continuous_latent_dim(),
    )  # fmt: skip


def continuous_latent_dim() -> int:
    tokenizer = yaml.safe_load(CONTINUOUS_CONFIG.read_text())["model"]["init_args"]["tokenizer"]
    return int(tokenizer["latent_dim"])


def diffusion_settings(steps: int | None = None) -> SamplingSettings:
    """What `arvideo generate` samples with (no guidance), `steps` if set."""
    settings = SamplingSettings()
    if steps is not None:
        settings = replace(settings, steps=steps)
    return settings


@dataclass
class CallCounter:
    """Forward calls of one module, counted by a forward hook."""

    calls: int = 0

    def __call__(self, module, args, output) -> None:
        self.calls += 1


@contextmanager
def counting(module: torch.nn.Module):
    counter = CallCounter()
    handle = module.register_forward_hook(counter)
    try:
        yield counter
    finally:
        handle.remove()


def head_row(order: str, lm: VideoLM, cached: dict, frames: int) -> dict:
    """One row of the heads table from a KV-cached rollout of `frames` frames."""
    return {
        "order": order,
        "head": lm.config.head,
        "parameters": sum(p.numel() for p in lm.parameters()),
        "tokens_per_frame": lm.order.tokens_per_frame,
        "fps": cached["fps"],
        "backbone_passes_per_frame": cached["backbone_calls"] / frames,
        "head_evals_per_frame": cached["head_calls"] / frames,
        "head_evals_per_pass": cached["head_calls"] / cached["backbone_calls"],
    }


def compare_heads(
    categorical_rows: list[dict],
    frames: int,
    settings: SamplingSettings,
    build: Callable[[str], VideoLM],
    rollout: Callable[[VideoLM, SamplingSettings], dict],
) -> dict:
    """Per order: the categorical row (from the orders' rollout) next to the diffusion head.

    `build(order)` gives the diffusion LM of that order and `rollout(lm, settings)` its
    KV-cached rollout of `frames` frames with backbone and head-output calls counted.
    """
    rows, options = [], {}
    for categorical in categorical_rows:
        order = categorical["order"]
        lm = build(order)
        options[order] = {k: getattr(lm.config, k) for k in ("head_options", "order_options")}
        diffusion = head_row(order, lm, rollout(lm, settings), frames)
        categorical["vs_categorical"] = 1.0
        diffusion["vs_categorical"] = diffusion["fps"] / categorical["fps"]
        rows += [categorical, diffusion]
        print(f"{order} diffusion: {diffusion}", flush=True)
    return {"rows": rows, "diffusion": {
        "steps": settings.steps, "solver": settings.solver, "cfg_scale": 1.0,
        "latent_dim": continuous_latent_dim(), "options": options,
    }}  # fmt: skip


HEAD_COLUMNS = [
    Column("order"),
    Column("head"),
    Column("parameters", "params"),
    Column("tokens_per_frame", "tokens / frame"),
    Column("fps", "KV-cached fr/s"),
    Column("backbone_passes_per_frame", "backbone passes / frame", 1),
    Column("head_evals_per_frame", "head evals / frame", 1),
    Column("vs_categorical", "fr/s vs categorical ×", 3),
]


def heads_markdown(heads: dict, config: dict) -> str:
    diffusion = heads["diffusion"]
    text = (
        f"Heads (same backbone, same {config['rollout_frames']}-frame KV-cached rollouts): the "
        f"diffusion head of configs/lm/<order>_diffusion.yaml on {diffusion['latent_dim']}-"
        f"channel latents (configs/tokenizer/pong_continuous.yaml), {diffusion['steps']} "
        f"{diffusion['solver']} steps, no guidance. Passes and evaluations are counted with "
        "forward hooks on the backbone and on the head's output layer: a categorical "
        "evaluation is one logits map (CFG would add the unconditional one), a diffusion "
        "evaluation one denoiser call (CFG stacks both halves into one call of twice the rows)."
    )
    if "next_scale" in diffusion["options"]:
        scales = diffusion["options"]["next_scale"]["order_options"]["scales"]
        text += (
            f" next_scale scales: categorical {tuple(config['scales'])} (msvq), diffusion "
            f"{tuple(scales)} (continuous residuals)."
        )
    return text + "\n\n" + markdown_table(heads["rows"], HEAD_COLUMNS)
