"""Next-scale order for video: coarse-to-fine residual scales within a frame, frames causal
(VAR, Tian et al. 2024, arXiv 2404.02905, made frame-autoregressive).

Layout. Every latent frame holds K scales of s_k×s_k tokens (e.g. 1, 2, 3, 4, 6, 8; the last
is the latent grid), flattened coarse to fine, row-major within a scale (the msvq code
layout): L = sum(s_k²) tokens per frame. Group = t·K + k, so the block-causal mask (built
from group ids by the base class) lets a token see its own scale, every earlier scale of its
frame and every token of earlier frames. Position of a token: (t, h, w, k) with (h, w) the
centre of its cell in finest-grid units, (i + 0.5)·H/s_k − 0.5, so rotary attention compares
scales on one spatial frame; a learned scale embedding is added to the input.

Inputs (teacher forcing = sampling). The input of scale k of frame t is
  start                                           for k = 0,
  proj(down_k(sum of the decoded residuals of scales < k of frame t))   for k > 0,
(an msvq pyramid, `residual: false`: of scale k−1's decoded codes alone)
plus prev_proj(down_k(latent of frame t−1)) (a learned `no_previous` vector for frame 0)
plus scale_embedding[k]. The previous-frame term is our addition to VAR: without it the
finest residual of a frame would never be the input of any token, so later frames could not
see the finest detail of earlier ones; it also gives every scale a copy of the last frame
(video is mostly static). Conditioning (actions, labels, text) reaches the start tokens, as
every token, through the adaLN vector of the frame they predict.

The multi-scale arithmetic lives in scale_inputs.py, so VideoLM never owns a tokenizer:
* head "categorical": values are msvq codes B×T×L; `CodeScales` holds a frozen copy of the
  msvq bottleneck (codebook + refiners), built from the order options and filled from a
  trained tokenizer with `load_tokenizer` (saved inside the LM's model.safetensors).
* head "diffusion": values are continuous residual pyramids B×T×L×C (`LatentScales`, or
  pooled-latent pyramids with `residual: false`,
  no weights): targets of scale k are what the coarser scales left of a continuous latent,
  area-down-sampled; `decompose` (latents -> pyramid) and `compose` (pyramid -> latents)
  convert to and from a continuous tokenizer's B×T×H×W×C latents.

Sampling: one forward per scale (K per frame) with a KV cache that appends a whole scale;
CFG's linear schedule ramps over the scales of each frame (fraction k/(K−1)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import torch
from torch import nn

from ..sequence import TokenLayout
from .base import (
    Decoder,
    GenerationTrace,
    TeacherForcing,
    TokenOrder,
    ValueEmbeddingFactory,
)
from .scale_inputs import CodeScales, LatentScales, ScaleArithmetic

if TYPE_CHECKING:
    from ..model_config import VideoLMConfig


@dataclass
class NextScaleConfig:
    """Options of the next-scale order (VideoLMConfig.order_options; values from VideoLM)."""

    scales: tuple[int, ...] = (1, 2, 3, 4, 6, 8)  # side lengths, coarse to fine; last = grid
    values: Literal["codes", "latents"] = "codes"  # from the head: categorical / diffusion
    vocab_size: int = 0  # codes: the msvq codebook size (= VideoLMConfig.vocab_size)
    latent_dim: int = 0  # latents: channels of a continuous latent (= VideoLMConfig's)
    code_dim: int = 8  # codes: channels of the msvq codebook (the tokenizer's latent_dim)
    upsample_mode: Literal["bicubic", "bilinear"] = "bicubic"  # as the tokenizer's msvq
    refine_convs: int = 4  # codes: msvq refiners (VAR's phi), as the tokenizer's
    refine_ratio: float = 0.5  # codes: as the tokenizer's
    residual: bool = True  # as the msvq tokenizer's (False: a pyramid of pooled latents)

    def __post_init__(self):
        self.scales = tuple(int(s) for s in self.scales)
        if not self.scales or list(self.scales) != sorted(set(self.scales)) or self.scales[0] < 1:
            raise ValueError(f"scales must be strictly increasing and >= 1, got {self.scales}")
        if self.values not in ("codes", "latents"):
            raise ValueError(f"values must be 'codes' or 'latents', got {self.values!r}")
        if self.values == "codes" and (self.vocab_size < 1 or self.code_dim < 1):
            raise ValueError("next_scale codes need vocab_size >= 1 and code_dim >= 1")
        if self.values == "latents" and self.latent_dim < 1:
            raise ValueError("next_scale latents need latent_dim >= 1")

    @property
    def channels(self) -> int:
        return self.code_dim if self.values == "codes" else self.latent_dim


@dataclass
class FrameSample:
    """One frame drawn scale by scale."""

    values: torch.Tensor  # B×L codes or B×L×C residuals
    z_BND: torch.Tensor  # B×L×D head inputs
    latents_BCTHW: torch.Tensor  # B×C×1×H×W, the frame's finished latent (next frame's input)


def tokenizer_options(tokenizer: nn.Module) -> dict:
    """order_options matching an msvq VideoTokenizer (scales, code_dim, refiners)."""
    bottleneck = tokenizer.config.bottleneck
    if tokenizer.scales is None:  # the tokenizer's declaration, not its kind name
        raise ValueError(f"next_scale codes need an msvq tokenizer, got {bottleneck.kind!r}")
    return dict(
        scales=list(bottleneck.scales),
        code_dim=tokenizer.config.latent_dim,
        upsample_mode=bottleneck.upsample_mode,
        refine_convs=bottleneck.refine_convs,
        refine_ratio=bottleneck.refine_ratio,
        residual=bottleneck.residual,
    )


class NextScaleOrder(TokenOrder):
    name = "next_scale"
    uses_value_embedding = False  # inputs come from the multi-scale arithmetic
    stream_obstacle = "each scale reads every coarser scale of its frame, not one group"

    @classmethod
    def from_config(
        cls, config: VideoLMConfig, value_embedding: ValueEmbeddingFactory
    ) -> NextScaleOrder:
        if config.code_depth != 1:
            raise ValueError(f"next_scale needs code_depth 1, got {config.code_depth}")
        values = dict(
            values=config.values, vocab_size=config.vocab_size, latent_dim=config.latent_dim
        )
        return cls(config.grid[1:], config.width, value_embedding, **values, **config.order_options)

    @classmethod
    def needs_tokenizer_scales(cls, values: str) -> bool:
        """Codes need the msvq tokenizer's scales, codebook and refiners."""
        return values == "codes"

    @classmethod
    def tokenizer_options(cls, tokenizer: nn.Module) -> dict:
        return tokenizer_options(tokenizer)

    def from_tokenizer_values(self, values: torch.Tensor) -> torch.Tensor:
        """Latents B×T×H×W×C -> residual pyramids B×T×L×C; codes are msvq's already."""
        return self.arithmetic.decompose(values) if self.config.values == "latents" else values

    def to_tokenizer_values(self, values: torch.Tensor) -> torch.Tensor:
        return self.arithmetic.compose(values) if self.config.values == "latents" else values

    def __init__(
        self,
        grid_hw: tuple[int, int],
        width: int,
        value_embedding: ValueEmbeddingFactory | None = None,  # unused: inputs are latents
        **options,
    ):
        super().__init__()
        config = NextScaleConfig(**options)
        H, W = grid_hw
        if H != W or H != config.scales[-1]:
            raise ValueError(
                f"next_scale needs a square latent grid equal to the last scale: grid "
                f"{(H, W)}, scales {config.scales}"
            )
        self.config, self.grid_hw, self.scales = config, (H, W), config.scales
        self.arithmetic = _arithmetic(config)
        self.tokens_per_frame = self.arithmetic.tokens_per_frame
        C = config.channels
        self.start = nn.Parameter(torch.randn(width) * 0.02)
        self.no_previous = nn.Parameter(torch.randn(width) * 0.02)
        self.input_proj = nn.Linear(C, width)  # VAR's word embedding of the partial sum
        self.prev_proj = nn.Linear(C, width)
        self.scale_embedding = nn.Embedding(len(self.scales), width)
        nn.init.normal_(self.scale_embedding.weight, std=0.02)

    def load_tokenizer(self, tokenizer: nn.Module) -> None:
        """Copy an msvq VideoTokenizer's bottleneck weights into the frozen arithmetic."""
        if not isinstance(self.arithmetic, CodeScales):
            raise TypeError("load_tokenizer applies to next_scale codes (categorical head)")
        self.arithmetic.load_bottleneck(tokenizer.bottleneck)

    # -- layout -----------------------------------------------------------------------------

    def _frame_slots(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per in-frame slot: scale index (L) and (h, w) in finest-grid units (L×2)."""
        H = self.grid_hw[0]
        scale, hw = [], []
        for k, side in enumerate(self.scales):
            i = torch.arange(side, dtype=torch.float32)
            centre = (i + 0.5) * H / side - 0.5
            h, w = torch.meshgrid(centre, centre, indexing="ij")
            hw.append(torch.stack([h.flatten(), w.flatten()], dim=1))
            scale.append(torch.full((side * side,), k, dtype=torch.long))
        return torch.cat(scale), torch.cat(hw)

    def layout(self, num_frames: int) -> TokenLayout:
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        L, K = self.tokens_per_frame, len(self.scales)
        scale_L, hw_L2 = self._frame_slots()
        t = torch.arange(num_frames).repeat_interleave(L)
        scale = scale_L.repeat(num_frames)
        positions = torch.cat(
            [t[:, None].float(), hw_L2.repeat(num_frames, 1), scale[:, None].float()], dim=1
        )
        slot = torch.arange(L).repeat(num_frames)
        return TokenLayout(t * K + scale, t, slot, positions, num_frames)

    def _check_values(self, values: torch.Tensor, flat: bool) -> None:
        lead = 2 if flat else 3
        codes = self.config.values == "codes"
        expected = lead if codes else lead + 1
        ok = values.ndim == expected and (codes or values.shape[-1] == self.config.channels)
        if not flat:
            ok = ok and values.shape[2] == self.tokens_per_frame
        if not ok:
            layout = "B×T×L" if codes else f"B×T×L×{self.config.channels}"
            raise ValueError(
                f"next_scale {self.config.values} must be {layout} (L = {self.tokens_per_frame} "
                f"for scales {self.scales}){'' if codes else ', see LatentScales.decompose'}; "
                f"got {tuple(values.shape)}"
            )

    def flatten(self, values: torch.Tensor) -> torch.Tensor:
        self._check_values(values, flat=False)
        return values.flatten(1, 2)

    def unflatten(self, values: torch.Tensor, num_frames: int) -> torch.Tensor:
        return values.unflatten(1, (num_frames, self.tokens_per_frame))

    # -- inputs -----------------------------------------------------------------------------

    def scale_input(
        self,
        k: int,
        input_BTnC: torch.Tensor | None,
        previous_BCTHW: torch.Tensor | None,
        batch_frames: tuple[int, int],
    ) -> torch.Tensor:
        """Input embeddings B×T×s_k²×D of scale k (B, T = batch_frames): start (k = 0) or
        the projected partial sum (input_BTnC), plus the scale embedding, plus the previous
        frame's latent at this scale (`no_previous` when previous_BCTHW is None)."""
        dtype = self.input_proj.weight.dtype
        if k == 0:
            x = self.start.expand(*batch_frames, self.scales[0] ** 2, self.start.shape[0])
        else:
            x = self.input_proj(input_BTnC.to(dtype))
        x = x + self.scale_embedding.weight[k]
        if previous_BCTHW is None:
            return x + self.no_previous
        return x + self.prev_proj(self.arithmetic.downsample(previous_BCTHW, k).to(dtype))

    def teacher_forcing(
        self,
        values: torch.Tensor,
        embed: Callable[[torch.Tensor], torch.Tensor],
        generator: torch.Generator | None = None,
        reveal_BN: torch.Tensor | None = None,
    ) -> TeacherForcing:
        """All inputs in one pass; `embed` is unused (inputs come from the arithmetic)."""
        if reveal_BN is not None:
            raise ValueError("next_scale has no within-group refinement (reveal_BN)")
        self._check_values(values, flat=True)
        T = values.shape[1] // self.tokens_per_frame
        scale_pass = self.arithmetic.run(self.unflatten(values, T))
        inputs = scale_pass.inputs_BTMC.split([s * s for s in self.scales[1:]], dim=2)
        B, latents = values.shape[0], scale_pass.latents_BCTHW
        first = [self._frame(inputs, B, 0, 1, None)]
        rest = [self._frame(inputs, B, 1, T, latents[:, :, :-1])] if T > 1 else []
        return TeacherForcing(torch.cat(first + rest, dim=1).flatten(1, 2))

    def _frame(self, inputs_k, B: int, t0: int, t1: int, previous_BCTHW) -> torch.Tensor:
        """Inputs B×(t1-t0)×L×D of frames t0..t1-1 from the per-scale inputs of all frames."""
        per_scale = [
            self.scale_input(
                k, None if k == 0 else inputs_k[k - 1][:, t0:t1], previous_BCTHW, (B, t1 - t0)
            )
            for k in range(len(self.scales))
        ]
        return torch.cat(per_scale, dim=2)

    # -- sampling ---------------------------------------------------------------------------

    def generate(
        self,
        decoder: Decoder,
        layout: TokenLayout,
        context: torch.Tensor | None,
        generator: torch.Generator | None = None,
        refine_steps: int = 1,
    ) -> GenerationTrace:
        if refine_steps != 1:
            raise ValueError(
                f"next_scale has no refinement: refine_steps must be 1, got {refine_steps}"
            )
        L, N = self.tokens_per_frame, len(layout)
        known = 0 if context is None else context.shape[1]
        if known % L or known >= N:
            raise ValueError(f"context must hold whole frames of {L} tokens, fewer than {N}")
        values, zs, passes, previous = [], [], 0, None
        if known:
            forcing = self.teacher_forcing(context, decoder.embed)
            z = decoder.run(forcing.inputs_BND, 0, known, commit=True).z_BND
            frames = self.unflatten(context, known // L)
            previous = self.arithmetic.run(frames[:, -1:]).latents_BCTHW
            values, zs, passes = [context], [z], 1
        for t in range(known // L, layout.num_frames):
            frame = self._generate_frame(decoder, t, previous)
            values.append(frame.values)
            zs.append(frame.z_BND)
            previous = frame.latents_BCTHW
            passes += len(self.scales)
        return GenerationTrace(torch.cat(values, 1), torch.cat(zs, 1), passes)

    def _generate_frame(
        self, decoder: Decoder, t: int, previous: torch.Tensor | None
    ) -> FrameSample:
        """Frame t with K forwards, one per scale (each appends the scale to the cache)."""
        K, L = len(self.scales), self.tokens_per_frame
        step, offset, values, zs = None, t * L, [], []
        for k, side in enumerate(self.scales):
            scale_input = None if k == 0 else step.next_input
            x = self.scale_input(k, scale_input, previous, (decoder.batch_size, 1))
            out = decoder.run(x[:, 0], offset, offset + side * side, commit=True)
            sampled = decoder.sample(out, k / (K - 1) if K > 1 else 1.0)
            partial = None if step is None else step.partial_sum
            step = self.arithmetic.step(partial, sampled.unsqueeze(1), k)
            values.append(sampled)
            zs.append(out.z_BND)
            offset += side * side
        return FrameSample(torch.cat(values, 1), torch.cat(zs, 1), step.partial_sum)


def _arithmetic(config: NextScaleConfig) -> ScaleArithmetic:
    if config.values == "codes":
        return CodeScales(
            config.scales, config.vocab_size, config.code_dim, config.upsample_mode,
            config.refine_convs, config.refine_ratio, config.residual,
        )  # fmt: skip
    return LatentScales(config.scales, config.latent_dim, config.upsample_mode, config.residual)
