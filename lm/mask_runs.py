"""Attention masks made of a few runs of identical rows, attended as unmasked pieces.

A block-causal mask over contiguous groups (next_block's frames, next_scale's scales, the
frame denoisers' frames, any order's prefix) repeats each row for a whole group: queries fall
into a few runs, and each run sees a few contiguous spans of keys (a key prefix; under
complete teacher forcing, the clean frames before its own and its own noisy frame; a sliding
window's span). Attention over such a mask is one unmasked `scaled_dot_product_attention`
per run, on that run's queries and its keys (a slice, or the spans concatenated). The fused
kernel then skips what the mask hides instead of computing and discarding it, and takes its
unmasked path: at the main job's 4x4-cell generator (8 × 4 heads × 1,024 tokens of 4 frames,
head dim 16, one CPU thread) forward + backward went from 161 ms a layer to 96; at its 8x8
one (512 tokens, 8 frames) from 41 to 24 ms. `Transformer.forward` uses it for forwards
without a KV cache (training, uncached sampling); cached decoding steps keep their mask. A
causal mask (one run per token) and masks of other shapes keep the masked kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

MAX_RUNS = 64  # more runs than this: one masked call is cheaper than many small ones
MAX_SPANS = 4  # key spans a run may gather (each beyond the first costs a copy of its keys)

Span = tuple[int, int]  # keys [begin, end)


@dataclass(frozen=True)
class MaskRuns:
    """Queries [starts[i], starts[i + 1]) see the keys of spans[i] and no others."""

    starts: tuple[int, ...]  # run starts, then the number of queries
    spans: tuple[tuple[Span, ...], ...]
    keys: int  # keys of the mask it stands for (the last ones may be seen by no query)

    @staticmethod
    def of(
        mask: torch.Tensor | None, max_runs: int = MAX_RUNS, max_spans: int = MAX_SPANS
    ) -> MaskRuns | None:
        """The runs of an N×M boolean mask, or None when it has more than `max_runs` runs of
        equal rows, a run sees more than `max_spans` spans or none (the masked kernel's NaN
        row, kept as it was), or the mask is per batch."""
        if mask is None or mask.dim() != 2 or mask.dtype != torch.bool or mask.shape[0] == 0:
            return None
        changed_N1 = (mask[1:] != mask[:-1]).any(-1)
        breaks = (torch.nonzero(changed_N1).flatten() + 1).tolist()
        if len(breaks) + 1 > max_runs:
            return None
        starts = [0, *breaks]
        rows_RM = mask[starts].to(torch.int8)
        # +1 where a span begins, -1 one past where it ends
        zeros_R1 = torch.zeros_like(rows_RM[:, :1])
        edges_RM1 = torch.diff(rows_RM, dim=-1, prepend=zeros_R1, append=zeros_R1)
        run_index, position = torch.nonzero(edges_RM1, as_tuple=True)
        spans: list[list[int]] = [[] for _ in starts]
        for run, key in zip(run_index.tolist(), position.tolist()):
            spans[run].append(key)
        if any(not edges or len(edges) > 2 * max_spans for edges in spans):
            return None
        pairs = tuple(tuple(zip(edges[::2], edges[1::2])) for edges in spans)
        return MaskRuns(tuple(starts) + (mask.shape[0],), pairs, mask.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        """(queries, keys), as the mask it stands for."""
        return self.starts[-1], self.keys

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """`scaled_dot_product_attention(q, k, v, attn_mask=<the mask>)` for B×heads×N×d."""
        pieces = []
        for start, stop, spans in zip(self.starts, self.starts[1:], self.spans):
            keys, values = _gather(k, spans), _gather(v, spans)
            pieces.append(F.scaled_dot_product_attention(q[:, :, start:stop], keys, values))
        return pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=2)


def _gather(x_BHMd: torch.Tensor, spans: tuple[Span, ...]) -> torch.Tensor:
    """The keys (or values) of `spans`: a view for one span, a concatenation for several."""
    if len(spans) == 1:
        begin, end = spans[0]
        return x_BHMd[:, :, begin:end]
    return torch.cat([x_BHMd[:, :, begin:end] for begin, end in spans], dim=2)
