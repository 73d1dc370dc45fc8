"""How many distinct 8×8 patches a clip data set holds, and how a tokenizer codes the rare ones.

usage: patch_census.py CLIPS_DIR [TOKENIZER_DIR]
Counts distinct 8×8 pixel patches of the train split (and how often each occurs), and the
held-out (val) occurrences of patches never seen in training. With a tokenizer (8×
compression, one code per cell), also: over 64 val clips, the distinct non-background
patches of the play area (cell rows 2–6, columns 1–6: where only the ball goes) and how many
distinct codes write them (patches per code > 1 means ball positions share a code).
"""

import collections
import glob
import io
import sys
import tarfile

import numpy as np
import torch

CELL = 8


def clip_frames(data: str, split: str):
    for shard in sorted(glob.glob(f"{data}/{split}-*.tar")):
        with tarfile.open(shard) as tar:
            for member in tar:
                if member.name.endswith("frames.npy"):
                    yield np.load(io.BytesIO(tar.extractfile(member).read()))


def cells(frames_THWC: np.ndarray) -> np.ndarray:
    """T×H×W×C -> T×(H/8)×(W/8)×(8·8·C) patches."""
    T, H, W, C = frames_THWC.shape
    grid = frames_THWC.reshape(T, H // CELL, CELL, W // CELL, CELL, C)
    return grid.transpose(0, 1, 3, 2, 4, 5).reshape(T, H // CELL, W // CELL, -1)


def census(data: str) -> None:
    train = collections.Counter()
    for frames in clip_frames(data, "train"):
        train.update(row.tobytes() for row in cells(frames).reshape(-1, cells(frames).shape[-1]))
    counts = np.array(sorted(train.values(), reverse=True))
    val = collections.Counter()
    for frames in clip_frames(data, "val"):
        val.update(row.tobytes() for row in cells(frames).reshape(-1, cells(frames).shape[-1]))
    unseen = sum(n for patch, n in val.items() if patch not in train)
    print(f"train: {len(train)} distinct patches in {counts.sum()} cells; commonest "
          f"{counts[0] / counts.sum():.0%}; seen once {(counts == 1).sum()}")  # fmt: skip
    print(f"val: {len(val)} distinct; {unseen} of {sum(val.values())} cells unseen in train")


def ball_codes(data: str, tokenizer_dir: str) -> None:
    from arvideo.tokenizer import VideoTokenizer

    tokenizer = VideoTokenizer.from_pretrained(tokenizer_dir).eval()
    codes_of = collections.defaultdict(collections.Counter)
    for frames in list(clip_frames(data, "val"))[:64]:
        video = torch.from_numpy(frames).float().div(127.5).sub(1).permute(3, 0, 1, 2)[None]
        with torch.no_grad():
            codes = tokenizer.encode(video).codes[0].reshape(*cells(frames).shape[:3], -1)
        patches = cells(frames)
        for t, i, j in np.ndindex(patches.shape[0], 5, 6):
            codes_of[patches[t, i + 2, j + 1].tobytes()][int(codes[t, i + 2, j + 1, 0])] += 1
    background = max(codes_of, key=lambda p: sum(codes_of[p].values()))
    ball = {patch: used for patch, used in codes_of.items() if patch != background}
    distinct = set().union(*(used.keys() for used in ball.values()))
    print(
        f"val play area: {len(ball)} distinct non-background patches written with "
        f"{len(distinct)} codes ({len(ball) / max(len(distinct), 1):.1f} patches per code)"
    )


if __name__ == "__main__":
    census(sys.argv[1])
    if len(sys.argv) > 2:
        ball_codes(sys.argv[1], sys.argv[2])
