"""Multi-scale residual quantisation for next-scale prediction (VAR, Tian et al. 2024).

Each latent frame (C×H×W, H = W = the last scale) is quantised coarse to fine: at scale k
the running residual is area-down-sampled to s_k×s_k, matched against one shared codebook,
the chosen codes are up-sampled back to H×W (bicubic or bilinear), refined by a small conv
(VAR's phi) and subtracted from the residual. The latent is the sum of those refined,
up-sampled residuals. With `residual: false` the scales form a pyramid instead (FlowAR,
arXiv 2412.15205): scale k quantises the latent itself, area-down-sampled, and the latent is
the last scale's refined codes alone. Coarse scales are then a summary a next-scale generator
predicts first, and the last scale is a per-cell VQ, so still cells keep their codes
wherever the encoder is cell-local.
Codes per latent frame are flattened coarse to fine, row-major within a scale: L = sum(s*s);
codes are B×T×L.

Codebook health (the codebook learns by gradient, not EMA): on the first training forward
the codebook is k-means-fitted to that batch's residuals at every scale, each round re-running
the coarse-to-fine loop so finer residuals follow coarser codes. A per-code usage EMA
(assignments per batch, all scales together) marks codes below `dead_code_threshold` as dead;
they restart as residual vectors sampled from the current batch, as in vector-quantize-pytorch.
Both happen in training mode only; randomness comes from forward's `generator`, else from the
module's own generator seeded with `msvq_seed` (never the global one). Not synchronised across
data-parallel ranks.

What a next-scale generator needs: `teacher_forcing_inputs` (codes -> the input of every
scale after the first, in one pass), `next_scale_input` (one step of the same, for
sampling) and `codes_to_latents`. Knows nothing about pixels or the transformer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .bottleneck import Bottleneck, BottleneckOutput, fp32_region
from .config import BottleneckConfig


@dataclass
class ScalePass:
    """One coarse-to-fine quantisation of F frames."""

    f_hat: torch.Tensor  # F×C×H×W: sum of the refined residuals of all scales
    codes: list[torch.Tensor]  # one F×s² tensor per scale
    residuals_NC: torch.Tensor  # every scale's quantised residual, N = F·L rows in code order
    loss: torch.Tensor  # scalar: reconstruction of every partial sum + commitment

    @property
    def codes_N(self) -> torch.Tensor:
        """Every scale's codes, flat, in the row order of `residuals_NC`."""
        return torch.cat([c.flatten() for c in self.codes])


