"""adaLN conditioning computed once per run of equal vectors, not once per token.

The backbone takes one conditioning vector per token, but in video it changes once per
frame (the action and noise level of the frame a token belongs to) or once per clip (a
label, a caption). Each block projects it to 6·D modulation values, a D×6D matmul per token:
a third of a block's weights. `CondRuns` finds the runs of equal consecutive vectors in
B×N order once per forward pass, and every block projects one vector per run and gathers
the result back to the tokens, so a frame of 64 tokens pays for one projection. When each
sequence is one run (a decoding step: one frame's block, or one token), the projection
broadcasts over the tokens instead of being gathered to them. A decoding session keeps the
projections of its last few distinct conditions, so a world model's recurring actions are
projected once per session, not once per frame.

Equal inputs give equal outputs, so this changes no value; only the matmul's blocking (the
last bits of fp32) may differ from the per-token projection. Gradients: a run's first row
receives the whole run's gradient and the others none, which gives every parameter the same
gradient as long as equal rows come from the same computation (a frame's vector repeated
over its tokens), as they do here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

MEMO_ENTRIES = 8  # distinct conditions a session keeps projections of (actions, CFG twins)


@dataclass
class CondRuns:
    """B×N×D conditioning as its distinct consecutive rows (runs) and each token's run."""

    rows_KD: torch.Tensor  # the first row of each run, in order
    run_of_token: torch.Tensor | None  # (B·N,) int64; None: no gather (see per_sequence)
    shape: torch.Size  # B, N, D of the conditioning
    # True: one run per sequence (a frame's block, a token step), K = B rows that broadcast
    # over the N tokens instead of being gathered to them
    per_sequence: bool = False
    # projections of these runs, by module: from a decoding session's memo (on its KV
    # cache), kept for the last few distinct conditions (a world model's actions recur)
    projected: dict = field(default_factory=dict)

    @classmethod
    def of(cls, cond_BND: torch.Tensor, memo: dict | None = None) -> CondRuns:
        """`memo`: a session's dict that carries projections from step to step (only with
        autograd off), keyed by the runs' values; looked up once here, not per module."""
        B, N, D = cond_BND.shape
        flat = cond_BND.reshape(-1, D)
        starts = torch.ones(len(flat), dtype=torch.bool, device=flat.device)
        starts[1:] = (flat[1:] != flat[:-1]).any(dim=-1)
        if bool(starts.all()):
            runs = cls(flat, None, cond_BND.shape)
        elif N > 1 and not bool(starts.view(B, N)[:, 1:].any()):
            runs = cls(cond_BND[:, 0], None, cond_BND.shape, per_sequence=True)
        else:
            runs = cls(flat[starts], starts.cumsum(0) - 1, cond_BND.shape)
        if memo is not None and not torch.is_grad_enabled():
            runs.projected = _remembered(memo, runs.rows_KD)
        return runs

    def project(self, linear: nn.Module, activation) -> torch.Tensor:
        """linear(activation(cond)) per token, B×N×out (B×1×out, broadcasting over the
        tokens, for one run per sequence), computed once per run (and once per condition
        while a session's memo holds it)."""
        out = self.projected.get(linear)
        if out is None:
            out = self.projected[linear] = linear(activation(self.rows_KD))
        if self.per_sequence:
            return out.view(self.shape[0], 1, out.shape[-1])
        if self.run_of_token is not None:
            out = out.index_select(0, self.run_of_token)
        return out.view(*self.shape[:-1], out.shape[-1])


def _remembered(memo: dict, rows_KD: torch.Tensor) -> dict:
    """The projections dict of these rows' values in `memo`: the last `MEMO_ENTRIES`
    distinct values are kept, least recently used dropped first."""
    raw = rows_KD.detach().cpu().contiguous().view(torch.uint8)  # any dtype, bf16 too
    key = (rows_KD.shape, rows_KD.dtype, raw.numpy().tobytes())
    entries = memo.setdefault("entries", {})
    projected = entries.pop(key, None)
    if projected is None:
        projected = {}
        if len(entries) >= MEMO_ENTRIES:
            entries.pop(next(iter(entries)))
    entries[key] = projected  # most recent last
    return projected
