"""A prepared generation over a model folder: the token stream, the context's values and the
frame decoder. `VideoGenerator.stream`, `VideoGenerator.session` and the batch call's
streaming path all start from `prepare_run`; generate.py holds the public API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from arvideo.generation_inputs import GenerationRequest, parse_request
from arvideo.lm.streaming import StreamingSession, TokenStream
from arvideo.still_cells import StillCells
from arvideo.tokenizer.streaming import StreamingDecoder

if TYPE_CHECKING:  # generate.py imports this module
    from arvideo.generate import VideoGenerator


@dataclass
class GenerationRun:
    """A prepared generation: token stream, context values and bookkeeping."""

    stream: TokenStream
    context_values: torch.Tensor | None  # B×c'×h×w(...) latent-frame values of the context
    context_frames: int  # pixel frames of the context
    new_latents: int | None  # latent frames to generate (None: open-ended session)
    latent_actions: torch.Tensor | None  # B×T' action leading out of latent frame j
    passes: int = 0
    still: StillCells | None = None  # keep still cells (still_cells.py); None: off

    def step(self):
        frame = self.stream.frames
        action = None
        if self.latent_actions is not None and frame > 0:
            action = self.latent_actions[:, frame - 1]
        out = self.stream.step(action)
        self.passes += out.forward_passes
        return out


class FrameDecoder:
    """Decodes each new latent frame once, with the tokenizer's streaming decoder (the
    causal convs keep their own past frames; the context's latents seed that history)."""

    def __init__(
        self,
        generator: VideoGenerator,
        context_values: torch.Tensor | None,
        still: StillCells | None = None,
    ):
        self.generator, self.still = generator, still
        self.decoder = StreamingDecoder(generator.tokenizer)
        if context_values is not None:  # its pixels are known: decode only for the history
            with generator._autocast():
                self.decoder.step(generator._latents(context_values))

    def push(self, values: torch.Tensor) -> np.ndarray:
        """Values of one latent frame -> its pixel frames, uint8 B×r×H×W×3 (1 at frame 0)."""
        video = self.decoder.step(self.generator._latents(values))
        frames = self.generator._to_uint8(video)
        if self.still is not None:  # r = 1: one frame
            shown = self.still.push(torch.from_numpy(frames[:, 0]), values[:, 0].cpu())
            frames[:, 0] = shown.numpy()
        return frames


def prepare_run(
    gen: VideoGenerator, context, num_frames: int | None, options: dict, single_clip=False
) -> GenerationRun:
    request = parse_request(gen, context, num_frames, options)
    if single_clip and request.batch_size != 1:
        raise ValueError(
            f"session plays one clip, got a batch of {request.batch_size} (context, label, "
            "text or batch_size); use stream() to generate a batch"
        )
    return run_from_request(gen, request)


def run_from_request(gen: VideoGenerator, request: GenerationRequest) -> GenerationRun:
    options = request.decode_options(gen.window_frames)
    session = StreamingSession(gen.lm, request.batch_size, options, request.labels, request.texts)
    stream = TokenStream(session, request.total_latents)
    context_values, passes = None, 0
    if request.frames is not None:
        with gen._autocast():
            context_values = encode_frames(gen, request.frames, request.generator)
        actions = request.latent_actions
        passes = stream.prefill(context_values, None if actions is None else actions.to(gen.device))
    still = None
    if request.still_cell is not None:
        last_real = None if request.frames is None else request.frames[:, -1].cpu()
        last_codes = None if context_values is None else context_values[:, -1].cpu()
        still = StillCells(request.still_cell, last_real, last_codes)
    return GenerationRun(
        stream, context_values, request.context_frames, request.new_latents,
        request.latent_actions, passes, still,
    )  # fmt: skip


def encode_frames(gen: VideoGenerator, frames_BTHWC: torch.Tensor, generator) -> torch.Tensor:
    video = frames_BTHWC.to(gen.device).permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0
    encoded = gen.tokenizer.encode(video, generator)
    if gen.lm.config.values == "codes":
        return encoded.codes.long()
    latents = encoded.latents.float().permute(0, 2, 3, 4, 1)
    return gen.lm.from_tokenizer_values(latents)
