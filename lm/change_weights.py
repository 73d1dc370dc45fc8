"""Loss weights that count a code a frame changes more than a code it keeps.

On Atari most of a frame stands still: with stable tokens ~94% of Pong's positions keep their
code from one frame to the next, and the ball, the one object whose motion decides the
game, is in the other 6%. Cross-entropy over every position spends most of the batch on codes
the model already copies right. `change_weight` w > 1 weighs each position whose code differs
from the code at the same place one frame before by w, the others by 1 (the clip's first
frame has no frame before: 1). The loss stays a weighted mean over positions, so w = 1 is the
plain loss. Knows codes and frames; nothing about orders, heads or the backbone.
"""

from __future__ import annotations

import torch


def changed_code_weights(codes: torch.Tensor, change_weight: float, code_depth: int = 1):
    """B×T×... codes (B×T×...×depth for residual VQ) -> float B×T×... loss weights:
    `change_weight` where a position's codes differ from the frame before's, else 1."""
    if change_weight <= 0:
        raise ValueError(f"change_weight must be > 0, got {change_weight}")
    if codes.dim() < 3:
        raise ValueError(f"codes must be B×T×..., got {tuple(codes.shape)}")
    changed = torch.zeros(codes.shape, dtype=torch.bool, device=codes.device)
    changed[:, 1:] = codes[:, 1:] != codes[:, :-1]
    if code_depth > 1:  # a position changed when any of its depth codes did
        changed = changed.any(-1)
    return torch.where(changed, change_weight, 1.0).float()
