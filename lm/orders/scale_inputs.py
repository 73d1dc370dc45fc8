"""The multi-scale arithmetic the next-scale order reads its inputs from (VAR, 2404.02905).

Within one latent frame the values of scale k (s_k×s_k tokens, coarse to fine) are residuals;
the latent is the running sum of their up-sampled versions, and the input of scale k is that
sum over scales < k, area-down-sampled to s_k×s_k. Two implementations share one interface
(`scales`, `channels`, `step`, `run`):

* `CodeScales` (categorical head): a *frozen copy* of the msvq tokenizer's bottleneck
  (codebook + VAR refiners). `step` delegates to `MultiScaleResidualVQ.next_scale_input`, so
  the order never re-implements quantisation or decoding; `load_bottleneck` copies a trained
  tokenizer's weights in. The copy is part of the LM's state dict, so `VideoLM` saves and
  loads without the tokenizer folder; its parameters have requires_grad=False and are only
  ever run under no_grad (never trained by the LM).
* `LatentScales` (diffusion head): the same arithmetic without a codebook or refiners, on
  continuous latents. `decompose` turns a latent frame into its residual pyramid (area
  down-sampling of what the coarser scales left), `compose` sums it back; exact, because the
  last scale is the full grid. It has no weights.

Values of one frame are flattened coarse to fine, row-major within a scale: codes B×T×L or
residuals B×T×L×C, L = sum(s²) (the msvq code layout). This module knows nothing about the
transformer, token embeddings, masks or heads.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from arvideo.tokenizer.config import BottleneckConfig
from arvideo.tokenizer.msvq import MultiScaleResidualVQ, ScaleStep


@dataclass
class ScalePass:
    """All scales of all frames at once (teacher forcing)."""

    inputs_BTMC: torch.Tensor  # inputs of scales 1..K-1, M = L - s_0², fp32
    latents_BCTHW: torch.Tensor  # the finished latent of every frame, fp32


class ScaleArithmetic(nn.Module):
    """Shared part: `step` is the one primitive; `run` folds it over all scales."""

    scales: tuple[int, ...]
    channels: int

    @property
    def tokens_per_frame(self) -> int:
        return sum(s * s for s in self.scales)

    def step(
        self, partial_BCTHW: torch.Tensor | None, values_BTn: torch.Tensor, k: int
    ) -> ScaleStep:
        """Add scale k's values (B×T×s_k²(×C)) to the partial sum; input of scale k+1."""
        raise NotImplementedError

    def split(self, values_BTL: torch.Tensor) -> list[torch.Tensor]:
        if values_BTL.shape[2] != self.tokens_per_frame:
            raise ValueError(
                f"values have {values_BTL.shape[2]} tokens per frame; scales {self.scales} "
                f"need {self.tokens_per_frame}"
            )
        return list(values_BTL.split([s * s for s in self.scales], dim=2))

    @torch.no_grad()
    def run(self, values_BTL: torch.Tensor) -> ScalePass:
        """The inputs of every scale after the first, and the latents, from all values."""
        partial, inputs = None, []
        for k, values_BTn in enumerate(self.split(values_BTL)):
            step = self.step(partial, values_BTn, k)
            partial = step.partial_sum
            if step.next_input is not None:
                inputs.append(step.next_input)
        if not inputs:  # a single scale: no inputs besides the start
            B, T = values_BTL.shape[:2]
            empty = partial.new_zeros(B, T, 0, self.channels)
            return ScalePass(empty, partial)
        return ScalePass(torch.cat(inputs, dim=2), partial)

    @torch.no_grad()
    def downsample(self, latents_BCTHW: torch.Tensor, k: int) -> torch.Tensor:
        """Latents area-down-sampled to scale k: B×T×s_k²×C (the previous-frame input)."""
        side, T = self.scales[k], latents_BCTHW.shape[2]
        frames = rearrange(latents_BCTHW.float(), "b c t h w -> (b t) c h w")
        if frames.shape[-1] != side:
            frames = F.interpolate(frames, size=(side, side), mode="area")
        return rearrange(frames, "(b t) c h w -> b t (h w) c", t=T)


