"""Codebook usage over a sliding window of batches: fraction used, perplexity, dead codes.

One group per quantizer; rvq codes are split per depth and msvq codes per scale, so a
collapsed coarse scale or a dead residual stage shows up on its own. msvq's scales share one
codebook, so it also gets an `all_scales` group: a code is dead only if no scale uses it (a
1×1 scale alone can never use more than a few). Knows nothing about
the model beyond the code layout it is told (`code_depth`, `scales`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import torch


@dataclass
class GroupUsage:
    fraction_used: float  # codes seen at least once in the window / vocabulary
    perplexity: float  # exp(entropy) of the code histogram; vocab_size when uniform
    dead_codes: int  # codes never seen in the window


def split_codes_by_group(
    codes: torch.Tensor, code_depth: int = 1, scales: tuple[int, ...] | None = None
) -> dict[str, torch.Tensor]:
    """Codes in the tokenizer's layout -> {group name: flat codes}."""
    if scales is not None:
        parts = codes.split([s * s for s in scales], dim=-1)
        groups = {f"scale_{s}": part.reshape(-1) for s, part in zip(scales, parts)}
        return {**groups, "all_scales": codes.reshape(-1)}
    if code_depth > 1:
        return {f"depth_{d}": codes[..., d].reshape(-1) for d in range(code_depth)}
    return {"codes": codes.reshape(-1)}


class CodebookUsage:
    """Accumulates code histograms of the last `window` batches."""

    def __init__(
        self,
        vocab_size: int,
        window: int = 50,
        code_depth: int = 1,
        scales: tuple[int, ...] | None = None,
    ) -> None:
        if vocab_size < 1:
            raise ValueError(f"vocab_size={vocab_size} must be positive")
        if window < 1:
            raise ValueError(f"window={window} must be positive")
        self.vocab_size, self.code_depth, self.scales = vocab_size, code_depth, scales
        self.history: deque[dict[str, torch.Tensor]] = deque(maxlen=window)

    def update(self, codes: torch.Tensor) -> None:
        groups = split_codes_by_group(codes.detach(), self.code_depth, self.scales)
        counts = {
            name: torch.bincount(flat.long().cpu(), minlength=self.vocab_size)
            for name, flat in groups.items()
        }
        self.history.append(counts)

    def report(self) -> dict[str, GroupUsage]:
        if not self.history:
            return {}
        result = {}
        for name in self.history[0]:
            counts = sum(batch[name] for batch in self.history).double()
            probs = counts / counts.sum().clamp_min(1)
            entropy = -(probs * probs.clamp_min(1e-12).log()).sum()
            used = int((counts > 0).sum())
            result[name] = GroupUsage(
                fraction_used=used / self.vocab_size,
                perplexity=float(entropy.exp()),
                dead_codes=self.vocab_size - used,
            )
        return result

    def metrics(self) -> dict[str, float]:
        """Flat dict for a logger: usage/<group>/<field>."""
        flat = {}
        for name, usage in self.report().items():
            flat[f"usage/{name}/fraction_used"] = usage.fraction_used
            flat[f"usage/{name}/perplexity"] = usage.perplexity
            flat[f"usage/{name}/dead_codes"] = float(usage.dead_codes)
        return flat
