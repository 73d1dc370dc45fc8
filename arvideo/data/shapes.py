"""Procedural moving shapes with a caption per clip: fast data for tests and text conditioning.

Each clip draws 1..max_shapes coloured shapes (square, circle, triangle) moving at constant
speed and bouncing off the borders. With `actions=True` the first shape obeys a per-frame
action (0 keep, 1 up, 2 down, 3 left, 4 right) that sets its direction. The caption names
each shape's colour, kind and first direction ("a red square moves left"). numpy only,
seeded with a numpy Generator. Clips are independent, so each clip is its own episode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .clips import CollectSummary, DatasetWriter, Episode, progress_bar, summarize, val_episode_ids

COLORS = {
    "red": (230, 40, 40),
    "green": (40, 200, 60),
    "blue": (50, 90, 240),
    "yellow": (240, 220, 40),
    "white": (240, 240, 240),
    "magenta": (220, 60, 220),
    "cyan": (40, 220, 220),
}
KINDS = ("square", "circle", "triangle")
ACTION_MEANINGS = ["KEEP", "UP", "DOWN", "LEFT", "RIGHT"]
ACTION_DIRECTIONS = {1: (-1.0, 0.0), 2: (1.0, 0.0), 3: (0.0, -1.0), 4: (0.0, 1.0)}  # (dy, dx)


@dataclass
class Shape:
    kind: str
    color: str
    radius: float  # half the side, in pixels
    y: float
    x: float
    vy: float  # pixels per frame
    vx: float


@dataclass
class ShapesClip:
    frames_THWC: np.ndarray  # uint8
    actions_T: np.ndarray  # int64, all 0 (KEEP) without actions
    shapes: list[Shape]  # as they were at frame 0
    caption: str


def direction_word(vy: float, vx: float) -> str:
    """The dominant direction of a velocity ("left", "up", ...)."""
    if abs(vx) >= abs(vy):
        return "right" if vx > 0 else "left"
    return "down" if vy > 0 else "up"


def random_shape(rng: np.random.Generator, size: int, max_speed: float) -> Shape:
    radius = float(rng.uniform(size * 0.06, size * 0.14))
    y, x = rng.uniform(radius, size - radius, 2)
    speed = rng.uniform(max_speed * 0.3, max_speed)
    angle = rng.uniform(0, 2 * np.pi)
    return Shape(
        kind=str(rng.choice(KINDS)),
        color=str(rng.choice(list(COLORS))),
        radius=radius,
        y=float(y),
        x=float(x),
        vy=float(speed * np.sin(angle)),
        vx=float(speed * np.cos(angle)),
    )


def shape_mask(shape: Shape, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Boolean H×W mask of a shape on pixel-centre grids ys, xs."""
    dy, dx = ys - shape.y, xs - shape.x
    if shape.kind == "square":
        return (np.abs(dy) <= shape.radius) & (np.abs(dx) <= shape.radius)
    if shape.kind == "circle":
        return dy**2 + dx**2 <= shape.radius**2
    # triangle pointing up: inside the box, and |dx| narrower towards the top
    inside = (dy >= -shape.radius) & (dy <= shape.radius)
    return inside & (np.abs(dx) <= (dy + shape.radius) / 2)


def move(shape: Shape, size: int) -> None:
    """Advance one frame, bouncing off the borders."""
    for pos, vel in (("y", "vy"), ("x", "vx")):
        value, speed = getattr(shape, pos) + getattr(shape, vel), getattr(shape, vel)
        if value < shape.radius or value > size - shape.radius:
            speed = -speed
            value = float(np.clip(value, shape.radius, size - shape.radius))
        setattr(shape, pos, value)
        setattr(shape, vel, speed)


def draw_clip(
    rng: np.random.Generator, size: int, num_frames: int, max_shapes: int, max_speed: float,
    actions: bool,
) -> ShapesClip:  # fmt: skip
    """Draw one clip; the first shape obeys the actions when `actions` is set."""
    shapes = [random_shape(rng, size, max_speed) for _ in range(rng.integers(1, max_shapes + 1))]
    caption = " and ".join(
        f"a {s.color} {s.kind} moves {direction_word(s.vy, s.vx)}" for s in shapes
    )
    start = [Shape(**s.__dict__) for s in shapes]
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    background = rng.integers(0, 40, 3).astype(np.uint8)
    frames = np.empty((num_frames, size, size, 3), dtype=np.uint8)
    action_ids = np.zeros(num_frames, dtype=np.int64)
    if actions:  # one random action every ~4 frames, KEEP otherwise
        change = rng.random(num_frames) < 0.25
        action_ids[change] = rng.integers(1, len(ACTION_MEANINGS), int(change.sum()))
    for t in range(num_frames):
        frames[t] = background
        for shape in shapes:
            frames[t][shape_mask(shape, ys, xs)] = COLORS[shape.color]
        if action_ids[t]:  # the action at frame t steers the first shape towards frame t+1
            speed = float(np.hypot(shapes[0].vy, shapes[0].vx))
            dy, dx = ACTION_DIRECTIONS[int(action_ids[t])]
            shapes[0].vy, shapes[0].vx = dy * speed, dx * speed
        for shape in shapes:
            move(shape, size)
    return ShapesClip(frames, action_ids, start, caption)


def collect_shapes(
    out: str = "data/shapes",
    clips: int = 1000,
    size: int = 64,
    clip_length: int = 16,
    max_shapes: int = 2,
    max_speed: float = 3.0,
    actions: bool = False,
    val_fraction: float = 0.1,
    shard_size: int = 256,
    seed: int = 0,
    progress: bool = True,
) -> CollectSummary:
    """Draw clips of moving shapes with captions and write shards + dataset.json.

    Args:
        out: output folder; must not hold a dataset yet.
        clips: number of clips.
        size: frames are size×size.
        clip_length: frames per clip.
        max_shapes: each clip holds 1..max_shapes shapes.
        max_speed: largest speed in pixels per frame.
        actions: record a per-frame action that steers the first shape.
        val_fraction: fraction of clips (the last ones) that go to the val split.
        shard_size: clips per shard.
        seed: seed of the numpy Generator.
        progress: show a progress bar.
    """
    if clips < 1 or size < 8 or max_shapes < 1:
        raise ValueError(f"need clips >= 1, size >= 8, max_shapes >= 1; got {clips}, {size}")
    keys = ["frames.npy", "meta.json", "caption.txt"] + (["actions.npy"] if actions else [])
    info = {
        "source": "shapes",
        "size": [size, size],
        "seed": seed,
        "action_space": {"n": len(ACTION_MEANINGS), "meanings": ACTION_MEANINGS}
        if actions
        else None,
        "sample_keys": sorted(keys),
    }
    rng = np.random.default_rng(seed)
    writer = DatasetWriter(
        out, info, val_episode_ids(clips, val_fraction), clip_length, clip_length, shard_size
    )
    bar, task = progress_bar(progress, "shapes: clips", clips)
    with bar, writer:
        for index in range(clips):
            clip = draw_clip(rng, size, clip_length, max_shapes, max_speed, actions)
            meta = {"source": "shapes", "shapes": [s.__dict__ for s in clip.shapes]}
            if actions:
                meta["action_meanings"] = ACTION_MEANINGS
            per_frame = {"actions.npy": clip.actions_T} if actions else {}
            writer.add_episode(Episode(index, clip.frames_THWC, per_frame, meta, clip.caption))
            bar.update(task, advance=1)
    return summarize(writer)
