"""Keep still cells: where a generated frame's code equals the frame before's, show that
frame's pixels instead of the decoder's.

With a cell-local encoder (`encoder: cell` or `cell_conv`) a code sees only its own s×s
pixels, so an unchanged code says the cell did not change, up to quantisation. The decoder
is lossy everywhere, though: on a game where little moves per frame its reconstruction of
the still sprites costs more than the motion, and copying the last frame beats the model
on foreground PSNR (SpaceInvaders: tokenizer foreground PSNR 29.8 dB, copy-last 31.4).
Compositing the cells whose codes did not change from the frame before (the real last
context frame, then each composited frame) is what a video codec's skip blocks do: the
model still decides, cell by cell, what moves.

Applies to models that predict codes on a grid (not msvq's scales), with a cell-local
encoder and no temporal compression; `cell_size` says whether a model qualifies. Measured
on the main job's models, 64 held-out windows, 12 generated frames (2026-12-03):
foreground PSNR Pong 28.28 -> 29.43 dB, MsPacman 18.25 -> 18.94, SpaceInvaders
25.57 -> 30.20 (`benchmarks/results/games.md`).
"""

from __future__ import annotations

import torch


def cell_size(tokenizer, values: str) -> int | None:
    """The cell side in pixels when still cells can be kept for this model, else None."""
    config = tokenizer.config
    if values != "codes" or tokenizer.scales is not None or config.encoder == "conv":
        return None
    if tokenizer.temporal_compression != 1:
        return None
    return tokenizer.spatial_compression


def why_not(tokenizer, values: str) -> str:
    """Why `cell_size` is None, for an error message."""
    if values != "codes":
        return "the model predicts latents, not codes"
    if tokenizer.scales is not None:
        return "its codes are multi-scale (msvq), not one grid"
    if tokenizer.config.encoder == "conv":
        return "its tokenizer's conv encoder sees beyond each cell (needs encoder: cell)"
    return "its tokenizer compresses time"


def _cells_to_pixels(same_BHW: torch.Tensor, cell: int) -> torch.Tensor:
    return same_BHW.repeat_interleave(cell, 1).repeat_interleave(cell, 2)[..., None]


def unchanged(codes_B: torch.Tensor, previous_B: torch.Tensor) -> torch.Tensor:
    """Bool B×h×w: cells whose code (every depth level, for rvq) did not change."""
    same = codes_B == previous_B
    return same.flatten(3).all(-1) if same.ndim > 3 else same


class StillCells:
    """The compositing state of a stream: the last shown frame and its codes."""

    def __init__(self, cell: int, frame_BHWC: torch.Tensor | None, codes_B: torch.Tensor | None):
        self.cell, self.frame, self.codes = cell, frame_BHWC, codes_B

    def push(self, decoded_BHWC: torch.Tensor, codes_B: torch.Tensor) -> torch.Tensor:
        """The frame to show for a new frame's codes (uint8 B×H×W×3); becomes the last one."""
        if self.frame is None:
            shown = decoded_BHWC
        else:
            same = _cells_to_pixels(unchanged(codes_B, self.codes), self.cell)
            shown = torch.where(same.to(decoded_BHWC.device), self.frame, decoded_BHWC)
        self.frame, self.codes = shown, codes_B
        return shown


def keep_still_cells(
    video_BTHWC: torch.Tensor,
    codes_BT: torch.Tensor,
    first_new: int,
    cell: int,
    last_real_BHWC: torch.Tensor | None,
) -> torch.Tensor:
    """Composite frames `first_new`.. of a decoded uint8 video; the chain starts from the
    real last context frame (or, without context, from the first generated frame)."""
    out = video_BTHWC.clone()
    previous = None if first_new == 0 else codes_BT[:, first_new - 1]
    cells = StillCells(cell, last_real_BHWC, previous)
    for t in range(first_new, out.shape[1]):
        out[:, t] = cells.push(out[:, t], codes_BT[:, t])
    return out
