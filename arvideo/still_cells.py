"""Keep still cells: where a generated frame's code equals the frame before's (or its latent
is within a tolerance of it), show that frame's pixels instead of the decoder's.

With a cell-local encoder (`encoder: cell` or `cell_conv`) a code sees only its own s×s
pixels, so an unchanged code says the cell did not change, up to quantisation. The decoder
is lossy everywhere, though: on a game where little moves per frame its reconstruction of
the still sprites costs more than the motion, and copying the last frame beats the model
on foreground PSNR (SpaceInvaders: tokenizer foreground PSNR 29.8 dB, copy-last 31.4).
Compositing the cells whose codes did not change from the frame before (the real last
context frame, then each composited frame) is what a video codec's skip blocks do: the
model still decides, cell by cell, what moves.

Latents (the frame denoisers, the diffusion heads) work the same way with a tolerance: the
continuous bottleneck's latents are normalised to unit variance per channel, a real change
moves a cell's latent by ~1 RMS or more, while a generated still cell differs from the frame
before by denoising noise only (0.005 median, 0.03 at the 95th percentile, on the Pong
next-frame-flow model). `LATENT_TOLERANCE` sits between the two.

Applies to models that predict codes or latents on a grid (not msvq's scales), with a
cell-local encoder and no temporal compression; `cell_size` says whether a model qualifies. Measured
on the main job's models, 64 held-out windows, 12 generated frames (2026-12-03):
foreground PSNR Pong 28.28 -> 29.43 dB, MsPacman 18.25 -> 18.94, SpaceInvaders
25.57 -> 30.20 (`benchmarks/results/games.md`).
"""

from __future__ import annotations

import torch

LATENT_TOLERANCE = 0.25  # RMS over a cell's channels of normalised latents: still below it


def cell_size(tokenizer, values: str) -> int | None:
    """The cell side in pixels when still cells can be kept for this model, else None."""
    config = tokenizer.config
    if values not in ("codes", "latents"):
        return None
    if tokenizer.scales is not None or config.encoder == "conv":
        return None
    if tokenizer.temporal_compression != 1:
        return None
    return tokenizer.spatial_compression


def why_not(tokenizer, values: str) -> str:
    """Why `cell_size` is None, for an error message."""
    if values not in ("codes", "latents"):
        return f"the model predicts {values!r}, not codes or latents on a grid"
    if tokenizer.scales is not None:
        return "its codes are multi-scale (msvq), not one grid"
    if tokenizer.config.encoder == "conv":
        return "its tokenizer's conv encoder sees beyond each cell (needs encoder: cell)"
    return "its tokenizer compresses time"


def _cells_to_pixels(same_BHW: torch.Tensor, cell: int) -> torch.Tensor:
    return same_BHW.repeat_interleave(cell, 1).repeat_interleave(cell, 2)[..., None]


def unchanged(
    values_B: torch.Tensor, previous_B: torch.Tensor, tolerance: float = LATENT_TOLERANCE
) -> torch.Tensor:
    """Bool B×h×w: cells whose code (every depth level, for rvq) did not change, or whose
    latent (B×h×w×C) moved by at most `tolerance` RMS over its channels."""
    if values_B.is_floating_point():
        return (values_B.float() - previous_B.float()).pow(2).mean(-1).sqrt() <= tolerance
    same = values_B == previous_B
    return same.flatten(3).all(-1) if same.ndim > 3 else same


class StillCells:
    """The compositing state of a stream: the last shown frame and its values. Each new
    frame is compared with the frame before's values as generated, so a latent drifting
    by less than the tolerance a frame is still compared step by step."""

    def __init__(
        self,
        cell: int,
        frame_BHWC: torch.Tensor | None,
        values_B: torch.Tensor | None,
        tolerance: float = LATENT_TOLERANCE,
    ):
        self.cell, self.frame, self.values, self.tolerance = cell, frame_BHWC, values_B, tolerance

    def push(self, decoded_BHWC: torch.Tensor, values_B: torch.Tensor) -> torch.Tensor:
        """The frame to show for a new frame's values (uint8 B×H×W×3); becomes the last one."""
        if self.frame is None:
            shown = decoded_BHWC
        else:
            still = unchanged(values_B, self.values, self.tolerance)
            same = _cells_to_pixels(still, self.cell).to(decoded_BHWC.device)
            shown = torch.where(same, self.frame, decoded_BHWC)
        self.frame, self.values = shown, values_B
        return shown


def keep_still_cells(
    video_BTHWC: torch.Tensor,
    values_BT: torch.Tensor,
    first_new: int,
    cell: int,
    last_real_BHWC: torch.Tensor | None,
    tolerance: float = LATENT_TOLERANCE,
) -> torch.Tensor:
    """Composite frames `first_new`.. of a decoded uint8 video from its codes or latents; the
    chain starts from the real last context frame (or, without context, from the first
    generated frame)."""
    out = video_BTHWC.clone()
    previous = None if first_new == 0 else values_BT[:, first_new - 1]
    cells = StillCells(cell, last_real_BHWC, previous, tolerance)
    for t in range(first_new, out.shape[1]):
        out[:, t] = cells.push(out[:, t], values_BT[:, t])
    return out
