"""The categorical head: logits over the codebook, cross-entropy loss, filtered sampling.

It knows the vocabulary size and the residual depth, nothing about token order, video or the
backbone: it sees z_BND, the (already normalised) transformer output at the positions to
predict.

Residual VQ (depth > 1): every position holds `depth` codes. All depths are predicted
*independently* from the same z by one linear map to depth×V logits (equivalent to one small
linear projection per depth). That ignores the dependence of a finer depth on the coarser
code drawn at the same position (RQ-Transformer adds a depth transformer for that); it keeps
the head a single matrix and is the documented simplification.

Layouts follow the configured depth, never the input's ndim:
  depth == 1: targets and samples B×N, logits B×N×V;
  depth  > 1: targets and samples B×N×L, logits B×N×L×V (L = depth).

Classifier-free guidance mixes logits, uncond + s·(cond − uncond), before temperature,
top-k and top-p (filters.py); scale 1 returns the conditional logits bit for bit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from .base import Head, HeadLoss, SamplingSettings
from .filters import sample_logits
from .linear_cross_entropy import linear_cross_entropy

if TYPE_CHECKING:
    from ..model_config import VideoLMConfig


class CategoricalHead(Head):
    """Linear map z_BND -> logits over a codebook of `vocab_size` codes, `depth` per position."""

    values = "codes"
    output_layer = "proj"

    def __init__(self, width: int, vocab_size: int, depth: int = 1):
        super().__init__()
        for name, value in (("width", width), ("vocab_size", vocab_size), ("depth", depth)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.width = width
        self.vocab_size = vocab_size
        self.depth = depth
        self.proj = nn.Linear(width, depth * vocab_size)

    @classmethod
    def from_config(cls, config: VideoLMConfig) -> CategoricalHead:
        return cls(config.width, config.vocab_size, config.code_depth, **config.head_options)

    def logits(self, z_BND: torch.Tensor) -> torch.Tensor:
        """B×N×V (depth 1) or B×N×L×V (depth L > 1)."""
        self._check_z(z_BND)
        logits = self.proj(z_BND)
        if self.depth == 1:
            return logits
        return logits.unflatten(-1, (self.depth, self.vocab_size))

    def _check_z(self, z_BND: torch.Tensor) -> None:
        if z_BND.ndim != 3 or z_BND.shape[-1] != self.width:
            raise ValueError(f"z_BND must be B×N×{self.width}, got {tuple(z_BND.shape)}")

    def _check_target(self, z_BND: torch.Tensor, target: torch.Tensor) -> None:
        self._check_z(z_BND)
        expected = tuple(z_BND.shape[:2]) + ((self.depth,) if self.depth > 1 else ())
        if tuple(target.shape) != expected:
            layout = "B×N" if self.depth == 1 else f"B×N×{self.depth}"
            raise ValueError(f"target must be {layout} = {expected}, got {tuple(target.shape)}")
        if target.dtype != torch.int64:
            raise ValueError(f"target must be int64 codes, got {target.dtype}")

    def loss(
        self,
        z_BND: torch.Tensor,
        target: torch.Tensor,
        weight_BN: torch.Tensor | None = None,
        generator: torch.Generator | None = None,  # unused: the loss is deterministic
    ) -> HeadLoss:
        """Cross-entropy, averaged over depths, then a weighted mean over positions.

        weight_BN (optional, float or bool) weights each position; weight 0 excludes it. The
        loss is sum(w·ce) / sum(w) (0 when every weight is 0).
        """
        self._check_target(z_BND, target)
        ce_BNQ, correct_BNQ = self._row_losses(z_BND, target)
        ce_BN, accuracy_BN = ce_BNQ.mean(-1), correct_BNQ.mean(-1)
        if weight_BN is None:
            loss, accuracy = ce_BN.mean(), accuracy_BN.mean()
        else:
            if tuple(weight_BN.shape) != tuple(ce_BN.shape):
                raise ValueError(
                    f"weight_BN must be B×N = {tuple(ce_BN.shape)}, got {tuple(weight_BN.shape)}"
                )
            weight_BN = weight_BN.to(ce_BN.dtype)
            total = weight_BN.sum().clamp(min=torch.finfo(ce_BN.dtype).tiny)
            loss = (ce_BN * weight_BN).sum() / total
            accuracy = (accuracy_BN * weight_BN).sum() / total
        metrics = {"accuracy": accuracy.detach(), "nll": loss.detach()}
        return HeadLoss(loss=loss, metrics=metrics)

    def _row_losses(self, z_BND: torch.Tensor, target: torch.Tensor):
        """Cross-entropy and argmax hits B×N×L, one depth's rows of logits at a time
        (linear_cross_entropy.py: never the whole B×N×L×V logits tensor)."""
        x_ND = z_BND.flatten(0, 1)
        target_NQ = target.reshape(x_ND.shape[0], self.depth)
        ce, correct = [], []
        for q in range(self.depth):
            rows = slice(q * self.vocab_size, (q + 1) * self.vocab_size)
            bias = None if self.proj.bias is None else self.proj.bias[rows]
            losses = linear_cross_entropy(x_ND, self.proj.weight[rows], bias, target_NQ[:, q])
            ce.append(losses.ce_N)
            correct.append(losses.correct_N)
        shape = (*z_BND.shape[:2], self.depth)
        return torch.stack(ce, -1).view(shape), torch.stack(correct, -1).view(shape).float()

    def guided_logits(
        self,
        z_BND: torch.Tensor,
        z_uncond_BND: torch.Tensor | None = None,
        cfg_scale: float | torch.Tensor = 1.0,
    ) -> torch.Tensor:
        """uncond + s·(cond − uncond); exactly the conditional logits where s == 1."""
        cond = self.logits(z_BND)
        if z_uncond_BND is None:
            return cond
        if not isinstance(cfg_scale, torch.Tensor):
            if cfg_scale == 1.0:
                return cond
            uncond = self.logits(z_uncond_BND)
            return uncond + cfg_scale * (cond - uncond)
        scale = self._broadcast_scale(cfg_scale, cond)
        uncond = self.logits(z_uncond_BND)
        return torch.where(scale == 1.0, cond, uncond + scale * (cond - uncond))

    def _broadcast_scale(self, cfg_scale: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """A scale broadcastable to B×N -> one broadcastable to the logits (B×N[×L]×1)."""
        batch_shape = logits.shape[:2]
        try:
            torch.broadcast_shapes(cfg_scale.shape, batch_shape)
        except RuntimeError as error:
            raise ValueError(
                f"cfg_scale must broadcast to B×N = {tuple(batch_shape)}, "
                f"got {tuple(cfg_scale.shape)}"
            ) from error
        scale = cfg_scale.to(device=logits.device, dtype=logits.dtype)
        while scale.ndim < 2:
            scale = scale.unsqueeze(0)
        extra = logits.ndim - 2  # the vocabulary dim, plus the depth dim for residual VQ
        return scale.reshape(*scale.shape, *([1] * extra))

    def confidence(
        self, z_BND: torch.Tensor, values: torch.Tensor, generator: torch.Generator | None
    ) -> torch.Tensor:
        """Log-probability of the sampled codes (joint over residual depths); `generator`
        is unused."""
        logp = self.logits(z_BND).float().log_softmax(-1)
        picked = logp.gather(-1, values.unsqueeze(-1)).squeeze(-1)
        return picked if picked.dim() == 2 else picked.sum(-1)

    @torch.no_grad()
    def sample(
        self,
        z_BND: torch.Tensor,
        generator: torch.Generator | None,
        settings: SamplingSettings,
        z_uncond_BND: torch.Tensor | None = None,
        cfg_scale: float | torch.Tensor = 1.0,
        exclude: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Codes B×N (depth 1) or B×N×L, drawn from the guided, filtered logits; with
        `exclude` (B×N codes, depth 1) each position draws among its other codes."""
        logits = self.guided_logits(z_BND, z_uncond_BND, cfg_scale)
        if exclude is not None:
            if self.depth != 1 or exclude.shape != logits.shape[:-1]:
                raise ValueError(
                    f"exclude must be B×N codes {tuple(logits.shape[:-1])} of a depth-1 head, "
                    f"got {tuple(exclude.shape)} (depth {self.depth})"
                )
            logits = logits.scatter(-1, exclude.unsqueeze(-1), float("-inf"))
        return sample_logits(logits, generator, settings)
