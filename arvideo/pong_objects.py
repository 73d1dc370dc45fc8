"""Where the ball and the paddles are in an RGB Pong frame (or in the console's RAM), and how
well generated frames agree.

Knows the Atari 2600 Pong palette and screen geometry (ALE frames are 210×160; the colours
were read from real `ALE/Pong-v5` frames) and nothing about models. Works at any frame size:
resizing with a box filter (as the data pipeline does) mixes an object's colour linearly with
the background, so each pixel is unmixed into per-object coverage fractions (a 3×3 solve, one
direction per object in RGB space), and an object's position is the coverage-weighted centroid
around its strongest pixel. Frames are H×W×3 uint8 (leading dimensions allowed where stated).
Positions are (x, y) = (column, row) in pixels of the given frame, pixel centres at integers.
`ram_objects` reads the same positions from the RAM that clip shards keep per frame.
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


@dataclass(frozen=True)
class RamCoordinate:
    """One coordinate read from RAM, in source pixels: ram[address] + offset + lag · (its
    change since the previous frame). The lag term is the agent paddle's: the max-pooled
    frame shows it where it was up to a few raw frames before the RAM's value."""

    address: int
    offset: float
    lag: float = 0.0


# Found by measurement, not from memory: benchmarks/experiments/pong_ram_vs_colour.py
# correlates each of the 128 bytes with the colour positions of 3,000 collected frames (the
# four below reach |r| >= 0.997; bytes 21 and 60 copy 50 and 51) and fits offset and lag.
# Centres of the object, in 210×160 source pixels.
RAM_COORDINATES = {
    "ball_x": RamCoordinate(address=49, offset=-49.1),
    "ball_y": RamCoordinate(address=54, offset=-12.8),
    "left_paddle_y": RamCoordinate(address=50, offset=-7.2),
    "right_paddle_y": RamCoordinate(address=51, offset=-6.0, lag=-0.25),
}
PADDLE_X = {"left_paddle": 17.5, "right_paddle": 141.5}  # their fixed columns 16..19, 140..143
# An object counts as seen from RAM when this share of its rows lies between the borders.
# Measured against the colour locator at 64×64 (its 20%-of-mass rule after the box resize):
# it misses the agent paddle at its bottom stop (5.0 of 16 rows showing) and sees the
# opponent's at its own (5.2 rows), so the line sits between them.
RAM_MIN_VISIBLE = 0.32


def ram_objects(ram_T128, height: int = 64, width: int = 64) -> list[PongObjects]:
    """Ball and paddle positions from the RAM of consecutive frames (T×128 uint8), in pixels
    of an height×width frame. An object whose centre lies outside the playfield rows is not
    visible; a paddle cut by a border is placed at the centre of its visible part, as the
    colour locator sees it. Frame 0 of the array is read without the lag term (no previous
    frame), so pass whole episodes or skip each clip's first frame where the lag matters."""
    ram_T128 = torch.as_tensor(ram_T128)
    if ram_T128.ndim != 2 or ram_T128.shape[1] != 128:
        raise ValueError(f"ram_T128 must be T×128, got {tuple(ram_T128.shape)}")
    values_T128 = ram_T128.double()
    previous_T128 = torch.cat([values_T128[:1], values_T128[:-1]])  # frame 0: no change
    read = {
        name: values_T128[:, c.address] + c.offset
        + c.lag * (values_T128[:, c.address] - previous_T128[:, c.address])
        for name, c in RAM_COORDINATES.items()
    }  # fmt: skip
    out = []
    for t in range(ram_T128.shape[0]):
        found = {"ball": _in_playfield(float(read["ball_x"][t]), float(read["ball_y"][t]), 4)}
        for paddle, x in PADDLE_X.items():
            found[paddle] = _in_playfield(x, float(read[f"{paddle}_y"][t]), 16)
        out.append(PongObjects(**{k: _to_frame(v, height, width) for k, v in found.items()}))
    return out


def _in_playfield(x: float, y: float, size_h: int) -> ObjectPosition | None:
    """The centre of the part of an object (centre x, y; size_h rows) between the borders."""
    top = max(y - size_h / 2, PLAYFIELD_ROWS[0])
    bottom = min(y + size_h / 2, PLAYFIELD_ROWS[1])
    if bottom - top < size_h * RAM_MIN_VISIBLE or not 0 <= x < SOURCE_WIDTH:
        return None
    return ObjectPosition(x=x, y=(top + bottom) / 2)


def _to_frame(position: ObjectPosition | None, height: int, width: int):
    """Source pixel centres (210×160) -> pixel centres of an height×width frame."""
    if position is None:
        return None
    x = (position.x + 0.5) * width / SOURCE_WIDTH - 0.5
    y = (position.y + 0.5) * height / SOURCE_HEIGHT - 0.5
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
    "ram_objects",
]
