"""How many distinct cell-sized pixel patches a clip data set holds.

A cell tokenizer writes each cell of a frame with one code, so identical patches share a
code and the codebook must hold about one code per distinct patch a game draws. Counting
them needs no training: Pong's 43,200 frames hold 3,405 distinct 8x8 patches and
SpaceInvaders' 38,376 (benchmarks/results/loss_weights.md), which is why a 1,024-code
tokenizer reconstructs one and not the other.

`PatchCensus` is counted once on the training split and stored beside the data set
(`patch_census.json`, one entry per cell size); later runs reload it. Knows the clip reader;
nothing about models.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

CENSUS_FILE = "patch_census.json"


@dataclass
class PatchCensus:
    cell: int  # pixels per side of a patch
    split: str
    frames: int  # frames counted
    cells: int  # patches counted (frames x cells per frame)
    distinct_patches: int


def frame_patches(video_BCTHW: torch.Tensor, cell: int) -> np.ndarray:
    """Every cell x cell patch of every frame, as rows of uint8 pixels: N x (cell·cell·C).

    The video is in [-1, 1] as the clip reader yields it; pixels are recovered exactly."""
    from arvideo.metrics import video_to_frames

    B, C, T, H, W = video_BCTHW.shape
    if H % cell or W % cell:
        raise ValueError(f"frames of {H}x{W} pixels do not split into {cell}x{cell} cells")
    grid = video_to_frames(video_BCTHW).reshape(B, T, H // cell, cell, W // cell, cell, C)
    rows = grid.permute(0, 1, 2, 4, 3, 5, 6).reshape(-1, cell * cell * C)  # one row a patch
    return np.ascontiguousarray(rows.numpy())


def distinct_rows(rows: np.ndarray) -> set[bytes]:
    """The distinct rows of a uint8 array, as bytes (np.unique first: a batch repeats most)."""
    unique = np.unique(rows.view(np.dtype((np.void, rows.shape[1]))).ravel())
    return {row.tobytes() for row in unique}


def measure_census(
    data: str | Path, cell: int = 8, split: str = "train", max_clips: int | None = None
) -> PatchCensus:
    """Count the distinct cell x cell patches in up to `max_clips` clips of a split."""
    from arvideo.data.datamodule import VideoDataModule

    if cell < 1:
        raise ValueError(f"cell={cell} must be >= 1 pixel")
    module = VideoDataModule(path=str(data), batch_size=16, num_frames=None, shuffle_buffer=0)
    seen: set[bytes] = set()
    clips = frames = cells = 0
    for batch in module.loader(split):
        video = batch.video[: None if max_clips is None else max_clips - clips]
        rows = frame_patches(video, cell)
        seen |= distinct_rows(rows)
        clips += video.shape[0]
        frames += video.shape[0] * video.shape[2]
        cells += rows.shape[0]
        if max_clips is not None and clips >= max_clips:
            break
    if frames == 0:
        raise ValueError(f"data={str(data)!r} has no {split} clips to count patches in")
    return PatchCensus(cell, split, frames, cells, len(seen))


def dataset_census(data: str | Path, cell: int = 8) -> PatchCensus:
    """The census stored beside `data` for this cell size, or counted on the whole training
    split and stored (the only file written into a data set)."""
    path = Path(data) / CENSUS_FILE
    stored = json.loads(path.read_text()) if path.is_file() else []
    for entry in stored:
        if entry["cell"] == cell and entry["split"] == "train":
            return PatchCensus(**entry)
    census = measure_census(data, cell)
    path.write_text(json.dumps([*stored, asdict(census)], indent=2))
    return census
