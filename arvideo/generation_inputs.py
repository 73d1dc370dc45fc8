"""What a user passes to `VideoGenerator`, checked once, with errors that name the argument.

Context frames (uint8 T×H×W×3 or B×T×H×W×3 of the model's frame size, at most the model's
window), `num_frames`, actions inside the model's action space, labels, text only for a
model with a text encoder, and the sampling options. `parse_request` turns them into one
`GenerationRequest` that either sampling path (streamed or whole-clip) consumes. Knows the
model's constants; knows nothing about sampling or decoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, get_args

import numpy as np
import torch

from arvideo.generation_numbers import (
    cfg_scale,
    random_generator,
    sampling_settings,
    whole_number,
)
from arvideo.lm.decoding import DecodeOptions
from arvideo.lm.guidance import ScheduleKind
from arvideo.lm.heads.base import SamplingSettings
from arvideo.lm.model import inapplicable_settings

if TYPE_CHECKING:
    from arvideo.generate import VideoGenerator


@dataclass
class GenerationRequest:
    """A generation call's options, checked once, for either sampling path."""

    frames: torch.Tensor | None  # B×c×H×W×3 uint8 context
    batch_size: int
    context_frames: int  # pixel frames of the context
    new_latents: int | None  # latent frames to generate (None: open-ended session)
    total_latents: int | None
    latent_actions: torch.Tensor | None  # B×T' action leading out of latent frame j
    labels: torch.Tensor | None
    texts: list[str] | None
    settings: SamplingSettings
    cfg_scale: float
    cfg_schedule: str
    refine_steps: int
    generator: torch.Generator
    overlap: int | None = None  # tiled long videos: latent frames shared by windows
    still_cell: int | None = None  # keep still cells (still_cells.py): their size; None: off
    compile: bool = False  # cached steps as one compiled graph (DecodeOptions.compile)

    def decode_options(self, window_frames: int) -> DecodeOptions:
        """The LM's sampling options for this request (either path)."""
        return DecodeOptions(
            settings=self.settings,
            cfg_scale=self.cfg_scale,
            cfg_schedule=self.cfg_schedule,
            generator=self.generator,
            window_frames=window_frames,
            refine_steps=self.refine_steps,
            compile=self.compile,
        )


ALLOWED_OPTIONS = {
    "actions", "label", "text", "temperature", "top_k", "top_p", "steps", "solver",
    "schedule", "uncertainty", "stabilization", "change_threshold", "keep_threshold",
    "overlap",
    "cfg_scale", "cfg_schedule", "refine_steps", "seed", "generator", "batch_size",
    "keep_still_cells", "compile",
}  # fmt: skip


def parse_request(gen: VideoGenerator, context, num_frames: int | None, options: dict):
    unknown = set(options) - ALLOWED_OPTIONS
    if unknown:
        raise TypeError(f"unknown options {sorted(unknown)}; allowed: {sorted(ALLOWED_OPTIONS)}")
    check_applicable(gen, options)
    frames = None if context is None else _check_context(gen, context)
    B = _batch_size(frames, options)
    c = 0 if frames is None else frames.shape[1]
    new_latents = None if num_frames is None else _check_num_frames(gen, num_frames, c)
    r = gen.frames_per_latent
    c_latent = 0 if frames is None else 1 + (c - 1) // r
    total_latents = None if new_latents is None else c_latent + new_latents
    settings = sampling_settings(options, gen.lm.config.sampling_settings())
    scale = cfg_scale(options)
    schedule = options.get("cfg_schedule", "constant")
    if schedule not in get_args(ScheduleKind):
        raise ValueError(f"cfg_schedule must be one of {get_args(ScheduleKind)}, got {schedule!r}")
    refine_steps = whole_number("refine_steps", options.get("refine_steps", 1))
    generator = random_generator(options, gen.device)
    latent_actions = None
    if options.get("actions") is not None:
        pixels = None if total_latents is None else 1 + (total_latents - 1) * r - 1
        needed = max(c - 1, 0) if pixels is None else pixels
        actions = check_actions(gen, options["actions"], B, needed, "actions")
        latent_actions = actions[:, ::r] if r > 1 else actions
    return GenerationRequest(
        frames, B, c, new_latents, total_latents, latent_actions,
        _labels(gen, options.get("label"), B), _texts(gen, options.get("text"), B), settings,
        scale, schedule, refine_steps, generator, _overlap(gen, options.get("overlap")),
        _still_cell(gen, options.get("keep_still_cells")), _compile(options.get("compile")),
    )  # fmt: skip


