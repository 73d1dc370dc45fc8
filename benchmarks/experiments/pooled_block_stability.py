"""`python benchmarks/experiments/pooled_block_stability.py DATA [--cell 8]`: how stable a
multi-scale tokenizer's finest codes could be if its coarse scales pooled bounded blocks.

A residual scale pooled over a block of cells changes whenever anything in the block changes,
and with it the finest residual of every cell in the block. So with a cell-local encoder the
best a residual pyramid whose coarsest scale pools b×b cells can do is: the share of still
cells (pixels unchanged from the previous frame) whose whole b×b block is still. This counts
that share on the val clips of an arvideo data set, for b = 1 (a per-cell code), 2, 4, ... up
to the whole frame. It reads pixels only: no tokenizer, no training.
"""

from __future__ import annotations

import argparse
import io
import tarfile
from pathlib import Path

import numpy as np


def val_videos(folder: Path):
    """Every val clip's frames, T×H×W×C uint8."""
    for shard in sorted(folder.glob("val-*.tar")):
        with tarfile.open(shard) as archive:
            for member in archive.getmembers():
                if member.name.endswith("frames.npy"):
                    yield np.load(io.BytesIO(archive.extractfile(member).read()))


def changed_cells(frames_THWC: np.ndarray, cell: int) -> np.ndarray:
    """(T-1)×h×w: cells whose pixels differ from the previous frame's."""
    T, H, W, _ = frames_THWC.shape
    moved = (frames_THWC[1:] != frames_THWC[:-1]).any(-1)
    return moved.reshape(T - 1, H // cell, cell, W // cell, cell).any((2, 4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--cell", type=int, default=8)
    args = parser.parse_args()
    still, kept, clips = 0, {}, 0
    for frames in val_videos(args.data):
        clips += 1
        changed = changed_cells(frames, args.cell)
        grid = changed.shape[1]
        still += int((~changed).sum())
        block = 1
        while block <= grid:
            t, g = changed.shape[0], grid // block
            busy = changed.reshape(t, g, block, g, block).any((2, 4))
            busy = busy.repeat(block, 1).repeat(block, 2)
            kept[block] = kept.get(block, 0) + int((~changed & ~busy).sum())
            block *= 2
    print(f"{clips} val clips, {still} still {args.cell}x{args.cell} cells")
    for block, count in kept.items():
        share = count / still
        print(f"  coarsest scale pools {block}x{block} cells: {share:.3f} of still cells keep")


if __name__ == "__main__":
    main()
