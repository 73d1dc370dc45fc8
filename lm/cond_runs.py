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

from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class CondRuns:
    """B×N×D conditioning as its distinct consecutive rows (runs) and each token's run."""

    rows_KD: torch.Tensor  # the first row of each run, in order
    run_of_token: torch.Tensor | None  # (B·N,) int64; None: every row is its own run
    shape: torch.Size  # B, N, D of the conditioning
    # projections of these runs, by module: a decoding session's memo (on its KV cache),
    # kept while a step's runs equal the last step's (the next token of the same frame)
    projected: dict = field(default_factory=dict)

    @classmethod
    def of(cls, cond_BND: torch.Tensor, memo: dict | None = None) -> CondRuns:
        """`memo`: a session's dict that carries projections from step to step (only with
        autograd off); compared with the last step's runs once here, not per module."""
        flat = cond_BND.reshape(-1, cond_BND.shape[-1])
        starts = torch.ones(len(flat), dtype=torch.bool, device=flat.device)
        starts[1:] = (flat[1:] != flat[:-1]).any(dim=-1)
        if bool(starts.all()):
            runs = cls(flat, None, cond_BND.shape)
        else:
            runs = cls(flat[starts], starts.cumsum(0) - 1, cond_BND.shape)
        if memo is not None and not torch.is_grad_enabled():
            last = memo.get("rows")
            if (
                last is None
                or last.shape != runs.rows_KD.shape
                or not torch.equal(last, runs.rows_KD)
            ):
                memo["rows"], memo["projected"] = runs.rows_KD, {}
            runs.projected = memo["projected"]
        return runs

    def project(self, linear: nn.Module, activation) -> torch.Tensor:
        """linear(activation(cond)) per token, B×N×out, computed once per run (and once per
        frame while a session's memo holds it)."""
        out = self.projected.get(linear)
        if out is None:
            out = self.projected[linear] = linear(activation(self.rows_KD))
        if self.run_of_token is not None:
            out = out.index_select(0, self.run_of_token)
        return out.view(*self.shape[:-1], out.shape[-1])
