"""Prompt-following shapes: one shape per clip, its caption naming colour, kind and direction.

Unlike shapes.py (several shapes bouncing at random angles), each clip here holds exactly one
shape moving straight up, down, left or right at constant speed, placed so that it never
touches a border: the direction a caption names is the direction seen in every frame, and a
detector (prompt_accuracy.py) can check it. Combinations held out by prompt_factors go to
their own split, "unseen", never to train or val. numpy only, seeded with a numpy Generator
(the convention of shapes.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from . import prompt_factors as pf
from .clips import (
    SPLITS,
    CollectSummary,
    DatasetWriter,
    Episode,
    progress_bar,
    summarize,
    val_episode_ids,
)
from .shapes import COLORS, Shape, shape_mask

PROMPT_SPLITS = (*SPLITS, "unseen")
BORDER = 1.0  # pixels kept free of the shape along each edge


@dataclass
class PromptClip:
    frames_THWC: np.ndarray  # uint8
    factors: pf.PromptFactors
    phrasing: int  # index into pf.PHRASINGS
    caption: str
    shape: Shape  # as it was at frame 0


@dataclass
class Motion:
    """Drawing ranges; defaults suit 64×64 clips of 16 frames."""

    min_radius: float = 0.08  # half the side, as a fraction of the frame size
    max_radius: float = 0.14
    min_speed: float = 1.0  # pixels per frame
    max_speed: float = 3.0
    # "anywhere": the start is drawn wherever the path stays in the frame; "behind": at the
    # back of the room its motion needs and centred across it, so a caption fixes the first
    # frame up to the size and background (an easier first frame for a model drawn from text)
    start: Literal["anywhere", "behind"] = "anywhere"


def place_shape(
    rng: np.random.Generator, factors: pf.PromptFactors, size: int, num_frames: int, motion: Motion
) -> Shape:
    """A shape whose straight path over `num_frames` frames stays off the one-pixel border
    (whole in every frame, and the border stays background for the detector)."""
    radius = float(rng.uniform(size * motion.min_radius, size * motion.max_radius))
    reach = radius + BORDER  # closest a centre may come to an edge
    room = size - 2 * reach  # free travel along one axis
    top_speed = min(motion.max_speed, room / max(num_frames - 1, 1))
    if top_speed < motion.min_speed:
        raise ValueError(
            f"size={size} and num_frames={num_frames} leave no room for min_speed="
            f"{motion.min_speed}: a shape would leave the frame"
        )
    speed = float(rng.uniform(motion.min_speed, top_speed))
    dy, dx = pf.DIRECTION_VECTORS[factors.direction]
    travel = speed * (num_frames - 1)
    start = []
    for step in (dy, dx):  # along the motion: leave the travel free ahead; across: anywhere
        low, high = reach + travel * max(-step, 0), size - reach - travel * max(step, 0)
        drawn = float(rng.uniform(low, high))
        if motion.start == "behind":
            drawn = size / 2 if step == 0 else (low if step > 0 else high)
        start.append(drawn)
    return Shape(factors.kind, factors.color, radius, start[0], start[1], dy * speed, dx * speed)


def draw_prompt_clip(
    rng: np.random.Generator, factors: pf.PromptFactors, size: int, num_frames: int,
    motion: Motion | None = None,
) -> PromptClip:  # fmt: skip
    """One clip of `factors` on a random dark background, with a caption in a random phrasing."""
    shape = place_shape(rng, factors, size, num_frames, motion or Motion())
    phrasing = int(rng.integers(len(pf.PHRASINGS)))
    background = rng.integers(0, 40, 3).astype(np.uint8)
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    frames = np.empty((num_frames, size, size, 3), dtype=np.uint8)
    for t in range(num_frames):
        y, x = shape.y + t * shape.vy, shape.x + t * shape.vx
        moved = Shape(**{**shape.__dict__, "y": y, "x": x})
        frames[t] = background
        frames[t][shape_mask(moved, ys, xs)] = COLORS[shape.color]
    return PromptClip(frames, factors, phrasing, pf.caption(factors, phrasing), shape)


def clip_factors(
    rng: np.random.Generator, clips: int, unseen_clips: int
) -> list[tuple[str | None, pf.PromptFactors]]:
    """(split or None = train/val by episode, factors) per clip: `clips` drawn from the seen
    combinations, then `unseen_clips` cycling through the unseen ones (each equally often)."""
    seen, unseen = pf.seen_combinations(), pf.unseen_combinations()
    drawn = [(None, seen[int(i)]) for i in rng.integers(len(seen), size=clips)]
    return drawn + [("unseen", unseen[j % len(unseen)]) for j in range(unseen_clips)]


def collect_prompt_shapes(
    out: str = "data/prompt_shapes",
    clips: int = 2000,
    unseen_clips: int = 240,
    size: int = 64,
    clip_length: int = 16,
    max_speed: float = 3.0,
    min_speed: float = 1.0,
    min_radius: float = 0.08,
    max_radius: float = 0.14,
    start: Literal["anywhere", "behind"] = "anywhere",
    val_fraction: float = 0.1,
    shard_size: int = 256,
    seed: int = 0,
    progress: bool = True,
) -> CollectSummary:
    """Draw one-shape clips captioned with colour, kind and direction; write train / val
    (seen combinations) and unseen (held-out combinations) shards + dataset.json.

    Args:
        out: output folder; must not hold a dataset yet.
        clips: clips of seen combinations (train and val).
        unseen_clips: clips of the held-out combinations (split "unseen"; 0 for none).
        size: frames are size×size.
        clip_length: frames per clip.
        max_speed: largest speed in pixels per frame (lowered where the frame is too small).
        min_speed: smallest speed in pixels per frame.
        min_radius, max_radius: half the shape's side, as a fraction of `size` (larger for
            small frames: at 32×32 the defaults leave shapes 5-9 pixels wide).
        start: "anywhere" on the path's room, or "behind": at the back of the room the
            motion needs, centred across it (the first frame fixed by the caption up to
            size and background).
        val_fraction: fraction of the seen clips (the last ones) that go to the val split.
        shard_size: clips per shard.
        seed: seed of the numpy Generator.
        progress: show a progress bar.
    """
    if clips < 1 or unseen_clips < 0 or size < 16 or clip_length < 2:
        raise ValueError(
            "need clips >= 1, unseen_clips >= 0, size >= 16, clip_length >= 2; got "
            f"clips={clips}, unseen_clips={unseen_clips}, size={size}, clip_length={clip_length}"
        )
    info = {
        "source": "prompt_shapes",
        "size": [size, size],
        "seed": seed,
        "motion": {
            "min_radius": min_radius,
            "max_radius": max_radius,
            "min_speed": min_speed,
            "max_speed": max_speed,
            "start": start,
        },  # fmt: skip
        "action_space": None,
        "sample_keys": sorted(["frames.npy", "meta.json", "caption.txt"]),
        "prompt_factors": pf.factors_record(),
    }
    rng = np.random.default_rng(seed)
    motion = Motion(min_radius, max_radius, min_speed, max_speed, start)
    val_ids = val_episode_ids(clips, val_fraction)
    writer = DatasetWriter(out, info, val_ids, clip_length, clip_length, shard_size, PROMPT_SPLITS)
    plan = clip_factors(rng, clips, unseen_clips)
    bar, task = progress_bar(progress, "prompt shapes: clips", len(plan))
    with bar, writer:
        for index, (split, factors) in enumerate(plan):
            clip = draw_prompt_clip(rng, factors, size, clip_length, motion)
            meta = {"source": "prompt_shapes", "factors": factors.as_dict(),
                    "label": pf.combination_label(factors),  # label conditioning's class
                    "phrasing": clip.phrasing, "shape": clip.shape.__dict__}  # fmt: skip
            writer.add_episode(Episode(index, clip.frames_THWC, {}, meta, clip.caption), split)
            bar.update(task, advance=1)
    return summarize(writer)
