"""How far back a world model must look: the beat of a game's large, regular changes.

Some games change a large part of the frame on a fixed beat that the frames themselves do
not announce: SpaceInvaders' invader formation marches every 8 frames (95% of its big
changes, measured on held-out episodes). A model that sees fewer frames than that cannot
know whether the next frame is a march, and greedy decoding then predicts none; copying
the last frame does no worse. To know the phase, the context must reach back to the last
big change: a beat of P frames needs P + 1 context frames, so clips of P + 2.

A frame is a "big change" when more than `BIG_CHANGE_FACTOR` times the typical (median) number of
pixels change from the frame before. `MotionBeat` counts the gaps between consecutive big
changes inside the clips of the training split, once, and is stored beside the data set
(`motion_beat.json`). Knows the clip reader; nothing about models.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

BEAT_FILE = "motion_beat.json"
BIG_CHANGE_FACTOR = 10.0  # x the median changed pixels of a frame
MIN_SHARE = 0.5  # a beat is the gap that separates at least this share of big changes
MIN_GAPS_PER_CLIP = 0.05  # ... and big changes recur: a gap in at least 1 clip of 20


@dataclass
class MotionBeat:
    split: str
    clips: int
    median_changed_pixels: float
    gaps: dict[int, int]  # frames between consecutive big changes -> how often

    @property
    def beat(self) -> int | None:
        """The gap that separates at least MIN_SHARE of the big changes, if one does and
        they recur (MIN_GAPS_PER_CLIP)."""
        total = sum(self.gaps.values())
        if total < max(1.0, MIN_GAPS_PER_CLIP * self.clips):
            return None
        gap, count = max(self.gaps.items(), key=lambda item: item[1])
        return gap if count / total >= MIN_SHARE else None

    def clip_frames(self) -> int | None:
        """Training clip length whose last frame sees a whole beat back: beat + 2."""
        return None if self.beat is None else self.beat + 2

    def report(self) -> str:
        total = sum(self.gaps.values())
        if self.beat is None:
            return f"motion beat: none ({total} gaps between big changes in {self.clips} clips)"
        share = self.gaps[self.beat] / total
        return (
            f"motion beat: {self.beat} frames ({share:.0%} of {total} gaps between big "
            f"changes in {self.clips} clips): clips of {self.clip_frames()} frames see it"
        )


def changed_pixels(video_BCTHW: torch.Tensor) -> torch.Tensor:
    """B x (T-1): pixels that differ from the frame before (any channel)."""
    return (video_BCTHW[:, :, 1:] != video_BCTHW[:, :, :-1]).any(dim=1).sum(dim=(2, 3))


def big_change_gaps(changed_BT: torch.Tensor, threshold: float) -> Counter:
    """Gaps between consecutive above-threshold changes, within each clip."""
    gaps: Counter = Counter()
    for row in changed_BT:
        steps = torch.nonzero(row > threshold).flatten()
        gaps.update(int(g) for g in steps.diff())
    return gaps


def measure_beat(
    data: str | Path, split: str = "train", max_clips: int | None = None
) -> MotionBeat:
    """Count the gaps between big changes in up to `max_clips` clips of a split."""
    from arvideo.data.datamodule import VideoDataModule

    module = VideoDataModule(path=str(data), batch_size=16, num_frames=None, shuffle_buffer=0)
    changed = []
    for batch in module.loader(split):
        changed.append(changed_pixels(batch.video))
        if max_clips is not None and sum(len(c) for c in changed) >= max_clips:
            break
    if not changed:
        raise ValueError(f"data={str(data)!r} has no {split} clips to measure a beat in")
    changed_BT = torch.cat(changed)[:max_clips]
    median = max(float(np.median(changed_BT.numpy())), 1.0)
    gaps = big_change_gaps(changed_BT, BIG_CHANGE_FACTOR * median)
    return MotionBeat(split, len(changed_BT), median, dict(sorted(gaps.items())))


def dataset_beat(data: str | Path) -> MotionBeat:
    """The beat stored beside `data`, or measured on the training split and stored."""
    path = Path(data) / BEAT_FILE
    if path.is_file():
        stored = json.loads(path.read_text())
        stored["gaps"] = {int(gap): count for gap, count in stored["gaps"].items()}
        return MotionBeat(**stored)
    beat = measure_beat(data)
    path.write_text(json.dumps(asdict(beat), indent=2))
    return beat