def check_applicable(gen: VideoGenerator, options: dict) -> None:
    """Refuse a sampling option the model never reads (a caller would expect it to act)."""
    config = gen.lm.config
    unused = set(inapplicable_settings(config))
    if not gen.lm.order.tiles:
        unused.add("overlap")
    if gen.lm.order.denoising and not gen.lm.order.streams:
        unused.add("compile")  # full attention over the clip: no KV-cached steps
    # a switch left off (compile=False) asks for nothing the model could fail to read
    given = sorted(name for name in unused if options.get(name) not in (None, False))
    gates = {"change_threshold": "why_not", "keep_threshold": "why_not_keep"}
    if len(given) == 1 and given[0] in gates:
        from arvideo.lm import change_gate

        reason = getattr(change_gate, gates[given[0]])(config)
        raise ValueError(f"{given[0]} does not apply to this model: {reason}")
    if given:
        raise ValueError(
            f"options {given} do not apply to this model (order {config.order!r}, head "
            f"{config.head!r}): steps and solver need a head that denoises (diffusion, "
            "velocity); schedule, uncertainty and stabilization a frame-denoising order; "
            "overlap an order that tiles long videos (full_sequence_flow); compile an order "
            "that decodes with a KV cache (every order but full_sequence_flow); "
            "change_threshold and keep_threshold a next_block model of codes with frame blocks"
        )


def _compile(flag) -> bool:
    if flag is None:
        return False
    if not isinstance(flag, bool):
        raise TypeError(f"compile must be True or False, got {flag!r}")
    return flag


def _still_cell(gen: VideoGenerator, keep) -> int | None:
    """keep_still_cells: None = wherever the model allows it, True = required, False = off."""
    from arvideo.still_cells import cell_size, why_not

    if keep is not None and not isinstance(keep, bool):
        raise TypeError(f"keep_still_cells must be True, False or None, got {keep!r}")
    cell = cell_size(gen.tokenizer, gen.lm.config.values)
    if keep and cell is None:
        raise ValueError(
            f"keep_still_cells=True does not apply to this model: "
            f"{why_not(gen.tokenizer, gen.lm.config.values)}"
        )
    return None if keep is False else cell


def _overlap(gen: VideoGenerator, overlap) -> int | None:
    """Latent frames each window of a tiled long video shares with the one before."""
    if overlap is None:
        return None
    clip = gen.lm.config.grid[0]
    return whole_number("overlap", overlap, 1, clip)


def as_uint8_frames(frames, name: str) -> np.ndarray:
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().cpu().numpy()
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        raise ValueError(f"{name} must be uint8 frames (T×H×W×3 RGB), got dtype {frames.dtype}")
    if frames.ndim not in (4, 5) or frames.shape[-1] != 3:
        raise ValueError(f"{name} must be T×H×W×3 or B×T×H×W×3, got shape {frames.shape}")
    return frames


def batched_frames(frames: np.ndarray, B: int, name: str) -> np.ndarray:
    frames = frames[None] if frames.ndim == 4 else frames
    if frames.shape[0] not in (1, B):
        raise ValueError(f"{name} holds {frames.shape[0]} clips, expected {B}")
    return np.broadcast_to(frames, (B, *frames.shape[1:]))


