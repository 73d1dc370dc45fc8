"""Rolling out a trained generator on held-out windows and measuring it.

A rollout: the first c frames of each evaluation window are encoded (context), the LM
samples the next `horizon` latent frames with the true actions (world model) or with the
actions dropped to null, the tokenizer decodes, and only the predicted frames are scored.
Several seeds run as one batch (window i under seed s is row s·B + i, one torch.Generator),
so diversity is the spread across those rows. Cost: wall time of sampling + decoding per
generated frame (batch amortised), transformer forward passes per generated frame, and
peak memory (CUDA: allocator peak of the call; CPU: the process's peak RSS so far, which
only grows: read it as an upper bound). Training FLOPs, the matmul peak and MFU are in
bench/common.py. Knows the LM/tokenizer APIs and rollout_eval; not reports.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import dataclass

import torch

from arvideo.bench.paradigms.models import TrainedGenerator
from arvideo.lm.conditioning import Conditions
from arvideo.lm.decoding import DecodeOptions, GeneratedTokens
from arvideo.lm.heads.base import SamplingSettings
from arvideo.lm.long_video import TiledTokens, generate_tiled
from arvideo.lm.model import VideoLM
from arvideo.tokenizer import VideoTokenizer


@dataclass
class Rollout:
    video_RBCTHW: torch.Tensor  # predicted frames only, float [-1, 1]
    ms_per_frame: float  # sampling + decoding, per generated frame, batch amortised
    forward_passes_per_frame: float  # per generated latent frame (prefill included)
    peak_memory_mb: float


def decode_values(tokenizer: VideoTokenizer, values: torch.Tensor) -> torch.Tensor:
    """Codes or B×T×H×W×C latents -> video B×C×T×H×W in [-1, 1]."""
    if tokenizer.is_continuous:
        return tokenizer.decode(values.permute(0, 4, 1, 2, 3).float()).clamp(-1, 1)
    return tokenizer.decode_codes(values).clamp(-1, 1)


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return rss / (2**20 if sys.platform == "darwin" else 2**10)


@torch.no_grad()
def sample_values(
    model: VideoLM, context: torch.Tensor, conditions: Conditions, total: int,
    options: DecodeOptions,
) -> GeneratedTokens | TiledTokens:  # fmt: skip
    """`total` frames (context included; `.values`, `.forward_passes`). Past the trained
    clip an order that streams slides its window (`VideoLM.decode`); one that denoises whole
    clips (full_sequence_flow) continues in overlapping windows (lm/long_video.py)."""
    if model.order.tiles and total > model.config.grid[0]:
        return generate_tiled(model, context, conditions, total, options)
    return model.decode(context, conditions, total, options)


@torch.no_grad()
def rollout(
    trained: TrainedGenerator,
    tokenizer: VideoTokenizer,
    context_values: torch.Tensor,
    actions_BT: torch.Tensor | None,
    horizon: int,
    seeds: int,
    seed: int,
    settings: SamplingSettings,
) -> Rollout:
    """Sample `horizon` frames after the context for every window under `seeds` seeds."""
    model: VideoLM = trained.model
    device = next(model.parameters()).device
    c = context_values.shape[1]
    context = model.from_tokenizer_values(context_values)
    context = context.repeat(seeds, *[1] * (context.ndim - 1)).to(device)
    conditions = Conditions(
        actions_BT=None if actions_BT is None else actions_BT.repeat(seeds, 1).to(device)
    )
    generator = torch.Generator(device=device).manual_seed(seed)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    options = DecodeOptions(settings, generator=generator)
    out = sample_values(model, context, conditions, c + horizon, options)
    video = decode_values(tokenizer, model.to_tokenizer_values(out.values))[:, :, c:]
    elapsed = time.perf_counter() - start
    B = context_values.shape[0]
    return Rollout(
        video_RBCTHW=video.cpu().unflatten(0, (seeds, B)),
        ms_per_frame=1000 * elapsed / (seeds * B * horizon),
        forward_passes_per_frame=out.forward_passes / horizon,
        peak_memory_mb=peak_memory_mb(device),
    )
