"""Streaming causal decode: latent frames in one at a time, pixel frames out, exact history.

`VideoTokenizer.decode` maps a whole clip of latents to pixels. Its decoder is causal in
time (every temporal conv pads on the past side only, repeating the first frame; norms and
attention are per frame), so output frame t depends on latent frames <= t only. This module
walks the same decoder modules with the same weights, but each causal temporal conv keeps
its last `time_pad` input frames as state: `step` decodes only the new latent frame(s),
at a constant cost and with constant memory however long the stream runs. The first step
seeds every conv's history by repeating its first input frame, exactly as the batch
padding does; the temporal up-sampling path (temporal_compression r > 1) drops the first
up-sampled frame on the first step only, so latent 0 makes 1 frame and later latents r.

The result equals `decode` of the whole clip up to float round-off (convs over fewer frames
may sum in another order). This module knows the decoder's building blocks (tokenizer/
layers.py) and computes their function; it does not change their arithmetic, and it knows
nothing about codes, the LM or generation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .layers import (
    CausalConv3d,
    FrameAttention,
    FrameGroupNorm,
    ResBlock3d,
    Upsample,
    depth_to_space,
)
from .model import VideoTokenizer

# Modules that act on each frame alone: called as they are, no state needed.
PER_FRAME = (FrameAttention, FrameGroupNorm, nn.Identity)


class StreamingDecoder:
    """`step(latents_BCTHW) -> video_BCTHW` over a VideoTokenizer's decoder, frame by frame.

    Holds no parameters of its own: it reads the tokenizer's modules at every step, so the
    tokenizer's device, dtype and weights apply. One stream per instance (one batch of clips);
    `reset()` starts a new one.
    """

    def __init__(self, tokenizer: VideoTokenizer) -> None:
        if not isinstance(tokenizer, VideoTokenizer):
            raise TypeError(f"tokenizer must be a VideoTokenizer, got {type(tokenizer).__name__}")
        self.tokenizer = tokenizer
        self._history: dict[CausalConv3d, torch.Tensor] = {}  # last time_pad padded inputs
        self._grid: tuple[int, ...] | None = None  # B, C, H, W of the stream's latents
        self.latent_frames = 0  # latent frames decoded so far

    def reset(self) -> None:
        """Forget the history: the next step is frame 0 of a new clip."""
        self._history, self._grid, self.latent_frames = {}, None, 0

    @property
    def state_numel(self) -> int:
        """Elements held as history (constant once the first step is done)."""
        return sum(t.numel() for t in self._history.values())

    def step(self, latents_BCTHW: torch.Tensor) -> torch.Tensor:
        """The pixel frames made by the next T latent frames (latents as `decode` takes them).

        Returns B×C×T'×H×W with T' = r·T, or 1 + r·(T - 1) on the stream's first step.
        """
        self._check(latents_BCTHW)
        decoder = self.tokenizer.decoder
        x = self.tokenizer.bottleneck.to_decoder_input(latents_BCTHW)
        x = self._module(decoder.mid, self._conv(decoder.conv_in, x))
        for stage in decoder.stages:
            x = self._module(stage, x)
        x = self._conv(decoder.conv_out, F.silu(decoder.norm_out(x)))
        self.latent_frames += latents_BCTHW.shape[2]
        return depth_to_space(x, decoder.patch_size)

    # -- the decoder's blocks, streamed ---------------------------------------------------

    def _module(self, module: nn.Module, x_BCTHW: torch.Tensor) -> torch.Tensor:
        if isinstance(module, nn.Sequential):
            for child in module:
                x_BCTHW = self._module(child, x_BCTHW)
            return x_BCTHW
        if isinstance(module, CausalConv3d):
            return self._conv(module, x_BCTHW)
        if isinstance(module, ResBlock3d):
            return self._res_block(module, x_BCTHW)
        if isinstance(module, Upsample):
            return self._upsample(module, x_BCTHW)
        if isinstance(module, PER_FRAME):
            return module(x_BCTHW)
        raise TypeError(
            f"StreamingDecoder cannot stream a {type(module).__name__} (not a known causal "
            "block); teach tokenizer/streaming.py how it uses time"
        )

    def _conv(self, conv: CausalConv3d, x_BCTHW: torch.Tensor) -> torch.Tensor:
        """CausalConv3d.forward with the past taken from the history instead of padding."""
        if conv.conv.stride[0] != 1:
            raise ValueError("StreamingDecoder supports temporal stride 1 convs only")
        x = x_BCTHW  # the conv pads space itself
        if conv.time_pad:
            past = self._history.get(conv)
            if past is None:  # first frame: replicate it, as the batch padding does
                past = x[:, :, :1].expand(-1, -1, conv.time_pad, -1, -1)
            x = torch.cat([past, x], dim=2)
            # clone: a view would keep this step's whole tensor alive
            self._history[conv] = x[:, :, -conv.time_pad :].clone()
        return conv.conv(x)

    def _res_block(self, block: ResBlock3d, x_BCTHW: torch.Tensor) -> torch.Tensor:
        h = self._conv(block.conv1, F.silu(block.norm1(x_BCTHW)))
        h = self._conv(block.conv2, F.silu(block.norm2(h)))
        skip = x_BCTHW if block.skip is None else block.skip(x_BCTHW)  # 1×1×1: per frame
        return skip + h

    def _upsample(self, block: Upsample, x_BCTHW: torch.Tensor) -> torch.Tensor:
        x = x_BCTHW
        if block.time_conv is not None:
            first = block.time_conv not in self._history  # this block's first step
            x = self._conv(block.time_conv, x)
            x = rearrange(x, "b (c r) t h w -> b c (t r) h w", r=2)
            x = x[:, :, 1:] if first else x
        x = F.interpolate(x, scale_factor=(1, 2, 2), mode="nearest")
        return self._conv(block.conv, x)

    def _check(self, latents_BCTHW: torch.Tensor) -> None:
        latent_dim = self.tokenizer.latent_dim
        if latents_BCTHW.ndim != 5 or latents_BCTHW.shape[1] != latent_dim:
            raise ValueError(
                f"latents_BCTHW must be B×{latent_dim}×T×H×W, got {tuple(latents_BCTHW.shape)}"
            )
        if latents_BCTHW.shape[2] < 1:
            raise ValueError("latents_BCTHW holds no frames (T = 0)")
        B, C, _, H, W = latents_BCTHW.shape
        if self._grid is not None and self._grid != (B, C, H, W):
            raise ValueError(
                f"latents_BCTHW of shape {tuple(latents_BCTHW.shape)} do not continue this "
                f"stream of B, C, H, W = {self._grid}; call reset() to start a new one"
            )
        self._grid = (B, C, H, W)
