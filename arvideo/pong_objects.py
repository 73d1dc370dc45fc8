"""Where the ball and the paddles are in an RGB Pong frame, and how well generated frames agree.

Knows the Atari 2600 Pong palette and screen geometry (ALE frames are 210×160; the colours
were read from real `ALE/Pong-v5` frames) and nothing about models. Works at any frame size:
resizing with a box filter (as the data pipeline does) mixes an object's colour linearly with
the background, so each pixel is unmixed into per-object coverage fractions (a 3×3 solve, one
direction per object in RGB space), and an object's position is the coverage-weighted centroid
around its strongest pixel. Frames are H×W×3 uint8 (leading dimensions allowed where stated).
Positions are (x, y) = (column, row) in pixels of the given frame, pixel centres at integers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

SOURCE_HEIGHT, SOURCE_WIDTH = 210, 160  # ALE's native screen
# Rows 24..33 and 194..209 are the white borders, rows 0..20 the score band.
PLAYFIELD_ROWS = (34, 194)  # [first, end) source rows between the borders

BACKGROUND_RGB = (144, 72, 17)
OBJECTS = ("ball", "left_paddle", "right_paddle")
OBJECT_RGB = {
    "ball": (236, 236, 236),  # the borders share this colour, hence the playfield crop
    "left_paddle": (213, 130, 74),  # the computer opponent (orange)
    "right_paddle": (92, 186, 92),  # the agent (green)
}
OBJECT_SIZE_HW = {"ball": (4, 2), "left_paddle": (16, 4), "right_paddle": (16, 4)}  # source px
# Paddles stay in their columns (16..19 and 140..143 of 160); the ball crosses the screen.
OBJECT_COLUMNS = {"ball": (0.0, 1.0), "left_paddle": (0.0, 0.25), "right_paddle": (0.75, 1.0)}


@dataclass
class LocatorConfig:
    min_coverage: float = 0.05  # per-pixel coverage below this is colour noise, not object
    min_visible: float = 0.2  # visible when the found mass is this fraction of the full object


@dataclass
class ObjectPosition:
    x: float  # column
    y: float  # row


@dataclass
class PongObjects:
    ball: ObjectPosition | None  # None when not visible (between points, or generated away)
    left_paddle: ObjectPosition | None
    right_paddle: ObjectPosition | None


@dataclass
class ObjectHitRates:
    """Fraction of frames where the fake object is within ±tolerance px of the real one in x and
    y (or both frames agree it is absent); `visible` holds the same rate over only the frames
    where the real object is visible (NaN when it never is): the stricter measure, since a
    model that never draws the ball still agrees with every frame between points."""

    ball: float
    left_paddle: float
    right_paddle: float
    frames: int
    tolerance_px: float
    visible: dict[str, float] = field(default_factory=dict)


def playfield_rows(height: int) -> tuple[int, int]:
    """[first, end) rows of an H-high frame that lie wholly between the borders."""
    first = math.ceil(PLAYFIELD_ROWS[0] * height / SOURCE_HEIGHT)
    end = math.floor(PLAYFIELD_ROWS[1] * height / SOURCE_HEIGHT)
    return first, end


def object_coverage(frame_HWC: torch.Tensor) -> torch.Tensor:
    """3×H×W coverage fractions in [0, 1] of ball, left and right paddle per pixel.

    Zero outside the playfield and, for the paddles, outside their column bands.
    """
    frame_HWC = _as_frame(frame_HWC, "frame_HWC")
    H, W, _ = frame_HWC.shape
    directions_3O = torch.tensor([OBJECT_RGB[name] for name in OBJECTS], dtype=torch.float64).T
    directions_3O = directions_3O - torch.tensor(BACKGROUND_RGB, dtype=torch.float64)[:, None]
    offset_HW3 = frame_HWC.double() - torch.tensor(BACKGROUND_RGB, dtype=torch.float64)
    unmix_O3 = torch.linalg.inv(directions_3O)  # 3×3; solving per pixel would be slow
    coverage_OHW = (offset_HW3 @ unmix_O3.T).permute(2, 0, 1).clamp(0, 1).float()
    first, end = playfield_rows(H)
    mask_OHW = torch.zeros_like(coverage_OHW, dtype=torch.bool)
    for k, name in enumerate(OBJECTS):
        low, high = OBJECT_COLUMNS[name]
        mask_OHW[k, first:end, math.floor(low * W) : math.ceil(high * W)] = True
    return coverage_OHW * mask_OHW


def locate_objects(frame_HWC, config: LocatorConfig | None = None) -> PongObjects:
    """Ball and paddle positions in one H×W×3 uint8 Pong frame (numpy or torch)."""
    config = config or LocatorConfig()
    coverage_OHW = object_coverage(frame_HWC)
    H, W = coverage_OHW.shape[1:]
    found = {name: _centroid(coverage_OHW[k], name, H, W, config) for k, name in enumerate(OBJECTS)}
    return PongObjects(**found)


def _centroid(
    coverage_HW: torch.Tensor, name: str, H: int, W: int, config: LocatorConfig
) -> ObjectPosition | None:
    """Coverage-weighted centroid in a window around the strongest pixel, or None."""
    size_h, size_w = OBJECT_SIZE_HW[name]
    scale_h, scale_w = H / SOURCE_HEIGHT, W / SOURCE_WIDTH
    full_mass = size_h * scale_h * size_w * scale_w
    peak = int(coverage_HW.argmax())
    row, col = divmod(peak, W)
    reach_h, reach_w = math.ceil(size_h * scale_h), math.ceil(size_w * scale_w)
    top, left = max(row - reach_h, 0), max(col - reach_w, 0)
    window = coverage_HW[top : row + reach_h + 1, left : col + reach_w + 1]
    window = torch.where(window >= config.min_coverage, window, torch.zeros_like(window))
    mass = float(window.sum())
    if mass < config.min_visible * full_mass:
        return None
    rows = torch.arange(window.shape[0], dtype=torch.float32) + top
    cols = torch.arange(window.shape[1], dtype=torch.float32) + left
    y = float((window.sum(1) * rows).sum()) / mass
    x = float((window.sum(0) * cols).sum()) / mass
    return ObjectPosition(x=x, y=y)


def object_error(
    real_frames,
    fake_frames,
    tolerance_px: float = 2.0,
    config: LocatorConfig | None = None,
) -> ObjectHitRates:
    """Per-object hit rates of fake frames against real ones (…×H×W×3 uint8, same shape).

    A hit: both positions within ±tolerance_px in x and in y, or both objects absent.
    """
    real_FHWC = _flatten_frames(real_frames, "real_frames")
    fake_FHWC = _flatten_frames(fake_frames, "fake_frames")
    if real_FHWC.shape != fake_FHWC.shape:
        raise ValueError(
            f"real_frames and fake_frames must have the same shape, got "
            f"{tuple(real_FHWC.shape)} and {tuple(fake_FHWC.shape)}"
        )
    hits, visible_hits, visible = (dict.fromkeys(OBJECTS, 0) for _ in range(3))
    for real_HWC, fake_HWC in zip(real_FHWC, fake_FHWC, strict=True):
        real, fake = locate_objects(real_HWC, config), locate_objects(fake_HWC, config)
        for name in OBJECTS:
            hit = _is_hit(getattr(real, name), getattr(fake, name), tolerance_px)
            hits[name] += hit
            if getattr(real, name) is not None:
                visible[name] += 1
                visible_hits[name] += hit
    frames = real_FHWC.shape[0]
    rates = {name: hits[name] / max(frames, 1) for name in OBJECTS}
    shown = {n: visible_hits[n] / visible[n] if visible[n] else math.nan for n in OBJECTS}
    return ObjectHitRates(**rates, frames=frames, tolerance_px=tolerance_px, visible=shown)


def _is_hit(real: ObjectPosition | None, fake: ObjectPosition | None, tolerance: float) -> bool:
    if real is None or fake is None:
        return real is None and fake is None
    return abs(real.x - fake.x) <= tolerance and abs(real.y - fake.y) <= tolerance


def _as_frame(frame_HWC, name: str) -> torch.Tensor:
    frame_HWC = torch.as_tensor(frame_HWC)
    if frame_HWC.ndim != 3 or frame_HWC.shape[-1] != 3 or frame_HWC.dtype != torch.uint8:
        raise ValueError(
            f"{name} must be an H×W×3 uint8 RGB frame, got {tuple(frame_HWC.shape)} "
            f"{frame_HWC.dtype}"
        )
    return frame_HWC


def _flatten_frames(frames, name: str) -> torch.Tensor:
    frames = torch.as_tensor(frames)
    if frames.ndim < 3 or frames.shape[-1] != 3 or frames.dtype != torch.uint8:
        raise ValueError(f"{name} must be …×H×W×3 uint8, got {tuple(frames.shape)} {frames.dtype}")
    return frames.reshape(-1, *frames.shape[-3:])


__all__ = [
    "LocatorConfig",
    "ObjectHitRates",
    "ObjectPosition",
    "PongObjects",
    "locate_objects",
    "object_coverage",
    "object_error",
    "playfield_rows",
]