class CodeScales(ScaleArithmetic):
    """Frozen msvq bottleneck: codes B×T×L -> inputs per scale (categorical head)."""

    def __init__(
        self,
        scales: tuple[int, ...],
        vocab_size: int,
        code_dim: int,
        upsample_mode: str = "bicubic",
        refine_convs: int = 4,
        refine_ratio: float = 0.5,
        residual: bool = True,
    ):
        super().__init__()
        config = BottleneckConfig(
            kind="msvq",
            codebook_size=vocab_size,
            scales=tuple(scales),
            upsample_mode=upsample_mode,
            refine_convs=refine_convs,
            refine_ratio=refine_ratio,
            residual=residual,
        )
        self.scales, self.channels = tuple(scales), code_dim
        self.bottleneck = MultiScaleResidualVQ(config, code_dim).requires_grad_(False)
        # 1 once a tokenizer's weights were copied in; saved, so a loaded LM remembers it
        self.register_buffer("loaded", torch.zeros((), dtype=torch.bool))

    def step(self, partial_BCTHW, values_BTn, k) -> ScaleStep:
        if values_BTn.dtype != torch.int64:
            raise ValueError(f"next_scale codes must be int64, got {values_BTn.dtype}")
        with torch.no_grad():
            return self.bottleneck.next_scale_input(partial_BCTHW, values_BTn, k)

    def load_bottleneck(self, bottleneck: nn.Module) -> None:
        """Copy a trained msvq bottleneck's codebook and refiners (shapes must match)."""
        if not isinstance(bottleneck, MultiScaleResidualVQ):
            raise TypeError(f"bottleneck must be a MultiScaleResidualVQ, got {type(bottleneck)}")

        def layout(b: MultiScaleResidualVQ) -> tuple:
            return b.scales, b.upsample_mode, len(b.refiners), b.residual

        theirs, ours = layout(bottleneck), layout(self.bottleneck)
        if theirs != ours or bottleneck.refiners[0].ratio != self.bottleneck.refiners[0].ratio:
            raise ValueError(
                f"tokenizer msvq (scales, upsample_mode, refine_convs, residual) = {theirs} "
                f"disagrees with the LM's next_scale options {ours} (or refine_ratio differs)"
            )
        self.bottleneck.load_state_dict(bottleneck.state_dict(), strict=True)
        self.loaded.fill_(True)


class LatentScales(ScaleArithmetic):
    """Codebook-free pyramids of continuous latents (diffusion head): residual scales, or
    (`residual=False`, as an msvq pyramid) the latent pooled to each scale, the last alone
    being the latent."""

    def __init__(
        self, scales: tuple[int, ...], latent_dim: int, upsample_mode: str = "bicubic",
        residual: bool = True,
    ):  # fmt: skip
        super().__init__()
        if upsample_mode not in ("bicubic", "bilinear"):
            raise ValueError(f"upsample_mode must be bicubic or bilinear, got {upsample_mode!r}")
        self.scales, self.channels, self.upsample_mode = tuple(scales), latent_dim, upsample_mode
        self.residual = residual

    def _up(self, x_FCss: torch.Tensor) -> torch.Tensor:
        grid = self.scales[-1]
        if x_FCss.shape[-1] == grid:
            return x_FCss
        return F.interpolate(x_FCss, size=(grid, grid), mode=self.upsample_mode)

    def step(self, partial_BCTHW, values_BTn, k) -> ScaleStep:
        side, T = self.scales[k], values_BTn.shape[1]
        if values_BTn.shape[2:] != (side * side, self.channels):
            raise ValueError(
                f"scale {k} residuals must be B×T×{side * side}×{self.channels}, "
                f"got {tuple(values_BTn.shape)}"
            )
        residual = rearrange(values_BTn.float(), "b t (h w) c -> (b t) c h w", h=side)
        up = rearrange(self._up(residual), "(b t) c h w -> b c t h w", t=T)
        partial = up if partial_BCTHW is None or not self.residual else partial_BCTHW + up
        if k == len(self.scales) - 1:
            return ScaleStep(partial_sum=partial, next_input=None)
        return ScaleStep(partial_sum=partial, next_input=self.downsample(partial, k + 1))

    @torch.no_grad()
    def decompose(self, latents_BTHWC: torch.Tensor) -> torch.Tensor:
        """Latents B×T×H×W×C -> pyramid B×T×L×C (coarse to fine): what coarser scales left
        (residual), or the latent itself, area-down-sampled to each scale."""
        grid = self.scales[-1]
        if latents_BTHWC.ndim != 5 or latents_BTHWC.shape[2:] != (grid, grid, self.channels):
            raise ValueError(
                f"latents must be B×T×{grid}×{grid}×{self.channels}, "
                f"got {tuple(latents_BTHWC.shape)}"
            )
        target = rearrange(latents_BTHWC.float(), "b t h w c -> b c t h w")
        partial, residuals = torch.zeros_like(target), []
        for k in range(len(self.scales)):
            residual_BTnC = self.downsample(target - partial if self.residual else target, k)
            partial = self.step(partial, residual_BTnC, k).partial_sum
            residuals.append(residual_BTnC)
        return torch.cat(residuals, dim=2)

    def compose(self, pyramid_BTLC: torch.Tensor) -> torch.Tensor:
        """Pyramid B×T×L×C -> latents B×T×H×W×C."""
        latents = self.run(pyramid_BTLC).latents_BCTHW
        return rearrange(latents, "b c t h w -> b t h w c")