def _check_context(gen: VideoGenerator, context) -> torch.Tensor:
    frames = as_uint8_frames(context, "context")
    frames = frames[None] if frames.ndim == 4 else frames
    H, W = gen.info.frame_size
    if tuple(frames.shape[2:4]) != (H, W):
        raise ValueError(f"context frames must be {H}×{W}, got {frames.shape[2]}×{frames.shape[3]}")
    c, r = frames.shape[1], gen.frames_per_latent
    if c < 1 or (c - 1) % r:
        raise ValueError(f"context must hold 1 + k·{r} frames (temporal compression), got {c}")
    if c > gen.max_context_frames:
        raise ValueError(
            f"context has {c} frames, more than the model's window of "
            f"{gen.max_context_frames} frames"
        )
    return torch.from_numpy(np.ascontiguousarray(frames))


def _check_num_frames(gen: VideoGenerator, num_frames: int, context_frames: int) -> int:
    """Latent frames to generate for `num_frames` new pixel frames."""
    r = gen.frames_per_latent
    num_frames = whole_number("num_frames", num_frames)
    if context_frames == 0:
        if (num_frames - 1) % r:
            raise ValueError(f"num_frames must be 1 + k·{r} without context, got {num_frames}")
        return 1 + (num_frames - 1) // r
    if num_frames % r:
        raise ValueError(f"num_frames must be a multiple of {r} after a context, got {num_frames}")
    return num_frames // r


def _batch_size(frames: torch.Tensor | None, options: dict) -> int:
    batch_size = options.get("batch_size")
    if batch_size is not None:
        batch_size = whole_number("batch_size", batch_size)
    sizes = {"batch_size": batch_size}
    if frames is not None:
        sizes["context"] = frames.shape[0]
    for name in ("label", "text"):
        value = options.get(name)
        if value is not None and not isinstance(value, (int, str)):
            sizes[name] = len(value)
    given = {k: v for k, v in sizes.items() if v is not None}
    if len(set(given.values())) > 1:
        raise ValueError(f"batch sizes disagree: {given}")
    return next(iter(given.values()), 1)


def check_actions(gen: VideoGenerator, actions, B: int, needed: int, name: str):
    count = gen.lm.config.num_actions
    if count == 0:
        raise ValueError(f"{name} given but the model has no action conditioning")
    if not isinstance(actions, torch.Tensor):
        array = np.asarray(actions)
        if array.dtype.kind not in "iub":  # strings, objects, floats: no action ids
            raise ValueError(
                f"{name} must be integer ids, T or B×T, got {array.dtype} values such as "
                f"{array.ravel()[:3].tolist()}"
            )
        actions = torch.as_tensor(array)
    ids = actions
    if ids.dtype.is_floating_point or ids.dtype == torch.bool or ids.ndim not in (1, 2):
        raise ValueError(
            f"{name} must be integer ids, T or B×T, got {ids.dtype} {tuple(ids.shape)}"
        )
    ids = ids.long()[None] if ids.ndim == 1 else ids.long()
    if ids.shape[0] not in (1, B):
        raise ValueError(f"{name} holds {ids.shape[0]} rows, expected {B}")
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= count):
        raise ValueError(
            f"{name} must lie in [0, {count}) (the model's action space), got values in "
            f"[{int(ids.min())}, {int(ids.max())}]"
        )
    if ids.shape[1] < needed:
        raise ValueError(f"{name} has {ids.shape[1]} entries; this generation needs {needed}")
    return ids.expand(B, -1).to(gen.device)


def _labels(gen: VideoGenerator, label, B: int) -> torch.Tensor | None:
    if label is None:
        return None
    count = gen.lm.config.num_labels
    ids = torch.as_tensor([label] * B if isinstance(label, int) else list(label)).long()
    if count == 0 or int(ids.min()) < 0 or int(ids.max()) >= count:
        raise ValueError(f"label must lie in [0, {count}) (the model's labels), got {label!r}")
    return ids.to(gen.device)


def _texts(gen: VideoGenerator, text, B: int) -> list[str] | None:
    if text is None:
        return None
    if gen.lm.config.text_encoder is None:
        raise ValueError("text given but the model has no text encoder")
    return [text] * B if isinstance(text, str) else list(text)
