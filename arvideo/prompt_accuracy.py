"""Prompt accuracy: does a clip show the colour, kind and direction its prompt names?

A detector reads each factor from pixels, with no model: the background is the median colour
of the frame borders; foreground pixels are those far from it; the colour is the palette
colour most foreground pixels are nearest to; the kind comes from the object's moments (its
area, m00, against its bounding box; its centroid's offset from the box centre: a triangle
pointing up holds its mass low); the direction from the least-squares slope of its centroid
over time. Scoring compares detections with the factors the prompts name, per factor and all
factors at once. Validated on ground-truth clips by benchmarks/experiments/prompt_detector.py.
It knows the prompt_shapes vocabulary and palette, nothing about models or tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data.prompt_factors import COLORS, FACTOR_NAMES, FACTOR_VALUES, PromptFactors
from .data.shapes import COLORS as RGB

PALETTE_C3 = np.array([RGB[name] for name in COLORS], dtype=np.float32)
FOREGROUND_DISTANCE = 80.0  # RGB distance from the background; the palette is >= 190 away
MIN_PIXELS = 4  # an object smaller than this in a frame is ignored in that frame
TRIANGLE_OFFSET = 0.07  # centroid below the box centre, in box heights (triangle: ~1/6)
SQUARE_FILL = 0.92  # area over box area (square: 1, circle: ~pi/4, triangle: ~1/2)


@dataclass
class Detection:
    """What a clip shows, with the features behind it (for reports and thresholds)."""

    factors: PromptFactors  # None where a factor could not be read
    fill: float | None  # median over frames of area / bounding-box area
    offset: float | None  # median of (centroid row - box centre row) / box height
    velocity: tuple[float, float] | None  # centroid (dy, dx) in pixels per frame
    frames_seen: int  # frames where the object had >= MIN_PIXELS pixels


def background_colour(frames_THWC: np.ndarray) -> np.ndarray:
    """Median RGB of the one-pixel border of every frame (the object rarely touches it)."""
    border = np.concatenate(
        [frames_THWC[:, 0], frames_THWC[:, -1], frames_THWC[:, :, 0], frames_THWC[:, :, -1]],
        axis=1,
    )
    return np.median(border.reshape(-1, 3).astype(np.float32), axis=0)


def colour_masks(frames_THWC: np.ndarray) -> tuple[str | None, np.ndarray]:
    """The dominant palette colour of the foreground and its T×H×W mask."""
    pixels = frames_THWC.astype(np.float32)
    foreground = np.linalg.norm(pixels - background_colour(frames_THWC), axis=-1)
    foreground = foreground > FOREGROUND_DISTANCE
    distances = np.linalg.norm(pixels[..., None, :] - PALETTE_C3, axis=-1)  # T×H×W×colours
    nearest = distances.argmin(-1)
    votes = np.bincount(nearest[foreground], minlength=len(COLORS))
    if votes.sum() == 0:
        return None, np.zeros(frames_THWC.shape[:3], dtype=bool)
    winner = int(votes.argmax())
    return COLORS[winner], foreground & (nearest == winner)


@dataclass
class FrameMoments:
    y: float  # centroid
    x: float
    fill: float
    offset: float


def frame_moments(mask_HW: np.ndarray) -> FrameMoments | None:
    ys, xs = np.nonzero(mask_HW)
    if len(ys) < MIN_PIXELS:
        return None
    top, bottom, left, right = ys.min(), ys.max(), xs.min(), xs.max()
    height, width = bottom - top + 1, right - left + 1
    centre_y = (top + bottom) / 2
    return FrameMoments(
        float(ys.mean()), float(xs.mean()), len(ys) / float(height * width),
        float((ys.mean() - centre_y) / height),
    )  # fmt: skip


def kind_from(fill: float, offset: float) -> str:
    if offset > TRIANGLE_OFFSET:
        return "triangle"
    return "square" if fill > SQUARE_FILL else "circle"


def direction_from(dy: float, dx: float) -> str | None:
    if dy == 0 and dx == 0:
        return None
    if abs(dx) >= abs(dy):
        return "right" if dx > 0 else "left"
    return "down" if dy > 0 else "up"


def centroid_velocity(times: list[int], moments: list[FrameMoments]) -> tuple[float, float]:
    """Least-squares slope of the centroid over time (robust to one noisy frame)."""
    t = np.asarray(times, dtype=np.float64)
    t = t - t.mean()
    ys = np.array([m.y for m in moments])
    xs = np.array([m.x for m in moments])
    denominator = float((t**2).sum())
    return float((t * ys).sum() / denominator), float((t * xs).sum() / denominator)


def detect(frames_THWC: np.ndarray) -> Detection:
    """The colour, kind and direction a clip of T×H×W×3 uint8 frames shows."""
    if frames_THWC.ndim != 4 or frames_THWC.shape[-1] != 3 or frames_THWC.dtype != np.uint8:
        raise ValueError(
            "frames_THWC must be uint8 T×H×W×3, got "
            f"{frames_THWC.dtype} of shape {tuple(frames_THWC.shape)}"
        )
    colour, mask_THW = colour_masks(frames_THWC)
    found = [(t, frame_moments(mask)) for t, mask in enumerate(mask_THW)]
    found = [(t, m) for t, m in found if m is not None]
    if not found:
        return Detection(PromptFactors(colour, None, None), None, None, None, 0)
    times, moments = [t for t, _ in found], [m for _, m in found]
    fill = float(np.median([m.fill for m in moments]))
    offset = float(np.median([m.offset for m in moments]))
    velocity = centroid_velocity(times, moments) if len(found) >= 2 else None
    direction = direction_from(*velocity) if velocity else None
    factors = PromptFactors(colour, kind_from(fill, offset), direction)
    return Detection(factors, fill, offset, velocity, len(found))


@dataclass
class PromptAccuracy:
    """Share of clips whose detected factor matches the prompt's, per factor and for all."""

    clips: int
    per_factor: dict[str, float]  # "color" / "kind" / "direction" -> accuracy
    all_factors: float
    chance_per_factor: dict[str, float]  # a uniform guess among the factor's values
    chance_all_factors: float


def score(prompts: list[PromptFactors], detected: list[PromptFactors]) -> PromptAccuracy:
    """Per-factor and all-factor accuracy of `detected` against `prompts` (same order)."""
    if len(prompts) != len(detected) or not prompts:
        raise ValueError(
            f"need as many detections as prompts (>= 1), got {len(detected)} and {len(prompts)}"
        )
    hits = {
        name: np.array([getattr(p, name) == getattr(d, name) for p, d in zip(prompts, detected)])
        for name in FACTOR_NAMES
    }
    chance = {name: 1.0 / len(FACTOR_VALUES[name]) for name in FACTOR_NAMES}
    return PromptAccuracy(
        clips=len(prompts),
        per_factor={name: float(h.mean()) for name, h in hits.items()},
        all_factors=float(np.logical_and.reduce(list(hits.values())).mean()),
        chance_per_factor=chance,
        chance_all_factors=float(np.prod(list(chance.values()))),
    )
