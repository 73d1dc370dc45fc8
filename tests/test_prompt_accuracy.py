"""The prompt detector on synthetic clips with known factors, and the accuracy it scores."""

from __future__ import annotations

import numpy as np
import pytest

from arvideo.data.prompt_factors import PromptFactors, all_combinations
from arvideo.data.prompt_shapes import draw_prompt_clip
from arvideo.data.shapes import COLORS as RGB
from arvideo.prompt_accuracy import detect, score


def test_detector_reads_every_combination_of_the_drawer():
    rng = np.random.default_rng(0)
    for factors in all_combinations():
        clip = draw_prompt_clip(rng, factors, size=64, num_frames=8)
        assert detect(clip.frames_THWC).factors == factors


def hand_drawn(kind: str, colour: str, dy: int, dx: int) -> np.ndarray:
    """A clip drawn here, not by the data set's drawer: a grey background, a shape of
    half-size 6 moving 2 px per frame from the centre."""
    frames = np.full((6, 48, 48, 3), 25, dtype=np.uint8)
    ys, xs = np.mgrid[0:48, 0:48]
    for t in range(6):
        y, x = 24 + dy * 2 * t - 5 * dy, 24 + dx * 2 * t - 5 * dx
        inside = {
            "square": (abs(ys - y) <= 6) & (abs(xs - x) <= 6),
            "circle": (ys - y) ** 2 + (xs - x) ** 2 <= 36,
            "triangle": (ys - y >= -6) & (ys - y <= 6) & (2 * abs(xs - x) <= ys - y + 6),
        }[kind]
        frames[t][inside] = RGB[colour]
    return frames


@pytest.mark.parametrize(
    "kind, colour, dy, dx, direction",
    [("square", "blue", 0, 1, "right"), ("circle", "yellow", -1, 0, "up"),
     ("triangle", "green", 0, -1, "left"), ("circle", "red", 1, 0, "down")],
)  # fmt: skip
def test_detector_reads_hand_drawn_clips(kind, colour, dy, dx, direction):
    detection = detect(hand_drawn(kind, colour, dy, dx))
    assert detection.factors == PromptFactors(colour, kind, direction)
    assert detection.frames_seen == 6


def test_blank_and_still_clips_detect_nothing():
    blank = detect(np.zeros((4, 32, 32, 3), dtype=np.uint8))
    assert blank.factors == PromptFactors(None, None, None) and blank.frames_seen == 0
    still = detect(hand_drawn("square", "red", 0, 0))
    assert still.factors == PromptFactors("red", "square", None)
    with pytest.raises(ValueError, match="uint8 T×H×W×3.*float32"):
        detect(np.zeros((4, 32, 32, 3), dtype=np.float32))


def test_score_per_factor_and_all_factors():
    prompts = [PromptFactors("red", "square", "up")] * 4
    detected = [
        PromptFactors("red", "square", "up"),
        PromptFactors("red", "circle", "up"),
        PromptFactors("blue", "square", "up"),
        PromptFactors(None, None, None),
    ]
    accuracy = score(prompts, detected)
    assert accuracy.per_factor == {"color": 0.5, "kind": 0.5, "direction": 0.75}
    assert accuracy.all_factors == 0.25 and accuracy.clips == 4
    assert accuracy.chance_all_factors == pytest.approx(1 / 48)
    with pytest.raises(ValueError, match="got 3 and 4"):
        score(prompts, detected[:3])
