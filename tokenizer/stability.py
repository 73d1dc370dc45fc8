"""Token stability: do cells whose pixels stand still keep their code?

A generator can only learn what the tokens make learnable. If the court background is
written with many codes that flicker from frame to frame, predicting the next frame's tokens
means predicting noise. Two measures, accumulated over batches by `StabilityMeter`:

* **kept**: over the cells (the pixels of one latent position) whose pixels are identical to
  the previous latent frame's, the share that keep their value: the same code (all `D`
  codes for rvq; the finest scale for msvq), or for continuous latents the same latent within
  `latent_tolerance` (L-infinity, in the normalised latent units);
* **codes per patch**: over the distinct pixel patches, the mean number of distinct values
  they are written with (continuous latents: distinct after rounding to the tolerance grid).
  1.0 means identical content always gets the same token.

Cells are compared by exact uint8 content (video in [-1, 1] is mapped back to 0..255). With
temporal compression r, latent frame 0 covers frame 0 alone and latent frame j >= 1 covers
frames (j-1)·r+1 .. j·r; its cell content is all of those frames. Knows the code layouts of
`TokenizerOutput` and nothing about models or training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from einops import rearrange

_HASH_SEED = 0x9E3779B97F4A7C15


@dataclass
class TokenStability:
    unchanged_cells: int  # cells whose pixels equal the previous latent frame's
    kept: float  # share of those that keep their code / latent (NaN when none)
    positions_kept: float  # share of all positions (after the first frame) keeping their value
    distinct_patches: int  # distinct cell contents seen
    codes_per_patch: float  # mean distinct values per distinct patch
    codes_for_commonest_patch: int  # distinct values of the most frequent patch (background)


def _row_hash(rows_NK: np.ndarray) -> np.ndarray:
    """One 64-bit hash per row of integers (wrapping arithmetic; collisions ~2^-64 per pair)."""
    rows = rows_NK.astype(np.uint64, copy=False)
    weights = np.random.default_rng(_HASH_SEED % 2**32).integers(
        1, 2**63, size=rows.shape[1], dtype=np.uint64
    ) | np.uint64(1)
    with np.errstate(over="ignore"):
        mixed = rows * weights
        mixed ^= mixed >> np.uint64(29)
        return mixed.sum(axis=1, dtype=np.uint64) * np.uint64(0xBF58476D1CE4E5B9)


def cell_contents(video_BCTHW: torch.Tensor, cell: int, temporal_compression: int) -> np.ndarray:
    """Hash of each latent position's pixels: B×T'×h×w (uint64), video in [-1, 1]."""
    pixels = ((video_BCTHW.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.int64)
    r = temporal_compression
    groups = [pixels[:, :, :1]] + [
        pixels[:, :, start : start + r] for start in range(1, pixels.shape[2], r)
    ]
    hashes = []
    for group in groups:  # frame 0 is a group of 1, the others of r: hashed apart
        rows = rearrange(group, "b c t (h p) (w q) -> b h w (c t p q)", p=cell, q=cell).numpy()
        salt = np.full(rows.shape[:-1] + (1,), group.shape[2], dtype=np.int64)
        hashed = _row_hash(np.concatenate([rows, salt], -1).reshape(-1, rows.shape[-1] + 1))
        hashes.append(hashed.reshape(rows.shape[:-1]))
    return np.stack(hashes, axis=1)


def value_keys(
    grid: tuple[int, int],
    codes: torch.Tensor | None = None,
    latents_BCTHW: torch.Tensor | None = None,
    latent_tolerance: float = 0.05,
) -> np.ndarray:
    """One key per latent position, B×T'×h×w (uint64), equal when the tokens are equal.

    codes: B×T'×h×w, B×T'×h×w×D (rvq) or B×T'×L (msvq: its finest h·w entries are used).
    latents: B×C×T'×h×w, keyed by rounding to a grid of `latent_tolerance`.
    """
    height, width = grid
    if codes is not None:
        values = codes.detach().cpu().to(torch.int64)
        if values.ndim == 3:  # msvq: scales concatenated, finest last
            values = rearrange(values[..., -height * width :], "b t (h w) -> b t h w", h=height)
        if values.ndim == 4:
            values = values.unsqueeze(-1)
    elif latents_BCTHW is not None:
        scaled = latents_BCTHW.detach().float().cpu() / latent_tolerance
        values = rearrange(scaled.round().to(torch.int64), "b c t h w -> b t h w c")
    else:
        raise ValueError("value_keys needs codes or latents_BCTHW")
    rows = values.numpy()
    return _row_hash(rows.reshape(-1, rows.shape[-1])).reshape(rows.shape[:-1])


class StabilityMeter:
    """Accumulates token stability over batches; `result()` gives a `TokenStability`."""

    def __init__(
        self, cell: int, temporal_compression: int = 1, latent_tolerance: float = 0.05
    ) -> None:
        if cell < 1 or temporal_compression < 1 or latent_tolerance <= 0:
            raise ValueError(
                f"cell={cell}, temporal_compression={temporal_compression}, "
                f"latent_tolerance={latent_tolerance}: all must be positive"
            )
        self.cell, self.r, self.tolerance = cell, temporal_compression, latent_tolerance
        self._patches: list[np.ndarray] = []
        self._values: list[np.ndarray] = []
        self._unchanged = self._unchanged_kept = self._positions = self._positions_kept = 0

    @classmethod
    def of(cls, tokenizer) -> StabilityMeter:
        """A meter for a tokenizer's cells: its spatial and temporal compression."""
        return cls(tokenizer.spatial_compression, tokenizer.temporal_compression)

    def update(
        self,
        video_BCTHW: torch.Tensor,
        codes: torch.Tensor | None = None,
        latents_BCTHW: torch.Tensor | None = None,
    ) -> None:
        """One batch: the clips (in [-1, 1]) and their codes or continuous latents."""
        patches = cell_contents(video_BCTHW, self.cell, self.r)
        values = value_keys(patches.shape[2:], codes, latents_BCTHW, self.tolerance)
        if values.shape != patches.shape:
            raise ValueError(
                f"tokens cover a {values.shape} grid but the video's cells are {patches.shape}"
            )
        same_pixels = patches[:, 1:] == patches[:, :-1]
        same_value = values[:, 1:] == values[:, :-1]
        if self.r > 1:  # latent frame 1 covers r frames, frame 0 one: not comparable
            same_pixels[:, 0] = False
        self._unchanged += int(same_pixels.sum())
        self._unchanged_kept += int((same_pixels & same_value).sum())
        self._positions += same_value.size
        self._positions_kept += int(same_value.sum())
        self._patches.append(patches.reshape(-1))
        self._values.append(values.reshape(-1))

    @property
    def updates(self) -> int:
        """Batches seen so far."""
        return len(self._patches)

    def result(self) -> TokenStability:
        if not self._patches:
            raise ValueError("StabilityMeter.result() before any update()")
        patches, values = np.concatenate(self._patches), np.concatenate(self._values)
        pairs = np.unique(np.stack([patches, values], axis=1), axis=0)
        patch_ids, codes_per = np.unique(pairs[:, 0], return_counts=True)
        ids, counts = np.unique(patches, return_counts=True)
        commonest = ids[counts.argmax()]
        nan = float("nan")
        return TokenStability(
            unchanged_cells=self._unchanged,
            kept=self._unchanged_kept / self._unchanged if self._unchanged else nan,
            positions_kept=self._positions_kept / self._positions if self._positions else nan,
            distinct_patches=len(patch_ids),
            codes_per_patch=float(codes_per.mean()),
            codes_for_commonest_patch=int(codes_per[np.searchsorted(patch_ids, commonest)]),
        )