def _sample_rows(pool_NC: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """`count` rows of `pool_NC`, distinct while the pool is large enough."""
    rows = pool_NC.shape[0]
    if rows >= count:
        index = torch.randperm(rows, generator=generator, device=generator.device)[:count]
    else:
        index = torch.randint(rows, (count,), generator=generator, device=generator.device)
    return pool_NC[index.to(pool_NC.device)]


@dataclass
class ScaleStep:
    partial_sum: torch.Tensor  # B×C×T×H×W: sum of the refined residuals of scales <= k
    next_input: torch.Tensor | None  # B×T×s_{k+1}²×C: input for scale k+1; None after the last


class Refiner(nn.Module):
    """VAR's phi: h -> (1 - ratio) * h + ratio * conv3x3(h)."""

    def __init__(self, channels: int, ratio: float) -> None:
        super().__init__()
        self.ratio = ratio
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return (1 - self.ratio) * h + self.ratio * self.conv(h)


class MultiScaleResidualVQ(Bottleneck):
    kinds = ("msvq",)
    values = "codes"

    def __init__(self, config: BottleneckConfig, latent_dim: int) -> None:
        super().__init__()
        self.scales = tuple(config.scales)
        self.vocab_size = config.codebook_size
        self.upsample_mode = config.upsample_mode
        self.residual = config.residual
        self.commitment_weight = config.commitment_weight
        self.codebook = nn.Embedding(config.codebook_size, latent_dim)
        bound = 1.0 / config.codebook_size
        nn.init.uniform_(self.codebook.weight, -bound, bound)
        self.refiners = nn.ModuleList(
            Refiner(latent_dim, config.refine_ratio) for _ in range(config.refine_convs)
        )
        self.kmeans_init, self.kmeans_iters = config.kmeans_init, config.msvq_kmeans_iters
        self.ema_decay, self.dead_code_threshold = config.ema_decay, config.dead_code_threshold
        self.seed = config.msvq_seed
        self._own_generator: torch.Generator | None = None  # created on first need
        # saved, so a loaded model is neither re-initialised nor restarted from zero usage
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))
        self.register_buffer("usage_ema", torch.zeros(config.codebook_size))

    @property
    def tokens_per_frame(self) -> int:
        return sum(s * s for s in self.scales)

    @property
    def grid(self) -> int:
        return self.scales[-1]

    def split_codes(self, codes_BTL: torch.Tensor) -> list[torch.Tensor]:
        """B×T×L -> one B×T×s² tensor per scale."""
        if codes_BTL.shape[-1] != self.tokens_per_frame:
            raise ValueError(
                f"codes have {codes_BTL.shape[-1]} tokens per frame; scales {self.scales} "
                f"need {self.tokens_per_frame}"
            )
        return list(codes_BTL.split([s * s for s in self.scales], dim=-1))

    def _refiner(self, scale_index: int) -> Refiner:
        last = max(len(self.scales) - 1, 1)
        return self.refiners[round(scale_index / last * (len(self.refiners) - 1))]

    def _resize(self, x_FCHW: torch.Tensor, size: int, up: bool) -> torch.Tensor:
        if x_FCHW.shape[-1] == size:
            return x_FCHW
        if up:
            return F.interpolate(x_FCHW, size=(size, size), mode=self.upsample_mode)
        return F.interpolate(x_FCHW, size=(size, size), mode="area")

    def _accumulate(self, partial: torch.Tensor | None, level: torch.Tensor) -> torch.Tensor:
        """The latent known after a scale: the sum so far plus its level (residual), or the
        level alone (pyramid)."""
        return level if partial is None or not self.residual else partial + level

    def _decoded_residual(self, codes_FN: torch.Tensor, scale_index: int) -> torch.Tensor:
        """Codes of one scale (F×s²) -> refined residual on the full grid F×C×H×W."""
        side = self.scales[scale_index]
        h = rearrange(self.codebook(codes_FN), "f (h w) c -> f c h w", h=side)
        return self._refiner(scale_index)(self._resize(h, self.grid, up=True))

    @torch.no_grad()
    def _nearest(self, r_FCHW: torch.Tensor) -> torch.Tensor:
        r_FNC = rearrange(r_FCHW, "f c h w -> f (h w) c")
        weight = self.codebook.weight
        dist = r_FNC.pow(2).sum(-1, keepdim=True) - 2 * r_FNC @ weight.T + weight.pow(2).sum(-1)
        return dist.argmin(-1)

    def _check_grid(self, z_BCTHW: torch.Tensor) -> None:
        if z_BCTHW.shape[-2:] != (self.grid, self.grid):
            raise ValueError(
                f"msvq latent grid {tuple(z_BCTHW.shape[-2:])} must be square and equal the "
                f"last of bottleneck.scales={self.scales}"
            )

    def forward(
        self, z_BCTHW: torch.Tensor, generator: torch.Generator | None = None
    ) -> BottleneckOutput:
        self._check_grid(z_BCTHW)
        frames = z_BCTHW.shape[2]
        with fp32_region(z_BCTHW):
            f_FCHW = rearrange(z_BCTHW.float(), "b c t h w -> (b t) c h w")
            if self.training and not self.initialised:
                self._initialise(f_FCHW.detach(), self._generator(generator))
            result = self._quantise(f_FCHW)
            metrics = {}
            if self.training:
                restarted = self._restart_dead_codes(result, self._generator(generator))
                metrics["restarted_codes"] = restarted.float()
            quantized = f_FCHW + (result.f_hat - f_FCHW).detach()  # straight-through
        latents = rearrange(quantized, "(b t) c h w -> b c t h w", t=frames)
        codes_BTL = rearrange(torch.cat(result.codes, dim=-1), "(b t) n -> b t n", t=frames)
        return BottleneckOutput(latents=latents, codes=codes_BTL, loss=result.loss, metrics=metrics)

    def _quantise(self, f_FCHW: torch.Tensor) -> ScalePass:
        target = f_FCHW.detach()
        f_hat = torch.zeros_like(target)
        codes, residuals, loss = [], [], f_FCHW.new_zeros(())
        for k, side in enumerate(self.scales):
            left = target - f_hat.detach() if self.residual else target  # what scale k codes
            residual = self._resize(left, side, up=False)
            codes_FN = self._nearest(residual)
            f_hat = self._accumulate(f_hat, self._decoded_residual(codes_FN, k))
            codes.append(codes_FN)
            residuals.append(rearrange(residual, "f c h w -> (f h w) c"))
            # codebook and refiners learn from every partial sum; encoder commits to it
            loss = loss + F.mse_loss(f_hat, target)
            loss = loss + self.commitment_weight * F.mse_loss(f_FCHW, f_hat.detach())
        loss = loss / len(self.scales)
        return ScalePass(f_hat=f_hat, codes=codes, residuals_NC=torch.cat(residuals), loss=loss)

    # ---- codebook health (training mode only) ----------------------------------------------
    def _generator(self, generator: torch.Generator | None) -> torch.Generator:
        if generator is not None:
            return generator
        if self._own_generator is None:
            self._own_generator = torch.Generator().manual_seed(self.seed)
        return self._own_generator

    @torch.no_grad()
    def _initialise(self, target_FCHW: torch.Tensor, generator: torch.Generator) -> None:
        """k-means of the codebook on this batch's residuals; usage starts at a fair share."""
        weight, vocab = self.codebook.weight, self.vocab_size
        if self.kmeans_init:
            weight.copy_(_sample_rows(self._quantise(target_FCHW).residuals_NC, vocab, generator))
            for _ in range(self.kmeans_iters):
                result = self._quantise(target_FCHW)  # residuals under the current codebook
                codes_N = result.codes_N
                sums = torch.zeros_like(weight).index_add_(0, codes_N, result.residuals_NC)
                counts = torch.bincount(codes_N, minlength=vocab)
                means = sums / counts.clamp(min=1).unsqueeze(-1)
                empty = _sample_rows(result.residuals_NC, vocab, generator)
                weight.copy_(torch.where((counts > 0).unsqueeze(-1), means, empty))
        self.usage_ema.fill_(target_FCHW.shape[0] * self.tokens_per_frame / vocab)
        self.initialised.fill_(True)

    @torch.no_grad()
    def _restart_dead_codes(self, result: ScalePass, generator: torch.Generator) -> torch.Tensor:
        """Update usage; codes below the threshold become residuals of this batch (no sync).

        Returns how many codes restarted.
        """
        codes_N = result.codes_N
        counts = torch.bincount(codes_N, minlength=self.vocab_size).float()
        self.usage_ema.lerp_(counts, 1 - self.ema_decay)
        if self.dead_code_threshold <= 0:
            return codes_N.new_zeros(())
        dead = self.usage_ema < self.dead_code_threshold
        dead_index = dead.nonzero().squeeze(-1)
        if len(dead_index):  # only the dead rows are drawn and written
            replacements = _sample_rows(result.residuals_NC, len(dead_index), generator)
            self.codebook.weight[dead_index] = replacements
        fair_share = codes_N.numel() / self.vocab_size
        self.usage_ema.masked_fill_(dead, fair_share)
        return dead.sum()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        # checkpoints saved before codebook health: trained (no re-init), usage at the threshold
        state_dict.setdefault(prefix + "initialised", torch.ones((), dtype=torch.bool))
        usage = torch.full_like(self.usage_ema, self.dead_code_threshold)
        state_dict.setdefault(prefix + "usage_ema", usage)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def codes_to_latents(self, codes_BTL: torch.Tensor) -> torch.Tensor:
        frames = codes_BTL.shape[1]
        per_scale = self.split_codes(codes_BTL)
        used = range(len(per_scale)) if self.residual else [len(per_scale) - 1]  # a pyramid: last
        with fp32_region(codes_BTL):
            f_hat = None
            for k in used:
                f_hat = self._accumulate(
                    f_hat, self._decoded_residual(per_scale[k].flatten(0, 1), k)
                )
        return rearrange(f_hat, "(b t) c h w -> b c t h w", t=frames)

    def teacher_forcing_inputs(self, codes_BTL: torch.Tensor) -> torch.Tensor:
        """Inputs of scales 1..K-1 for all true codes: B×T×(L - s_0²)×C.

        The input of scale k is the running sum of the refined residuals of scales < k (a
        pyramid: scale k-1's refined codes), area-down-sampled to s_k×s_k, flattened
        row-major; scale 0 has no input.
        """
        frames = codes_BTL.shape[1]
        inputs = []
        with fp32_region(codes_BTL):
            f_hat = None
            per_scale = self.split_codes(codes_BTL)
            for k, codes_BTN in enumerate(per_scale[:-1]):
                f_hat = self._accumulate(f_hat, self._decoded_residual(codes_BTN.flatten(0, 1), k))
                down = self._resize(f_hat, self.scales[k + 1], up=False)
                inputs.append(rearrange(down, "(b t) c h w -> b t (h w) c", t=frames))
        if not inputs:
            batch, channels = codes_BTL.shape[0], self.codebook.embedding_dim
            return codes_BTL.new_zeros((batch, frames, 0, channels), dtype=torch.float32)
        return torch.cat(inputs, dim=2)

    def next_scale_input(
        self, partial_sum_BCTHW: torch.Tensor | None, codes_BTN: torch.Tensor, scale_index: int
    ) -> ScaleStep:
        """One sampling step: add scale `scale_index`'s codes (B×T×s²) to the partial sum.

        Pass `partial_sum_BCTHW=None` for scale 0. The final `partial_sum` is the latent (a
        pyramid replaces the partial sum by each scale's level).
        """
        side = self.scales[scale_index]
        if codes_BTN.shape[-1] != side * side:
            raise ValueError(f"codes_BTN has {codes_BTN.shape[-1]} tokens; scale needs {side**2}")
        frames = codes_BTN.shape[1]
        with fp32_region(codes_BTN):
            h = self._decoded_residual(codes_BTN.flatten(0, 1), scale_index)
            h = rearrange(h, "(b t) c h w -> b c t h w", t=frames)
            earlier = None if partial_sum_BCTHW is None else partial_sum_BCTHW.float()
            partial = self._accumulate(earlier, h)
            if scale_index == len(self.scales) - 1:
                return ScaleStep(partial_sum=partial, next_input=None)
            frames_FCHW = rearrange(partial, "b c t h w -> (b t) c h w")
            down = self._resize(frames_FCHW, self.scales[scale_index + 1], up=False)
        next_input = rearrange(down, "(b t) c h w -> b t (h w) c", t=frames)
        return ScaleStep(partial_sum=partial, next_input=next_input)
