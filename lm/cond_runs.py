"""adaLN conditioning computed once per run of equal vectors, not once per token.

The backbone takes one conditioning vector per token, but in video it changes once per
frame (the action and noise level of the frame a token belongs to) or once per clip (a
label, a caption). Each block projects it to 6·D modulation values, a D×6D matmul per token:
a third of a block's weights. `CondRuns` finds the runs of equal consecutive vectors in
B×N order once per forward pass, and every block projects one vector per run and gathers
the result back to the tokens, so a frame of 64 tokens pays for one projection.

Equal inputs give equal outputs, so this changes no value; only the matmul's blocking (the
last bits of fp32) may differ from the per-token projection. Gradients: a run's first row
receives the whole run's gradient and the others none, which gives every parameter the same
gradient as long as equal rows come from the same computation (a frame's vector repeated
over its tokens), as they do here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class CondRuns:
    """B×N×D conditioning as its distinct consecutive rows (runs) and each token's run."""

    rows_KD: torch.Tensor  # the first row of each run, in order
    run_of_token: torch.Tensor | None  # (B·N,) int64; None: every row is its own run
    shape: torch.Size  # B, N, D of the conditioning

    @classmethod
    def of(cls, cond_BND: torch.Tensor) -> CondRuns:
        flat = cond_BND.reshape(-1, cond_BND.shape[-1])
        starts = torch.ones(len(flat), dtype=torch.bool, device=flat.device)
        starts[1:] = (flat[1:] != flat[:-1]).any(dim=-1)
        if bool(starts.all()):
            return cls(flat, None, cond_BND.shape)
        return cls(flat[starts], starts.cumsum(0) - 1, cond_BND.shape)

    def project(self, linear: nn.Module, activation, memo: dict | None = None) -> torch.Tensor:
        """linear(activation(cond)) per token, B×N×out, computed once per run. `memo` (a
        decoding session's, on its KV cache) keeps each module's last result: a step whose
        runs equal the previous step's (the next token of the same frame) reuses it."""
        out = None
        if memo is not None and not torch.is_grad_enabled():
            rows, out = memo.get(linear, (None, None))
            if (
                rows is None
                or rows.shape != self.rows_KD.shape
                or not torch.equal(rows, self.rows_KD)
            ):
                out = None
        if out is None:
            out = linear(activation(self.rows_KD))
            if memo is not None and not torch.is_grad_enabled():
                memo[linear] = (self.rows_KD, out)
        if self.run_of_token is not None:
            out = out.index_select(0, self.run_of_token)
        return out.view(*self.shape[:-1], out.shape[-1])
