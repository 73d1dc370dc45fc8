"""Attention masks whose every query sees a prefix of the keys, run as unmasked pieces.

A block-causal mask over contiguous groups (next_block's frames, next_scale's scales, any
order's prefix, the one-run full mask) gives each query the keys [0, e) with e the end of
its group: the queries fall into a few runs that share e. Attention over such a mask is
one unmasked `scaled_dot_product_attention` per run, on that run's queries and its key
prefix. The fused kernel then skips what the mask hides instead of computing and
discarding it, and takes its unmasked path: at the main job's 4x4-cell generator (8 × 4
heads × 1,024 tokens of 4 frames, head dim 16, one CPU thread) forward + backward went
from 161 ms a layer to 96; at its 8x8 one (512 tokens, 8 frames) from 41 to 24 ms.
A causal mask (one run per token) and masks of other shapes keep the masked kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

MAX_RUNS = 64  # more runs than this: one masked call is cheaper than many small ones


@dataclass(frozen=True)
class PrefixRuns:
    """Queries [starts[i], starts[i + 1]) see keys [0, key_ends[i]) and no others."""

    starts: tuple[int, ...]  # run starts, then the number of queries
    key_ends: tuple[int, ...]
    keys: int  # keys of the mask it stands for (the last ones may be seen by no query)

    @staticmethod
    def of(mask: torch.Tensor | None, max_runs: int = MAX_RUNS) -> PrefixRuns | None:
        """The runs of an N×M boolean mask, or None when it is not of that shape (a row that
        is not a key prefix, an empty row, a per-batch mask) or has more than `max_runs`."""
        if mask is None or mask.dim() != 2 or mask.dtype != torch.bool or mask.shape[0] == 0:
            return None
        ends_N = mask.sum(-1)
        keys_M = torch.arange(mask.shape[1], device=mask.device)
        if not torch.equal(mask, keys_M[None, :] < ends_N[:, None]):
            return None
        breaks = (torch.nonzero(ends_N[1:] != ends_N[:-1]).flatten() + 1).tolist()
        if len(breaks) + 1 > max_runs:
            return None
        starts = [0, *breaks]
        key_ends = ends_N[starts].tolist()
        if min(key_ends) == 0:  # a query that sees nothing: the masked kernel's NaN row
            return None
        return PrefixRuns(tuple(starts) + (mask.shape[0],), tuple(key_ends), mask.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        """(queries, keys), as the mask it stands for."""
        return self.starts[-1], self.keys

    def dim(self) -> int:
        return 2

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """`scaled_dot_product_attention(q, k, v, attn_mask=<the mask>)` for B×heads×N×d."""
        pieces = [
            F.scaled_dot_product_attention(q[:, :, start:stop], k[:, :, :end], v[:, :, :end])
            for start, stop, end in zip(self.starts, self.starts[1:], self.key_ends)
        ]
        return pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=2)
